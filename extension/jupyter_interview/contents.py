"""What a room user's directory listings show: the way to its own room folder, nothing else.

The candidate page's kernel mounts the contents API as its file system and lists the
root when it starts (a 403 there crashes it). A room user may therefore list the root
and ``rooms/``, and this contents manager (``ServerApp.contents_manager_class``) cuts
those listings down to the entries on the way to, or inside, the user's room folder,
so no other room's name leaks. The authorizer still refuses everything else.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

from .access import RoomUser
from .sync import connection_user


def _visible(entry_path: str, folder: str) -> bool:
    path = entry_path.strip("/")
    return folder == path or folder.startswith(path + "/") or path.startswith(folder + "/")


class RoomContentsManager(AsyncLargeFileManager):
    async def get(self, path: str, content: bool = True, **kwargs: Any) -> dict[str, Any]:
        model = await super().get(path, content=content, **kwargs)
        user = connection_user.get()
        if isinstance(user, RoomUser) and model["type"] == "directory" and model["content"]:
            folder = f"rooms/{user.room_id}"
            model["content"] = [e for e in model["content"] if _visible(e["path"], folder)]
        return model
