/**
 * The in-browser Python kernel: jupyterlite-pyodide-kernel 0.7.2 with our own worker
 * (worker/pyodide.worker.ts), registered as the "python" kernel in place of the upstream
 * plugin (which our package.json's `disabledExtensions` turns off).
 *
 * Our own, because upstream's worker starts slowly and cannot be interrupted, and its
 * worker object is private. Owning the worker lets the page share an interrupt buffer
 * with it: the kernel's interrupt commands write SIGINT there, and Python raises
 * KeyboardInterrupt in the running cell. Queued cells are cancelled by the kernel client
 * as before.
 *
 * Room code runs only in the candidate's browser. On an interviewer's page the Pyodide
 * kernel refuses to start for a room notebook (it would run the candidate's code with the
 * interviewer's cookie); the page runs room cells through the "Candidate's browser"
 * kernel instead (relay.ts), which this plugin registers on pages that are not a room's.
 *
 * Two plugins (the room pages' service managers are in services.ts):
 * - pyodideKernelPlugin registers the kernels and keeps this page's kernels (IPyodideKernels);
 * - kernelControlsPlugin sends the interrupt commands to them, and on a room's notebook page
 *   (page config `interviewNotebook`, set by the server) starts the notebook's session at
 *   once: the kernel boots while the page is still loading, and the notebook finds the
 *   session running when it opens.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Contents, IContentsManager, ServiceManagerPlugin } from '@jupyterlab/services';
import { PyodideKernel } from '@jupyterlite/pyodide-kernel/lib/kernel';
import type { IPyodideWorkerKernel } from '@jupyterlite/pyodide-kernel/lib/tokens';
import { IKernel, IKernelSpecs } from '@jupyterlite/services';
import { Token } from '@lumino/coreutils';

import { RELAY_KERNEL, RelayKernel, roomOfLocation } from './relay';

export const PLUGIN_ID = 'jupyter-interview:pyodide-kernel';

/** Commands that interrupt the current notebook's kernel: toolbar, menu, shortcut, palette. */
const INTERRUPT_COMMANDS = new Set(['notebook:interrupt-kernel', 'kernelmenu:interrupt']);

/** SIGINT, as Pyodide reads it from the interrupt buffer. */
const SIGINT = 2;

/** This plugin's part of the page config's `litePluginSettings` (set by the server). */
interface ISettings {
  pyodideUrl: string;
  pipliteUrls: string[];
  disablePyPIFallback: boolean;
  loadPyodideOptions: PyodideKernel.IOptions['loadPyodideOptions'];
  /** The room's packages this server does not serve: loaded after start, in the background. */
  preloadPackages: string[];
}

interface IInterviewKernelOptions extends PyodideKernel.IOptions {
  preloadPackages: string[];
}

export class InterviewPyodideKernel extends PyodideKernel {
  /**
   * Interrupt the running cell. False when the page is not cross-origin isolated: there
   * is no shared memory to signal through then.
   */
  interrupt(): boolean {
    if (!this._interruptBuffer) {
      return false;
    }
    Atomics.store(this._interruptBuffer, 0, SIGINT);
    return true;
  }

  // Called from PyodideKernel's constructor: no field initializers here, they would run
  // after it and undo what these set.
  protected initWorker(options: PyodideKernel.IOptions): Worker {
    if (!crossOriginIsolated) {
      return super.initWorker(options);
    }
    return new Worker(new URL('./pyodide.worker.js', import.meta.url), {
      type: 'module'
    });
  }

  protected initRemoteOptions(
    options: PyodideKernel.IOptions
  ): IPyodideWorkerKernel.IOptions {
    const remote = super.initRemoteOptions(options);
    // A room's kernel sets up its %%piston magics as it starts, in the worker, outside
    // IPython's cells: a silent cell sent by the page used to advance IPython's execution
    // count but not the kernel's, so later cells showed one less than their In [N].
    const roomId = roomOfLocation(options.location);
    const magics = roomId
      ? {
          base_url: PageConfig.getBaseUrl(),
          room_id: roomId,
          xsrf: decodeURIComponent(document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/)?.[1] ?? '')
        }
      : undefined;
    const ours = {
      magics,
      preloadPackages: (options as IInterviewKernelOptions).preloadPackages ?? []
    };
    if (!crossOriginIsolated) {
      return { ...remote, ...ours } as IPyodideWorkerKernel.IOptions;
    }
    this._interruptBuffer = new Int32Array(new SharedArrayBuffer(4));
    return {
      ...remote,
      ...ours,
      interruptBuffer: this._interruptBuffer
    } as IPyodideWorkerKernel.IOptions;
  }

  private _interruptBuffer?: Int32Array;
}

