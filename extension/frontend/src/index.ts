import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { panelPlugin } from './panel';
import { roomPlugin } from './room';

const plugins: JupyterFrontEndPlugin<any>[] = [roomPlugin, panelPlugin];

export default plugins;
