/**
 * The interviewer's side in JupyterLab: a "New interview" command (palette and launcher)
 * and a side panel listing the rooms, who is online, their links, "End" and "Replay".
 * Room links never see any of it: the plugin asks for the room list first, which only
 * the interviewer may read.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  ICommandPalette,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { LabIcon, notebookIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IRoom, ITemplate, openPage, requestAPI, timeLeft } from './api';
import { isRoomPage } from './kernel';
import { openReplay } from './replay';
import { ReviewList } from './reviewlist';

const NEW = 'interview:new';
const REPLAY = 'interview:replay';
const REFRESH_MS = 5_000;

/** The form of the "New interview" dialog. */
class NewInterviewForm extends Widget {
  constructor(templates: ITemplate[]) {
    super({ node: document.createElement('form') });
    this.addClass('jp-InterviewForm');
    this.template = document.createElement('select');
    for (const t of templates) {
      const option = document.createElement('option');
      option.value = t.name;
      option.textContent = `${t.title} (${t.duration_minutes} min)`;
      this.template.appendChild(option);
    }
    this.title.label = 'New interview';
    this.titleInput = this.input('Title (optional)');
    this.candidate = this.input('Candidate name');
    this.interviewer = this.input('Your name, as the candidate sees it (optional)');
    this.minutes = this.input('');
    this.minutes.type = 'number';
    this.minutes.min = '1';
    this.minutes.max = '480';
    this.minutes.step = '1';
    const byTemplate = new Map(templates.map(t => [t.name, t.duration_minutes]));
    const showLength = () => {
      this.minutes.placeholder = `${byTemplate.get(this.template.value) ?? ''} (the template's)`;
    };
    this.template.addEventListener('change', showLength);
    showLength();
    this.mode = document.createElement('select');
    for (const [value, text] of [
      ['live', 'Live: you take part'],
      ['take-home', 'Take-home: the candidate alone, until Submit or the deadline']
    ]) {
      const option = document.createElement('option');
      option.value = value;
      option.textContent = text;
      this.mode.appendChild(option);
    }
    this.node.append(
      label('Template', this.template),
      label('Kind', this.mode),
      label('Title', this.titleInput),
      label('Candidate', this.candidate),
      label('Minutes', this.minutes),
      label('Interviewer', this.interviewer)
    );
  }

  getValue(): Record<string, string | number> {
    const body: Record<string, string | number> = {
      template: this.template.value,
      mode: this.mode.value
    };
    const optional: [string, HTMLInputElement][] = [
      ['title', this.titleInput],
      ['candidate_name', this.candidate],
      ['interviewer_name', this.interviewer]
    ];
    for (const [key, input] of optional) {
      if (input.value.trim()) {
        body[key] = input.value.trim();
      }
    }
    if (this.minutes.value.trim()) {
      body.duration_minutes = Number(this.minutes.value);
    }
    return body;
  }

  private input(placeholder: string): HTMLInputElement {
    const input = document.createElement('input');
    input.type = 'text';
    input.placeholder = placeholder;
    return input;
  }

  private readonly template: HTMLSelectElement;
  private readonly mode: HTMLSelectElement;
  private readonly titleInput: HTMLInputElement;
  private readonly candidate: HTMLInputElement;
  private readonly interviewer: HTMLInputElement;
  private readonly minutes: HTMLInputElement;
}

function label(text: string, control: HTMLElement): HTMLLabelElement {
  const node = document.createElement('label');
  node.textContent = text;
  node.appendChild(control);
  return node;
}

function button(text: string, onClick: () => void): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = 'jp-mod-styled jp-mod-reject';
  node.textContent = text;
  node.addEventListener('click', onClick);
  return node;
}

const COPIED_MS = 1500;

/** The room's links, one small button each: the label says who the link is for. */
function links(room: IRoom): HTMLElement {
  const row = document.createElement('div');
  row.className = 'jp-InterviewPanel-links';
  const label = document.createElement('span');
  label.textContent = 'Copy link:';
  row.append(label);
  for (const [who, name] of [
    ['candidate', 'Candidate'],
    ['observer', 'Observer'],
    ['grader', 'Grader']
  ] as const) {
    const copy = button(name, () => {
      if (room.links) {
        Clipboard.copyToSystem(room.links[who]);
        copy.textContent = 'Copied';
        window.setTimeout(() => (copy.textContent = name), COPIED_MS);
      }
    });
    copy.setAttribute('aria-label', `Copy ${who} link`);
    copy.title = `Copy the ${who}'s link to the clipboard`;
    row.append(copy);
  }
  return row;
}

