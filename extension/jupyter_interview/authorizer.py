"""The authorizer: interviewers may do anything; a room user only what its room allows.

For a room user opening a collaboration websocket it also puts the read-only guard on
the room (see ``sync.py``), before the connection starts exchanging messages.
"""

from __future__ import annotations

from jupyter_server.auth import Authorizer, User
from jupyter_server_ydoc.rooms import DocumentRoom
from tornado.web import RequestHandler

from .access import RoomUser
from .gate import gate_of
from .sync import guard_room


class InterviewAuthorizer(Authorizer):
    def is_authorized(
        self, handler: RequestHandler, user: User, action: str, resource: str
    ) -> bool:
        if not isinstance(user, RoomUser):
            return True
        gate = gate_of(handler)
        if gate is None or not gate.allows(user, handler):
            return False
        room = getattr(handler, "room", None)
        if isinstance(room, DocumentRoom):
            guard_room(room, gate.can_write)
        return True
