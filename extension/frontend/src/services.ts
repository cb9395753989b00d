/**
 * What a room page's service manager is made of: in-browser kernel specs only, and no
 * server event bus.
 *
 * A room user may not list or start the server's kernels, nor read its event stream (the
 * server answers 403). jupyterlab-hybrid-kernels' spec manager would merge in the server's
 * kernel specs, and JupyterLab's event manager would retry the refused event socket every
 * few seconds for as long as the page is open (hundreds of 403s in the log). The server's
 * page config turns these plugins on for room pages in place of those
 * (jupyter_interview/access/pageconfig.py); our package.json keeps them off everywhere else.
 */
import {
  Event,
  IEventManager,
  IKernelSpecManager,
  IServerSettings,
  KernelSpec,
  KernelSpecManager,
  ServerConnection,
  ServiceManagerPlugin
} from '@jupyterlab/services';
import { IKernelSpecs, LiteKernelSpecClient } from '@jupyterlite/services';
import { Stream } from '@lumino/signaling';

import { IPyodideKernels } from './kernel';

/** Only the in-browser kernels' specs. */
export const roomKernelSpecsPlugin: ServiceManagerPlugin<KernelSpec.IManager> = {
  id: 'jupyter-interview:room-kernelspecs',
  description: 'Room pages list only the in-browser kernels, never the server\'s.',
  autoStart: true,
  provides: IKernelSpecManager,
  // IPyodideKernels: only once the Pyodide kernel is registered, so that the first list
  // already holds it (a notebook opening on an empty list would start no kernel).
  requires: [IKernelSpecs, IPyodideKernels],
  optional: [IServerSettings],
  activate: (
    _: null,
    kernelSpecs: IKernelSpecs,
    __: IPyodideKernels,
    serverSettings: ServerConnection.ISettings | null
  ): KernelSpec.IManager => {
    const manager = new KernelSpecManager({
      kernelSpecAPIClient: new LiteKernelSpecClient({ kernelSpecs }),
      serverSettings: serverSettings ?? undefined
    });
    kernelSpecs.changed.connect(() => void manager.refreshSpecs());
    return manager;
  }
};

class NoEvents implements Event.IManager {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  readonly stream: Event.Stream = new Stream(this);

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  async emit(): Promise<void> {
    throw new Error('Room pages send no server events.');
  }

  dispose(): void {
    this._isDisposed = true;
  }

  private _isDisposed = false;
}

/** An event bus that never connects: nothing to hear, nothing to send. */
export const noEventsPlugin: ServiceManagerPlugin<Event.IManager> = {
  id: 'jupyter-interview:no-events',
  description: 'Room pages: an event manager that never connects (room pages only).',
  autoStart: true,
  provides: IEventManager,
  optional: [IServerSettings],
  activate: (_: null, serverSettings: ServerConnection.ISettings | null): Event.IManager =>
    new NoEvents(serverSettings ?? ServerConnection.makeSettings())
};