async function newInterview(app: JupyterFrontEnd): Promise<IRoom | null> {
  const templates = await requestAPI<ITemplate[]>('templates');
  const form = new NewInterviewForm(templates);
  const result = await showDialog({
    title: 'New interview',
    body: form,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })]
  });
  if (!result.button.accept || !result.value) {
    return null;
  }
  const room = await requestAPI<IRoom>('rooms', {
    method: 'POST',
    body: JSON.stringify(result.value)
  });
  await app.commands.execute('docmanager:open', { path: room.notebook_path });
  if (room.links) {
    Clipboard.copyToSystem(room.links.candidate);
    Notification.success(`Room created. The candidate link is on your clipboard.`, {
      autoClose: 6000
    });
  }
  for (const warning of room.warnings ?? []) {
    Notification.warning(warning, { autoClose: false });
  }
  return room;
}

/** A speech bubble with code in it: the Interviews tab, told apart from Collaboration's. */
const interviewIcon = new LabIcon({
  name: 'jupyter-interview:interviews',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 ' +
    '4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm5.3 4.3L6.6 10l2.7 2.7 1.4-1.4L9.4 10l1.3-1.3-1.4' +
    '-1.4zm5.4 0-1.4 1.4 1.3 1.3-1.3 1.3 1.4 1.4 2.7-2.7-2.7-2.7z"/></svg>'
});

