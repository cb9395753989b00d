"""Erasure: a purged room leaves nothing behind, and ended rooms are purged after a while.

A purge removes the room and its links (they stop working at once), closes its open
connections and its collaboration room (so that nothing saves the notebook again), and
erases its notebook folder (earlier deleted copies too), its history (updates, events,
keyframes), its sandbox runs, gradings, scorecards and notes. The SQLite files overwrite
what they delete (``secure_delete``) and fold their write-ahead logs back in, so the text a
candidate typed is in no file of the data directory afterwards.

``InterviewApp.retention_days`` purges the rooms that ended longer ago than that, at start
and every hour.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..rooms.store import Room, RoomStore, now
from ..sync.bridge import OpenSockets
from ..sync.history import HistoryDB, history_path
from .grading import GradeStore
from .scorecards import ScorecardStore
from .timeline import Timelines

RETENTION_CHECK_SECONDS = 3600


class Eraser:
    def __init__(
        self,
        rooms: RoomStore,
        history: HistoryDB,
        grades: GradeStore,
        scorecards: ScorecardStore,
        timelines: Timelines,
        sockets: OpenSockets,
        collaboration: Callable[[], Any],
        cancel_grading: Callable[[str], None],
        root_dir: Path,
        deleted_dir: Path,
        log: logging.Logger,
    ) -> None:
        self.rooms = rooms
        self.history = history
        self.grades = grades
        self.scorecards = scorecards
        self.timelines = timelines
        self.sockets = sockets
        self.collaboration = collaboration
        self.cancel_grading = cancel_grading
        self.root_dir = root_dir
        self.deleted_dir = deleted_dir
        self.log = log
        self._timer: asyncio.TimerHandle | None = None

    async def purge(self, room: Room) -> None:
        name = f"json:notebook:{room.file_id}"
        path = history_path(room.file_id or "")
        if self.rooms.find(room.id) is not None:
            self.rooms.delete(room.id)  # its links die first
        self.sockets.close_room(name, "the interview was erased")
        server = self.collaboration()
        if server is not None and name in getattr(server, "rooms", {}):
            await server.delete_room(name=name)  # cancels a pending save
        self.cancel_grading(room.id)  # a grading under way would write its record back
        self.grades.forget_room(room.id)
        self.scorecards.forget_room(room.id)
        self.timelines.forget(path)
        await asyncio.to_thread(self._erase_files, room, path)
        self.log.info("Purged room %s", room.id)

    def _erase_files(self, room: Room, path: str) -> None:
        folder = self.root_dir / room.notebook_path.rsplit("/", 1)[0]
        shutil.rmtree(folder, ignore_errors=True)
        for copy in self.deleted_dir.glob(f"{room.id}-*"):
            shutil.rmtree(copy, ignore_errors=True)
        if not self.history.purge(path):
            self.log.error("Room %s: the history writer did not erase it in time", room.id)
        self.rooms.erase_traces(room.id)

    async def start(self, retention_days: int) -> None:
        """Purge what is past retention now (before the server takes requests), then every
        hour."""
        if retention_days <= 0:
            return
        await self.expire(retention_days)
        loop = asyncio.get_running_loop()

        def tick() -> None:
            task = asyncio.ensure_future(self.expire(retention_days))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._timer = loop.call_later(RETENTION_CHECK_SECONDS, tick)

        self._timer = loop.call_later(RETENTION_CHECK_SECONDS, tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    async def expire(self, retention_days: int) -> int:
        """Purge the rooms that ended (or were deleted) more than ``retention_days`` ago;
        how many."""
        limit = now() - timedelta(days=retention_days)
        old = [r for r in self.rooms.list("ended") if r.ended_at and r.ended_at < limit]
        old += self.rooms.deleted(before=limit)
        for room in old:
            try:
                await self.purge(room)
            except Exception:  # one room that cannot be erased must not keep the others
                self.log.exception("Retention: could not purge room %s", room.id)
        return len(old)
