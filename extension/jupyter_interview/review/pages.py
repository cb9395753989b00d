"""``/interview/review/<room>``: the review page, for a grader link and for the interviewer.

One server-rendered page, with no script at all: the hidden tests (and a button to grade
again), the timeline with a link to open the notebook at any of its moments, the notebook
itself rendered and sanitised, and the caller's own scorecard as a form. The other graders'
scorecards appear once the caller has submitted theirs. The interviewer also gets the
previous and next submission of the same template (access keys p and n).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from pydantic import ValidationError
from tornado import web

from ..api.errors import InterviewError
from ..api.models import CriterionScore, Evidence, Rubric, ScorecardIn, ScorecardsOut
from ..api.principal import RoomUser
from ..rooms.store import Room
from .grading import room_result
from .handlers import ReviewAccess, grader_of
from .report import (
    CSS,
    candidate_label,
    counted,
    notebook_html,
    scorecards_html,
    style_hash,
    summary_html,
    tests_html,
    timeline_summary,
)

RECOMMENDATIONS = [
    ("strong_no", "Strong no"),
    ("no", "No"),
    ("yes", "Yes"),
    ("strong_yes", "Strong yes"),
]
PAGE_CSS = """
form.card fieldset { border: 1px solid #ddd; margin: .8rem 0; }
form.card textarea { width: 100%; min-height: 4rem; box-sizing: border-box; }
.levels label { display: block; margin: .2rem 0; }
nav a { margin-right: 1rem; } .notice { background: #e8f5e9; padding: .5rem; }
.problem { background: #ffebee; padding: .5rem; } td.when { white-space: nowrap; }
form.card label.block { display: block; margin-top: .6rem; }
"""
PAGE_CSP = (
    f"default-src 'none'; style-src {style_hash(CSS + PAGE_CSS)}; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _seconds(when: datetime, start: datetime) -> int:
    """A moment's time as the timeline's first column shows it: whole seconds from its
    start (the evidence field reads it back the same way)."""
    return round((when - start).total_seconds())


def _moment(evidence: Evidence | None) -> str:
    """A moment as the timeline shows it (and as the grader typed it): #n."""
    return "" if evidence is None or evidence.seq is None else f"#{evidence.seq}"


class ReviewPageHandler(ReviewAccess, JupyterHandler):
    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", PAGE_CSP)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message if isinstance(exc, InterviewError) else self._reason
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_page("Review", f"<h1>Review</h1><p class=problem>{_esc(message)}</p>"))

    def page_room(self, room_id: str) -> Room:
        room = self.review_room(room_id)
        grader_of(self.current_user, room)
        return room

    @web.authenticated
    async def get(self, room_id: str) -> None:
        room = self.page_room(room_id)
        self.finish(await self.render_page(room))

    @web.authenticated
    async def post(self, room_id: str) -> None:
        room = self.page_room(room_id)
        action = self.get_body_argument("action", "")
        at = self.get_body_argument("at", "") or None
        if action == "grade":
            await self.grader.request(room, at, self.who())
        elif action in ("save", "submit"):
            grader_id, name = grader_of(self.current_user, room)
            rubric = self.rubric(room)
            limit = self.settings["interview_max_graders"]
            unread: list[str] = []
            moment_of = await self.moment_reader(room, unread)
            try:
                card = self.scorecard_from_form(rubric, moment_of, submit=action == "submit")
            except ValidationError as e:
                self.set_status(400)
                self.finish(await self.render_page(room, problem=str(e)))
                return
            if unread:
                # Keep everything else (a draft stays a draft, a submitted card whole), and
                # say which moment was not understood.
                draft = card.model_copy(update={"submit": False})
                try:
                    self.scorecards.save(room.id, grader_id, name, draft, rubric, limit)
                    kept = "Everything else is saved."
                except InterviewError as e:
                    kept = f"Nothing was saved: {e.message}"
                problem = (
                    f"Not understood as a moment: {', '.join(unread)}. Give the number after "
                    f"# in the timeline, or a time from its first column (mm:ss). {kept}"
                )
                self.set_status(400)
                self.finish(await self.render_page(room, problem=problem))
                return
            try:
                self.scorecards.save(room.id, grader_id, name, card, rubric, limit)
            except InterviewError as e:
                if action == "submit":
                    # Keep what was filled in, as a draft, and say what is missing.
                    draft = card.model_copy(update={"submit": False})
                    with contextlib.suppress(InterviewError):
                        self.scorecards.save(room.id, grader_id, name, draft, rubric, limit)
                self.set_status(400)
                self.finish(await self.render_page(room, problem=e.message))
                return
        else:
            raise web.HTTPError(400, "Unknown action")
        done, section = ("graded", "tests") if action == "grade" else ("saved", "scorecard")
        target = url_path_join(self.base_url, "interview/review", room.id)
        # Back where the grader was, not at the top of a long page.
        query = urlencode({"done": done, **({"at": at} if at else {})})
        self.redirect(f"{target}?{query}#{section}")

    async def moment_reader(
        self, room: Room, unread: list[str]
    ) -> Callable[[str, str], int | None]:
        """Reads a moment as a grader gives it: a moment's number (as in the timeline), or a
        time from the timeline's first column (mm:ss since its first event). What it cannot
        read goes to ``unread``, named after its criterion."""
        history = self.room_history(room)
        events = (await self.timeline(room)).events
        start = events[0].time if events else None

        def read(text: str, criterion: str) -> int | None:
            text = text.strip().lstrip("#")
            if not text:
                return None
            if _number(text):
                return int(text)
            parts = text.split(":")
            if start is not None and 2 <= len(parts) <= 3 and all(map(_number, parts)):
                seconds = sum(int(p) * 60**i for i, p in enumerate(reversed(parts)))
                # The first row of the timeline at that time, as its link opens it; else
                # the notebook as it stood then.
                for event in events:
                    if _seconds(event.time, start) == seconds:
                        return event.end_seq or event.seq
                when = start + timedelta(seconds=seconds)
                return history.moment(when.isoformat()).seq
            unread.append(f"“{text}” ({criterion})")
            return None

        return read

    def scorecard_from_form(
        self, rubric: Rubric, moment_of: Callable[[str, str], int | None], *, submit: bool
    ) -> ScorecardIn:
        scores = []
        for criterion in rubric.criteria:
            raw = self.get_body_argument(f"score-{criterion.name}", "")
            typed = self.get_body_argument(f"evidence-{criterion.name}", "")
            note = self.get_body_argument(f"evidence-note-{criterion.name}", "").strip()
            seq = moment_of(typed, criterion.title)
            evidence = [Evidence(seq=seq, note=note)] if seq is not None or note else []
            scores.append(
                CriterionScore(
                    criterion=criterion.name,
                    score=int(raw) if _number(raw) else None,
                    comment=self.get_body_argument(f"comment-{criterion.name}", ""),
                    evidence=evidence,
                )
            )
        recommendation = self.get_body_argument("recommendation", "") or None
        return ScorecardIn.model_validate(
            {
                "scores": [s.model_dump() for s in scores],
                "recommendation": recommendation,
                "summary": self.get_body_argument("summary", ""),
                "submit": submit,
            }
        )

    async def render_page(self, room: Room, problem: str = "") -> str:
        at = self.get_query_argument("at", None)
        history = self.room_history(room)
        moment = await asyncio.to_thread(history.moment, at)
        notebook = await asyncio.to_thread(history.notebook_at, moment.seq, self.room_file(room))
        timeline = await self.timeline(room)
        events = [e.model_dump(mode="json") for e in timeline.events]
        # The verdict of the moment on show if it was graded, else the room's result, else
        # the grading under way (or the one that failed).
        grades = self.grader.store.of_room(room.id) if self.grader else []
        grade = (
            (room_result(grades, moment.seq) if at is not None else None)
            or room_result(grades)
            or (grades[0] if grades else None)
        )
        rubric = self.rubric(room)
        grader_id, name = grader_of(self.current_user, room)
        view = self.scorecards.view(room.id, grader_id, rubric)
        base = url_path_join(self.base_url, "interview/review", room.id)
        api = url_path_join(self.base_url, "interview/api/rooms", room.id)
        done = self.get_query_argument("done", "")
        running = any(g.status in ("queued", "running") for g in grades)
        notices = {
            "graded": "Grading under way: reload for its result."
            if running
            else "Graded: the result is below.",
        }
        body = [
            self.navigation(room),
            f"<h1>{_esc(room.title)}</h1>",
            f"<p class=muted>{_esc(candidate_label(room, self.blind))} · template "
            f"{_esc(room.template)} · reviewing as {_esc(name)}</p>",
            f"<p class=notice>{_esc(notices[done])}</p>" if done in notices else "",
            f"<p class=problem>{_esc(problem)}</p>" if problem else "",
            f'<p><a href="{api}/report.html">Report (HTML)</a> · '
            f'<a href="{api}/export.ipynb">Notebook (.ipynb)</a> · '
            f'<a href="{api}/results.json">results.json</a></p>',
            f"<h2>The interview</h2>{summary_html(timeline_summary(events, room))}",
            f"<h2 id=tests>Hidden tests</h2>{tests_html(grade, self.hidden_tests(room))}",
            self.form(
                base,
                "grade",
                "Grade again at this moment" if at else "Grade again",
                hidden={"at": str(moment.seq)} if at else {},
            ),
            f"<h2>Timeline</h2>{self.timeline_table(events, base, moment.seq)}",
            f"<h2>The notebook {self.moment_label(at, moment.time)}</h2>",
            await asyncio.to_thread(notebook_html, notebook),
            self.private_notes(room),
            "<h2 id=scorecard>Your scorecard</h2>",
            # Where a save lands (#scorecard): said here, not at the top of the page.
            "<p class=notice>Saved.</p>" if done == "saved" else "",
            self.scorecard_form(base, view, moment.seq),
            f"<h2>The other scorecards</h2>{self.others(view)}",
        ]
        return _page(f"Review: {room.title}", "".join(body))

    def hidden_tests(self, room: Room) -> dict[str, str]:
        try:
            tests = self.settings["interview_templates"].get(room.template).meta.hidden_tests
        except InterviewError:
            return {}
        return {test.name: test.readable for test in tests}

    def private_notes(self, room: Room) -> str:
        """The interviewer's own notes, beside their scorecard: never on a grader link's page."""
        if isinstance(self.current_user, RoomUser) or not room.notes:
            return ""
        return f"<h2>Your private notes</h2><pre>{_esc(room.notes)}</pre>"

    def navigation(self, room: Room) -> str:
        """The interviewer moves between the ended rooms of a template (keys p and n)."""
        if isinstance(self.current_user, RoomUser):
            return ""
        same = [r for r in self.rooms.list("ended") if r.template == room.template]
        ids = [r.id for r in same]
        if room.id not in ids:
            return ""
        i = ids.index(room.id)
        links = []
        if i > 0:
            href = url_path_join(self.base_url, "interview/review", ids[i - 1])
            links.append(f'<a href="{href}" accesskey="p">&lsaquo; previous submission</a>')
        if i + 1 < len(ids):
            href = url_path_join(self.base_url, "interview/review", ids[i + 1])
            links.append(f'<a href="{href}" accesskey="n">next submission &rsaquo;</a>')
        return f"<nav>{''.join(links)} <span class=muted>{i + 1} of {len(ids)}</span></nav>"

    def form(self, action: str, name: str, label: str, hidden: dict[str, str]) -> str:
        fields = "".join(
            f'<input type="hidden" name="{_esc(k)}" value="{_esc(v)}">' for k, v in hidden.items()
        )
        return (
            f'<form method="post" action="{action}">{self.xsrf_form_html()}{fields}'
            f'<button name="action" value="{name}">{_esc(label)}</button></form>'
        )

    @staticmethod
    def moment_label(at: str | None, when: datetime | None) -> str:
        if at is None:
            return "at the end"
        return f"at {when:%H:%M:%S} UTC" if when else "as the room loaded"

    @staticmethod
    def timeline_table(events: list[dict[str, Any]], base: str, current: int) -> str:
        if not events:
            return "<p class=muted>Nothing recorded.</p>"
        start = datetime.fromisoformat(events[0]["time"])
        rows = []
        for event in events:
            offset = _seconds(datetime.fromisoformat(event["time"]), start)
            who = (event.get("author") or {}).get("name", "the room")
            what = _describe(event)
            seq = event.get("end_seq") or event["seq"]  # an edit: as it stood after it
            here = " (shown)" if seq == current else ""
            rows.append(
                f"<tr><td class=when>{offset // 60:02d}:{offset % 60:02d}</td><td>{_esc(who)}</td>"
                f'<td>{_esc(what)}</td><td><a href="{base}?at={seq}">open #{seq}</a>'
                f"{here}</td></tr>"
            )
        return (
            "<table><tr><th>when</th><th>who</th><th>what</th><th></th></tr>"
            + "".join(rows)
            + "</table>"
        )

    def scorecard_form(self, base: str, view: ScorecardsOut, seq: int) -> str:
        mine = view.mine
        given = {s.criterion: s for s in (mine.scores if mine else [])}
        parts = []
        if mine:
            status = "submitted" if mine.status == "submitted" else "a draft"
            parts.append(f"<p class=muted>Your scorecard is {status}.</p>")
        parts.append(f'<form class=card method="post" action="{base}">{self.xsrf_form_html()}')
        if not view.rubric.criteria:
            parts.append("<p class=muted>This template has no rubric: a summary only.</p>")
        for criterion in view.rubric.criteria:
            score = given.get(criterion.name)
            chosen = score.score if score else None
            levels = "".join(
                f'<label><input type="radio" name="score-{_esc(criterion.name)}" '
                f'value="{level.score}"{" checked" if chosen == level.score else ""}>'
                f" {level.score}: {_esc(level.label)} <span class=muted>{_esc(level.meaning)}"
                "</span></label>"
                for level in criterion.levels
            )
            evidence = score.evidence[0] if score and score.evidence else None
            parts.append(
                f"<fieldset><legend>{_esc(criterion.title)} (weight {criterion.weight:g})"
                f"</legend><p class=muted>{_esc(criterion.description)}</p>"
                f"<div class=levels>{levels}</div>"
                f'<label>Comment<textarea name="comment-{_esc(criterion.name)}">'
                f"{_esc(score.comment if score else '')}</textarea></label>"
                f'<label>Evidence: moment <input name="evidence-{_esc(criterion.name)}" '
                f'size=12 value="{_moment(evidence)}"'
                f' placeholder="#{seq} or mm:ss"></label> '
                f'<input name="evidence-note-{_esc(criterion.name)}" size=40 '
                f'value="{_esc(evidence.note if evidence else "")}" placeholder="what it shows">'
                "</fieldset>"
            )
        picked = mine.recommendation if mine else None
        options = "".join(
            f'<option value="{value}"{" selected" if picked == value else ""}>{label}</option>'
            for value, label in RECOMMENDATIONS
        )
        parts.append(
            f'<label class=block>Recommendation <select name="recommendation">'
            '<option value="">—</option>'
            f"{options}</select></label>"
            '<label class=block>Summary<textarea name="summary">'
            f"{_esc(mine.summary if mine else '')}</textarea></label>"
        )
        if mine and mine.status == "submitted":
            # A submitted card stays submitted: its changes are saved as such.
            parts.append('<button name="action" value="submit">Save changes</button></form>')
        else:
            parts.append(
                '<button name="action" value="save">Save draft</button> '
                '<button name="action" value="submit">Submit</button></form>'
            )
        if mine:
            history = "".join(
                f"<li>{c.at:%Y-%m-%d %H:%M} {_esc(c.by)}: {_esc(c.what)}</li>" for c in mine.history
            )
            parts.append(f"<p class=muted>Its history:</p><ul>{history}</ul>")
        return "".join(parts)

    @staticmethod
    def others(view: ScorecardsOut) -> str:
        if view.hidden:
            return (
                f"<p class=muted>{counted(view.hidden, 'other scorecard')}: shown once you "
                "submit yours.</p>"
            )
        return scorecards_html(view.others, view.rubric)


def _number(text: str) -> bool:
    """Digits that ``int`` takes, and not absurdly many."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _describe(event: dict[str, Any]) -> str:
    kind = event["kind"]
    if kind == "edit":
        return f"typed in a cell (+{event.get('inserted') or 0}, -{event.get('deleted') or 0})"
    if kind == "run":
        return f"ran cell [{event.get('execution_count')}]: {event.get('status')}"
    if kind == "error":
        return f"{event.get('ename')}: {event.get('evalue')}"
    if kind == "piston":
        return f"ran {event.get('language')} in the sandbox: {event.get('status')}"
    if kind == "paste":
        return f"pasted {event.get('length')} characters"
    if kind == "end":
        return f"the interview ended ({event.get('reason')})"
    return {
        "join": "joined",
        "leave": "left",
        "blur": "left the page",
        "focus": "came back to the page",
        "cells": "added, removed or moved cells",
    }.get(kind, kind)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{CSS}{PAGE_CSS}</style></head>"
        f"<body>{body}</body></html>"
    )


ROUTES = [(r"/interview/review/(?P<room_id>[^/]+)", ReviewPageHandler)]
