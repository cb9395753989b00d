// First: it must run before the in-browser kernel's bridge loads (see the module).
import './waitasync';

import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ServiceManagerPlugin } from '@jupyterlab/services';

import { cellKindPlugin } from './celltype';
import { highlightPlugin } from './highlight';
import { kernelControlsPlugin, pyodideKernelPlugin } from './kernel';
import { panelPlugin } from './panel';
import { roomPlugin } from './room';
import { noEventsPlugin, roomKernelSpecsPlugin } from './services';
import { browserSettingsPlugin } from './settings';

const plugins: (JupyterFrontEndPlugin<any> | ServiceManagerPlugin<any>)[] = [
  pyodideKernelPlugin,
  kernelControlsPlugin,
  roomKernelSpecsPlugin,
  roomPlugin,
  panelPlugin,
  highlightPlugin,
  cellKindPlugin,
  browserSettingsPlugin,
  noEventsPlugin
];

export default plugins;
