"""jupyter-collaboration's room websocket with a cap on the size of a message, and a leave.

Upstream's handler accepts messages of up to 1 GiB (its ``max_message_size``), and tornado
reads a whole message into memory before anyone can look at it: eight messages of 100 MB at
once took 700 MB. jupyter-collaboration has no setting for it, so this subclass, registered
for the same route ahead of upstream's, changes that property, and tells the sync bridge
when the socket closes (a leave, for the timeline; the authorizer hands it over when it
opens). It is set up with exactly the arguments upstream registered its own handler with.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from jupyter_server_ydoc.handlers import YDocWebSocketHandler

ROOM_ROUTE = r"/api/collaboration/room/(.*)"


def upstream_arguments(ydoc: ExtensionApp) -> dict[str, Any]:
    """The keyword arguments jupyter-collaboration gave its own room handler."""
    for entry in ydoc.handlers:
        if entry[0] == ROOM_ROUTE and len(entry) > 2:
            return entry[2]
    raise RuntimeError("jupyter-collaboration registered no room websocket")


class CappedRoomWebSocket(YDocWebSocketHandler):
    def initialize(self) -> None:  # type: ignore[override]
        super().initialize(**upstream_arguments(self.settings["jupyter_server_ydoc"]))

    def on_close(self) -> None:
        super().on_close()
        bridge = self.settings.get("interview_bridge")
        if bridge is not None:
            bridge.detach(self)

    @property
    def max_message_size(self) -> int:
        """Tornado closes the connection (1009) on a larger message, before reading it."""
        return self.settings["interview_max_transport_bytes"]
