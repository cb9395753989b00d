"""The authorizer: interviewers may do anything; a room user only what its room allows.

It is also the one hook that sees each collaboration websocket before it exchanges a
message: it hands the socket to the sync bridge (``sync/bridge.py``, in the settings as
``interview_bridge``), which puts our rules on its room.
"""

from __future__ import annotations

from jupyter_server.auth import Authorizer, User
from jupyter_server_ydoc.handlers import YDocWebSocketHandler
from tornado.web import RequestHandler

from ..api.principal import RoomUser
from .gate import gate_of


class InterviewAuthorizer(Authorizer):
    def is_authorized(
        self, handler: RequestHandler, user: User, action: str, resource: str
    ) -> bool:
        gate = gate_of(handler)
        if gate is None:
            return not isinstance(user, RoomUser)
        if isinstance(user, RoomUser) and not gate.allows(user, handler):
            return False
        bridge = handler.settings.get("interview_bridge")
        if bridge is not None and isinstance(handler, YDocWebSocketHandler):
            bridge.attach(handler)
        return True
