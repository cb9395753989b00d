/**
 * The candidate's (and an observer's) page: the notebook, and around it only what an
 * interview needs, in plain words.
 *
 * Notebook 7's own chrome (menus, the file's name, "Last Checkpoint", "Trusted", sharing,
 * the user menu, the command palette) is turned off for room pages by the server's page
 * config. This header takes its place: the room's title, the time left (red in the last
 * five minutes, with a notice at 5 and 1 minute), who is in the room, Python's state in
 * words, Run / Stop / Restart, Submit, and the theme and text size (kept in this browser,
 * settings.ts). Nothing on it leads out of the room.
 *
 * A read-only page (an observer's, or the candidate's once the room has ended) takes no
 * keys but moving around and copying: JupyterLab would otherwise add or delete cells that
 * only that page would ever show.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { IRoom, RoomAPIError, requestAPI } from './api';
import { RoomEvents } from './events';

/** Keys a read-only page still takes (outside editors, which are read-only anyway). */
const READ_ONLY_KEYS = new Set([
  'ArrowUp',
  'ArrowDown',
  'ArrowLeft',
  'ArrowRight',
  'PageUp',
  'PageDown',
  'Home',
  'End',
  'Tab',
  'Escape'
]);

const WARN_AT_MINUTES = [5, 1];

/** Python's state, as a candidate would say it. */
function kernelState(status: string): string {
  switch (status) {
    case 'idle':
      return 'Python is ready';
    case 'busy':
      return 'Python is running…';
    case 'restarting':
    case 'autorestarting':
      return 'Python is restarting…';
    case 'dead':
      return 'Python stopped';
    default:
      return 'Python is starting…';
  }
}

function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = 'jp-InterviewHeader-button';
  node.textContent = label;
  node.title = title;
  node.addEventListener('click', onClick);
  return node;
}

/** Commands whose shortcuts a room page keeps: editing and running the notebook. */
const ROOM_COMMANDS = /^(notebook|completer|inline-completer|tooltip|codemirror|documentsearch|editmenu|runmenu|kernelmenu):|^docmanager:save$/;
/** Notebook commands a room has no use for, whatever their keys: a "Raw" cell (R) is
 * nbconvert's, and means nothing to a candidate (the menu offers Code and Text: celltype.ts). */
const NOT_IN_ROOMS = new Set(['notebook:change-cell-to-raw']);

/**
 * The shortcuts of every other command do nothing on a room page: they open what the page
 * has turned off or leads out of the room (Ctrl+B a console behind the server's login,
 * Ctrl+Shift+S "Save As", which moves the page off the room's notebook, Ctrl+Shift+H
 * JupyterLab's shortcut list). A chord that a room command takes where it is pressed
 * (Ctrl+Enter in a cell) keeps working.
 */
function keepShortcutsInTheRoom(app: JupyterFrontEnd): void {
  // Keys bound to some other command -> the selectors of the room commands bound to them.
  const bound = new Map<string, string[]>();
  // Keys of the commands no room uses -> where they would act.
  const refused = new Map<string, string[]>();
  const sort = () => {
    bound.clear();
    refused.clear();
    const room = new Map<string, string[]>();
    for (const { command, keys, selector } of app.commands.keyBindings) {
      const key = keys.join(' ');
      if (NOT_IN_ROOMS.has(command)) {
        refused.set(key, [...(refused.get(key) ?? []), selector]);
      } else if (ROOM_COMMANDS.test(command)) {
        room.set(key, [...(room.get(key) ?? []), selector]);
      } else {
        bound.set(key, []);
      }
    }
    for (const key of bound.keys()) {
      bound.set(key, room.get(key) ?? []);
    }
  };
  sort();
  app.commands.keyBindingChanged.connect(sort); // the shortcuts come from settings, later
  // JupyterLab's right-click menu speaks its own language ("Restart Kernel…", "Merge Cell
  // Above"): the browser's own menu (copy, paste) is shown instead.
  window.addEventListener('contextmenu', event => event.stopPropagation(), true);
  window.addEventListener(
    'keydown',
    event => {
      const keystroke = CommandRegistry.keystrokeForKeydownEvent(event);
      const target = event.target instanceof Element ? event.target : null;
      // A refused command's key, where that command would act (R in command mode; typing
      // R in a cell is untouched).
      if (refused.get(keystroke)?.some(selector => target?.closest(selector))) {
        event.stopPropagation();
        event.preventDefault();
        return;
      }
      // Typing, Enter and Escape (dialogs, buttons) are never touched: only chords.
      if (!(event.ctrlKey || event.metaKey || event.altKey) && !/^F\d+$/.test(event.key)) {
        return;
      }
      const selectors = bound.get(keystroke);
      if (selectors && !selectors.some(selector => target?.closest(selector))) {
        event.stopPropagation();
        event.preventDefault();
      }
    },
    true
  );
}

