/**
 * Loads the %%piston magics into a room notebook's server kernel, each time it starts (only
 * when an operator allows server kernels for rooms): the server gives such a kernel the
 * room's endpoint and a runner token in its environment, so it only loads them. No kernel
 * is ever handed the server's token.
 *
 * The candidate's in-browser kernel (Pyodide) sets its magics up by itself as it starts
 * (kernel.ts, the worker), with the candidate's own cookie and XSRF header; the
 * "Candidate's browser" kernel runs nothing itself.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';

import { RELAY_KERNEL } from './relay';

const LOAD = "get_ipython().run_line_magic('load_ext', 'jupyter_interview.sandbox.magics')";
/** The in-browser kernels: the Pyodide one sets its magics up itself, the relay runs nothing. */
const IN_BROWSER = new Set(['python', RELAY_KERNEL]);

async function load(kernel: Kernel.IKernelConnection): Promise<void> {
  // The spec comes from the kernelspecs, without waiting for the kernel to be ready
  // (kernel.info would, and a cell run meanwhile would go first).
  const spec = await kernel.spec;
  if (spec?.language !== 'python' || IN_BROWSER.has(spec.name)) {
    return;
  }
  // silent: ipykernel neither counts it nor keeps it in its history.
  kernel.requestExecute({ code: LOAD, silent: true, store_history: false, allow_stdin: false });
}

export function loadMagicsInto(panel: NotebookPanel): void {
  const session = panel.sessionContext;
  // Kernels (by id) that were sent the magics. Send them as soon as a kernel connection
  // exists, so they are first in its queue, ahead of any cell the user runs while the
  // kernel is still starting. A restart keeps the id but loses everything: clear the mark.
  const loaded = new Set<string>();
  const maybeLoad = () => {
    const kernel = session.session?.kernel;
    if (!kernel || loaded.has(kernel.id) || ['restarting', 'autorestarting', 'dead'].includes(kernel.status)) {
      return;
    }
    loaded.add(kernel.id);
    void load(kernel);
  };
  session.statusChanged.connect((_, status) => {
    const kernel = session.session?.kernel;
    if (kernel && (status === 'restarting' || status === 'autorestarting')) {
      loaded.delete(kernel.id);
    } else {
      maybeLoad();
    }
  });
  void session.ready.then(maybeLoad);
}
