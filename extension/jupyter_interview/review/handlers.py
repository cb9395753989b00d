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
from pathlib import Path
from typing import Any, ClassVar

from ..api.base import InterviewHandler, operation
from ..api.errors import Forbidden, InvalidRequest, RateLimited, RoomEnded, UnknownTemplate
from ..api.models import (
    BatchOut,
    DiffOut,
    GradeOut,
    GradeRequest,
    ReviewSummary,
    Rubric,
    ScorecardIn,
    ScorecardsOut,
    Signal,
    TimelineOut,
)
from ..api.principal import RoomUser
from ..rooms.handlers import ROOM_ID, TEMPLATE
from ..rooms.store import Room, RoomStore, check_room_id
from ..rooms.templates import TemplateCatalogue
from ..sync.bridge import author_of_user
from ..sync.history import HistoryDB, history_path
from .diff import notebook_diff
from .grading import Grader, room_result
from .replay import RoomHistory
from .scorecards import ScorecardStore
from .timeline import Timelines

AT = {"type": "string", "description": "an update's seq, or an ISO-8601 time; default: the end"}
# A page may record this many signals in a minute; more is not a person.
SIGNALS_PER_MINUTE = 120


class ReviewAccess:
    """Who may review a room, and what reviewing it reads: shared by the API handlers and
    the review page."""

    settings: dict[str, Any]
    current_user: Any

    @property
    def rooms(self) -> RoomStore:
        return self.settings["interview_rooms"]

    @property
    def history(self) -> HistoryDB:
        return self.settings["interview_history"]

    def room_history(self, room: Room) -> RoomHistory:
        return RoomHistory(self.history, history_path(room.file_id or ""))

    def room_file(self, room: Room) -> Path:
        return self.settings["interview_root_dir"] / room.notebook_path

    def review_room(self, room_id: str) -> Room:
        """The room, if the caller reviews it: the interviewer, or one of its grader links."""
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if isinstance(user, RoomUser) and (user.role != "grader" or user.room_id != room.id):
            raise Forbidden("Only the interviewer and the room's graders review it.")
        return room

    @property
    def blind(self) -> bool:
        """A grader link's caller, with the candidate's name hidden from graders."""
        return isinstance(self.current_user, RoomUser) and bool(
            self.settings.get("interview_blind_graders")
        )

    async def timeline(self, room: Room) -> TimelineOut:
        timelines: Timelines = self.settings["interview_timelines"]
        executions = self.rooms.executions(room.id)
        timeline = await asyncio.to_thread(timelines.of, room, executions)
        return anonymised(timeline) if self.blind else timeline

    @property
    def scorecards(self) -> ScorecardStore:
        return self.settings["interview_scorecards"]

    @property
    def grader(self) -> Grader:
        return self.settings["interview_grader"]

    def rubric(self, room: Room) -> Rubric:
        templates: TemplateCatalogue = self.settings["interview_templates"]
        try:
            return templates.get(room.template).meta.rubric
        except UnknownTemplate:
            return Rubric()

    def who(self) -> str:
        user = self.current_user
        return getattr(user, "name", None) or getattr(user, "username", "interviewer")


class ReviewHandler(ReviewAccess, InterviewHandler):
    """A review API handler."""


def anonymised(timeline: TimelineOut) -> TimelineOut:
    """The timeline with the candidate's name replaced, for graders who score blind."""
    data = timeline.model_dump()
    for author in [*data["participants"], *(e["author"] for e in data["events"])]:
        if author and author["role"] == "candidate":
            author["name"] = "Candidate"
    return TimelineOut.model_validate(data)


