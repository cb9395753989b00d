"""What a review hands on: the submission's notebook rendered safely, the tests, the
scorecards and a summary of the timeline, as an HTML report and as JSON and CSV rows.

The notebook is rendered by nbconvert with ``sanitize_html`` on and images never fetched
(``embed_images`` off); the page carries a Content-Security-Policy that lets it load
nothing at all from anywhere and run no script, so a report opened from disk is as inert as
one served by the server.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import bleach
from nbconvert import HTMLExporter
from nbformat import NotebookNode

from ..api.models import GradeOut, Rubric, ScorecardOut
from ..rooms.store import Room

CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 2rem;
       color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
.pass { color: #1b5e20; } .fail, .error, .timeout, .not_run { color: #b71c1c; }
.muted { color: #666; } pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.cell { margin: .6rem 0; } .input_prompt, .prompt { color: #307fc1; font-family: monospace; }
.input_area { background: #f5f5f5; border: 1px solid #e0e0e0; padding: .2rem .5rem; }
.output_subarea { padding: .2rem .5rem; } .output_stderr { background: #fdd; }
.highlight pre { margin: 0; }
"""


def style_hash(css: str) -> str:
    """The CSP source that allows exactly this style sheet, and no style attribute: what a
    notebook smuggles into one (nbconvert writes an output's width unquoted) does nothing."""
    digest = hashlib.sha256(css.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


# Nothing from anywhere, no script: our style sheet and inline pictures only.
REPORT_CSP = f"default-src 'none'; style-src {style_hash(CSS)}; img-src data:; form-action 'none'"


# What a rendered cell may keep. nbconvert's own sanitiser (bleach's short default list)
# escapes paragraphs, headings, images and table headers, so markdown read as raw HTML.
_TAGS = {
    *("a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "hr", "i", "img"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "li", "ol", "p", "pre", "s", "span", "strong"),
    *("sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"),
}
# Pygments' token classes (short) and nbconvert's highlight wrappers: never a class of the
# page's own (a candidate's "notice" or "pass" would pass for the page's).
_CLASS = re.compile(r"^(?:[a-z]{1,3}|highlight(?: hl-[a-z0-9]+)?|hl-[a-z0-9]+)$")
_ATTRIBUTES = {
    "*": lambda _tag, name, value: name == "class" and bool(_CLASS.match(value)),
    "a": ["href"],
    "img": ["src", "alt"],
    "td": ["colspan"],
}
_SELF_CLOSED_LINK = re.compile(r"<a\b([^<>]*?)\s*/>", re.IGNORECASE)
# An output bigger than this is left out of a rendered page (it is in the .ipynb).
MAX_RENDERED_OUTPUT = 200_000


def _clean(element: object) -> str:
    """nbconvert's ``clean_html``, with a wider list of harmless tags: pictures only as
    ``data:`` URLs, links only within the page, no style, no script, no event handler."""
    text = element.decode() if isinstance(element, bytes) else str(element)
    # nbconvert writes a heading's empty anchor as ``<a ... />``, which HTML reads as an
    # open link: every paragraph after the heading became part of it.
    text = _SELF_CLOSED_LINK.sub(r"<a\1></a>", text)
    return bleach.clean(text, tags=_TAGS, attributes=_ATTRIBUTES, protocols=["data"], strip=True)


def _sizes(metadata: object) -> dict[str, dict[str, int]]:
    """An output's metadata as nbconvert may read it: a picture's width and height, numbers
    only (nbconvert writes them into the tag unquoted)."""
    kept: dict[str, dict[str, int]] = {}
    for mime, values in metadata.items() if isinstance(metadata, dict) else []:
        if not isinstance(values, dict):
            continue
        sizes = {
            key: int(values[key])
            for key in ("width", "height")
            if isinstance(values.get(key), int | str) and str(values[key]).isdigit()
        }
        if sizes:
            kept[str(mime)] = sizes
    return kept


def _size(value: object) -> int:
    return sum(map(len, value)) if isinstance(value, list) else len(str(value))


def _capped(notebook: NotebookNode) -> NotebookNode:
    """A copy without trust marks, and without outputs too big to render."""
    nb = copy.deepcopy(notebook)
    for cell in nb.cells:
        # Cell metadata steers nbconvert (``transient.remove_source`` hides a cell's code
        # from the page): a reviewer sees every cell as it is.
        cell["metadata"] = {}
        for output in cell.get("outputs", []) or []:
            if isinstance(output, dict) and "metadata" in output:
                output["metadata"] = _sizes(output["metadata"])
            data = output.get("data") if isinstance(output, dict) else None
            size = _size(output.get("text", "")) + sum(map(_size, (data or {}).values()))
            if size > MAX_RENDERED_OUTPUT:
                output.clear()
                output.update(
                    output_type="stream",
                    name="stdout",
                    text=f"[an output of {size:,} characters, left out here: see the .ipynb]",
                )
    return nb


def notebook_html(notebook: NotebookNode) -> str:
    """The notebook's cells as sanitised HTML (a fragment, no page, no script). A notebook
    that nbconvert refuses (a field of the wrong type) is shown as plain text instead."""
    nb = _capped(notebook)
    exporter = HTMLExporter(
        template_name="basic", sanitize_html=True, embed_images=False, anchor_link_text=""
    )
    exporter.register_filter("clean_html", _clean)
    try:
        body, _ = exporter.from_notebook_node(nb)
    except Exception:  # hostile content: whatever nbconvert raised, show it as text
        return _plain(nb)
    return body


def _plain(nb: NotebookNode) -> str:
    """Each cell's source and text outputs, escaped."""
    parts = ["<p class=muted>This notebook could not be rendered; here it is as text.</p>"]
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        parts.append(f"<pre>{_esc(source)}</pre>")
        for output in cell.get("outputs", []) or []:
            if not isinstance(output, dict):
                continue
            text = output.get("text") or (output.get("data") or {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            parts.append(f"<pre class=muted>{_esc(text)}</pre>")
    return "".join(parts)


def timeline_summary(events: list[dict[str, Any]], room: Room) -> dict[str, Any]:
    """The interview in numbers: time spent, runs, errors, sandbox runs, pastes, focus
    losses, and the edits of each person."""
    times = [datetime.fromisoformat(e["time"]) for e in events]
    start = room.started_at or (min(times) if times else None)
    end = room.ended_at or (max(times) if times else None)
    count: dict[str, int] = {}
    for event in events:
        count[event["kind"]] = count.get(event["kind"], 0) + 1
    edits: dict[str, int] = {}
    for event in events:
        if event["kind"] == "edit" and event.get("author"):
            name = event["author"]["name"]
            edits[name] = edits.get(name, 0) + (event.get("updates") or 0)
    return {
        "minutes": round((end - start).total_seconds() / 60, 1) if start and end else None,
        "runs": count.get("run", 0),
        "errors": count.get("error", 0),
        "sandbox_runs": count.get("piston", 0),
        "pastes": count.get("paste", 0),
        "focus_losses": count.get("blur", 0),
        "keystrokes": edits,
        "end_reason": room.end_reason,
    }


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def counted(n: int, thing: str) -> str:
    """1 hidden test, 2 hidden tests."""
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _rows(rows: Iterable[Iterable[object]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)


def tests_html(grade: GradeOut | None, code: dict[str, str] | None = None) -> str:
    """The grading's verdicts; with ``code`` (test name to its code: graders' pages only,
    never an export), each test's code under its name, to read what a failure means."""
    code = code or {}
    if grade is None:
        listed = "".join(
            f"<li>{_esc(name)}<details><summary>the test</summary><pre>{_esc(text)}</pre>"
            "</details></li>"
            for name, text in code.items()
        )
        return "<p class=muted>Not graded yet.</p>" + (f"<ul>{listed}</ul>" if listed else "")
    head = (
        f"<p><strong>{grade.passed} of {grade.total}</strong> hidden tests passed "
        f"(graded {_esc(grade.created_at.strftime('%Y-%m-%d %H:%M'))} UTC, the notebook at "
        f"#{grade.at_seq}, by {_esc(grade.requested_by)}).</p>"
    )
    notes = "".join(f"<p class=muted>{_esc(w)}</p>" for w in grade.warnings)
    if grade.error:
        notes += f"<p class=error>{_esc(grade.error)}</p>"
    if grade.signals:
        items = "".join(f"<li>{_esc(s)}</li>" for s in grade.signals)
        notes += (
            "<p>Constructs that can tamper with tests (evidence to read, not a verdict):</p>"
            f"<ul>{items}</ul>"
        )
    notes += _cells_html(grade)
    rows = _rows(
        (
            _esc(t.name)
            + (
                f"<details><summary>the test</summary><pre>{_esc(code[t.name])}</pre></details>"
                if t.name in code
                else ""
            ),
            f"<span class={_esc(t.status)}>{_esc(t.status)}</span>",
            f"<pre>{_esc(t.message or '')}</pre>",
            "&lt;1" if t.duration_ms == 0 else _esc(t.duration_ms),
        )
        for t in grade.tests
    )
    header = "<tr><th>test</th><th>verdict</th><th>message</th><th>ms</th></tr>"
    return f"{head}{notes}<table>{header}{rows}</table>"


def _cells_html(grade: GradeOut) -> str:
    """Said plainly: the notebook's own cells ran clean yet hidden tests failed, or which cells
    broke (a test that fails after a broken cell is often that cell's doing)."""
    if grade.status != "done":
        return ""
    broken = [c for c in grade.cells if c.status in ("error", "timeout")]
    if not broken:
        failed = grade.total - grade.passed
        if not failed:
            return ""
        return (
            "<p>Every code cell of the notebook ran without an error, yet "
            f"<strong>{counted(failed, 'hidden test')} did not pass</strong>.</p>"
        )
    items = "".join(
        f"<li>code cell {c.index + 1}: <span class={_esc(c.status)}>{_esc(c.type or c.status)}"
        f"</span> {_esc(c.message or '')}</li>"
        for c in broken
    )
    return f"<p>Code cells that failed when graded, before the tests ran:</p><ul>{items}</ul>"


def scorecards_html(cards: list[ScorecardOut], rubric: Rubric | None = None) -> str:
    """Each card as a grader reads it: the criteria's titles, each score with its level's
    label, the comment and the evidence (a moment of the timeline, and what it shows)."""
    if not cards:
        return "<p class=muted>No scorecard yet.</p>"
    criteria = {c.name: c for c in rubric.criteria} if rubric else {}
    parts = []
    for card in cards:
        rows = []
        for s in card.scores:
            criterion = criteria.get(s.criterion)
            labels = {level.score: level.label for level in criterion.levels} if criterion else {}
            score = "—" if s.score is None else f"{s.score} {labels.get(s.score, '')}".strip()
            evidence = "; ".join(
                f"#{e.seq} {e.note}".strip() if e.seq is not None else e.note for e in s.evidence
            )
            rows.append(
                (
                    _esc(criterion.title if criterion else s.criterion),
                    _esc(score),
                    f"<pre>{_esc(s.comment)}</pre>",
                    _esc(evidence),
                )
            )
        table = _rows(rows)
        score = (
            ""
            if card.weighted_score is None
            else f", {card.weighted_score:.0%} weighted: 0% is the lowest level everywhere, "
            "100% the highest"
        )
        parts.append(
            f"<h3>{_esc(card.grader_name)}: {_esc(card.recommendation or 'no recommendation')}"
            f" ({_esc(card.status)}{score})</h3>"
            "<table><tr><th>criterion</th><th>score</th><th>comment</th><th>evidence</th></tr>"
            f"{table}</table>"
            f"<pre>{_esc(card.summary)}</pre>"
        )
    return "".join(parts)


def summary_html(summary: dict[str, Any]) -> str:
    keys = ", ".join(f"{name}: {n}" for name, n in summary["keystrokes"].items())
    return (
        "<table>"
        + _rows(
            [
                ("time spent", f"{_esc(summary['minutes'])} min"),
                ("how it ended", _esc(summary["end_reason"] or "not ended")),
                ("cells run", summary["runs"]),
                ("errors", summary["errors"]),
                ("sandbox runs", summary["sandbox_runs"]),
                ("long pastes", summary["pastes"]),
                ("left the page", summary["focus_losses"]),
                ("keystrokes", _esc(keys or "none")),
            ]
        )
        + "</table>"
    )


def candidate_label(room: Room, blind: bool) -> str:
    return "the candidate" if blind or not room.candidate_name else room.candidate_name


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{REPORT_CSP}">'
        f"<title>{_esc(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>"
    )


def report_html(
    room: Room,
    notebook: NotebookNode,
    grade: GradeOut | None,
    cards: list[ScorecardOut],
    summary: dict[str, Any],
    *,
    blind: bool,
    rubric: Rubric | None = None,
) -> str:
    """The whole report: one self-contained page."""
    who = candidate_label(room, blind)
    body = (
        f"<h1>{_esc(room.title)}</h1>"
        f"<p class=muted>{_esc(who)} · template {_esc(room.template)} · room {_esc(room.id)}</p>"
        f"<h2>The interview</h2>{summary_html(summary)}"
        f"<h2>Hidden tests</h2>{tests_html(grade)}"
        f"<h2>Scorecards</h2>{scorecards_html(cards, rubric)}"
        f"<h2>The submission</h2>{notebook_html(notebook)}"
    )
    return page(f"{room.title}: report", body)


def results(
    room: Room,
    grade: GradeOut | None,
    cards: list[ScorecardOut],
    summary: dict[str, Any],
    *,
    blind: bool,
) -> dict[str, Any]:
    """``results.json``: what an applicant-tracking system takes in."""
    return {
        "room_id": room.id,
        "title": room.title,
        "template": room.template,
        "candidate": None if blind else room.candidate_name,
        "status": room.status,
        "end_reason": room.end_reason,
        "started_at": room.started_at.isoformat() if room.started_at else None,
        "ended_at": room.ended_at.isoformat() if room.ended_at else None,
        "summary": summary,
        "tests": None
        if grade is None
        else {
            "passed": grade.passed,
            "total": grade.total,
            "at_seq": grade.at_seq,
            "graded_at": grade.created_at.isoformat(),
            "results": {t.name: t.status for t in grade.tests},
            "signals": grade.signals,
        },
        "scorecards": [
            {
                "grader": card.grader_name,
                "status": card.status,
                "recommendation": card.recommendation,
                "weighted_score": card.weighted_score,
                "scores": {s.criterion: s.score for s in card.scores},
            }
            for card in cards
        ],
    }


CSV_COLUMNS = [
    "room_id",
    "title",
    "candidate",
    "status",
    "end_reason",
    "started_at",
    "ended_at",
    "minutes",
    "tests_passed",
    "tests_total",
    "scorecards_submitted",
    "mean_weighted_score",
    "recommendations",
    "pastes",
    "focus_losses",
]


def _csv_cell(value: object) -> object:
    """A text a spreadsheet would take for a formula (=, +, -, @) is quoted as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_row(data: dict[str, Any]) -> list[object]:
    """One room of ``results.csv``, from its ``results``."""
    return [_csv_cell(value) for value in _csv_values(data)]


def _csv_values(data: dict[str, Any]) -> list[object]:
    cards = [c for c in data["scorecards"] if c["status"] == "submitted"]
    scored = [c["weighted_score"] for c in cards if c["weighted_score"] is not None]
    tests = data["tests"] or {}
    return [
        data["room_id"],
        data["title"],
        data["candidate"] or "",
        data["status"],
        data["end_reason"] or "",
        data["started_at"] or "",
        data["ended_at"] or "",
        data["summary"]["minutes"] if data["summary"]["minutes"] is not None else "",
        tests.get("passed", ""),
        tests.get("total", ""),
        len(cards),
        round(sum(scored) / len(scored), 3) if scored else "",
        " ".join(c["recommendation"] or "-" for c in cards),
        data["summary"]["pastes"],
        data["summary"]["focus_losses"],
    ]
