/**
 * The cell-type menu of a room page: Code or Text.
 *
 * JupyterLab's menu also offers "Raw", a cell for nbconvert that a candidate would only
 * find never runs; hiding its option with CSS is not enough (a select's options are the
 * browser's to draw, and Safari ignores it). The notebook toolbar's items come from the
 * toolbar widget registry, so room pages register their own "cellType" item there. It is
 * registered after JupyterLab's (it requires the notebook widget factory, whose plugin
 * registers the default items) and before any notebook opens.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IToolbarWidgetRegistry } from '@jupyterlab/apputils';
import {
  INotebookWidgetFactory,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { isRoomPage } from './kernel';

type Kind = 'code' | 'markdown';

const KINDS: [Kind, string][] = [
  ['code', 'Code'],
  ['markdown', 'Text']
];

class CellKindSwitcher extends Widget {
  constructor(private readonly notebook: Notebook) {
    super();
    this.addClass('jp-Notebook-toolbarCellType');
    this.select = document.createElement('select');
    this.select.className = 'jp-Notebook-toolbarCellTypeDropdown jp-InterviewCellKind';
    this.select.title = 'Is this cell code or text?';
    this.select.setAttribute('aria-label', 'Cell kind');
    // Shown, never chosen: cells of both kinds are selected (or a raw cell from a template).
    const mixed = new Option('-', '-');
    mixed.disabled = true;
    this.select.append(mixed, ...KINDS.map(([value, label]) => new Option(label, value)));
    this.select.addEventListener('change', () => {
      const kind = this.select.value as Kind;
      if (KINDS.some(([value]) => value === kind)) {
        NotebookActions.changeCellType(this.notebook, kind);
      }
      this.notebook.activate();
    });
    this.node.appendChild(this.select);
    notebook.activeCellChanged.connect(this.reflect, this);
    notebook.selectionChanged.connect(this.reflect, this);
    this.reflect();
  }

  private reflect(): void {
    const kinds = new Set<string>();
    for (const cell of this.notebook.widgets) {
      if (this.notebook.isSelectedOrActive(cell)) {
        kinds.add(cell.model.type);
      }
    }
    const [kind] = kinds;
    this.select.value = kinds.size === 1 && KINDS.some(([value]) => value === kind) ? kind : '-';
  }

  private readonly select: HTMLSelectElement;
}

export const cellKindPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-interview:cell-kind',
  description: 'Room pages: a cell is code or text, never "Raw".',
  autoStart: true,
  requires: [IToolbarWidgetRegistry, INotebookWidgetFactory],
  activate: (_app: JupyterFrontEnd, toolbars: IToolbarWidgetRegistry): void => {
    if (isRoomPage()) {
      toolbars.addFactory<NotebookPanel>(
        'Notebook',
        'cellType',
        panel => new CellKindSwitcher(panel.content)
      );
    }
  }
};
