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
 * On a room's notebook page (page config `interviewNotebook`, set by the server) the
 * plugin also starts the notebook's session at once: the kernel then boots while the page
 * is still loading, and the notebook finds the session running when it opens.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { PyodideKernel } from '@jupyterlite/pyodide-kernel/lib/kernel';
import type { IPyodideWorkerKernel } from '@jupyterlite/pyodide-kernel/lib/tokens';
import { IKernel, IKernelSpecs } from '@jupyterlite/services';

export const PLUGIN_ID = 'jupyter-interview:pyodide-kernel';

/** Commands that interrupt the current notebook's kernel: toolbar, menu, shortcut, palette. */
const INTERRUPT_COMMANDS = new Set(['notebook:interrupt-kernel', 'kernelmenu:interrupt']);

/** SIGINT, as Pyodide reads it from the interrupt buffer. */
const SIGINT = 2;

/** This plugin's part of the page config's `litePluginSettings` (set by the server). */
interface ISettings {
  pyodideUrl: string;
  pipliteUrls?: string[];
  disablePyPIFallback?: boolean;
  loadPyodideOptions: PyodideKernel.IOptions['loadPyodideOptions'];
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
    if (!crossOriginIsolated) {
      return remote;
    }
    this._interruptBuffer = new Int32Array(new SharedArrayBuffer(4));
    return { ...remote, interruptBuffer: this._interruptBuffer } as IPyodideWorkerKernel.IOptions;
  }

  private _interruptBuffer?: Int32Array;
}

function readSettings(): ISettings {
  const all = JSON.parse(PageConfig.getOption('litePluginSettings') || '{}');
  const settings: ISettings = all[PLUGIN_ID] ?? {};
  if (!settings.pyodideUrl) {
    throw new Error(
      `${PLUGIN_ID}: no pyodideUrl in the page config; is the jupyter-interview server extension on?`
    );
  }
  const base = PageConfig.getBaseUrl();
  const resolve = (url: string) => new URL(url, base).href;
  const loadPyodideOptions = { ...settings.loadPyodideOptions };
  for (const [key, value] of Object.entries(loadPyodideOptions)) {
    if (key.endsWith('URL') && typeof value === 'string') {
      loadPyodideOptions[key] = resolve(value);
    }
  }
  return {
    pyodideUrl: resolve(settings.pyodideUrl),
    pipliteUrls: (settings.pipliteUrls ?? []).map(resolve),
    disablePyPIFallback: !!settings.disablePyPIFallback,
    loadPyodideOptions
  };
}

export const pyodideKernelPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The in-browser Pyodide kernel, with a fast start and a real interrupt.',
  autoStart: true,
  requires: [IKernelSpecs],
  optional: [INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    kernelspecs: IKernelSpecs,
    notebooks: INotebookTracker | null
  ) => {
    const settings = readSettings();
    const kernels = new Map<string, InterviewPyodideKernel>();
    kernelspecs.register({
      spec: {
        name: 'python',
        display_name: 'Python (Pyodide)',
        language: 'python',
        argv: [],
        resources: {}
      },
      create: async (options: IKernel.IOptions): Promise<IKernel> => {
        const kernel = new InterviewPyodideKernel({
          ...options,
          pyodideUrl: settings.pyodideUrl,
          pipliteUrls: settings.pipliteUrls ?? [],
          disablePyPIFallback: !!settings.disablePyPIFallback,
          mountDrive: crossOriginIsolated,
          loadPyodideOptions: settings.loadPyodideOptions,
          contentsManager: app.serviceManager.contents
        });
        kernels.set(kernel.id, kernel);
        kernel.disposed.connect(() => kernels.delete(kernel.id));
        return kernel;
      }
    });
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
        kernels.get(connection.id)?.interrupt();
      }
    });
  }
};
