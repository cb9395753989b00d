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
import { notebookIcon, usersIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IRoom, ITemplate, requestAPI, timeLeft } from './api';
import { isRoomPage } from './kernel';
import { openReplay } from './replay';

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
      label('Interviewer', this.interviewer)
    );
  }

  getValue(): Record<string, string> {
    const body: Record<string, string> = { template: this.template.value, mode: this.mode.value };
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

/** The side panel: every room, newest first. */
class RoomsPanel extends Widget {
  constructor(private readonly app: JupyterFrontEnd) {
    super();
    this.id = 'jupyter-interview-rooms';
    this.addClass('jp-InterviewPanel');
    this.title.icon = usersIcon;
    this.title.caption = 'Interviews';
    const header = document.createElement('div');
    header.className = 'jp-InterviewPanel-header';
    const heading = document.createElement('h2');
    heading.textContent = 'Interviews';
    const create = button('New interview', () => void app.commands.execute(NEW));
    create.className = 'jp-mod-styled jp-mod-accept';
    header.append(heading, create);
    this.list = document.createElement('ul');
    this.node.append(header, this.list);
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), REFRESH_MS);
  }

  dispose(): void {
    window.clearInterval(this.timer);
    super.dispose();
  }

  async refresh(): Promise<void> {
    try {
      this.render(await requestAPI<IRoom[]>('rooms'));
    } catch (e) {
      this.list.textContent = `Could not list the rooms: ${(e as Error).message}`;
    }
  }

  private render(rooms: IRoom[]): void {
    this.list.replaceChildren(
      ...rooms.map(room => {
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
          button('Copy candidate link', () => room.links && Clipboard.copyToSystem(room.links.candidate)),
          button('Copy observer link', () => room.links && Clipboard.copyToSystem(room.links.observer)),
          button('Replay', () => void this.app.commands.execute(REPLAY, { room: room.id }))
        );
        if (room.status === 'open') {
          actions.append(
            button('+10 min', () => void this.extend(room)),
            button('End', () => void this.end(room))
          );
        }
        item.append(title, meta, actions);
        return item;
      })
    );
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
      body: `${room.title}: the candidate's link turns read-only.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'End' })]
    });
    if (answer.button.accept) {
      await requestAPI(`rooms/${room.id}/end`, { method: 'POST' });
      await this.refresh();
    }
  }

  private readonly list: HTMLUListElement;
  private readonly timer: number;
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
