"""Server kernels and interview rooms: off unless an operator turns them on.

A kernel started for a room notebook (its working directory inside ``rooms/``) would run
the candidate's cells on the server, as the server's user, with the candidate's files on
its import path. So the kernel manager (``ServerApp.kernel_manager_class``) refuses such a
kernel unless ``RoomKernelManager.room_server_kernels`` is on; the authorizer refuses the
session or kernel request first (``starts_room_kernel``), so the caller gets a 403. When it
is on, the kernel gets no server token: its ``%%piston`` magics reach the room with a runner
token that may only run programs in that one room.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError, RequestHandler
from traitlets import Bool

from .contents import ROOMS_FOLDER, is_room_path

ROOM_KERNELS_OFF = (
    "Server kernels are off for interview rooms: room code runs in the candidate's browser "
    "(an operator can allow them: RoomKernelManager.room_server_kernels)."
)


class RoomKernelManager(AsyncMappingKernelManager):
    room_server_kernels = Bool(
        False,
        config=True,
        help="""Let the interviewer start server kernels (python3, ...) for room notebooks.
        Off by default: running a candidate's cells in a server kernel runs the candidate's
        code on this server, as its user. Room code otherwise runs only in the candidate's
        browser.""",
    )

    async def start_kernel(self, *, path: str | None = None, **kwargs: Any) -> str:
        if path is not None and is_room_path(path):
            if not self.room_server_kernels:
                raise HTTPError(403, ROOM_KERNELS_OFF)
            kwargs["env"] = {**(kwargs.get("env") or {}), **self._room_env(path)}
        return await super().start_kernel(path=path, **kwargs)

    def _room_env(self, path: str) -> dict[str, str]:
        """Where this kernel's %%piston sends programs, with a token for that alone."""
        parts = path.strip("/").split("/")
        settings = self.parent.web_app.settings
        room = settings["interview_rooms"].find(parts[1]) if len(parts) > 1 else None
        if parts[0] != ROOMS_FOLDER or room is None:
            return {}
        return {
            "JUPYTER_INTERVIEW_URL": settings["interview_local_url"],
            "JUPYTER_INTERVIEW_ROOM": room.id,
            "JUPYTER_INTERVIEW_TOKEN": settings["interview_rooms"].runner_token(room.id),
        }


def starts_room_kernel(handler: RequestHandler) -> bool:
    """Whether a request would start a server kernel for a room notebook (and the server
    does not allow that): a new session or kernel, or a session moved, into ``rooms/``."""
    request = handler.request
    if request.method not in ("POST", "PATCH"):
        return False
    route = request.path.rstrip("/").split("/api/", 1)[-1]
    if not (route in ("sessions", "kernels") or route.startswith("sessions/")):
        return False
    if getattr(handler.settings.get("kernel_manager"), "room_server_kernels", False):
        return False
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return False  # the handler answers 400 itself
    path = body.get("path") if isinstance(body, dict) else None
    return isinstance(path, str) and is_room_path(path)
