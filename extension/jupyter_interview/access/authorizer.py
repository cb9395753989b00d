"""The authorizer: interviewers may do anything; a room user only what its room allows.

It is also the one hook that sees each collaboration websocket before it exchanges a
message: it hands the socket to the sync bridge (``sync/bridge.py``, in the settings as
``interview_bridge``), which puts our rules on its room.
"""

from __future__ import annotations

from jupyter_server.auth import Authorizer, User
from jupyter_server_ydoc.handlers import YDocWebSocketHandler
from tornado.web import HTTPError, RequestHandler
from tornado.websocket import WebSocketHandler

from ..api.principal import RoomUser
from .contents import contents_caller
from .gate import gate_of
from .kernels import ROOM_KERNELS_OFF, starts_room_kernel


class InterviewAuthorizer(Authorizer):
    def is_authorized(
        self, handler: RequestHandler, user: User, action: str, resource: str
    ) -> bool:
        gate = gate_of(handler)
        if gate is None:
            return not isinstance(user, RoomUser)
        if starts_room_kernel(handler):
            raise HTTPError(403, ROOM_KERNELS_OFF)
        if isinstance(user, RoomUser):
            if not gate.allows(user, handler):
                return False
            if resource == "contents" and not isinstance(handler, WebSocketHandler):
                # The contents manager checks every path this request names, in the
                # operation itself (a rename's destination included).
                contents_caller.set(user)
        bridge = handler.settings.get("interview_bridge")
        if bridge is not None and isinstance(handler, YDocWebSocketHandler):
            bridge.attach(handler)
        return True
