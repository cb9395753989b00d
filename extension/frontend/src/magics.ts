/**
 * Loads the %%piston magics into a room notebook's Python kernel, each time the kernel
 * starts. No kernel is ever handed the server's token.
 *
 * - The candidate's in-browser kernel (Pyodide) has the magics from its start-up packages
 *   (lite/build.py); they call the room's execute endpoint from the candidate's own page,
 *   with the candidate's cookie and XSRF header.
 * - A server kernel of a room (only when an operator allows them) is given the room's
 *   endpoint and a runner token by the server, in its environment: it only loads them.
 * - The "Candidate's browser" kernel runs nothing itself: nothing to load.
 */
import { PageConfig } from '@jupyterlab/coreutils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';

import { RELAY_KERNEL } from './relay';

const LOAD = "get_ipython().run_line_magic('load_ext', 'jupyter_interview.sandbox.magics')";

function browserSetup(roomId: string): string {
  const xsrf = decodeURIComponent(document.cookie.match(/(?:^|;\s*)_xsrf=([^;]+)/)?.[1] ?? '');
  const args = { base_url: PageConfig.getBaseUrl(), room_id: roomId, xsrf };
  return [
    LOAD,
    'import jupyter_interview.sandbox.magics as _interview_magics',
    `_interview_magics.configure(**${JSON.stringify(args)})`,
    'del _interview_magics'
  ].join('\n');
}

async function load(kernel: Kernel.IKernelConnection, roomId: string): Promise<void> {
  // The spec comes from the kernelspecs, without waiting for the kernel to be ready
  // (kernel.info would, and a cell run meanwhile would go first).
  const spec = await kernel.spec;
  if (spec?.language !== 'python' || spec.name === RELAY_KERNEL) {
    return;
  }
  kernel.requestExecute({
    code: spec.name === 'python' ? browserSetup(roomId) : LOAD,
    silent: true,
    store_history: false,
    allow_stdin: false
  });
}

export function loadMagicsInto(panel: NotebookPanel, roomId: string): void {
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
    void load(kernel, roomId);
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