/** How many minutes later the room now ends than it did (0 if not later). */
function minutesAdded(before: IRoom | null, room: IRoom): number {
  if (!before?.ends_at || !room.ends_at) {
    return 0;
  }
  return Math.round((Date.parse(room.ends_at) - Date.parse(before.ends_at)) / 60000);
}

export class RoomHeader extends Widget {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly panel: NotebookPanel,
    events: RoomEvents,
    private readonly role: 'candidate' | 'observer'
  ) {
    super();
    this.id = 'jp-interview-header';
    this.addClass('jp-InterviewHeader');
    this.node.setAttribute('role', 'banner');
    this.titleNode = this.part('jp-InterviewHeader-title');
    this.clockNode = this.part('jp-InterviewHeader-clock');
    this.clockNode.setAttribute('role', 'timer');
    this.peopleNode = this.part('jp-InterviewHeader-people');
    this.kernelNode = this.part('jp-InterviewHeader-kernel');
    const actions = this.part('jp-InterviewHeader-actions');
    if (role === 'candidate') {
      this.runButtons = [
        button('Run', 'Run the selected cell (Shift+Enter)', () =>
          void app.commands.execute('notebook:run-cell-and-select-next')
        ),
        button('Stop', 'Stop the running cell', () =>
          void app.commands.execute('notebook:interrupt-kernel')
        ),
        button('Restart', 'Start Python again, with no variables', () => void this.restart())
      ];
      this.submitButton = button('Submit', 'Hand in your work and finish', () =>
        void this.submit()
      );
      this.submitButton.classList.add('jp-mod-submit');
      actions.append(...this.runButtons, this.submitButton);
    }
    const view = this.part('jp-InterviewHeader-view');
    view.append(
      button('A−', 'Smaller text', () => void this.fontSize(-1)),
      button('A+', 'Larger text', () => void this.fontSize(1)),
      button('◐', 'Switch between a light and a dark page', () => void this.toggleTheme())
    );

    events.roomChanged.connect((_, room) => this.roomChanged(room));
    keepShortcutsInTheRoom(app);
    if (role === 'candidate') {
      this.noteSignals();
    }
    if (role === 'candidate') {
      const session = panel.sessionContext;
      session.statusChanged.connect(() => this.renderKernel());
      void session.ready.then(() => this.renderKernel());
      this.renderKernel();
    }
    const awareness = panel.model?.sharedModel.awareness;
    awareness?.on('change', () => this.renderPeople());
    this.tick = window.setInterval(() => this.renderClock(), 1000);
    this.renderPeople();
  }

  dispose(): void {
    window.clearInterval(this.tick);
    super.dispose();
  }

  private part(className: string): HTMLElement {
    const node = document.createElement('div');
    node.className = className;
    this.node.appendChild(node);
    return node;
  }

  private roomChanged(room: IRoom): void {
    const before = this.room;
    this.room = room;
    this.titleNode.textContent = room.title;
    document.title = `${room.title} · interview`;
    if (room.status === 'ended' && before?.status !== 'ended' && before !== null) {
      this.announceEnd(room);
    }
    const added = minutesAdded(before, room);
    if (room.status === 'open' && added > 0) {
      // The clock jumping forward with no word would look like a fault.
      Notification.info(`You have ${added} more minute${added > 1 ? 's' : ''}.`, { autoClose: 8000 });
      this.warned.clear();
    }
    if (room.status === 'ended' || this.role === 'observer') {
      this.lockPage();
    }
    if (this.role === 'candidate') {
      this.renderKernel();
    }
    for (const node of [...this.runButtons, this.submitButton]) {
      if (node) {
        node.disabled = room.status !== 'open';
      }
    }
    this.renderClock();
  }

  private announceEnd(room: IRoom): void {
    const why =
      room.end_reason === 'submitted'
        ? 'Your work was submitted.'
        : room.end_reason === 'timeout'
          ? 'Time is up.'
          : 'The interviewer ended the interview.';
    Notification.info(`${why} The notebook is read-only now.`, { autoClose: false });
    // Gone from the others' view of the room.
    this.panel.model?.sharedModel.awareness.setLocalState(null);
  }

  private renderClock(): void {
    const room = this.room;
    if (!room) {
      return;
    }
    let text: string;
    let urgent = false;
    if (room.status === 'ended') {
      text =
        room.end_reason === 'submitted'
          ? 'Submitted'
          : room.end_reason === 'timeout'
            ? 'Time is up'
            : 'The interview has ended';
    } else if (!room.ends_at) {
      text = `${room.duration_minutes} min`;
    } else {
      const seconds = Math.max(0, Math.round((Date.parse(room.ends_at) - Date.now()) / 1000));
      const minutes = Math.floor(seconds / 60);
      text =
        seconds === 0
          ? 'Time is up'
          : `${minutes}:${String(seconds % 60).padStart(2, '0')} left`;
      urgent = seconds <= 5 * 60;
      for (const at of WARN_AT_MINUTES) {
        if (seconds <= at * 60 && seconds > 0 && !this.warned.has(at)) {
          this.warned.add(at);
          if (seconds > (at - 1) * 60 + 30) {
            Notification.warning(`${at} minute${at > 1 ? 's' : ''} left`, { autoClose: 8000 });
          }
        }
      }
    }
    this.clockNode.textContent = text;
    this.clockNode.classList.toggle('jp-mod-urgent', urgent);
  }

  private renderKernel(): void {
    const status = this.panel.sessionContext.session?.kernel?.status ?? 'starting';
    // Once the room has ended nothing runs: "Python is ready" beside greyed-out buttons
    // would say otherwise.
    this.kernelNode.textContent = this.room?.status === 'ended' ? '' : kernelState(status);
    this.kernelNode.dataset.status = status;
  }

  private renderPeople(): void {
    const awareness = this.panel.model?.sharedModel.awareness;
    if (!awareness) {
      return;
    }
    const names = new Set<string>();
    for (const [client, state] of awareness.getStates()) {
      const name = (state as { user?: { name?: string } })?.user?.name;
      if (name) {
        names.add(client === awareness.clientID ? `${name} (you)` : name);
      }
    }
    this.peopleNode.textContent = names.size ? `In the room: ${[...names].join(', ')}` : '';
    this.peopleNode.title = this.peopleNode.textContent; // whole, where the header cuts it
  }

  /**
   * Long pastes and leaving the tab are noted in the room's timeline, for the graders
   * (evidence to look at, never a verdict). The landing page said so, and this says it
   * again. A paste is noted with its length; its text only if the room keeps it.
   */
  private noteSignals(): void {
    const threshold = Number(PageConfig.getOption('interviewPasteThreshold') || 0);
    const send = (body: Record<string, unknown>) => {
      if (!this.room || this.room.status !== 'open') {
        return;
      }
      void requestAPI(`rooms/${this.room.id}/signals`, {
        method: 'POST',
        body: JSON.stringify(body)
      }).catch(() => undefined);
    };
    if (threshold > 0) {
      document.addEventListener(
        'paste',
        event => {
          const text = event.clipboardData?.getData('text/plain') ?? '';
          if (text.length >= threshold) {
            const cellId = this.panel.content.activeCell?.model.id;
            send({
              kind: 'paste',
              length: text.length,
              ...(cellId ? { cell_id: cellId } : {}),
              ...(this.room?.record_paste_text ? { text: text.slice(0, 10_000) } : {})
            });
          }
        },
        true
      );
    }
    window.addEventListener('blur', () => send({ kind: 'blur' }));
    window.addEventListener('focus', () => send({ kind: 'focus' }));
    Notification.info(
      'Your edits are kept with their time; long pastes and leaving this tab are noted for the people who review the interview.',
      { autoClose: 10_000 }
    );
  }

  private async restart(): Promise<void> {
    const answer = await showDialog({
      title: 'Restart Python?',
      body: 'Your code stays; Python starts again and forgets its variables.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Restart' })]
    });
    if (!answer.button.accept) {
      return;
    }
    const session = this.panel.sessionContext;
    const kernel = session.session?.kernel;
    if (kernel && kernel.status !== 'dead') {
      await session.restartKernel();
    } else {
      // Whatever left the page without a working Python, Restart brings one back.
      await session.changeKernel({ name: 'python' });
    }
  }

  private async submit(): Promise<void> {
    const answer = await showDialog({
      title: 'Submit your work?',
      body: 'This ends the interview for you: the notebook turns read-only and cannot be changed afterwards.',
      buttons: [Dialog.cancelButton({ label: 'Keep working' }), Dialog.okButton({ label: 'Submit' })]
    });
    if (!answer.button.accept || !this.room) {
      return;
    }
    try {
      await requestAPI(`rooms/${this.room.id}/submit`, { method: 'POST' });
    } catch (e) {
      const message = e instanceof RoomAPIError ? e.message : String(e);
      Notification.error(`Your work could not be submitted: ${message}`, { autoClose: false });
    }
  }

  private async fontSize(step: number): Promise<void> {
    const command = step > 0 ? 'apputils:incr-font-size' : 'apputils:decr-font-size';
    for (const key of ['content-font-size1', 'code-font-size', 'ui-font-size1']) {
      await this.app.commands.execute(command, { key });
    }
  }

  private async toggleTheme(): Promise<void> {
    const dark = document.body.dataset.jpThemeLight === 'false';
    await this.app.commands.execute('apputils:change-theme', {
      theme: dark ? 'JupyterLab Light' : 'JupyterLab Dark'
    });
  }

  /** Read-only: cells locked, no editing tools, only keys that move around. The server
   * drops a read-only link's edits anyway; this keeps the page from showing edits that
   * would never reach the room. */
  private lockPage(): void {
    if (this.locked) {
      return;
    }
    this.locked = true;
    makeReadOnly(this.panel);
    window.addEventListener(
      'keydown',
      event => {
        const copying = (event.ctrlKey || event.metaKey) && ['c', 'a', 'f'].includes(event.key);
        if (!READ_ONLY_KEYS.has(event.key) && !copying) {
          event.stopPropagation();
        }
      },
      true
    );
  }

  private room: IRoom | null = null;
  private locked = false;
  private readonly warned = new Set<number>();
  private readonly tick: number;
  private readonly titleNode: HTMLElement;
  private readonly clockNode: HTMLElement;
  private readonly peopleNode: HTMLElement;
  private readonly kernelNode: HTMLElement;
  private readonly runButtons: HTMLButtonElement[] = [];
  private readonly submitButton: HTMLButtonElement | null = null;
}

function makeReadOnly(panel: NotebookPanel): void {
  if (panel.hasClass('jp-mod-interviewReadOnly')) {
    return;
  }
  panel.addClass('jp-mod-interviewReadOnly');
  const lock = () => {
    for (const cell of panel.content.widgets) {
      cell.readOnly = true;
    }
  };
  lock();
  panel.content.model?.cells.changed.connect(lock);
  panel.content.mode = 'command';
}
