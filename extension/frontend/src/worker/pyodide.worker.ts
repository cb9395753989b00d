/**
 * The Pyodide kernel's web worker: jupyterlite-pyodide-kernel's own (the coincident
 * worker of 0.7.2, for cross-origin isolated pages), changed where an interview needs it.
 *
 * - Interrupts. The page hands over a SharedArrayBuffer (`interruptBuffer`) that Pyodide
 *   checks while Python runs: writing 2 (SIGINT) into it raises KeyboardInterrupt in the
 *   running cell. Upstream has no interrupt at all (jupyterlite#459).
 * - Start-up. Upstream installs sqlite3, ipykernel, comm, pyodide_kernel, jedi and ipython
 *   one after another through piplite. Here `loadPyodide` has fetched them all at once
 *   while it booted (`loadPyodideOptions.packages`, from the lock that lite/build.py
 *   writes), and jedi only where completion is on; this worker only imports the kernel.
 * - The drive. The kernel's working directory is the room folder, mounted over the
 *   server's contents API, and '' (the working directory) leads sys.path: each import of a
 *   new module costs a synchronous request to the server. The kernel's own start-up
 *   imports (about 60 of them, 2-3 s) skip it; the candidate's own imports still find
 *   modules in the room folder, as in Jupyter.
 * - Error names. Upstream reports an error's `ename` as `str(type(e))`, "<class
 *   'ZeroDivisionError'>", where IPython's kernel says `ZeroDivisionError`: notebooks,
 *   the timeline and graders read the name.
 */
import coincident from 'coincident';
import { PyodideRemoteKernel } from '@jupyterlite/pyodide-kernel/lib/worker';
import type { IPyodideWorkerKernel } from '@jupyterlite/pyodide-kernel/lib/tokens';
import {
  ContentsAPI,
  DriveFS,
  TDriveMethod,
  TDriveRequest,
  TDriveResponse
} from '@jupyterlite/services/lib/contents/drivefs';

export interface IInterviewWorkerOptions extends IPyodideWorkerKernel.IOptions {
  /** Pyodide's interrupt buffer, shared with the page (Int32Array over a SharedArrayBuffer). */
  interruptBuffer?: Int32Array;
  /** Where a room's %%piston magics send programs (its execute endpoint). */
  magics?: { base_url: string; room_id: string; xsrf: string };
  /** Packages to load once the kernel runs, in the background (from the Pyodide CDN). */
  preloadPackages?: string[];
}

/** What the page answers for the worker, synchronously (Atomics.wait) from Python's side. */
interface IPageAPI {
  processDriveRequest<T extends TDriveMethod>(data: TDriveRequest<T>): TDriveResponse<T>;
  processStdinRequest(content: { prompt: string; password: boolean }): string | undefined;
  processWorkerMessage(msg: any): void;
  processLogMessage(msg: any): void;
  [method: string]: any;
}

const page = coincident(self) as IPageAPI;

class PageContentsAPI extends ContentsAPI {
  request<T extends TDriveMethod>(data: TDriveRequest<T>): TDriveResponse<T> {
    return page.processDriveRequest(data);
  }
}

class PageDriveFS extends DriveFS {
  createAPI(options: DriveFS.IOptions): ContentsAPI {
    return new PageContentsAPI(options);
  }
}

/** Python: the %%piston magics, loaded and pointed at the room, without running a cell. */
const SETUP_MAGICS = [
  'from IPython import get_ipython',
  'import jupyter_interview.sandbox.magics as _m',
  "get_ipython().extension_manager.load_extension('jupyter_interview.sandbox.magics')",
  '_m.configure(**_interview_magics_options)',
  'del _m, _interview_magics_options, get_ipython'
].join('\n');

/** Python: after a ModuleNotFoundError for a package from the CDN, say where it comes from. */
const EXPLAIN_MISSING = `
def _interview_explain(shell, etype, evalue, tb, tb_offset=None):
    shell.showtraceback((etype, evalue, tb), tb_offset=tb_offset)
    name = (getattr(evalue, "name", None) or "").split(".")[0]
    where = _interview_remote_modules.get(name)
    if where:
        import sys
        print(
            f"{name} is loaded from {where}, which this browser cannot reach. This interview's"
            f" server does not serve {name} itself: tell your interviewer.",
            file=sys.stderr,
        )

from IPython import get_ipython
get_ipython().set_custom_exc((ModuleNotFoundError,), _interview_explain)
del get_ipython
`;

interface ILockEntry {
  file_name: string;
  imports?: string[];
}

/** Python: the working directory off sys.path while the kernel starts, and back after. */
const LEAVE_DRIVE_PATH = 'import sys; sys.path.remove("") if "" in sys.path else None';
const RESTORE_DRIVE_PATH = 'sys.path.insert(0, ""); del sys';

