import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { highlightPlugin } from './highlight';
import { pyodideKernelPlugin } from './kernel';
import { panelPlugin } from './panel';
import { roomPlugin } from './room';

const plugins: JupyterFrontEndPlugin<any>[] = [
  pyodideKernelPlugin,
  roomPlugin,
  panelPlugin,
  highlightPlugin
];

export default plugins;
