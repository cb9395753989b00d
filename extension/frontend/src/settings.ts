/**
 * Settings that a room user changes are kept in their own browser.
 *
 * The server's settings are the server's: a room user may read them but not write them
 * (a candidate could otherwise change the interviewer's JupyterLab). So on room pages this
 * connector (in place of JupyterLab's `settings-connector`, swapped by the server's page
 * config) reads the server's settings and keeps what the user changes, the light or dark
 * theme and the font sizes among them, in localStorage.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { ISettingConnector, ISettingRegistry } from '@jupyterlab/settingregistry';
import { DataConnector } from '@jupyterlab/statedb';

const PREFIX = 'jupyter-interview:settings:';

class BrowserSettings
  extends DataConnector<ISettingRegistry.IPlugin, string>
  implements ISettingConnector
{
  constructor(private readonly server: JupyterFrontEnd['serviceManager']['settings']) {
    super();
  }

  async fetch(id: string): Promise<ISettingRegistry.IPlugin | undefined> {
    return this.withLocal(await this.server.fetch(id));
  }

  /** As JupyterLab's own connector: 'active' leaves out the plugins the page disabled. */
  async list(
    query: 'active' | 'all' | 'ids' = 'all'
  ): Promise<{ ids: string[]; values: ISettingRegistry.IPlugin[] }> {
    const { isDisabled } = PageConfig.Extension;
    const { ids, values } = await this.server.list(query === 'ids' ? 'ids' : undefined);
    if (query === 'ids') {
      return { ids, values: [] };
    }
    const kept = query === 'active' ? values.filter(({ id }) => !isDisabled(id)) : values;
    return {
      ids: query === 'active' ? ids.filter(id => !isDisabled(id)) : ids,
      values: kept.map(plugin => this.withLocal(plugin))
    };
  }

  async save(id: string, raw: string): Promise<void> {
    window.localStorage.setItem(PREFIX + id, raw);
  }

  private withLocal<T extends ISettingRegistry.IPlugin | undefined>(plugin: T): T {
    const raw = plugin && window.localStorage.getItem(PREFIX + plugin.id);
    return raw ? { ...plugin, raw } : plugin;
  }
}

export const browserSettingsPlugin: JupyterFrontEndPlugin<ISettingConnector> = {
  id: 'jupyter-interview:browser-settings',
  description: "Room users' settings, kept in their browser (room pages only).",
  autoStart: true,
  provides: ISettingConnector,
  activate: (app: JupyterFrontEnd): ISettingConnector =>
    new BrowserSettings(app.serviceManager.settings)
};
