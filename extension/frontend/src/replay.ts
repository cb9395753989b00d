/**
 * The replay page, in the interviewer's JupyterLab: a room's notebook, read-only, driven by
 * its timeline (`/interview/api/rooms/{id}/timeline`).
 *
 * It plays the interview back at 1× to 32×, skips idle stretches, steps from event to
 * event, and shows one track per participant in their presence colour with a marker for
 * each run, error, paste, focus loss, join and leave. Every moment it shows is the
 * server's notebook at that moment (`…/notebook?at=`), outputs included, rendered
 * untrusted; a diff compares two marks (or the template and the end). It reads the REST
 * API only: replaying a room that is still going changes nothing in it.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { URLExt } from '@jupyterlab/coreutils';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { ServerConnection } from '@jupyterlab/services';
import { Panel, Widget } from '@lumino/widgets';

import { IRoom, RoomAPIError, requestAPI } from './api';
import { pistonMimetype } from './highlight';

export interface IAuthor {
  id: string;
  role: string;
  name: string;
  color: string;
}

export interface ITimelineEvent {
  kind: string;
  seq: number;
  time: string;
  author?: IAuthor | null;
  cell_id?: string | null;
  end_seq?: number | null;
  end_time?: string | null;
  inserted?: number | null;
  deleted?: number | null;
  updates?: number | null;
  execution_count?: number | null;
  status?: string | null;
  outputs?: { type: string; size: number }[] | null;
  ename?: string | null;
  evalue?: string | null;
  language?: string | null;
  length?: number | null;
  reason?: string | null;
}

export interface ITimeline {
  room_id: string;
  first_seq: number;
  last_seq: number;
  participants: IAuthor[];
  events: ITimelineEvent[];
}

interface ICellChange {
  cell_id: string;
  change: string[];
  cell_type: string;
  from_index?: number | null;
  to_index?: number | null;
  source_diff: string[];
  outputs_changed?: boolean | null;
  outputs_from: { type: string; size: number }[];
  outputs_to: { type: string; size: number }[];
}

interface IDiff {
  from_seq: number;
  to_seq: number;
  from_time: string | null;
  to_time: string | null;
  cells: ICellChange[];
}

interface ICell {
  id?: string;
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: any[];
}

const SPEEDS = [1, 2, 4, 8, 16, 32];
// With "skip idle" on, a stretch with nothing happening longer than this is jumped over.
const IDLE_MS = 10_000;
const TICK_MS = 200;

const MARKERS: Record<string, { symbol: string; label: string }> = {
  run: { symbol: '▶', label: 'ran a cell' },
  error: { symbol: '✖', label: 'error' },
  piston: { symbol: '⚙', label: 'ran a program in the sandbox' },
  paste: { symbol: '⎘', label: 'pasted' },
  blur: { symbol: '◐', label: 'left the page' },
  focus: { symbol: '◑', label: 'came back to the page' },
  join: { symbol: '●', label: 'joined' },
  leave: { symbol: '○', label: 'left' },
  cells: { symbol: '▤', label: 'added, removed or moved cells' },
  end: { symbol: '■', label: 'the end' }
};

const when = (event: ITimelineEvent) => Date.parse(event.time);

function clock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function describe(event: ITimelineEvent): string {
  const who = event.author?.name ?? 'The server';
  switch (event.kind) {
    case 'edit':
      return `${who} typed in a cell (+${event.inserted ?? 0} −${event.deleted ?? 0} characters)`;
    case 'run':
      return `${who} ran cell [${event.execution_count}]: ${event.status}`;
    case 'error':
      return `${who}: ${event.ename}: ${event.evalue}`;
    case 'piston':
      return `${who} ran ${event.language} in the sandbox: ${event.status}`;
    case 'paste':
      return `${who} pasted ${event.length} characters`;
    case 'end':
      return `The interview ${event.reason === 'timeout' ? 'timed out' : `was ${event.reason}`}`;
    default:
      return `${who} ${MARKERS[event.kind]?.label ?? event.kind}`;
  }
}

/** The notebook as it stood at one moment: cells reused between moments by id. */
class NotebookView extends Panel {
  constructor(
    private readonly rendermime: IRenderMimeRegistry,
    private readonly languages: IEditorLanguageRegistry
  ) {
    super();
    this.addClass('jp-InterviewReplay-notebook');
  }

