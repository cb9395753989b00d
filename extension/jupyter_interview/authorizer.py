"""The authorizer: interviewers may do anything; a room user only what its room allows.

It is also the one hook that sees each collaboration websocket before it exchanges a
message: it puts the read-only guard on the room and records the socket (``sync.py``).
"""

from __future__ import annotations

from jupyter_server.auth import Authorizer, User
from jupyter_server_ydoc.handlers import YDocWebSocketHandler
from jupyter_server_ydoc.rooms import DocumentRoom
from tornado.web import RequestHandler

from .access import RoomUser
from .gate import gate_of
from .sync import guard_room


class InterviewAuthorizer(Authorizer):
    def is_authorized(
        self, handler: RequestHandler, user: User, action: str, resource: str
    ) -> bool:
        gate = gate_of(handler)
        if gate is None:
            return not isinstance(user, RoomUser)
        if isinstance(user, RoomUser) and not gate.allows(user, handler):
            return False
        room = getattr(handler, "room", None)
        if isinstance(handler, YDocWebSocketHandler) and isinstance(room, DocumentRoom):
            guard_room(room, gate.can_write)
            gate.sockets.add(handler)
        return True
