"""Exactly which requests a room user may make.

A room link carries a capability token (``rooms/links.py``). ``RoomPolicy`` is the one
place that says which routes a room user may reach; the identity provider and the
authorizer both ask it, because some upstream handlers (jupyterlab_server's settings
and workspaces) never call the authorizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from ..api.models import Role


@dataclass(frozen=True)
class RoomScope:
    """What one room user may touch, resolved from the room database for each request."""

    room_id: str
    role: Role
    notebook_path: str
    file_id: str | None
    writable: bool

    @property
    def folder(self) -> str:
        return self.notebook_path.rsplit("/", 1)[0]


_READ = {"GET", "HEAD", "OPTIONS"}
_STATIC_PREFIXES = ("/static/", "/lab/extensions/", "/custom/", "/favicon", "/interview/lite/")
# Not /api/kernelspecs: room pages list only the in-browser kernels (our front end's
# room-kernelspecs plugin), so a room user never sees, let alone starts, a server kernel.
_READABLE_APIS = (
    "/api/config/",
    "/lab/api/settings",
    "/lab/api/translations",
    "/lab/api/themes",
)


# What a grader link may read of its room, under /interview/api/rooms/<id>/.
_GRADER_READS = {
    "timeline",
    "notebook",
    "diff",
    "grades",
    "scorecards",
    "export.ipynb",
    "report.html",
    "results.json",
}


def clean_path(raw: str) -> str | None:
    """Decode a request path and refuse anything that could step out of a folder."""
    path = unquote(raw)
    if "\\" in path or "\x00" in path:
        return None
    parts = path.split("/")
    if any(part in (".", "..") for part in parts):
        return None
    return path


class RoomPolicy:
    """Default deny: a room user reaches only the routes listed here, for its own room."""

    def allows(self, scope: RoomScope, method: str, path: str) -> bool:
        """``path`` is the decoded request path with the server's base URL removed."""
        method = method.upper()
        if scope.role == "grader":
            return self._grader(scope, method, path)
        if scope.role == "runner":
            # A server kernel's token: run programs in its room, nothing else.
            return (
                method == "POST" and path == f"/interview/api/rooms/{scope.room_id}/execute"
            ) or (method in _READ and path == f"/interview/api/rooms/{scope.room_id}/runtimes")
        if method in _READ and (
            path.startswith(_STATIC_PREFIXES) or path.startswith(_READABLE_APIS)
        ):
            return True
        if method in _READ and path in ("/api/me", "/interview/api/health"):
            return True
        if method in _READ and path in (
            f"/interview/api/rooms/{scope.room_id}",
            f"/interview/api/rooms/{scope.room_id}/runtimes",
        ):
            return True
        if method == "POST" and path == f"/interview/api/rooms/{scope.room_id}/execute":
            return scope.writable
        if method in _READ and path == f"/interview/api/rooms/{scope.room_id}/events":
            return True
        if method == "POST" and path in (
            f"/interview/api/rooms/{scope.room_id}/submit",
            f"/interview/api/rooms/{scope.room_id}/signals",
        ):
            return scope.role == "candidate" and scope.writable
        if method == "POST" and path.startswith(f"/interview/api/rooms/{scope.room_id}/runs/"):
            # The candidate's page reports an interviewer's run it carried out.
            return scope.role == "candidate" and scope.writable
        if method in _READ and path == f"/notebooks/{scope.notebook_path}":
            return True
        if method == "PUT" and path == f"/api/collaboration/session/{scope.notebook_path}":
            return True
        if method == "GET" and path.startswith("/api/collaboration/room/"):
            return scope.file_id is not None and path == (
                f"/api/collaboration/room/json:notebook:{scope.file_id}"
            )
        if method in _READ and path.rstrip("/") in ("/api/contents", "/api/contents/rooms"):
            # Listings on the way to the room; contents.py filters out other rooms.
            return True
        for prefix in ("/api/contents/", "/files/"):
            if path.startswith(prefix):
                return self._contents(scope, method, path.removeprefix(prefix), prefix)
        return False

    def _grader(self, scope: RoomScope, method: str, path: str) -> bool:
        """A grader link reviews its room: never the live notebook, its files or its
        collaboration room, so it can never change the submission."""
        room = f"/interview/api/rooms/{scope.room_id}"
        if method in _READ and (
            path in ("/interview/api/health", room, f"/interview/review/{scope.room_id}")
            or (path.startswith(room + "/") and path[len(room) + 1 :] in _GRADER_READS)
            or path.startswith(f"{room}/grades/")
        ):
            return True
        return (
            method == "POST" and path in (f"{room}/grade", f"/interview/review/{scope.room_id}")
        ) or (method == "PUT" and path == f"{room}/scorecards")

    def _contents(self, scope: RoomScope, method: str, target: str, prefix: str) -> bool:
        target = target.strip("/")
        if target.endswith("/checkpoints") or "/checkpoints/" in target:
            target = target.split("/checkpoints", 1)[0]
            if method not in _READ:
                return False
        inside = target == scope.folder or target.startswith(scope.folder + "/")
        if not inside:
            return False
        if method in _READ:
            return True
        # Writes: the candidate's own files in its folder, never the room notebook itself
        # (jupyter-collaboration saves that) and never through /files.
        return (
            prefix == "/api/contents/"
            and scope.writable
            and target not in (scope.folder, scope.notebook_path)
        )


def is_document_update(message: bytes) -> bool:
    """Whether a Yjs websocket message would change the document (sync step 2 or update).

    Sync step 1 (asking for the document) and awareness (presence) are not updates.
    """
    return len(message) >= 2 and message[0] == 0 and message[1] in (1, 2)
