import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { highlightPlugin } from './highlight';
import { panelPlugin } from './panel';
import { roomPlugin } from './room';

const plugins: JupyterFrontEndPlugin<any>[] = [roomPlugin, panelPlugin, highlightPlugin];

export default plugins;
