"""Exports: the submission as ``.ipynb``, the HTML report, ``results.json`` and a template's
``results.csv``. For the interviewer and the room's graders; none of them carries hidden
tests or the interviewer's private notes.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import json
import re
from typing import Any

from nbformat import NotebookNode

from ..api.base import operation
from ..api.models import GradeOut, ScorecardOut
from ..api.principal import RoomUser
from ..rooms.handlers import TEMPLATE
from ..rooms.store import Room
from ..rooms.templates import TemplateCatalogue
from .grading import Grader, room_result
from .handlers import AT, ROOM_ID, ReviewHandler, grader_of
from .report import CSV_COLUMNS, REPORT_CSP, csv_row, report_html, results, timeline_summary


def submission(notebook: NotebookNode, room: Room) -> NotebookNode:
    """The notebook as handed on: no trust marks, interview metadata reduced to its room."""
    nb = copy.deepcopy(notebook)
    nb.metadata["interview"] = {"room_id": room.id, "template": room.template}
    for cell in nb.cells:
        cell.get("metadata", {}).pop("trusted", None)
    return nb


def _filename(room: Room, suffix: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", room.title).strip("-")[:60] or "interview"
    return f"{stem}-{room.id}{suffix}"


class ExportHandler(ReviewHandler):
    """What every export needs: the notebook at a moment, the latest grading, the
    scorecards the caller may see, and the timeline in numbers."""

    async def notebook(self, room: Room) -> NotebookNode:
        history = self.room_history(room)
        moment = await asyncio.to_thread(history.moment, self.get_query_argument("at", None))
        return await asyncio.to_thread(history.notebook_at, moment.seq, self.room_file(room))

    async def gather(
        self, room: Room
    ) -> tuple[GradeOut | None, list[ScorecardOut], dict[str, Any]]:
        grader: Grader | None = self.settings.get("interview_grader")
        grade = room_result(grader.store.of_room(room.id)) if grader else None
        rubric = self.rubric(room)
        if isinstance(self.current_user, RoomUser):
            view = self.scorecards.view(room.id, grader_of(self.current_user, room)[0], rubric)
            cards = [card for card in [view.mine, *view.others] if card is not None]
        else:
            cards = self.scorecards.all(room.id, rubric)
        timeline = await self.timeline(room)
        events = [e.model_dump(mode="json") for e in timeline.events]
        return grade, cards, timeline_summary(events, room)

    def download(self, body: str, content_type: str, filename: str) -> None:
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.finish(body, set_content_type=content_type)


class NotebookExportHandler(ExportHandler):
    @operation(
        "The submission as a notebook (.ipynb), at its end or at a moment.",
        response=dict,
        query={"at": AT},
        room_links=True,
        media_type="application/x-ipynb+json",
    )
    async def get(self, room_id: str) -> None:
        room = self.review_room(room_id)
        body = json.dumps(submission(await self.notebook(room), room), indent=1)
        self.download(body, "application/x-ipynb+json", _filename(room, ".ipynb"))


class ReportHandler(ExportHandler):
    @operation(
        "The HTML report: the submission rendered and sanitised, the hidden tests, the "
        "scorecards and the timeline in numbers; it loads nothing and runs no script.",
        response=str,
        query={"at": AT},
        room_links=True,
        media_type="text/html",
    )
    async def get(self, room_id: str) -> None:
        room = self.review_room(room_id)
        notebook = await self.notebook(room)
        grade, cards, summary = await self.gather(room)
        html = await asyncio.to_thread(
            report_html,
            room,
            notebook,
            grade,
            cards,
            summary,
            blind=self.blind,
            rubric=self.rubric(room),
        )
        # Served from this origin, it still gets no origin of its own to act from.
        self.set_header("Content-Security-Policy", REPORT_CSP + "; sandbox")
        self.download(html, "text/html; charset=utf-8", _filename(room, ".html"))


class ResultsHandler(ExportHandler):
    @operation(
        "results.json: the room, the hidden tests' verdicts, the scorecards and the "
        "timeline in numbers, for an applicant-tracking system.",
        response=dict,
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        room = self.review_room(room_id)
        grade, cards, summary = await self.gather(room)
        body = json.dumps(results(room, grade, cards, summary, blind=self.blind), indent=1)
        self.download(body, "application/json", _filename(room, ".json"))


class TemplateResultsHandler(ExportHandler):
    @operation(
        "results.csv: one row per room of the template.",
        response=str,
        media_type="text/csv",
        errors={404: "No such template"},
    )
    async def get(self, name: str) -> None:
        templates: TemplateCatalogue = self.settings["interview_templates"]
        templates.get(name)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for room in self.rooms.list():
            if room.template == name:
                grade, cards, summary = await self.gather(room)
                writer.writerow(csv_row(results(room, grade, cards, summary, blind=False)))
        self.download(out.getvalue(), "text/csv; charset=utf-8", f"{name}-results.csv")


ROUTES = [
    (f"/interview/api/rooms/{ROOM_ID}/export\\.ipynb", NotebookExportHandler),
    (f"/interview/api/rooms/{ROOM_ID}/report\\.html", ReportHandler),
    (f"/interview/api/rooms/{ROOM_ID}/results\\.json", ResultsHandler),
    (f"/interview/api/templates/{TEMPLATE}/results\\.csv", TemplateResultsHandler),
]
