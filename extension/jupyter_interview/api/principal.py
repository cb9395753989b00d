"""Who is calling: the interviewer (the server's own login) or a room user (a room link).

Shared by every group: handlers, the access rules and the sync bridge all ask whether a
request or a message comes from a room link, and from which room and role.
"""

from __future__ import annotations

import hashlib
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

    def fill_defaults(self) -> None:
        super().fill_defaults()
        self.color = self.color or presence_color(self.username, self.role)


def presence_color(user_id: str, role: str) -> str:
    """A participant's colour, the same for their cursor and their track in a replay: the
    candidate's is always the first of JupyterLab's collaborator colours, the others'
    follow from their id."""
    if role == "candidate":
        return "var(--jp-collaborator-color1)"
    n = int(hashlib.sha256(user_id.encode()).hexdigest(), 16) % 6 + 2
    return f"var(--jp-collaborator-color{n})"
