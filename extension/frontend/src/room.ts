/**
 * Room notebooks, on every page that opens one.
 *
 * - Nothing in a room notebook is trusted: its outputs and markdown render as untrusted
 *   (sanitised HTML, no script, no JavaScript output) whatever the cells' metadata says.
 *   A room notebook is written by its candidate; JupyterLab would render a cell marked
 *   `trusted` unsanitised. (The server strips such flags and never signs a room notebook;
 *   its Content-Security-Policy blocks inline script besides.)
 * - On the interviewer's page a room notebook runs on the "Candidate's browser" kernel
 *   (relay.ts): room code never runs in the interviewer's page.
 * - On the interviewer's page, a banner in the notebook's toolbar: title and time left. On
 *   a room user's page, the header that replaces Notebook 7's chrome (chrome.ts). Both
 *   follow the room's event stream.
 * - On the candidate's page: the interviewer's runs execute here (relay.ts); the %%piston
 *   magics load into the kernel (magics.ts).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  INotebookTracker,
  INotebookWidgetFactory,
  NotebookPanel,
  NotebookWidgetFactory
} from '@jupyterlab/notebook';
import { Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { IRoom, timeLeft } from './api';
import { RoomHeader } from './chrome';
import { RoomEvents } from './events';
import { isRoomPage } from './kernel';
import { loadMagicsInto } from './magics';
import { RELAY_KERNEL, roomOfLocation, serveRuns } from './relay';

/** The interviewer's banner, in the notebook's toolbar: the room's title and time left. */
class RoomBanner extends Widget {
  constructor(events: RoomEvents) {
    super();
    this.addClass('jp-InterviewBanner');
    this.node.setAttribute('role', 'status');
    this.node.textContent = 'Connecting to the interview…';
    events.roomChanged.connect((_, room) => {
      this.room = room;
      this.render();
    });
    this.tick = window.setInterval(() => this.render(), 1000);
  }

  dispose(): void {
    window.clearInterval(this.tick);
    super.dispose();
  }

  private render(): void {
    const room = this.room;
    if (!room) {
      return;
    }
    const parts = [room.title];
    parts.push(room.status === 'open' ? timeLeft(room) : 'the interview has ended');
    this.node.textContent = parts.filter(Boolean).join(' · ');
    this.toggleClass('jp-mod-ended', room.status === 'ended');
  }

  private room: IRoom | null = null;
  private readonly tick: number;
}

/** The same model, untrusted: what every renderer of a room notebook is given. */
function untrusted(model: IRenderMime.IMimeModel): IRenderMime.IMimeModel {
  return {
    trusted: false,
    get data() {
      return model.data;
    },
    get metadata() {
      return model.metadata;
    },
    setData: options => model.setData(options)
  };
}

/** Make every renderer of this notebook's own registry (a clone per panel) render
 * untrusted. */
function renderUntrusted(rendermime: IRenderMimeRegistry): void {
  for (const mimeType of rendermime.mimeTypes) {
    const factory = rendermime.getFactory(mimeType);
    if (!factory) {
      continue;
    }
    rendermime.addFactory(
      {
        ...factory,
        mimeTypes: [mimeType],
        createRenderer: options => {
          const renderer = factory.createRenderer(options);
          const render = renderer.renderModel.bind(renderer);
          renderer.renderModel = model => render(untrusted(model));
          return renderer;
        }
      },
      rendermime.getRank(mimeType)
    );
  }
}

/** On an interviewer's page: the name this room gives its interviewer, for the others. */
function nameInterviewer(panel: NotebookPanel, room: IRoom): void {
  const awareness = panel.model?.sharedModel.awareness;
  const user = awareness?.getLocalState()?.user as Record<string, unknown> | undefined;
  const name = room.interviewer_name;
  if (awareness && user && name && user.name !== name) {
    const initials = name
      .split(/\s+/)
      .slice(0, 2)
      .map(part => part[0]?.toUpperCase() ?? '')
      .join('');
    awareness.setLocalStateField('user', { ...user, name, display_name: name, initials });
  }
}

/** On an observer's page: no kernel at all (an observer runs nothing). */
function runNothing(panel: NotebookPanel): void {
  const session = panel.sessionContext;
  const never = () => {
    const preference = session.kernelPreference;
    if (preference.shouldStart !== false || preference.canStart !== false) {
      session.kernelPreference = {
        ...preference,
        shouldStart: false,
        canStart: false,
        autoStartDefault: false
      };
    }
  };
  never();
  session.kernelPreferenceChanged.connect(never);
}

/** On an interviewer's page: this room notebook runs on the candidate's kernel. */
function runOnCandidate(panel: NotebookPanel): void {
  const session = panel.sessionContext;
  const prefer = () => {
    if (session.kernelPreference.name !== RELAY_KERNEL) {
      // Synchronous: the context sets the notebook's own kernel name, then starts it.
      session.kernelPreference = {
        ...session.kernelPreference,
        name: RELAY_KERNEL,
        language: 'python'
      };
    }
  };
  prefer();
  session.kernelPreferenceChanged.connect(prefer);
}

export const roomPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-interview:room',
  description:
    'Room notebooks: untrusted rendering, the candidate kernel for interviewers, the banner.',
  autoStart: true,
  requires: [INotebookTracker, INotebookWidgetFactory],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    factory: NotebookWidgetFactory.IFactory
  ) => {
    const roomPage = isRoomPage();
    // When the panel is made, before its notebook has loaded or rendered anything.
    factory.widgetCreated.connect((_, panel) => {
      if (!roomOfLocation(panel.context.path)) {
        return;
      }
      renderUntrusted(panel.content.rendermime);
      if (!roomPage) {
        runOnCandidate(panel);
      } else if (PageConfig.getOption('interviewRole') === 'observer') {
        runNothing(panel);
      }
    });
    tracker.widgetAdded.connect(async (_, panel) => {
      await panel.context.ready;
      const meta = panel.model?.getMetadata('interview') as
        | { room_id?: string }
        | undefined;
      if (!meta?.room_id) {
        return;
      }
      const events = new RoomEvents(meta.room_id);
      panel.disposed.connect(() => events.dispose());
      let unsaved: string | null = null;
      events.savingChanged.connect((_, saving) => {
        if (unsaved) {
          Notification.dismiss(unsaved);
          unsaved = null;
        }
        if (saving.ok) {
          Notification.success(saving.message, { autoClose: 5000 });
        } else {
          unsaved = Notification.warning(saving.message, { autoClose: false });
        }
      });
      loadMagicsInto(panel);
      const role = PageConfig.getOption('interviewRole');
      if (role === 'candidate' || role === 'observer') {
        // A room user's page: our header in place of Notebook 7's chrome (chrome.ts).
        document.body.classList.add('jp-mod-interviewRoomPage');
        app.shell.add(new RoomHeader(app, panel, events, role), 'top', { rank: 0 });
        // Notebook 7's menu bar (its menus are off for room pages) would stay as an empty band.
        (app.shell as unknown as { menu?: Widget }).menu?.hide();
        if (role === 'candidate') {
          serveRuns(panel, events, () => void app.commands.execute('notebook:interrupt-kernel'));
        }
      } else {
        panel.toolbar.insertItem(0, 'interview-room', new RoomBanner(events));
        events.roomChanged.connect((_, room) => nameInterviewer(panel, room));
      }
    });
  }
};
