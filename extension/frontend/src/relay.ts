/**
 * One shared program: the interviewer's runs execute in the candidate's kernel.
 *
 * Room code must never run in the interviewer's page, where it would act with the
 * interviewer's cookie. So on the interviewer's side a room notebook gets the
 * "Candidate's browser" kernel (`RelayKernel`): it runs nothing itself, but asks the server
 * (`POST /interview/api/rooms/{id}/runs`) to have the candidate's page run the cell. On
 * the candidate's side `serveRuns` runs it in the candidate's own kernel, as if the
 * candidate had pressed Run, and reports back. The outputs land in the shared notebook,
 * so both see them; the execution count comes back with the report.
 */
import { CodeCell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { BaseKernel, IKernel } from '@jupyterlite/services';

import { RoomAPIError, requestAPI } from './api';
import { IRunRequest, RoomEvents } from './events';

export const RELAY_KERNEL = 'interview-room';

// The kernel protocol's shapes as BaseKernel declares them (@jupyterlite/services brings its
// own copy of @jupyterlab/services, whose types TypeScript keeps apart from ours).
type Reply<K extends keyof BaseKernel> = BaseKernel[K] extends (...args: any[]) => Promise<infer R>
  ? R
  : never;
type Request<K extends keyof BaseKernel> = BaseKernel[K] extends (content: infer C) => unknown
  ? C
  : never;

interface IRunReport {
  status: 'ok' | 'error' | 'aborted';
  execution_count: number | null;
}

/** The room id of a kernel started for `rooms/<id>/…` (its location), or null. */
export function roomOfLocation(location: string): string | null {
  const path = location.replace(/^[^/:]+:/, '').replace(/^\/+/, '');
  const match = /^rooms\/([0-9a-f]{16})(\/|$)/.exec(path);
  return match ? match[1] : null;
}

export class RelayKernel extends BaseKernel {
  constructor(options: IKernel.IOptions) {
    super(options);
    this._roomId = roomOfLocation(options.location);
  }

  /** Interrupt the candidate's kernel. */
  interrupt(): boolean {
    if (!this._roomId) {
      return false;
    }
    void requestAPI(`rooms/${this._roomId}/interrupt`, { method: 'POST' });
    return true;
  }

  async kernelInfoRequest(): Promise<Reply<'kernelInfoRequest'>> {
    return {
      implementation: 'interview-relay',
      implementation_version: '1',
      language_info: {
        name: 'python',
        version: '3',
        mimetype: 'text/x-python',
        file_extension: '.py',
        codemirror_mode: { name: 'python', version: 3 },
        nbconvert_exporter: 'python',
        pygments_lexer: 'ipython3'
      },
      protocol_version: '5.3',
      status: 'ok',
      banner: "Runs cells in the candidate's browser",
      help_links: []
    };
  }

  async executeRequest(
    content: Request<'executeRequest'>
  ): Promise<Reply<'executeRequest'>> {
    const cellId = (this.parent?.metadata as { cellId?: string } | undefined)?.cellId;
    const failed = (why: string) => {
      this.stream({ name: 'stderr', text: why + '\n' });
      return {
        status: 'error' as const,
        execution_count: this.executionCount,
        ename: 'NotRun',
        evalue: why,
        traceback: []
      };
    };
    if (!this._roomId || !cellId) {
      return failed("Room cells run in the candidate's browser; this one could not be sent there.");
    }
    try {
      const report = await requestAPI<IRunReport>(`rooms/${this._roomId}/runs`, {
        method: 'POST',
        body: JSON.stringify({ cell_id: cellId, code: content.code })
      });
      if (report.status === 'ok') {
        return {
          status: 'ok',
          execution_count: report.execution_count ?? this.executionCount,
          user_expressions: {},
          payload: []
        };
      }
      // The error itself is already in the cell's outputs, written by the candidate's page.
      return {
        status: 'error',
        execution_count: report.execution_count ?? this.executionCount,
        ename: report.status === 'aborted' ? 'Aborted' : 'Error',
        evalue: '',
        traceback: []
      };
    } catch (e) {
      return failed(e instanceof RoomAPIError ? e.message : String(e));
    }
  }

  async completeRequest(
    content: Request<'completeRequest'>
  ): Promise<Reply<'completeRequest'>> {
    return {
      status: 'ok',
      matches: [],
      cursor_start: content.cursor_pos,
      cursor_end: content.cursor_pos,
      metadata: {}
    };
  }

  async inspectRequest(): Promise<Reply<'inspectRequest'>> {
    return { status: 'ok', found: false, data: {}, metadata: {} };
  }

  async isCompleteRequest(): Promise<Reply<'isCompleteRequest'>> {
    return { status: 'unknown' };
  }

  async commInfoRequest(): Promise<Reply<'commInfoRequest'>> {
    return { status: 'ok', comms: {} };
  }

  inputReply(): void {
    // input() prompts appear on the candidate's page, where the cell runs.
  }

  async commOpen(): Promise<void> {}

  async commMsg(): Promise<void> {}

  async commClose(): Promise<void> {}

  private readonly _roomId: string | null;
}

/** How long the candidate's page waits for a cell's source to arrive before running it. */
const SOURCE_WAIT_MS = 5000;

/** On the candidate's page: run the interviewer's cells in this page's kernel. */
export function serveRuns(
  panel: NotebookPanel,
  events: RoomEvents,
  interrupt: () => void
): void {
  events.runRequested.connect(async (_, run) => {
    const report = await runCell(panel, run);
    try {
      await requestAPI(`rooms/${events.roomId}/runs/${run.id}`, {
        method: 'POST',
        body: JSON.stringify(report)
      });
    } catch (e) {
      console.warn('jupyter-interview: could not report a run', e);
    }
  });
  events.interruptRequested.connect(interrupt);
}

async function runCell(panel: NotebookPanel, run: IRunRequest): Promise<IRunReport> {
  const cell = panel.content.widgets.find(widget => widget.model.id === run.cell_id);
  if (!(cell instanceof CodeCell)) {
    return { status: 'aborted', execution_count: null };
  }
  await sourceArrives(cell, run.code);
  const reply = await CodeCell.execute(cell, panel.sessionContext);
  const status = reply?.content.status;
  return {
    status: status === 'ok' ? 'ok' : status === 'error' ? 'error' : 'aborted',
    execution_count: cell.model.executionCount
  };
}

/** The run request and the edit that made the code travel separately: wait for the edit. */
function sourceArrives(cell: CodeCell, code: string): Promise<void> {
  const shared = cell.model.sharedModel;
  if (shared.getSource() === code) {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    const done = () => {
      shared.changed.disconnect(check);
      window.clearTimeout(timer);
      resolve();
    };
    const check = () => {
      if (shared.getSource() === code) {
        done();
      }
    };
    const timer = window.setTimeout(done, SOURCE_WAIT_MS);
    shared.changed.connect(check);
  });
}
