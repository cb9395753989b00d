"""Each room's event stream: what changed, pushed to every open page of the room at once.

A page subscribes with ``GET /interview/api/rooms/{id}/events`` (server-sent events) and
gets the room as it is, then every change: the room ended, was extended or submitted, or
its deadline moved. The candidate's page also gets the interviewer's run requests
(``sandbox/relay.py``). Nothing here polls: ``RoomStore`` tells the hub of each change.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..api.models import RoomPublic
from .store import Room, RoomStore

Event = tuple[str, dict[str, Any]]


@dataclass(eq=False)
class Subscriber:
    """One open event stream: a page of the room, as the role it came in with."""

    room_id: str
    role: str
    serial: int
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def send(self, name: str, data: dict[str, Any]) -> None:
        self.queue.put_nowait((name, data))

    def close(self) -> None:
        self.queue.put_nowait(None)


def room_event(room: Room, role: str) -> dict[str, Any]:
    view: RoomPublic = room.public(role=role if role in ("candidate", "observer") else None)
    return view.model_dump(mode="json")


class RoomEvents:
    def __init__(self, store: RoomStore) -> None:
        self.store = store
        self._subscribers: dict[str, list[Subscriber]] = {}
        self._unsaved: set[str] = set()
        self._serial = itertools.count()
        self._on_leave: list[Callable[[Subscriber], None]] = []
        store.on_change(self._room_changed)

    def subscribe(self, room: Room, role: str) -> Subscriber:
        subscriber = Subscriber(room.id, role, next(self._serial))
        self._subscribers.setdefault(room.id, []).append(subscriber)
        subscriber.send("room", room_event(room, role))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(subscriber.room_id, [])
        if subscriber in subscribers:
            subscribers.remove(subscriber)
            for callback in self._on_leave:
                callback(subscriber)

    def on_leave(self, callback: Callable[[Subscriber], None]) -> None:
        self._on_leave.append(callback)

    def subscribers(self, room_id: str, role: str | None = None) -> list[Subscriber]:
        """Open streams of a room, oldest first."""
        return [s for s in self._subscribers.get(room_id, []) if role is None or s.role == role]

    def _room_changed(self, room: Room) -> None:
        for subscriber in self.subscribers(room.id):
            subscriber.send("room", room_event(room, subscriber.role))

    def saved(self, path: str, error: str | None) -> None:
        """A notebook save's outcome: a room's pages hear when saving starts to fail and
        when it works again (``saving``: ``{ok, message}``)."""
        room = next((r for r in self.store.list() if r.notebook_path == path), None)
        if room is None or (error is not None) == (room.id in self._unsaved):
            return
        if error is None:
            self._unsaved.discard(room.id)
            message = "Your work is being saved again."
        else:
            self._unsaved.add(room.id)
            message = (
                "The server cannot save this notebook right now. Keep this page open: your "
                "work is kept and will be saved as soon as the server can."
            )
        for subscriber in self.subscribers(room.id):
            subscriber.send("saving", {"ok": error is None, "message": message})

    def close_all(self) -> None:
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.close()
