"""What the pages a room user loads are told: never the server's token, fewer plugins.

Notebook 7 and JupyterLab put the server's token into every page's config (page config
``token``), so a candidate page would hand the candidate the interviewer's credential.
The ``page_config_hook`` tornado setting, which both call for each page, removes it for
room users, tells the room's notebook page to start its in-browser kernel while the page
is still loading (``interviewNotebook``: the kernel takes longer to start than the page),
lists only in-browser kernels in their kernel picker (our kernel-spec manager in place of
hybrid-kernels', which adds the server's kernels), and turns off what an interview does
not want them to have: code completion and hover hints (unless the room allows them; the
kernel then skips loading jedi too), the "open in JupyterLab" switcher (they may not open
JupyterLab) and Jupyter's news announcements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_server.utils import url_escape, url_path_join
from tornado.web import RequestHandler

from ..api.principal import RoomUser
from ..lite import lite_plugin_settings

PageConfigHook = Callable[[RequestHandler, dict[str, Any]], dict[str, Any]]

COMPLETION_PLUGINS = [
    "@jupyterlab/completer-extension:manager",
    "@jupyterlab/completer-extension:base-service",
    "@jupyterlab/completer-extension:inline-completer",
    "@jupyterlab/completer-extension:inline-history",
    "@jupyterlab/tooltip-extension:manager",
    "@jupyterlab/tooltip-extension:notebooks",
    "@jupyterlab/tooltip-extension:files",
    "@jupyterlab/tooltip-extension:consoles",
]
# Off on every page of the server: it evaluates trusted application/javascript outputs,
# which no interview needs (room notebooks are never trusted, and 'unsafe-eval' is in
# the Content-Security-Policy because JupyterLab's settings need it).
EVERYONE_DISABLED = [
    "@jupyterlab/javascript-extension",
    # jupyter-collaboration's "Share" dialog offers to put the server's token in the link.
    # Interviewers share room links from the Interviews panel instead.
    "@jupyter/collaboration-extension:shared-link",
    # "Would you like to get notified about official Jupyter news?": not during interviews.
    "@jupyterlab/apputils-extension:announcements",
]
# Off everywhere by our package.json, on for room pages only.
ROOM_KERNELSPECS = "jupyter-interview:room-kernelspecs"
BROWSER_SETTINGS = "jupyter-interview:browser-settings"
NO_EVENTS = "jupyter-interview:no-events"
ROOM_USER_DISABLED = [
    # In-browser kernel specs only (our room-kernelspecs instead).
    "jupyterlab-hybrid-kernels:kernel-spec-manager",
    "@jupyter-notebook/lab-extension:interface-switcher",
    "@jupyter-notebook/lab-extension:launch-tree",
    # Tools a room user either may not use (terminals, workspaces, the extension manager,
    # the running-sessions list) or does not need in one notebook. Not loading them takes
    # a fifth off the page's start (bench/candidate_page.py).
    "@jupyterlab/debugger-extension",
    "@jupyterlab/extensionmanager-extension",
    "@jupyterlab/hub-extension",
    "@jupyterlab/inspector-extension",
    "@jupyterlab/logconsole-extension",
    "@jupyterlab/lsp-extension",
    "@jupyterlab/running-extension",
    "@jupyterlab/settingeditor-extension",
    "@jupyterlab/terminal-extension",
    "@jupyter-notebook/terminal-extension",
    "@jupyterlab/toc-extension",
    "@jupyterlab/notebook-extension:toc",
    "@jupyterlab/workspaces-extension",
    "@jupyterlab/csvviewer-extension",
    "@jupyterlab/htmlviewer-extension",
    "@jupyterlab/imageviewer-extension",
    # Notebook 7's chrome: a room user's page has our header instead (chrome.ts). Menus,
    # the palette and the file's name lead out of the room or to server-level actions
    # ("Open JupyterLab", Log Out, Change Kernel, Shut Down, Trust Notebook, ...).
    "@jupyter-notebook/application-extension:logo",
    "@jupyter-notebook/application-extension:menus",
    "@jupyter-notebook/application-extension:menu-spacer",
    "@jupyter-notebook/application-extension:title",
    "@jupyter-notebook/application-extension:info",
    "@jupyter-notebook/application-extension:zen",
    "@jupyter-notebook/help-extension",
    "@jupyter-notebook/notebook-extension:checkpoints",
    "@jupyter-notebook/notebook-extension:trusted",
    "@jupyter-notebook/notebook-extension:kernel-logo",
    "@jupyter-notebook/notebook-extension:kernel-status",
    "@jupyter-notebook/notebook-extension:edit-notebook-metadata",
    "@jupyter-notebook/notebook-extension:open-tree-tab",
    "@jupyterlab/mainmenu-extension",
    "@jupyterlab/help-extension",
    "@jupyterlab/apputils-extension:palette",
    "@jupyterlab/apputils-extension:palette-restorer",
    "@jupyterlab/apputils-extension:themes-palette-menu",
    "@jupyterlab/apputils-extension:kernel-status",
    "@jupyterlab/apputils-extension:running-sessions-status",
    "@jupyterlab/apputils-extension:print",
    "@jupyterlab/apputils-extension:workspaces",
    # Notebook tools that need the server (export, consoles) or are not for candidates.
    "@jupyterlab/notebook-extension:export",
    "@jupyterlab/notebook-extension:code-console",
    "@jupyterlab/notebook-extension:trust-status",
    "@jupyterlab/notebook-extension:metadata-editor",
    "@jupyterlab/notebook-extension:tools",
    "@jupyterlab/notebook-extension:cloned-outputs",
    "@jupyterlab/notebook-extension:log-output",
    "@jupyterlab/notebook-extension:open-with-no-kernel",
    # Settings: read from the server, kept in the browser (our browser-settings instead).
    "@jupyterlab/apputils-extension:settings-connector",
    # Who else is on the server, and its event stream: refused to room users anyway (the
    # pages retried them every few seconds, a 403 each time).
    "@jupyterlab/services-extension:event-manager",
    "@jupyter/collaboration-extension:rtcGlobalAwareness",
    "@jupyter/collaboration-extension:rtcPanel",
    "@jupyter/collaboration-extension:userMenu",
    "@jupyter/collaboration-extension:user-menu-bar",
]


def room_page_config_hook(previous: PageConfigHook | None) -> PageConfigHook:
    def hook(handler: RequestHandler, page_config: dict[str, Any]) -> dict[str, Any]:
        if previous is not None:
            page_config = previous(handler, page_config)
        page_config["disabledExtensions"] = [
            *page_config.get("disabledExtensions", []),
            *EVERYONE_DISABLED,
        ]
        user = handler.current_user
        if not isinstance(user, RoomUser):
            return page_config
        page_config["token"] = ""
        page_config["interviewRole"] = user.role
        page_config["interviewPasteThreshold"] = handler.settings.get(
            "interview_paste_threshold", 0
        )
        ours = (ROOM_KERNELSPECS, BROWSER_SETTINGS, NO_EVENTS)
        disabled = [p for p in page_config["disabledExtensions"] if p not in ours]
        disabled += ROOM_USER_DISABLED
        room = handler.settings["interview_rooms"].find(user.room_id)
        base_url = handler.settings.get("base_url", "/")
        if (
            room is not None
            and user.role == "candidate"
            and handler.request.path
            == url_path_join(base_url, "notebooks", url_escape(room.notebook_path))
        ):
            page_config["interviewNotebook"] = room.notebook_path
        if room is not None:
            served = handler.settings["interview_served_packages"]
            page_config["litePluginSettings"] = lite_plugin_settings(
                base_url,
                completion=room.completion,
                packages=[p for p in room.packages if p.lower() in served],
                extra=[p for p in room.packages if p.lower() not in served],
            )
        if room is None or not room.completion:
            disabled += COMPLETION_PLUGINS
            if room is None:
                page_config["litePluginSettings"] = lite_plugin_settings(base_url, completion=False)
        page_config["disabledExtensions"] = disabled
        return page_config

    return hook
