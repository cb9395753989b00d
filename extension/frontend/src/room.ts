/**
 * The room banner on a room notebook: title, status and time left, for everyone in the
 * room; it also loads the %%piston magics into the notebook's kernel (magics.ts). For a read-only link (an observer, or a candidate once the room has ended) it
 * also makes the notebook read-only in the page: the server drops their edits anyway,
 * this keeps the page from showing edits that will never reach the room.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { IRoom, RoomAPIError, requestAPI, timeLeft } from './api';
import { loadMagicsInto } from './magics';

const POLL_MS = 10_000;

class RoomBanner extends Widget {
  constructor(
    private readonly panel: NotebookPanel,
    private readonly roomId: string
  ) {
    super();
    this.addClass('jp-InterviewBanner');
    this.node.setAttribute('role', 'status');
    void this.refresh();
    this.poll = window.setInterval(() => void this.refresh(), POLL_MS);
    this.tick = window.setInterval(() => this.render(), 1000);
    panel.disposed.connect(() => this.dispose());
  }

  dispose(): void {
    window.clearInterval(this.poll);
    window.clearInterval(this.tick);
    super.dispose();
  }

  private async refresh(): Promise<void> {
    try {
      this.room = await requestAPI<IRoom>(`rooms/${this.roomId}`);
      this.error = '';
    } catch (e) {
      this.error =
        e instanceof RoomAPIError && e.status === 403
          ? 'This link no longer opens the interview.'
          : 'The interview server is not answering.';
    }
    this.render();
  }

  private render(): void {
    const room = this.room;
    if (!room) {
      this.node.textContent = this.error;
      return;
    }
    const readOnly =
      room.role === 'observer' ||
      (room.role === 'candidate' && room.status === 'ended');
    const parts = [room.title, room.status === 'open' ? 'live' : 'ended'];
    parts.push(timeLeft(room));
    if (readOnly) {
      parts.push(
        room.status === 'ended'
          ? 'the interview has ended: read-only'
          : 'watching: read-only'
      );
    }
    this.node.textContent = parts.filter(Boolean).join(' · ') + (this.error ? ` (${this.error})` : '');
    this.toggleClass('jp-mod-ended', room.status === 'ended');
    if (readOnly) {
      makeReadOnly(this.panel);
    }
  }

  private room: IRoom | null = null;
  private error = '';
  private readonly poll: number;
  private readonly tick: number;
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

export const roomPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-interview:room',
  description: 'The room banner; read-only pages for read-only links.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    tracker.widgetAdded.connect(async (_, panel) => {
      await panel.context.ready;
      const meta = panel.model?.getMetadata('interview') as
        | { room_id?: string }
        | undefined;
      if (meta?.room_id) {
        panel.toolbar.insertItem(0, 'interview-room', new RoomBanner(panel, meta.room_id));
        loadMagicsInto(panel, meta.room_id);
      }
    });
  }
};
