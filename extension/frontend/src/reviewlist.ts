/**
 * The review list, in the interviewer's panel: every room with how it ended, its hidden
 * tests and who has scored it, filtered by template and status. The keyboard moves through
 * it: ↑ and ↓ choose a submission, Enter opens its review page, g grades it again, r
 * replays it.
 */
import { Notification, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IReviewSummary, ITemplate, openPage, requestAPI } from './api';

const ENDED = { submitted: 'submitted', ended: 'ended', timeout: 'timed out' };

export class ReviewList extends Widget {
  constructor(private readonly replay: (roomId: string) => void) {
    super();
    this.addClass('jp-InterviewReviewList');
    const filters = document.createElement('div');
    filters.className = 'jp-InterviewReviewList-filters';
    this.template = document.createElement('select');
    this.template.setAttribute('aria-label', 'Template');
    this.template.append(new Option('Every template', ''));
    this.status = document.createElement('select');
    this.status.setAttribute('aria-label', 'Status');
    for (const [value, text] of [
      ['ended', 'Ended'],
      ['open', 'Running'],
      ['', 'All']
    ]) {
      this.status.append(new Option(text, value));
    }
    for (const select of [this.template, this.status]) {
      select.addEventListener('change', () => void this.refresh());
    }
    filters.append(this.template, this.status);
    this.list = document.createElement('ul');
    this.list.tabIndex = 0;
    this.list.setAttribute('role', 'listbox');
    this.list.setAttribute('aria-label', 'Submissions');
    this.list.addEventListener('keydown', event => this.onKey(event));
    const hint = document.createElement('p');
    hint.className = 'jp-InterviewReviewList-hint';
    hint.textContent = '↑ ↓ choose · Enter review · g grade · r replay';
    this.node.append(filters, this.list, hint);
    void this.loadTemplates();
  }

  async refresh(): Promise<void> {
    const query = new URLSearchParams();
    if (this.template.value) {
      query.set('template', this.template.value);
    }
    if (this.status.value) {
      query.set('status', this.status.value);
    }
    try {
      this.rows = await requestAPI<IReviewSummary[]>(`reviews?${query}`);
    } catch (e) {
      this.list.textContent = `Could not list the submissions: ${(e as Error).message}`;
      return;
    }
    this.selected = Math.min(this.selected, Math.max(0, this.rows.length - 1));
    this.render();
  }

  private async loadTemplates(): Promise<void> {
    try {
      for (const t of await requestAPI<ITemplate[]>('templates')) {
        this.template.append(new Option(t.title, t.name));
      }
    } catch {
      // the list still works without the filter's names
    }
  }

  private render(): void {
    if (!this.rows.length) {
      this.list.replaceChildren();
      this.list.textContent = 'No submission here yet.';
      return;
    }
    this.list.replaceChildren(
      ...this.rows.map((row, index) => {
        const item = document.createElement('li');
        item.className = 'jp-InterviewReviewList-row';
        item.dataset.roomId = row.room_id;
        item.setAttribute('role', 'option');
        item.setAttribute('aria-selected', String(index === this.selected));
        const title = document.createElement('strong');
        title.textContent = `${row.candidate_name ?? 'no name'} · ${row.title}`;
        const facts = document.createElement('div');
        facts.textContent = [
          row.status === 'ended' && row.end_reason ? ENDED[row.end_reason] : 'running',
          ...(row.ended_at ? [when(row.ended_at)] : []),
          this.tests(row),
          row.scorecards
            ? `${row.scorecards} scored (${row.graders.join(', ')}): ${row.recommendations
                .map(r => r.replace('_', ' '))
                .join(', ')}`
            : 'not scored'
        ].join(' · ');
        const actions = document.createElement('div');
        actions.append(
          this.button('Review', () => this.review(row)),
          this.button('Grade', () => void this.grade(row)),
          this.button('Replay', () => this.replay(row.room_id))
        );
        item.append(title, facts, actions);
        item.addEventListener('click', () => {
          this.selected = index;
          this.markSelected();
        });
        return item;
      })
    );
  }

  private tests(row: IReviewSummary): string {
    if (row.grading === 'queued' || row.grading === 'running') {
      return 'grading…';
    }
    if (row.tests_total === null) {
      return row.grading === 'failed' ? 'grading failed' : 'not graded';
    }
    return `tests ${row.tests_passed}/${row.tests_total}`;
  }

  private button(text: string, onClick: () => void): HTMLButtonElement {
    const node = document.createElement('button');
    node.className = 'jp-mod-styled jp-mod-reject';
    node.textContent = text;
    node.addEventListener('click', event => {
      event.stopPropagation();
      onClick();
    });
    return node;
  }

  private onKey(event: KeyboardEvent): void {
    const row = this.rows[this.selected];
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const step = event.key === 'ArrowDown' ? 1 : -1;
      this.selected = Math.min(this.rows.length - 1, Math.max(0, this.selected + step));
      this.markSelected();
    } else if (event.key === 'Enter' && row) {
      this.review(row);
    } else if (event.key === 'g' && row) {
      void this.grade(row);
    } else if (event.key === 'r' && row) {
      this.replay(row.room_id);
    } else {
      return;
    }
    event.preventDefault();
  }

  private markSelected(): void {
    this.list.querySelectorAll('li').forEach((item, index) => {
      item.setAttribute('aria-selected', String(index === this.selected));
      if (index === this.selected) {
        item.scrollIntoView({ block: 'nearest' });
      }
    });
  }

  private review(row: IReviewSummary): void {
    openPage(`interview/review/${row.room_id}`);
  }

  private async grade(row: IReviewSummary): Promise<void> {
    // Said at once: the server answers only when a short grading is done.
    row.grading = 'running';
    this.render();
    Notification.info(`Grading ${row.title}…`, { autoClose: 3000 });
    try {
      await requestAPI(`rooms/${row.room_id}/grade`, { method: 'POST' });
    } catch (e) {
      await showErrorMessage('Could not grade', e as Error);
    }
    await this.refresh();
  }

  private rows: IReviewSummary[] = [];
  private selected = 0;
  private readonly template: HTMLSelectElement;
  private readonly status: HTMLSelectElement;
  private readonly list: HTMLUListElement;
}

/** When a room ended, as a person says it: "30 Nov, 14:05". */
function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit'
  });
}