function readSettings(): ISettings {
  const all = JSON.parse(PageConfig.getOption('litePluginSettings') || '{}');
  const settings: Partial<ISettings> = all[PLUGIN_ID] ?? {};
  if (!settings.pyodideUrl) {
    throw new Error(
      `${PLUGIN_ID}: no pyodideUrl in the page config; is the jupyter-interview server extension on?`
    );
  }
  const resolve = (url: string) => new URL(url, PageConfig.getBaseUrl()).href;
  return {
    pyodideUrl: resolve(settings.pyodideUrl),
    pipliteUrls: (settings.pipliteUrls ?? []).map(resolve),
    disablePyPIFallback: !!settings.disablePyPIFallback,
    // Typed as if lockFileURL were required; loadPyodide defaults it, as upstream relies on.
    loadPyodideOptions: settings.loadPyodideOptions ?? ({} as ISettings['loadPyodideOptions']),
    preloadPackages: settings.preloadPackages ?? []
  };
}

/** Whether this page is a room link's (a candidate's or an observer's), set by the server. */
export function isRoomPage(): boolean {
  return !!PageConfig.getOption('interviewRole');
}

/** The in-browser kernels of this page, by kernel id. */
export interface IPyodideKernels {
  /** Interrupt the kernel's running cell; false if it is not ours or cannot be. */
  interrupt(kernelId: string): boolean;
}

/** A kernel of ours that can be interrupted. */
interface IInterruptible {
  readonly id: string;
  interrupt(): boolean;
}

export const IPyodideKernels = new Token<IPyodideKernels>(
  'jupyter-interview:IPyodideKernels',
  'The in-browser Pyodide kernels of this page.'
);

export const pyodideKernelPlugin: ServiceManagerPlugin<IPyodideKernels> = {
  id: PLUGIN_ID,
  description: 'The in-browser Pyodide kernel, with a fast start and a real interrupt.',
  autoStart: true,
  requires: [IKernelSpecs, IContentsManager],
  provides: IPyodideKernels,
  // A service plugin (the room kernel-spec manager needs it): activated before the
  // application exists, with no app.
  activate: (
    _: null,
    kernelspecs: IKernelSpecs,
    contentsManager: Contents.IManager
  ): IPyodideKernels => {
    const settings = readSettings();
    const kernels = new Map<string, IInterruptible & IKernel>();
    const keep = <K extends IInterruptible & IKernel>(kernel: K): K => {
      kernels.set(kernel.id, kernel);
      kernel.disposed.connect(() => kernels.delete(kernel.id));
      return kernel;
    };
    const roomPage = isRoomPage();
    kernelspecs.register({
      spec: {
        name: 'python',
        display_name: 'Python (Pyodide)',
        language: 'python',
        argv: [],
        resources: {}
      },
      create: async (options: IKernel.IOptions): Promise<IKernel> => {
        if (!roomPage && roomOfLocation(options.location)) {
          throw new Error(
            "Room code runs only in the candidate's browser: pick the kernel \"Candidate's browser\"."
          );
        }
        const kernel = new InterviewPyodideKernel({
          ...options,
          pyodideUrl: settings.pyodideUrl,
          pipliteUrls: settings.pipliteUrls,
          disablePyPIFallback: settings.disablePyPIFallback,
          mountDrive: crossOriginIsolated,
          loadPyodideOptions: settings.loadPyodideOptions,
          preloadPackages: settings.preloadPackages,
          contentsManager
        } as IInterviewKernelOptions);
        return keep(kernel);
      }
    });
    if (!roomPage) {
      kernelspecs.register({
        spec: {
          name: RELAY_KERNEL,
          display_name: "Candidate's browser",
          language: 'python',
          argv: [],
          resources: {}
        },
        create: async (options: IKernel.IOptions): Promise<IKernel> =>
          keep(new RelayKernel(options))
      });
    }
    return { interrupt: kernelId => kernels.get(kernelId)?.interrupt() ?? false };
  }
};

export const kernelControlsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-interview:kernel-controls',
  description: 'Interrupts reach the Pyodide kernel; a room page starts its kernel early.',
  autoStart: true,
  requires: [IPyodideKernels],
  optional: [INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    kernels: IPyodideKernels,
    notebooks: INotebookTracker | null
  ) => {
    const notebook = PageConfig.getOption('interviewNotebook');
    if (notebook) {
      // Should this fail, the notebook starts its kernel when it opens, as usual.
      app.serviceManager.sessions
        .startNew({
          path: notebook,
          name: PathExt.basename(notebook),
          type: 'notebook',
          kernel: { name: 'python' }
        })
        .catch(reason => console.warn(`${PLUGIN_ID}: early kernel start failed`, reason));
    }
    app.commands.commandExecuted.connect((_, { id }) => {
      if (!INTERRUPT_COMMANDS.has(id)) {
        return;
      }
      const connection = notebooks?.currentWidget?.sessionContext.session?.kernel;
      // Only a running cell: a stray SIGINT would stop the next one.
      if (connection?.status === 'busy') {
        kernels.interrupt(connection.id);
      }
    });
  }
};