  render(notebook: { cells: ICell[] }, changed: Set<string>): void {
    const seen = new Set<string>();
    notebook.cells.forEach((cell, index) => {
      const id = cell.id ?? `index-${index}`;
      seen.add(id);
      let view = this.cells.get(id);
      if (!view || view.type !== cell.cell_type) {
        view?.dispose();
        view = new CellView(cell.cell_type, this.rendermime, this.languages);
        this.cells.set(id, view);
      }
      view.setCell(cell);
      view.toggleClass('jp-mod-changed', changed.has(id));
      view.node.dataset.cellId = id;
      this.insertWidget(index, view);
    });
    for (const [id, view] of this.cells) {
      if (!seen.has(id)) {
        view.dispose();
        this.cells.delete(id);
      }
    }
  }

  private readonly cells = new Map<string, CellView>();
}

/** One cell: its prompt, its source (highlighted, or markdown rendered untrusted) and its
 * outputs (JupyterLab's output area, untrusted: no script runs, HTML is sanitised). */
class CellView extends Panel {
  constructor(
    readonly type: string,
    private readonly rendermime: IRenderMimeRegistry,
    private readonly languages: IEditorLanguageRegistry
  ) {
    super();
    this.addClass('jp-InterviewReplay-cell');
    this.addClass(`jp-mod-${type}`);
    const input = new Widget();
    input.addClass('jp-InterviewReplay-input');
    this.prompt = element('div', 'jp-InterviewReplay-prompt');
    this.source = element('div', 'jp-InterviewReplay-source');
    input.node.append(this.prompt, this.source);
    this.addWidget(input);
    if (type === 'code') {
      this.outputs = new OutputArea({
        model: new OutputAreaModel({ trusted: false }),
        rendermime
      });
      this.outputs.addClass('jp-InterviewReplay-outputs');
      this.addWidget(this.outputs);
    }
  }

  setCell(cell: ICell): void {
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    if (this.type === 'code') {
      const count = cell.execution_count;
      this.prompt.textContent = `[${count ?? ' '}]:`;
    }
    if (source !== this.lastSource) {
      this.lastSource = source;
      void this.renderSource(source);
    }
    const outputs = JSON.stringify(cell.outputs ?? []);
    if (this.outputs && outputs !== this.lastOutputs) {
      this.lastOutputs = outputs;
      this.outputs.model.clear();
      this.outputs.model.fromJSON(cell.outputs ?? []);
    }
  }

  private async renderSource(source: string): Promise<void> {
    if (this.type === 'markdown') {
      const renderer = this.rendermime.createRenderer('text/markdown');
      await renderer.renderModel(
        new MimeModel({ data: { 'text/markdown': source }, trusted: false })
      );
      if (source === this.lastSource) {
        this.source.replaceChildren(renderer.node);
      }
      return;
    }
    const pre = element('pre', 'jp-InterviewReplay-code cm-s-jupyter');
    const mimetype = pistonMimetype(source) ?? 'text/x-python';
    const language = this.type === 'code' ? this.languages.findByMIME(mimetype) : null;
    if (language) {
      await this.languages.highlight(source, language, pre);
    } else {
      pre.textContent = source;
    }
    if (source === this.lastSource) {
      this.source.replaceChildren(pre);
    }
  }

  private readonly prompt: HTMLDivElement;
  private readonly source: HTMLDivElement;
  private readonly outputs: OutputArea | null = null;
  private lastSource: string | null = null;
  private lastOutputs: string | null = null;
}

