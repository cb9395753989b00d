"""What a room user's directory listings show: the way to its own room folder, nothing else.

The candidate page's kernel mounts the contents API as its file system and lists the
root when it starts (a 403 there crashes it). A room user may therefore list the root
and ``rooms/``, and this contents manager (``ServerApp.contents_manager_class``) cuts
those listings down to the entries on the way to, or inside, the user's room folder,
so no other room's name leaks. The authorizer still refuses everything else. A room
notebook is reported read-only to a link that may not write, so its page opens read-only.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

from ..api.principal import RoomUser
from .gate import gate_of_settings
from .identity import connection_user


def _visible(entry_path: str, folder: str) -> bool:
    path = entry_path.strip("/")
    return folder == path or folder.startswith(path + "/") or path.startswith(folder + "/")


class RoomContentsManager(AsyncLargeFileManager):
    async def get(self, path: str, content: bool = True, **kwargs: Any) -> dict[str, Any]:
        model = await super().get(path, content=content, **kwargs)
        user = connection_user.get()
        if not isinstance(user, RoomUser):
            return model
        if model["type"] == "directory" and model["content"]:
            folder = f"rooms/{user.room_id}"
            model["content"] = [e for e in model["content"] if _visible(e["path"], folder)]
        elif model["type"] == "notebook" and not self._may_write(user):
            # Observers, and candidates once the room has ended: the page opens read-only.
            model["writable"] = False
        return model

    def _may_write(self, user: RoomUser) -> bool:
        gate = gate_of_settings(self.parent.web_app.settings)
        return gate is not None and gate.can_write(user)
