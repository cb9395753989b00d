/**
 * A cell that starts with `%%piston LANG` is highlighted as LANG: its editor gets that
 * language's mimetype (not saved in the notebook; the notebook resets it when its kernel's
 * language changes, so it is applied again then).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

const MIMETYPES: Record<string, string> = {
  'c++': 'text/x-c++src',
  cpp: 'text/x-c++src',
  'g++': 'text/x-c++src',
  c: 'text/x-csrc',
  gcc: 'text/x-csrc',
  java: 'text/x-java',
  go: 'text/x-go',
  golang: 'text/x-go',
  rust: 'text/x-rustsrc',
  rs: 'text/x-rustsrc',
  javascript: 'text/javascript',
  js: 'text/javascript',
  'node-js': 'text/javascript',
  typescript: 'application/typescript',
  ts: 'application/typescript',
  csharp: 'text/x-csharp',
  'c#': 'text/x-csharp',
  cs: 'text/x-csharp',
  ruby: 'text/x-ruby',
  rb: 'text/x-ruby',
  php: 'application/x-httpd-php',
  kotlin: 'text/x-kotlin',
  kt: 'text/x-kotlin',
  swift: 'text/x-swift',
  bash: 'text/x-sh',
  sh: 'text/x-sh',
  python: 'text/x-python',
  py: 'text/x-python'
};

const PISTON = /^%%piston\s+(\S+)/;

/** The mimetype a cell's source asks for, if it is a %%piston cell we know. */
export function pistonMimetype(source: string): string | undefined {
  const match = PISTON.exec(source);
  return match ? MIMETYPES[match[1].toLowerCase()] : undefined;
}

function watch(panel: NotebookPanel): void {
  const apply = (cell: Cell) => {
    if (cell.model.type !== 'code') {
      return;
    }
    const wanted = pistonMimetype(cell.model.sharedModel.getSource());
    const mimetype = wanted ?? panel.content.codeMimetype;
    if (cell.model.mimeType !== mimetype) {
      cell.model.mimeType = mimetype;
    }
  };
  const watched = new WeakSet<Cell>();
  const scan = () => {
    for (const cell of panel.content.widgets) {
      if (!watched.has(cell)) {
        watched.add(cell);
        cell.model.contentChanged.connect(() => apply(cell));
      }
      apply(cell);
    }
  };
  void panel.context.ready.then(scan);
  panel.content.model?.cells.changed.connect(() => requestAnimationFrame(scan));
  panel.sessionContext.kernelChanged.connect(() => requestAnimationFrame(scan));
  panel.content.activeCellChanged.connect(scan);
}

export const highlightPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-interview:piston-highlighting',
  description: 'Highlight %%piston LANG cells as LANG.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    tracker.widgetAdded.connect((_, panel) => watch(panel));
  }
};
