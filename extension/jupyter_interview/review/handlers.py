"""HTTP handlers for review: the timeline, the notebook at a moment, a diff of two moments,
and the signals the candidate's page records (long pastes, leaving the tab).

Everything but the signals is for the interviewer (and graders) only: no room link reaches
it. The work runs in a thread, so that a long history never holds up the live rooms.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from typing import ClassVar

from ..api.base import InterviewHandler, operation
from ..api.errors import Forbidden, RateLimited, RoomEnded
from ..api.models import BatchOut, DiffOut, GradeOut, GradeRequest, Signal, TimelineOut
from ..api.principal import RoomUser
from ..rooms.handlers import ROOM_ID, TEMPLATE
from ..rooms.store import Room, RoomStore, check_room_id
from ..sync.bridge import author_of_user
from ..sync.history import HistoryDB, history_path
from .diff import notebook_diff
from .grading import Grader
from .replay import RoomHistory
from .timeline import Timelines

AT = {"type": "string", "description": "an update's seq, or an ISO-8601 time; default: the end"}
# A page may record this many signals in a minute; more is not a person.
SIGNALS_PER_MINUTE = 120


class ReviewHandler(InterviewHandler):
    @property
    def rooms(self) -> RoomStore:
        return self.settings["interview_rooms"]

    @property
    def history(self) -> HistoryDB:
        return self.settings["interview_history"]

    def room_history(self, room: Room) -> RoomHistory:
        return RoomHistory(self.history, history_path(room.file_id or ""))


class TimelineHandler(ReviewHandler):
    @operation(
        "The room's timeline: edits, runs, errors, joins, pastes, focus, the end.",
        response=TimelineOut,
    )
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        timelines: Timelines = self.settings["interview_timelines"]
        executions = self.rooms.executions(room.id)
        self.send(await asyncio.to_thread(timelines.of, room, executions))


class NotebookAtHandler(ReviewHandler):
    @operation(
        "The room's notebook as it stood at a moment, as nbformat JSON (headers X-Interview-Seq "
        "and X-Interview-Time say which moment).",
        response=dict,
        query={"at": AT},
    )
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        at = self.get_query_argument("at", None)
        history = self.room_history(room)
        moment = await asyncio.to_thread(history.moment, at)
        notebook = await asyncio.to_thread(history.notebook_at, moment.seq)
        self.set_header("X-Interview-Seq", str(moment.seq))
        if moment.time is not None:
            self.set_header("X-Interview-Time", moment.time.isoformat())
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(notebook))


class DiffHandler(ReviewHandler):
    @operation(
        "A cell-by-cell diff between two moments (default: the template as the room loaded "
        "it, and the end).",
        response=DiffOut,
        query={
            "from": {
                **AT,
                "description": "an update's seq or an ISO-8601 time; default: "
                "the room's first update (the template)",
            },
            "to": AT,
        },
    )
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        history = self.room_history(room)
        start = self.get_query_argument("from", None)
        end = self.get_query_argument("to", None)
        self.send(await asyncio.to_thread(self._diff, history, start, end))

    def _diff(self, history: RoomHistory, start: str | None, end: str | None) -> DiffOut:
        before = history.first_moment() if start is None else history.moment(start)
        after = history.moment(end)
        cells = notebook_diff(history.notebook_at(before.seq), history.notebook_at(after.seq))
        return DiffOut.model_validate(
            {
                "from_seq": before.seq,
                "to_seq": after.seq,
                "from_time": before.time,
                "to_time": after.time,
                "cells": cells,
            }
        )


class SignalsHandler(ReviewHandler):
    # Per room, the times of the last minute's signals (the handler lives one request).
    _recent: ClassVar[dict[str, deque[float]]] = defaultdict(deque)

    @operation(
        "The candidate's page notes a long paste, or the page losing or regaining focus.",
        body=Signal,
        status=204,
        room_links=True,
        errors={409: "The room has ended", 429: "Too many signals"},
    )
    async def post(self, room_id: str, body: Signal) -> None:
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if not isinstance(user, RoomUser) or user.room_id != room.id or user.role != "candidate":
            raise Forbidden("Only the room's candidate page records signals.")
        if room.status != "open":
            raise RoomEnded("The interview has ended.")
        recent = self._recent[room.id]
        now = time.monotonic()
        while recent and now - recent[0] > 60:
            recent.popleft()
        if len(recent) >= SIGNALS_PER_MINUTE:
            raise RateLimited("Too many signals from this page.")
        recent.append(now)
        data = body.model_dump(exclude_none=True, exclude={"kind"})
        if not room.record_paste_text:
            data.pop("text", None)
        path = history_path(room.file_id or "")
        self.history.record(path, body.kind, author_of_user(user), data)
        self.set_status(204)
        self.finish()


class GradingHandler(ReviewHandler):
    @property
    def grader(self) -> Grader:
        return self.settings["interview_grader"]

    def who(self) -> str:
        user = self.current_user
        return getattr(user, "name", None) or getattr(user, "username", "interviewer")


class GradeHandler(GradingHandler):
    @operation(
        "Grade the room now: its notebook at a moment (default: its end) against its "
        "template's hidden tests, in the sandbox. Answers with the result when nothing else "
        "is waiting; else 202 and where the result will be.",
        body=GradeRequest,
        body_required=False,
        response=GradeOut,
        errors={
            202: "Queued: the result will be at the Location",
            503: "The grading sandbox cannot run here, or its queue is full",
        },
    )
    async def post(self, room_id: str, body: GradeRequest) -> None:
        room = self.rooms.get(check_room_id(room_id))
        queued = self.grader.busy()
        grade, task = await self.grader.request(room, body.at, self.who())
        if queued:
            self.set_header("Location", self.grade_url(room.id, grade.id))
            self.send(grade, status=202)
            return
        self.send(await asyncio.shield(task))

    def grade_url(self, room_id: str, grade_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/interview/api/rooms/{room_id}/grades/{grade_id}"


class GradesHandler(GradingHandler):
    @operation("Every grading of the room, newest first, test by test.", response=list[GradeOut])
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.send(self.grader.store.of_room(room.id))


class OneGradeHandler(GradingHandler):
    @operation("One grading of the room.", response=GradeOut, errors={404: "No such grading"})
    async def get(self, room_id: str, grade_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.send(self.grader.store.get(room.id, grade_id))


class TemplateGradeHandler(GradingHandler):
    @operation(
        "Grade every ended room of a template at its end; the gradings are queued.",
        response=BatchOut,
        status=202,
        errors={404: "No such template", 503: "The grading queue is full"},
    )
    async def post(self, name: str) -> None:
        grades = await self.grader.batch(name, self.who())
        self.send(BatchOut(template=name, grades=grades), status=202)


ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    (f"/interview/api/rooms/{ROOM_ID}/timeline", TimelineHandler),
    (f"/interview/api/rooms/{ROOM_ID}/notebook", NotebookAtHandler),
    (f"/interview/api/rooms/{ROOM_ID}/diff", DiffHandler),
    (f"/interview/api/rooms/{ROOM_ID}/signals", SignalsHandler),
    (f"/interview/api/rooms/{ROOM_ID}/grade", GradeHandler),
    (f"/interview/api/rooms/{ROOM_ID}/grades", GradesHandler),
    (f"/interview/api/rooms/{ROOM_ID}/grades/(?P<grade_id>[0-9a-f]{{16}})", OneGradeHandler),
    (f"/interview/api/templates/{TEMPLATE}/grade", TemplateGradeHandler),
]