/** The replay: controls, tracks and the notebook at the playhead. */
export class ReplayView extends Panel {
  constructor(
    private readonly room: IRoom,
    rendermime: IRenderMimeRegistry,
    languages: IEditorLanguageRegistry
  ) {
    super();
    this.addClass('jp-InterviewReplay');
    this.notebook = new NotebookView(rendermime, languages);

    const controls = element('div', 'jp-InterviewReplay-controls');
    this.previous = this.button('‹ Previous', 'Previous event (←)', () => this.step(-1));
    this.playButton = this.button('▶ Play', 'Play or pause (space)', () => this.toggle());
    this.next = this.button('Next ›', 'Next event (→)', () => this.step(1));
    this.speed = element('select', 'jp-InterviewReplay-speed');
    this.speed.title = 'Speed';
    for (const speed of SPEEDS) {
      const option = element('option', '', `${speed}×`);
      option.value = String(speed);
      this.speed.appendChild(option);
    }
    const skip = element('label', 'jp-InterviewReplay-skip');
    this.skipIdle = document.createElement('input');
    this.skipIdle.type = 'checkbox';
    this.skipIdle.checked = true;
    skip.append(this.skipIdle, ' Skip idle');
    this.clockNode = element('span', 'jp-InterviewReplay-clock');
    const diffs = element('span', 'jp-InterviewReplay-diffs');
    this.markButton = this.button('Mark A', 'Remember this moment to compare with another', () =>
      this.mark()
    );
    this.diffButton = this.button('Diff A → here', 'What changed between the mark and here', () =>
      void this.diff(this.markSeq, this.seq)
    );
    this.diffButton.disabled = true;
    const whole = this.button('Template → end', 'Everything the interview changed', () =>
      void this.diff(null, null)
    );
    const refresh = this.button('↻', 'Load what happened since', () => void this.load());
    diffs.append(this.markButton, this.diffButton, whole, refresh);
    controls.append(
      this.previous,
      this.playButton,
      this.next,
      this.speed,
      skip,
      this.clockNode,
      diffs
    );

    this.scrubber = element('input', 'jp-InterviewReplay-scrubber');
    this.scrubber.type = 'range';
    this.scrubber.min = '0';
    this.scrubber.step = 'any';
    this.scrubber.setAttribute('aria-label', 'Moment in the interview');
    this.scrubber.addEventListener('input', () => {
      this.pause();
      this.seekTime(this.start + Number(this.scrubber.value));
    });
    this.tracks = element('div', 'jp-InterviewReplay-tracks');
    this.status = element('div', 'jp-InterviewReplay-status');
    this.diffPanel = element('div', 'jp-InterviewReplay-diff');
    this.diffPanel.hidden = true;
    const body = new Panel();
    body.addClass('jp-InterviewReplay-body');
    body.addWidget(this.notebook);
    body.addWidget(new Widget({ node: this.diffPanel }));
    for (const node of [controls, this.scrubber, this.tracks, this.status]) {
      this.addWidget(new Widget({ node }));
    }
    this.addWidget(body);
    this.node.tabIndex = 0;
    this.node.addEventListener('keydown', event => this.onKey(event));
    void this.load();
  }

  dispose(): void {
    this.pause();
    super.dispose();
  }

  /** Fetch the timeline (again) and show the end, or where the playhead was. */
  async load(): Promise<void> {
    try {
      this.timeline = await requestAPI<ITimeline>(`rooms/${this.room.id}/timeline`);
    } catch (e) {
      this.status.textContent = `Could not load the timeline: ${(e as Error).message}`;
      return;
    }
    const events = this.timeline.events;
    const times = events.flatMap(e => [when(e), e.end_time ? Date.parse(e.end_time) : when(e)]);
    this.start = times.length ? Math.min(...times) : Date.now();
    this.end = times.length ? Math.max(...times) : this.start;
    this.scrubber.max = String(this.end - this.start);
    this.renderTracks();
    const first = this.playhead === null;
    this.seekTime(first ? this.end : this.playhead!, first ? 'end' : undefined);
  }

  private button(text: string, title: string, onClick: () => void): HTMLButtonElement {
    const node = element('button', 'jp-InterviewReplay-button', text);
    node.title = title;
    node.addEventListener('click', onClick);
    return node;
  }

