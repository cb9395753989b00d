"""Grading: a room's notebook at a moment, its template's hidden tests, and their verdicts
(the server's for a call test, the sandbox's for a statement test: see sandbox/verdict.py).

A grading is recorded as soon as it is asked for (``queued``), then ``running``, then
``done`` (every test has a verdict) or ``failed`` (the sandbox could not run it: the reason
is in ``error``). A room is graded by itself when it ends; graders grade it again at any
moment of its timeline, or every ended room of a template at once. The gradings live in the
rooms' database beside the rooms, and go with them when a room is purged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..api.errors import GradeNotFound, InterviewError
from ..api.models import GradeOut
from ..rooms.store import Room, RoomStore, connect
from ..rooms.templates import TemplateCatalogue
from ..sandbox.grading import GradingSandbox, submission_cells
from ..sync.history import HistoryDB, history_path
from .replay import RoomHistory
from .tampering import tampering_signals

_SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    template TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS grades_room ON grades (room_id, created_at);
"""


def room_result(grades: list[GradeOut], at_seq: int | None = None) -> GradeOut | None:
    """Of a room's gradings (newest first, ``GradeStore.of_room``), its result: the newest
    finished grading of its end (with ``at_seq``, of that moment instead). Grading an
    earlier moment, to look around, never changes what the review list and the exports
    report."""
    for grade in grades:
        if grade.status == "done" and (
            grade.at_seq == at_seq if at_seq is not None else grade.at_end
        ):
            return grade
    return None


