import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ServiceManagerPlugin } from '@jupyterlab/services';

import { highlightPlugin } from './highlight';
import { kernelControlsPlugin, pyodideKernelPlugin, roomKernelSpecsPlugin } from './kernel';
import { panelPlugin } from './panel';
import { roomPlugin } from './room';

const plugins: (JupyterFrontEndPlugin<any> | ServiceManagerPlugin<any>)[] = [
  pyodideKernelPlugin,
  kernelControlsPlugin,
  roomKernelSpecsPlugin,
  roomPlugin,
  panelPlugin,
  highlightPlugin
];

export default plugins;