class TimelineHandler(ReviewHandler):
    @operation(
        "The room's timeline: edits, runs, errors, joins, pastes, focus, the end.",
        response=TimelineOut,
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        self.send(await self.timeline(self.review_room(room_id)))


class NotebookAtHandler(ReviewHandler):
    @operation(
        "The room's notebook as it stood at a moment, as nbformat JSON (headers X-Interview-Seq "
        "and X-Interview-Time say which moment).",
        response=dict,
        query={"at": AT},
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        room = self.review_room(room_id)
        at = self.get_query_argument("at", None)
        history = self.room_history(room)
        moment = await asyncio.to_thread(history.moment, at)
        notebook = await asyncio.to_thread(history.notebook_at, moment.seq, self.room_file(room))
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
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        room = self.review_room(room_id)
        history = self.room_history(room)
        start = self.get_query_argument("from", None)
        end = self.get_query_argument("to", None)
        file = self.room_file(room)
        self.send(await asyncio.to_thread(self._diff, history, start, end, file))

    def _diff(
        self, history: RoomHistory, start: str | None, end: str | None, file: Path
    ) -> DiffOut:
        before = history.first_moment() if start is None else history.moment(start)
        after = history.moment(end)
        cells = notebook_diff(
            history.notebook_at(before.seq, file), history.notebook_at(after.seq, file)
        )
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


class GradeHandler(ReviewHandler):
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
        room_links=True,
    )
    async def post(self, room_id: str, body: GradeRequest) -> None:
        room = self.review_room(room_id)
        queued = self.grader.busy()
        at = None if body.at is None else str(body.at)
        grade, task = await self.grader.request(room, at, self.who())
        if queued:
            self.set_header("Location", self.grade_url(room.id, grade.id))
            self.send(grade, status=202)
            return
        self.send(await asyncio.shield(task))

    def grade_url(self, room_id: str, grade_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/interview/api/rooms/{room_id}/grades/{grade_id}"


class GradesHandler(ReviewHandler):
    @operation(
        "Every grading of the room, newest first, test by test.",
        response=list[GradeOut],
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        room = self.review_room(room_id)
        self.send(self.grader.store.of_room(room.id))


class OneGradeHandler(ReviewHandler):
    @operation("One grading of the room.", response=GradeOut, errors={404: "No such grading"})
    async def get(self, room_id: str, grade_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.send(self.grader.store.get(room.id, grade_id))


class TemplateGradeHandler(ReviewHandler):
    @operation(
        "Grade every ended room of a template at its end; the gradings are queued.",
        response=BatchOut,
        status=202,
        errors={404: "No such template", 503: "The grading queue is full"},
    )
    async def post(self, name: str) -> None:
        grades = await self.grader.batch(name, self.who())
        self.send(BatchOut(template=name, grades=grades), status=202)


def grader_of(user: object, room: Room) -> tuple[str, str]:
    """Who is grading: a grader link's user (each browser its own), or the interviewer, under
    the name the room gave them (the one the candidate and the timeline show)."""
    if isinstance(user, RoomUser):
        if user.role != "grader":
            raise Forbidden("Only graders and the interviewer score interviews.")
        if not user.named:
            raise Forbidden("Open the grader link in a browser and give your name first.")
        return user.username, user.name
    return "interviewer", room.interviewer_name or getattr(user, "name", None) or "Interviewer"


class ScorecardsHandler(ReviewHandler):
    @operation(
        "The rubric, the caller's own scorecard and, once they have submitted it, the "
        "other graders' (blind scoring).",
        response=ScorecardsOut,
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        room = self.review_room(room_id)
        grader_id, _ = grader_of(self.current_user, room)
        self.send(self.scorecards.view(room.id, grader_id, self.rubric(room)))

    @operation(
        "Save the caller's own scorecard; `submit` makes it final (it can still be "
        "corrected, and every change is recorded) and shows the others'.",
        body=ScorecardIn,
        response=ScorecardsOut,
        room_links=True,
    )
    async def put(self, room_id: str, body: ScorecardIn) -> None:
        room = self.review_room(room_id)
        grader_id, name = grader_of(self.current_user, room)
        rubric = self.rubric(room)
        self.scorecards.save(
            room.id, grader_id, name, body, rubric, self.settings["interview_max_graders"]
        )
        self.send(self.scorecards.view(room.id, grader_id, rubric))


class ReviewsHandler(ReviewHandler):
    @operation(
        "The review list: every room (filtered by template and status) with how it ended, "
        "its latest grading and who has scored it.",
        response=list[ReviewSummary],
        query={
            "template": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "ended"]},
        },
    )
    async def get(self) -> None:
        template = self.get_query_argument("template", None)
        status = self.get_query_argument("status", None)
        if status not in (None, "open", "ended"):
            raise InvalidRequest("status is open or ended.")
        rooms = [r for r in self.rooms.list(status) if template is None or r.template == template]
        self.send([self.summary(room) for room in rooms])

    def summary(self, room: Room) -> ReviewSummary:
        grades = self.grader.store.of_room(room.id) if self.grader else []
        done = room_result(grades)
        cards = [c for c in self.scorecards.all(room.id, Rubric()) if c.status == "submitted"]
        return ReviewSummary(
            room_id=room.id,
            title=room.title,
            template=room.template,
            candidate_name=room.candidate_name,
            status=room.status,
            end_reason=room.end_reason,
            ended_at=room.ended_at,
            grading=grades[0].status if grades else None,
            tests_passed=done.passed if done else None,
            tests_total=done.total if done else None,
            scorecards=len(cards),
            graders=[c.grader_name for c in cards],
            recommendations=[c.recommendation for c in cards if c.recommendation],
        )


ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    (f"/interview/api/rooms/{ROOM_ID}/timeline", TimelineHandler),
    (f"/interview/api/rooms/{ROOM_ID}/notebook", NotebookAtHandler),
    (f"/interview/api/rooms/{ROOM_ID}/diff", DiffHandler),
    (f"/interview/api/rooms/{ROOM_ID}/signals", SignalsHandler),
    (f"/interview/api/rooms/{ROOM_ID}/grade", GradeHandler),
    (f"/interview/api/rooms/{ROOM_ID}/grades", GradesHandler),
    (f"/interview/api/rooms/{ROOM_ID}/grades/(?P<grade_id>[0-9a-f]{{16}})", OneGradeHandler),
    (f"/interview/api/templates/{TEMPLATE}/grade", TemplateGradeHandler),
    (f"/interview/api/rooms/{ROOM_ID}/scorecards", ScorecardsHandler),
    ("/interview/api/reviews", ReviewsHandler),
]