  private renderTracks(): void {
    const timeline = this.timeline!;
    const span = Math.max(1, this.end - this.start);
    const at = (ms: number) => `${((ms - this.start) / span) * 100}%`;
    const rows: HTMLElement[] = [];
    const people = [...timeline.participants];
    const everyone = timeline.events.filter(e => !e.author);
    const track = (label: string, color: string, events: ITimelineEvent[]) => {
      const row = element('div', 'jp-InterviewReplay-track');
      const name = element('div', 'jp-InterviewReplay-trackLabel', label);
      name.style.borderLeftColor = color;
      const bar = element('div', 'jp-InterviewReplay-bar');
      for (const event of events) {
        if (event.kind === 'edit') {
          const edit = element('div', 'jp-InterviewReplay-edit');
          edit.style.left = at(when(event));
          const end = event.end_time ? Date.parse(event.end_time) : when(event);
          edit.style.width = `max(3px, ${((end - when(event)) / span) * 100}%)`;
          edit.style.background = color;
          edit.title = describe(event);
          edit.addEventListener('click', () => this.seekEvent(event));
          bar.appendChild(edit);
          continue;
        }
        const marker = element(
          'button',
          `jp-InterviewReplay-marker jp-mod-${event.kind}`,
          MARKERS[event.kind]?.symbol ?? '•'
        );
        marker.style.left = at(when(event));
        marker.title = `${clock(when(event) - this.start)} · ${describe(event)}`;
        marker.dataset.kind = event.kind;
        marker.setAttribute('aria-label', marker.title);
        marker.addEventListener('click', () => {
          this.pause();
          this.seekEvent(event);
        });
        bar.appendChild(marker);
      }
      const cursor = element('div', 'jp-InterviewReplay-cursor');
      bar.appendChild(cursor);
      row.append(name, bar);
      row.dataset.participant = label;
      rows.push(row);
    };
    for (const person of people) {
      track(
        `${person.name} · ${person.role}`,
        person.color,
        timeline.events.filter(e => e.author?.id === person.id)
      );
    }
    if (everyone.length) {
      track('Room', 'var(--jp-border-color1)', everyone);
    }
    this.tracks.replaceChildren(...rows);
  }

  private onKey(event: KeyboardEvent): void {
    const target = event.target as HTMLElement;
    if (target.tagName === 'INPUT' || target.tagName === 'SELECT') {
      return;
    }
    if (event.key === ' ') {
      this.toggle();
    } else if (event.key === 'ArrowRight') {
      this.step(1);
    } else if (event.key === 'ArrowLeft') {
      this.step(-1);
    } else {
      return;
    }
    event.preventDefault();
  }

  private toggle(): void {
    if (this.timer !== null) {
      this.pause();
    } else {
      this.play();
    }
  }

  private play(): void {
    if (this.playhead === null) {
      return;
    }
    if (this.playhead >= this.end) {
      this.seekTime(this.start);
    }
    this.playButton.textContent = '❚❚ Pause';
    let last = performance.now();
    const tick = () => {
      const now = performance.now();
      const speed = Number(this.speed.value);
      let t = this.playhead! + (now - last) * speed;
      last = now;
      if (this.skipIdle.checked) {
        t = this.skipped(t);
      }
      if (t >= this.end) {
        this.seekTime(this.end);
        this.pause();
        return;
      }
      this.seekTime(t);
      this.timer = window.setTimeout(tick, TICK_MS);
    };
    this.timer = window.setTimeout(tick, TICK_MS);
  }

  private pause(): void {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
    this.playButton.textContent = '▶ Play';
  }

  /** Where the playhead goes instead of `t` when nothing happens for a while. */
  private skipped(t: number): number {
    const events = this.timeline?.events ?? [];
    const busy = events.some(
      e => e.kind === 'edit' && when(e) <= t && Date.parse(e.end_time ?? e.time) >= t
    );
    if (busy) {
      return t;
    }
    const next = events.map(when).filter(ms => ms > t);
    const soonest = next.length ? Math.min(...next) : this.end;
    return soonest - t > IDLE_MS ? soonest - 500 : t;
  }

