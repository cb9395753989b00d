/**
 * A room's event stream (`GET /interview/api/rooms/{id}/events`, server-sent events): the
 * room as it is, then every change (ended, extended, submitted), pushed by the server as
 * it happens; and for the candidate's page the interviewer's run and interrupt requests.
 * The browser's EventSource reconnects by itself, and gets the room again when it does.
 */
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { IRoom } from './api';

/** A cell the interviewer asked to run, to run in this (the candidate's) kernel. */
export interface IRunRequest {
  id: string;
  cell_id: string;
  code: string;
}

/** Whether the server can save the room's notebook, in words for the people in it. */
export interface ISaving {
  ok: boolean;
  message: string;
}

export class RoomEvents implements IDisposable {
  constructor(readonly roomId: string) {
    const url = URLExt.join(PageConfig.getBaseUrl(), 'interview/api/rooms', roomId, 'events');
    this._source = new EventSource(url);
    this._source.addEventListener('room', event =>
      this._roomChanged.emit(JSON.parse((event as MessageEvent).data))
    );
    this._source.addEventListener('run', event =>
      this._runRequested.emit(JSON.parse((event as MessageEvent).data))
    );
    this._source.addEventListener('interrupt', () => this._interruptRequested.emit());
    this._source.addEventListener('saving', event =>
      this._savingChanged.emit(JSON.parse((event as MessageEvent).data))
    );
  }

  /** The room, when the stream (re)connects and after every change. */
  get roomChanged(): ISignal<this, IRoom> {
    return this._roomChanged;
  }

  get runRequested(): ISignal<this, IRunRequest> {
    return this._runRequested;
  }

  get interruptRequested(): ISignal<this, void> {
    return this._interruptRequested;
  }

  /** The server could not save the notebook (`ok: false`), or can again (`ok: true`). */
  get savingChanged(): ISignal<this, ISaving> {
    return this._savingChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._source.close();
    Signal.clearData(this);
  }

  private readonly _source: EventSource;
  private _isDisposed = false;
  private readonly _roomChanged = new Signal<this, IRoom>(this);
  private readonly _runRequested = new Signal<this, IRunRequest>(this);
  private readonly _interruptRequested = new Signal<this, void>(this);
  private readonly _savingChanged = new Signal<this, ISaving>(this);
}