/** The side panel: every room, newest first; or the review list. */
class RoomsPanel extends Widget {
  constructor(private readonly app: JupyterFrontEnd) {
    super();
    this.id = 'jupyter-interview-rooms';
    this.addClass('jp-InterviewPanel');
    this.title.icon = interviewIcon;
    this.title.caption = 'Interviews';
    const header = document.createElement('div');
    header.className = 'jp-InterviewPanel-header';
    const heading = document.createElement('h2');
    heading.textContent = 'Interviews';
    const create = button('New interview', () => void app.commands.execute(NEW));
    create.className = 'jp-mod-styled jp-mod-accept';
    header.append(heading, create);
    const views = document.createElement('div');
    views.className = 'jp-InterviewPanel-views';
    views.setAttribute('role', 'tablist');
    this.roomsTab = button('Rooms', () => this.showView('rooms'));
    this.reviewTab = button('Review', () => this.showView('review'));
    views.append(this.roomsTab, this.reviewTab);
    this.list = document.createElement('ul');
    this.reviews = new ReviewList(id => void app.commands.execute(REPLAY, { room: id }));
    this.node.append(header, views, this.list, this.reviews.node);
    this.showView('rooms');
    this.timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  dispose(): void {
    window.clearInterval(this.timer);
    this.reviews.dispose();
    super.dispose();
  }

  async refresh(): Promise<void> {
    if (this.view === 'review') {
      await this.reviews.refresh();
      return;
    }
    try {
      this.render(await requestAPI<IRoom[]>('rooms'));
    } catch (e) {
      this.list.textContent = `Could not list the rooms: ${(e as Error).message}`;
    }
  }

  private showView(view: 'rooms' | 'review'): void {
    this.view = view;
    this.list.hidden = view !== 'rooms';
    this.reviews.node.hidden = view !== 'review';
    for (const [tab, name] of [
      [this.roomsTab, 'rooms'],
      [this.reviewTab, 'review']
    ] as const) {
      tab.setAttribute('aria-selected', String(view === name));
      tab.classList.toggle('jp-mod-accept', view === name);
      tab.classList.toggle('jp-mod-reject', view !== name);
    }
    void this.refresh();
  }

  private render(rooms: IRoom[]): void {
    // The room whose notes are being written keeps its element (the notes stay under the
    // interviewer's fingers, focused); everything else about it is redrawn around them.
    const active = document.activeElement;
    const writing =
      active?.tagName === 'TEXTAREA' && this.list.contains(active)
        ? (active.closest('li') as HTMLLIElement | null)
        : null;
    const items = rooms.map(room => {
      const drawn = this.item(room);
      if (writing?.dataset.roomId !== room.id) {
        return drawn;
      }
      const kept = writing.querySelector('.jp-InterviewPanel-notes');
      writing.className = drawn.className;
      for (const child of Array.from(writing.children)) {
        if (child !== kept) {
          child.remove();
        }
      }
      kept?.before(...Array.from(drawn.children).slice(0, -1));
      return writing;
    });
    // Put the others around it, never moving it (moving an element takes its focus).
    for (const child of Array.from(this.list.children)) {
      if (child !== writing) {
        child.remove();
      }
    }
    let before = writing !== null && items.includes(writing);
    for (const item of items) {
      if (item === writing) {
        before = false;
      } else if (before) {
        writing!.before(item);
      } else {
        this.list.append(item);
      }
    }
  }

  /** One room of the list: what it is, its actions, its links, its private notes. */
  private item(room: IRoom): HTMLLIElement {
    const item = document.createElement('li');
    item.className = `jp-InterviewPanel-room jp-mod-${room.status}`;
    item.dataset.roomId = room.id;
    const title = document.createElement('strong');
    title.textContent = room.title;
    const meta = document.createElement('div');
    const online = room.online?.length ? `online: ${room.online.join(', ')}` : 'nobody online';
    const ended = { submitted: 'submitted', ended: 'ended', timeout: 'timed out' };
    const state =
      room.status === 'ended' && room.end_reason ? ended[room.end_reason] : timeLeft(room);
    meta.textContent = [
      room.candidate_name ?? 'no candidate name',
      room.mode === 'take-home' ? 'take-home' : 'live',
      state,
      online
    ].join(' · ');
    const actions = document.createElement('div');
    actions.append(
      button('Open', () => void this.app.commands.execute('docmanager:open', { path: room.notebook_path })),
      button('Replay', () => void this.app.commands.execute(REPLAY, { room: room.id })),
      button('Review', () => openPage(`interview/review/${room.id}`))
    );
    if (room.status === 'open') {
      actions.append(
        button('+10 min', () => void this.extend(room)),
        button('End', () => void this.end(room))
      );
    }
    item.append(title, meta, actions, links(room), notes(room));
    return item;
  }

  private async extend(room: IRoom): Promise<void> {
    await requestAPI(`rooms/${room.id}/extend`, {
      method: 'POST',
      body: JSON.stringify({ minutes: 10 })
    });
    await this.refresh();
  }

  private async end(room: IRoom): Promise<void> {
    const answer = await showDialog({
      title: 'End the interview?',
      body: `${room.title}${room.candidate_name ? `, with ${room.candidate_name}` : ''}: the candidate's link turns read-only.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'End' })]
    });
    if (answer.button.accept) {
      await requestAPI(`rooms/${room.id}/end`, { method: 'POST' });
      await this.refresh();
    }
  }

  private readonly list: HTMLUListElement;
  private readonly reviews: ReviewList;
  private readonly roomsTab: HTMLButtonElement;
  private readonly reviewTab: HTMLButtonElement;
  private view: 'rooms' | 'review' = 'rooms';
  private readonly timer: number;
}

const NOTES_SAVE_MS = 600;

/** The interviewer's private notes on a room, saved as they type (no room link reads them). */
function notes(room: IRoom): HTMLElement {
  const details = document.createElement('details');
  details.className = 'jp-InterviewPanel-notes';
  const summary = document.createElement('summary');
  summary.textContent = room.notes ? 'Notes (private)' : 'Add private notes';
  const area = document.createElement('textarea');
  area.value = room.notes ?? '';
  area.placeholder = 'Only you and this server see these notes.';
  area.setAttribute('aria-label', `Private notes on ${room.title}`);
  const state = document.createElement('span');
  state.className = 'jp-InterviewPanel-notesState';
  let timer = 0;
  area.addEventListener('input', () => {
    state.textContent = 'Saving…';
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      try {
        await requestAPI(`rooms/${room.id}`, {
          method: 'PATCH',
          body: JSON.stringify({ notes: area.value })
        });
        state.textContent = 'Saved';
      } catch (e) {
        state.textContent = `Not saved: ${(e as Error).message}`;
      }
    }, NOTES_SAVE_MS);
  });
  details.append(summary, area, state);
  return details;
}

export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-interview:panel',
  description: "The interviewer's New interview command and rooms panel.",
  autoStart: true,
  requires: [IRenderMimeRegistry, IEditorLanguageRegistry],
  optional: [ILabShell, ILauncher, ICommandPalette],
  activate: async (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    languages: IEditorLanguageRegistry,
    labShell: ILabShell | null,
    launcher: ILauncher | null,
    palette: ICommandPalette | null
  ) => {
    if (isRoomPage()) {
      return; // a room link: none of this is for it
    }
    try {
      await requestAPI<IRoom[]>('rooms');
    } catch {
      return; // not the interviewer: none of this is for it
    }
    let panel: RoomsPanel | null = null;
    app.commands.addCommand(NEW, {
      label: 'New interview',
      caption: 'Create an interview room from a template and copy its candidate link',
      icon: notebookIcon,
      execute: async () => {
        try {
          await newInterview(app);
          await panel?.refresh();
        } catch (e) {
          await showErrorMessage('Could not create the interview', e as Error);
        }
      }
    });
    app.commands.addCommand(REPLAY, {
      label: 'Replay interview',
      caption: "Play a room's interview back: edits, runs, pastes, who did what",
      execute: async args => {
        try {
          const room = await requestAPI<IRoom>(`rooms/${args.room as string}`);
          openReplay(app.shell, room, rendermime, languages);
        } catch (e) {
          await showErrorMessage('Could not open the replay', e as Error);
        }
      }
    });
    launcher?.add({ command: NEW, category: 'Interview', rank: 0 });
    palette?.addItem({ command: NEW, category: 'Interview' });
    if (labShell) {
      panel = new RoomsPanel(app);
      labShell.add(panel, 'left', { rank: 50 });
    }
  }
};