class GradeStore:
    """Gradings, one JSON record each, in the rooms' SQLite file."""

    def __init__(self, db_path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect(db_path, _SCHEMA)

    def add(self, grade: GradeOut) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO grades (id, room_id, template, created_at, data) VALUES (?,?,?,?,?)",
                (
                    grade.id,
                    grade.room_id,
                    grade.template,
                    grade.created_at.isoformat(),
                    grade.model_dump_json(),
                ),
            )

    def save(self, grade: GradeOut) -> None:
        """Update a grading that is still there (a purge may have erased it meanwhile)."""
        with self._lock:
            self._db.execute(
                "UPDATE grades SET data = ? WHERE id = ?", (grade.model_dump_json(), grade.id)
            )

    def of_room(self, room_id: str) -> list[GradeOut]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM grades WHERE room_id = ? ORDER BY created_at DESC, rowid DESC",
                (room_id,),
            ).fetchall()
        return [GradeOut.model_validate_json(data) for (data,) in rows]

    def get(self, room_id: str, grade_id: str) -> GradeOut:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM grades WHERE id = ? AND room_id = ?", (grade_id, room_id)
            ).fetchone()
        if row is None:
            raise GradeNotFound(f"Room {room_id} has no grading {grade_id!r}.")
        return GradeOut.model_validate_json(row[0])

    def forget_room(self, room_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM grades WHERE room_id = ?", (room_id,))

    def abandon_unfinished(self) -> None:
        """Gradings the last run of the server left queued or running: failed, saying why."""
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM grades"
                " WHERE json_extract(data, '$.status') IN ('queued', 'running')"
            ).fetchall()
        for (data,) in rows:
            grade = GradeOut.model_validate_json(data)
            if grade.status in ("queued", "running"):
                grade.status = "failed"
                grade.error = "The server stopped during this grading: grade the room again."
                self.save(grade)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Grader:
    """Asks the sandbox to grade rooms, and keeps what it says."""

    def __init__(
        self,
        rooms: RoomStore,
        history: HistoryDB,
        templates: TemplateCatalogue,
        sandbox: GradingSandbox,
        store: GradeStore,
        log: logging.Logger,
        root_dir: Path,
        served: frozenset[str] = frozenset(),
    ) -> None:
        self.root_dir = root_dir
        self.served = served
        self.rooms = rooms
        self.history = history
        self.templates = templates
        self.sandbox = sandbox
        self.store = store
        self.log = log
        # Gradings under way: their room, and their task.
        self._tasks: dict[str, tuple[str, GradeOut, asyncio.Task[GradeOut]]] = {}
        self._requests: set[asyncio.Future[Any]] = set()
        store.abandon_unfinished()

    async def request(
        self, room: Room, at: str | None, who: str
    ) -> tuple[GradeOut, asyncio.Task[GradeOut]]:
        """Record a grading of ``room`` at ``at`` (default: its end, or now for a room still
        open) and start it. While a grading of that same moment is under way, that one is
        the answer; a grading of another moment never stands in for it (the grading of a
        room's end, which is its result, was once swallowed by a grader's look at an
        earlier moment)."""
        history = RoomHistory(self.history, history_path(room.file_id or ""))
        moment = await asyncio.to_thread(history.moment, at)
        at_end = at is None and room.status == "ended"
        for room_id, grade, task in self._tasks.values():
            if room_id == room.id and (grade.at_seq, grade.at_end) == (moment.seq, at_end):
                return grade, task
        grade = GradeOut(
            id=secrets.token_hex(8),
            room_id=room.id,
            template=room.template,
            status="queued",
            at_seq=moment.seq,
            at_time=moment.time,
            at_end=at_end,
            requested_by=who,
            created_at=datetime.now(UTC),
        )
        self.store.add(grade)
        task = asyncio.create_task(self._grade(grade, room))
        self._tasks[grade.id] = (room.id, grade, task)
        task.add_done_callback(lambda _: self._tasks.pop(grade.id, None))
        return grade, task

    def stop(self) -> None:
        """The server is stopping: the gradings under way stop too (a grading left queued
        or running says so; grade the room again after the restart)."""
        for _, _, task in list(self._tasks.values()):
            task.cancel()

    def cancel_room(self, room_id: str) -> None:
        """Stop the room's grading (its sandbox process dies with the task): it is erased."""
        for owner, _, task in list(self._tasks.values()):
            if owner == room_id:
                task.cancel()

    def busy(self) -> bool:
        """Whether a new grading would wait behind others."""
        return bool(self._tasks)

    async def _grade(self, grade: GradeOut, room: Room) -> GradeOut:
        try:
            template = self.templates.get(room.template).meta
            tests = [t.model_dump() for t in template.hidden_tests]
            cells, grade.signals = await asyncio.to_thread(self._submission, room, grade.at_seq)
            # The room's packages, and the template's now (its tests are the template's now).
            needed = list(dict.fromkeys([*room.packages, *template.packages]))
            packages = [p for p in needed if p.lower() in self.served]
            missing = [p for p in needed if p.lower() not in self.served]
            run = tests
            if missing:
                grade.warnings.append(
                    f"The grader has no {', '.join(missing)}: this server does not serve "
                    "them, and the sandbox has no network. Tests that import them fail."
                )
                # A module of that name made by the submission would stand in for the
                # package in a statement test, whose verdict is made in the sandbox.
                run = [t for t in tests if t.get("call") is not None]
            grade.status = "running"
            self.store.save(grade)
            outcome = await self.sandbox.run(cells, run, packages)
            reported = {t["name"]: t for t in outcome.tests}
            outcome.tests = [
                reported.get(t["name"])
                or {
                    "name": t["name"],
                    "status": "not_run",
                    "message": f"Not run: the grader has no {', '.join(missing)}, and this "
                    "test's verdict would be made in the sandbox, where a module the "
                    "submission made under that name would stand in for it.",
                }
                for t in tests
            ]
        except InterviewError as e:
            return self._finish(grade, error=e.message)
        except Exception as e:  # a grading must end with a status, whatever went wrong
            self.log.exception("Room %s: grading %s failed", room.id, grade.id)
            return self._finish(grade, error=f"Grading failed: {e}")
        refused = [
            f"The sandbox refused {what}"
            for record in (*outcome.cells, *outcome.tests)
            for what in record.pop("refused", None) or []
            if isinstance(what, str)
        ]
        try:
            graded = GradeOut.model_validate(
                {
                    **grade.model_dump(),
                    "signals": [*grade.signals, *refused[:50]],
                    "cells": outcome.cells,
                    "tests": outcome.tests,
                    "duration_ms": outcome.duration_ms,
                }
            )
        except ValidationError:
            return self._finish(grade, error="The sandbox answered something unreadable.")
        return self._finish(graded, error=outcome.error)

    def _submission(self, room: Room, seq: int) -> tuple[list[str | None], list[str]]:
        """The code cells at ``seq``, and what in them can tamper with tests (off the
        event loop: a large notebook takes a while to read)."""
        history = RoomHistory(self.history, history_path(room.file_id or ""))
        cells = submission_cells(history.notebook_at(seq, self.root_dir / room.notebook_path))
        return cells, tampering_signals(cells)

    def _finish(self, grade: GradeOut, error: str | None) -> GradeOut:
        """Done once any test has a verdict (or there are none); failed otherwise."""
        ran = [t for t in grade.tests if t.status != "not_run"]
        grade.error = error
        grade.status = "done" if ran or (not grade.tests and error is None) else "failed"
        grade.passed = sum(t.status == "pass" for t in grade.tests)
        grade.total = len(grade.tests)
        grade.finished_at = datetime.now(UTC)
        self.store.save(grade)
        return grade

    def watch(self) -> None:
        """Grade each room as it ends. Call on the event loop."""

        started: set[str] = set()

        def changed(room: Room) -> None:
            if room.status == "ended" and room.id not in started:
                started.add(room.id)
                task = asyncio.ensure_future(self.request(room, None, "the server (room ended)"))
                self._requests.add(task)
                task.add_done_callback(self._requests.discard)

        self.rooms.on_change(changed)

    async def batch(self, template: str, who: str) -> list[GradeOut]:
        """Grade every ended room of a template, at its end."""
        self.templates.get(template)
        rooms = [r for r in self.rooms.list("ended") if r.template == template]
        return [(await self.request(room, None, who))[0] for room in rooms]
