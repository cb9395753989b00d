"""Who is calling: the interviewer (the server's own login) or a room user (a room link).

Shared by every group: handlers, the access rules and the sync bridge all ask whether a
request or a message comes from a room link, and from which room and role.
"""

from __future__ import annotations

from dataclasses import dataclass

from jupyter_server.auth import User

from .models import Role


@dataclass
class RoomUser(User):
    """A participant who came in through a room link; ``grant`` is the token's hash."""

    room_id: str = ""
    role: Role = "candidate"
    grant: str = ""
    named: bool = False  # the participant has chosen the name shown to the others