class InterviewKernelWorker extends PyodideRemoteKernel {
  protected async initRuntime(options: IInterviewWorkerOptions): Promise<void> {
    await super.initRuntime(options);
    this._interruptBuffer = options.interruptBuffer ?? null;
    if (this._interruptBuffer) {
      this._pyodide.setInterruptBuffer(this._interruptBuffer);
    }
  }

  protected async initFilesystem(options: IInterviewWorkerOptions): Promise<void> {
    if (!options.mountDrive) {
      return;
    }
    const mountpoint = '/drive';
    const { FS, PATH, ERRNO_CODES } = this._pyodide;
    const driveFS = new PageDriveFS({
      FS: FS as any,
      PATH,
      ERRNO_CODES,
      baseUrl: options.baseUrl,
      driveName: this._driveName,
      mountpoint
    });
    FS.mkdirTree(mountpoint);
    FS.mount(driveFS, {}, mountpoint);
    FS.chdir(mountpoint);
    this._driveFS = driveFS;
    this._pyodide.runPython(LEAVE_DRIVE_PATH);
  }

  protected async initKernel(options: IInterviewWorkerOptions): Promise<void> {
    await this._pyodide.runPythonAsync('import pyodide_kernel');
    if (options.magics) {
      this._pyodide.globals.set('_interview_magics_options', this._pyodide.toPy(options.magics));
      this._pyodide.runPython(SETUP_MAGICS);
    }
    await this.explainMissingPackages(options);
    if (options.preloadPackages?.length) {
      // Best effort, in the background: a CDN this browser cannot reach must not keep
      // Python from starting; an import then says why it failed (below).
      void this._pyodide
        .loadPackage(options.preloadPackages, { messageCallback: () => undefined })
        .catch(() => undefined);
    }
    if (options.mountDrive) {
      this._pyodide.runPython(RESTORE_DRIVE_PATH);
      if (this._localPath) {
        this._pyodide.FS.chdir(this._pyodide.PATH.join2('/drive', this._localPath));
      }
    }
  }

  /**
   * A package this server does not serve comes from the Pyodide CDN, which a candidate's
   * browser may not reach: `import pandas` then failed with a bare ModuleNotFoundError.
   * IPython now adds, after the traceback, where the package comes from and why it is
   * missing.
   */
  private async explainMissingPackages(options: IInterviewWorkerOptions): Promise<void> {
    const remote: Record<string, string> = {};
    try {
      const lock = await (await fetch(new URL('pyodide-lock.json', options.pyodideUrl))).json();
      for (const entry of Object.values(lock.packages) as ILockEntry[]) {
        if (/^https?:\/\//.test(entry.file_name)) {
          const origin = new URL(entry.file_name).origin;
          for (const module of entry.imports ?? []) {
            remote[module] = origin;
          }
        }
      }
    } catch {
      return; // no lock to read: the plain error it is
    }
    this._pyodide.globals.set('_interview_remote_modules', this._pyodide.toPy(remote));
    this._pyodide.runPython(EXPLAIN_MISSING);
  }

  /** Before each request: an interrupt that came while nothing ran must not stop this one. */
  async setup(parent: any): Promise<void> {
    await super.setup(parent);
    if (this._interruptBuffer) {
      Atomics.store(this._interruptBuffer, 0, 0);
    }
  }

  async execute(content: any, parent: any): Promise<any> {
    const reply = await super.execute(content, parent);
    if (typeof reply?.ename === 'string') {
      reply.ename = errorName(reply.ename);
    }
    return reply;
  }

  protected sendInputRequest(prompt: string, password: boolean): string | undefined {
    return page.processStdinRequest({ prompt, password });
  }

  private _interruptBuffer: Int32Array | null = null;
}

/** `<class 'pkg.mod.Name'>` → `Name`, as IPython's kernel names an error. */
function errorName(ename: string): string {
  return ename.replace(/^<class '(?:[\w.]*\.)?([^.']+)'>$/, '$1');
}

const worker = new InterviewKernelWorker();
worker.registerWorkerMessageCallback(msg => {
  if (msg?.type === 'execute_error' && typeof msg.bundle?.ename === 'string') {
    msg.bundle.ename = errorName(msg.bundle.ename);
  }
  page.processWorkerMessage(msg);
});
worker.registerLogMessageCallback(page.processLogMessage.bind(page));
for (const method of [
  'initialize',
  'execute',
  'complete',
  'inspect',
  'isComplete',
  'commInfo',
  'commOpen',
  'commMsg',
  'commClose',
  'inputReply'
] as const) {
  page[method] = (worker[method] as (...args: any[]) => any).bind(worker);
}