  private step(direction: 1 | -1): void {
    const events = this.timeline?.events ?? [];
    const here = this.playhead ?? this.start;
    const candidates = events.filter(e =>
      direction > 0 ? when(e) > here + 1 : when(e) < here - 1
    );
    const target = direction > 0 ? candidates[0] : candidates[candidates.length - 1];
    if (target) {
      this.pause();
      this.seekEvent(target);
    }
  }

  private seekEvent(event: ITimelineEvent): void {
    this.seekTime(when(event), String(event.seq), event);
  }

  /** Move the playhead to `ms` and show the notebook there (`at`: a seq, if known). */
  private seekTime(ms: number, at?: string, event?: ITimelineEvent): void {
    this.current = event ?? null;
    this.playhead = Math.min(Math.max(ms, this.start), this.end);
    this.scrubber.value = String(this.playhead - this.start);
    const percent = `${((this.playhead - this.start) / Math.max(1, this.end - this.start)) * 100}%`;
    for (const cursor of this.tracks.querySelectorAll<HTMLElement>('.jp-InterviewReplay-cursor')) {
      cursor.style.left = percent;
    }
    this.clockNode.textContent = `${clock(this.playhead - this.start)} / ${clock(
      this.end - this.start
    )}`;
    void this.showMoment(at ?? new Date(this.playhead).toISOString());
  }

