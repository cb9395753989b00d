"""The interview's clock: a room ends by itself at its deadline, with nobody watching.

A room's deadline is ``started_at + duration_minutes`` (``Room.ends_at``); the clock starts
when the candidate first opens the link. For each open room with a deadline the clock
keeps one timer on the event loop; every change of a room (``RoomStore.on_change``: the
candidate arrived, the interviewer extended the time, the room ended) sets it again. At
start-up, a room whose deadline passed while the server was down ends at once, as of its
deadline. Ending is the same for every cause: the room's status, ``ended_at`` and
``end_reason``, and the change reaches every open page through the room's event stream.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from ..api.models import EndReason
from .store import Room, RoomStore, now


def end_room(rooms: RoomStore, room: Room, reason: EndReason, at: datetime | None = None) -> Room:
    """End an open room (no-op for an ended one)."""
    if room.status != "open":
        return room
    # To the microsecond: the timeline orders the end among edits of the same second.
    ended = at or datetime.now(UTC)
    changes: dict[str, object] = {"status": "ended", "ended_at": ended, "end_reason": reason}
    if reason == "submitted":
        changes["submitted_at"] = changes["ended_at"]
    return rooms.update(room.id, **changes)


class RoomClock:
    def __init__(self, rooms: RoomStore, log: logging.Logger) -> None:
        self.rooms = rooms
        self.log = log
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin keeping time: end the overdue rooms, set a timer for the others."""
        self._loop = loop
        self.rooms.on_change(self._changed)
        for room in self.rooms.list("open"):
            self._changed(room)

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _changed(self, room: Room) -> None:
        timer = self._timers.pop(room.id, None)
        if timer is not None:
            timer.cancel()
        if room.status != "open" or room.ends_at is None or self._loop is None:
            return
        left = (room.ends_at - now()).total_seconds()
        if left <= 0:
            self._time_up(room.id)
        else:
            self._timers[room.id] = self._loop.call_later(left, self._time_up, room.id)

    def _time_up(self, room_id: str) -> None:
        self._timers.pop(room_id, None)
        room = self.rooms.find(room_id)
        if room is None or room.status != "open" or room.ends_at is None:
            return
        if room.ends_at > now():  # extended meanwhile: set again
            self._changed(room)
            return
        end_room(self.rooms, room, "timeout", at=room.ends_at)
        self.log.info("Room %s: time is up; ended", room_id)
