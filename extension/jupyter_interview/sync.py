"""The sync bridge: our rules on jupyter-collaboration's rooms, through public hooks only.

Read-only links (observers, and candidates once a room has ended) must not change the
document, and hiding the UI is not enough. pycrdt-websocket's ``YRoom.on_message`` hook
sees every incoming message but not which client sent it, so the identity provider records
the room user of each request in a context variable. A websocket's serving task is created
inside its request, so it inherits that variable, and the hook can ask about the sender.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from pycrdt.websocket import YRoom

from .access import RoomUser, is_document_update

connection_user: ContextVar[RoomUser | None] = ContextVar("interview_room_user", default=None)


def guard_room(room: YRoom, can_write: Callable[[RoomUser], bool]) -> None:
    """Drop document updates that come from room users who may not write (idempotent)."""
    if getattr(room.on_message, "interview_guard", False):
        return

    def on_message(message: bytes) -> bool:
        user = connection_user.get()
        return user is not None and is_document_update(message) and not can_write(user)

    on_message.interview_guard = True  # type: ignore[attr-defined]
    room.on_message = on_message