  /** One request at a time; while one runs, only the latest wish waits. */
  private async showMoment(at: string): Promise<void> {
    if (this.loading) {
      this.wanted = at;
      return;
    }
    this.loading = true;
    try {
      const settings = ServerConnection.makeSettings();
      const url = URLExt.join(
        settings.baseUrl,
        'interview/api/rooms',
        this.room.id,
        `notebook?at=${encodeURIComponent(at)}`
      );
      const response = await ServerConnection.makeRequest(url, {}, settings);
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        throw new RoomAPIError(response.status, data.error ?? 'error', data.message ?? '');
      }
      const seq = Number(response.headers.get('X-Interview-Seq') ?? 0);
      const notebook = await response.json();
      if (seq !== this.seq) {
        this.seq = seq;
        this.notebook.render(notebook, this.activeCells());
      }
      this.node.dataset.seq = String(seq);
      this.status.textContent = this.current ? describe(this.current) : '';
    } catch (e) {
      this.status.textContent = `Could not open this moment: ${(e as Error).message}`;
    } finally {
      this.loading = false;
    }
    const wanted = this.wanted;
    this.wanted = null;
    if (wanted !== null) {
      await this.showMoment(wanted);
    }
  }

  /** The cells someone was typing in or running at the playhead: highlighted. */
  private activeCells(): Set<string> {
    const t = this.playhead ?? 0;
    const active = new Set<string>();
    for (const e of this.timeline?.events ?? []) {
      const end = Date.parse(e.end_time ?? e.time);
      if (e.cell_id && when(e) <= t + 1 && end >= t - 2_000) {
        active.add(e.cell_id);
      }
    }
    return active;
  }

  private mark(): void {
    this.markSeq = this.seq;
    this.markButton.textContent = `A: ${clock((this.playhead ?? this.start) - this.start)}`;
    this.diffButton.disabled = false;
  }

  private async diff(from: number | null, to: number | null): Promise<void> {
    const query = new URLSearchParams();
    if (from !== null) {
      query.set('from', String(from));
    }
    if (to !== null) {
      query.set('to', String(to));
    }
    let diff: IDiff;
    try {
      diff = await requestAPI<IDiff>(`rooms/${this.room.id}/diff?${query}`);
    } catch (e) {
      this.status.textContent = `Could not compare: ${(e as Error).message}`;
      return;
    }
    const heading = element('div', 'jp-InterviewReplay-diffHeading');
    const title = element(
      'strong',
      '',
      from === null && to === null
        ? 'The template → the end'
        : `${this.moment(diff.from_time)} → ${this.moment(diff.to_time)}`
    );
    const close = this.button('Close', 'Close the diff', () => {
      this.diffPanel.hidden = true;
    });
    heading.append(title, close);
    const list = element('div', 'jp-InterviewReplay-changes');
    if (!diff.cells.length) {
      list.textContent = 'No cell changed.';
    }
    for (const cell of diff.cells) {
      const item = element('div', 'jp-InterviewReplay-change');
      item.dataset.change = cell.change.join(' ');
      const index = cell.to_index ?? cell.from_index ?? 0;
      item.appendChild(
        element(
          'div',
          'jp-InterviewReplay-changeTitle',
          `Cell ${index + 1} (${cell.cell_type}) · ${cell.change.join(', ')}`
        )
      );
      if (cell.source_diff.length) {
        const pre = element('pre', 'jp-InterviewReplay-sourceDiff');
        for (const line of cell.source_diff) {
          const kind = line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'same';
          pre.appendChild(element('span', `jp-mod-${kind}`, `${line}\n`));
        }
        item.appendChild(pre);
      }
      if (cell.outputs_changed) {
        const said = (outputs: { type: string; size: number }[]) =>
          outputs.map(o => outputWords(o.type, o.size)).join(', ') || 'nothing';
        item.appendChild(
          element(
            'div',
            'jp-InterviewReplay-outputChange',
            `Output: ${said(cell.outputs_from)} → ${said(cell.outputs_to)}`
          )
        );
      }
      list.appendChild(item);
    }
    this.diffPanel.replaceChildren(heading, list);
    this.diffPanel.hidden = false;
  }

  private moment(time: string | null): string {
    return time ? clock(Date.parse(time) - this.start) : 'the start';
  }

  private readonly notebook: NotebookView;
  private readonly previous: HTMLButtonElement;
  private readonly playButton: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  private readonly skipIdle: HTMLInputElement;
  private readonly clockNode: HTMLSpanElement;
  private readonly markButton: HTMLButtonElement;
  private readonly diffButton: HTMLButtonElement;
  private readonly scrubber: HTMLInputElement;
  private readonly tracks: HTMLDivElement;
  private readonly status: HTMLDivElement;
  private readonly diffPanel: HTMLDivElement;
  private timeline: ITimeline | null = null;
  private start = 0;
  private end = 0;
  private playhead: number | null = null;
  private seq = -1;
  private markSeq = 0;
  private timer: number | null = null;
  private loading = false;
  private wanted: string | null = null;
  private current: ITimelineEvent | null = null;
}

/** The replay of a room in the main area (one per room: opening it again shows it). */
export function openReplay(
  shell: JupyterFrontEnd.IShell,
  room: IRoom,
  rendermime: IRenderMimeRegistry,
  languages: IEditorLanguageRegistry
): MainAreaWidget<ReplayView> {
  const id = `jupyter-interview-replay-${room.id}`;
  const existing = replays.get(id);
  if (existing && !existing.isDisposed) {
    shell.activateById(id);
    return existing;
  }
  const widget = new MainAreaWidget({ content: new ReplayView(room, rendermime, languages) });
  widget.id = id;
  widget.title.label = `Replay: ${room.title}`;
  widget.title.closable = true;
  replays.set(id, widget);
  widget.disposed.connect(() => replays.delete(id));
  shell.add(widget, 'main');
  shell.activateById(id);
  return widget;
}

const replays = new Map<string, MainAreaWidget<ReplayView>>();

/** An output as a reviewer says it: "an error", "printed text (15 characters)". */
function outputWords(type: string, size: number): string {
  const [kind, detail] = type.split(':');
  const what =
    kind === 'error'
      ? 'an error'
      : kind === 'stream'
        ? detail === 'stderr'
          ? 'printed warnings'
          : 'printed text'
        : detail?.includes('image/')
          ? 'a picture'
          : detail?.includes('text/html')
            ? 'a table or HTML'
            : 'a value';
  return `${what} (${size} characters)`;
}
