"""The JSON shapes of the room API: request bodies are validated here, responses are built here.

These pydantic models are also the source of ``openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..sandbox.verdict import check_call, check_expected

RoomStatus = Literal["open", "ended"]
# live: an interviewer takes part; take-home: the candidate alone, from first visit to
# Submit or the deadline.
RoomMode = Literal["live", "take-home"]
# How a room ended: the candidate submitted, the interviewer ended it, or its time ran out.
EndReason = Literal["submitted", "ended", "timeout"]
# A room link's role; "runner" is the token a server kernel of the room gets (access/kernels.py).
Role = Literal["candidate", "observer", "runner", "grader"]
LinkRole = Literal["candidate", "observer", "grader"]

TEMPLATE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
ROOM_ID_PATTERN = r"^[0-9a-f]{16}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class HiddenTest(_Strict):
    """A test graders run against the finished notebook; never copied into a room.

    Either a ``call`` and the value it must return (``expected``): the sandbox reports what
    the call returned and the server compares, so the expected value never reaches the
    submission's interpreter. Or statements (``code``) that pass when they run to their end:
    for what a value cannot say (a DataFrame's type), with a verdict made in the sandbox.
    """

    name: str = Field(min_length=1, max_length=200)
    code: str | None = Field(
        default=None, min_length=1, max_length=100_000, description="statements"
    )
    call: str | None = Field(
        default=None,
        min_length=1,
        max_length=10_000,
        description="a Python expression, run with the notebook's names",
    )
    expected: str | None = Field(
        default=None,
        min_length=1,
        max_length=100_000,
        description="what the call must return, as a Python literal",
    )

    @model_validator(mode="after")
    def _one_form(self) -> HiddenTest:
        if (self.code is None) == (self.call is None) or (self.call is None) != (
            self.expected is None
        ):
            raise ValueError("a hidden test has either `code`, or `call` and `expected`")
        if self.call is not None:
            check_call(self.call)
            check_expected(self.expected or "")
        return self

    @property
    def readable(self) -> str:
        """The test as a grader reads it."""
        return self.code if self.code is not None else f"{self.call} == {self.expected}"


class RubricLevel(_Strict):
    score: int = Field(ge=0, le=10)
    label: str = Field(min_length=1, max_length=60)
    meaning: str = Field(default="", max_length=1000, description="what this level looks like")


class RubricCriterion(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    weight: float = Field(default=1.0, gt=0, le=100)
    levels: list[RubricLevel] = Field(min_length=2, max_length=10)


class Rubric(_Strict):
    """How a template's submissions are scored: criteria, each on a scale, with a weight."""

    criteria: list[RubricCriterion] = Field(default_factory=list, max_length=30)


class TemplateMeta(_Strict):
    """``metadata.interview`` of a template notebook in ``notebooks/``."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    duration_minutes: int = Field(ge=5, le=480)
    languages: list[str] = Field(min_length=1, max_length=30)
    packages: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Pyodide packages the kernel loads at start (numpy, pandas, ...)",
    )
    hidden_tests: list[HiddenTest] = Field(default_factory=list)
    rubric: Rubric = Field(default_factory=Rubric)

    @model_validator(mode="after")
    def _tests_named_once(self) -> TemplateMeta:
        names = [test.name for test in self.hidden_tests]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"hidden test names must differ: {', '.join(twice)}")
        return self


class TemplateOut(BaseModel):
    name: str
    title: str
    description: str
    duration_minutes: int
    languages: list[str]
    packages: list[str]
    unavailable_packages: list[str] = Field(
        description="packages this server does not serve itself (the in-browser kernel "
        "fetches them from the Pyodide CDN, if the candidate's browser can reach it)"
    )


class RoomCreate(_Strict):
    template: str = Field(pattern=TEMPLATE_NAME_PATTERN)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    candidate_name: str | None = Field(default=None, min_length=1, max_length=200)
    duration_minutes: int | None = Field(default=None, ge=1, le=480)
    completion: bool = Field(default=False, description="code completion and hover hints")
    mode: RoomMode = Field(
        default="live",
        description="take-home: no interviewer; the clock starts at the candidate's first "
        "visit, the room ends on Submit or at the deadline",
    )
    interviewer_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        description="the name the candidate sees for the interviewer in this room",
    )
    record_paste_text: bool = Field(
        default=False,
        description="keep the text of the candidate's long pastes in the timeline (by "
        "default only their length)",
    )


class RoomUpdate(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    candidate_name: str | None = Field(default=None, min_length=1, max_length=200)
    duration_minutes: int | None = Field(default=None, ge=1, le=480)
    notes: str | None = Field(default=None, max_length=100_000)
    completion: bool | None = None


class Extend(_Strict):
    minutes: int = Field(ge=1, le=240, description="minutes to add to the room's time")


class Links(BaseModel):
    candidate: str
    observer: str
    grader: str = Field(
        description="review only: the timeline, the tests and the grader's own scorecard; "
        "each browser that opens it is a grader of its own"
    )


class RoomPublic(BaseModel):
    """What a room link may see of its own room: no links, notes or hidden tests."""

    id: str
    title: str
    status: RoomStatus
    notebook_path: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_minutes: int
    ends_at: datetime | None = Field(description="started_at + duration, once the candidate joined")
    completion: bool = Field(description="whether room links get code completion and hover hints")
    role: LinkRole | None = Field(default=None, description="the role of the link that asked")
    mode: RoomMode
    end_reason: EndReason | None = Field(
        description="submitted, ended (by the interviewer) or timeout, once ended"
    )
    submitted_at: datetime | None
    interviewer_name: str | None
    record_paste_text: bool = Field(
        description="the text of long pastes is kept, not only their length"
    )


class RoomOut(RoomPublic):
    """The interviewer's view of a room."""

    warnings: list[str] = Field(
        default_factory=list,
        description="what the interviewer should know before sending the link (packages "
        "this server cannot serve)",
    )
    template: str
    candidate_name: str | None
    file_id: str | None = Field(description="the collaboration room is json:notebook:<file_id>")
    notes: str
    online: list[str] = Field(description="names of the people connected to the room now")
    links: Links
    files: list[str] = Field(
        default_factory=list,
        description="other files in the room's folder (written by the room's users), "
        "relative to it",
    )


class RoomList(BaseModel):
    rooms: list[RoomOut]


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: something below needs an operator; the API answers 503 then"
    )
    version: str
    problems: list[str] = Field(
        default_factory=list,
        description="what is wrong: the data directory cannot be written, the history "
        "cannot be written, notebooks that failed to save, ...",
    )


class ErrorOut(BaseModel):
    error: str = Field(description="a stable machine-readable code, e.g. room_not_found")
    message: str = Field(description="what went wrong and what to do")
    details: object | None = None


class ExecuteRequest(_Strict):
    """A program for the Piston sandbox, from a ``%%piston`` cell."""

    # Whitespace is part of a program and of its stdin: keep it as sent.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    language: str = Field(
        pattern=r"^[a-zA-Z0-9+#._-]{1,32}$", description="a name or alias: cpp, js"
    )
    code: str = Field(max_length=1_000_000)
    version: str = Field(default="*", pattern=r"^[0-9xX*.^~<>= |-]{1,32}$")
    stdin: str | None = Field(default=None, max_length=1_000_000)
    args: list[str] = Field(default_factory=list, max_length=32)
    run_timeout_ms: int | None = Field(default=None, ge=1)


class StageOut(BaseModel):
    stdout: str
    stderr: str
    output: str
    code: int | None
    signal: str | None
    message: str | None
    status: str | None
    cpu_time: int | None = Field(description="milliseconds")
    wall_time: int | None = Field(description="milliseconds")
    memory: int | None = Field(description="bytes")


class ExecuteResult(BaseModel):
    """Piston's result, with ``status`` one of ok, compile_error, runtime_error, signal,
    timeout, output_limit, internal_error. ``compile`` is there for compiled languages."""

    language: str
    version: str
    status: str
    run: StageOut
    compile: StageOut | None = None


class RuntimeOut(BaseModel):
    language: str
    version: str
    aliases: list[str]


class ExecutionOut(BaseModel):
    at: datetime
    who: str
    role: str
    language: str
    code_sha256: str
    status: str
    duration_ms: int


class RunRequest(_Strict):
    """A cell the interviewer runs; it runs in the candidate's kernel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    cell_id: str = Field(min_length=1, max_length=100)
    code: str = Field(max_length=1_000_000)


class RunReport(_Strict):
    """How a run went, from the candidate's page (and back to the interviewer)."""

    status: Literal["ok", "error", "aborted"]
    execution_count: int | None = None


class AuthorOut(BaseModel):
    """Who did it: a room link's user (candidate, observer) or the interviewer."""

    id: str
    role: str
    name: str
    color: str = Field(description="their presence colour (a CSS colour or variable)")


class OutputSize(BaseModel):
    type: str = Field(description="output_type, with the stream's name or the data's MIME types")
    size: int = Field(description="characters of content")


TimelineKind = Literal[
    "edit", "cells", "run", "error", "piston", "join", "leave", "paste", "blur", "focus", "end"
]


class TimelineEvent(BaseModel):
    """One thing that happened; the fields after ``author`` are there for some kinds."""

    kind: TimelineKind
    seq: int = Field(description="the history position at (or just before) it: open with ?at=")
    time: datetime
    author: AuthorOut | None = Field(default=None, description="none: the server itself")
    cell_id: str | None = None
    end_seq: int | None = Field(default=None, description="edit: its last update")
    end_time: datetime | None = None
    inserted: int | None = Field(
        default=None, description="edit: characters typed (net, within a run of keystrokes)"
    )
    deleted: int | None = Field(default=None, description="edit: characters removed (net)")
    updates: int | None = Field(default=None, description="edit: how many updates (keystrokes)")
    count: int | None = Field(default=None, description="cells: how many cells after")
    execution_count: int | None = None
    status: str | None = Field(default=None, description="run: ok or error; piston: its status")
    outputs: list[OutputSize] | None = None
    ename: str | None = None
    evalue: str | None = None
    language: str | None = None
    duration_ms: int | None = None
    length: int | None = Field(default=None, description="paste: characters pasted")
    text: str | None = Field(default=None, description="paste: the text, if the room keeps it")
    reason: str | None = Field(default=None, description="end: submitted, ended or timeout")


class TimelineOut(BaseModel):
    room_id: str
    first_seq: int
    last_seq: int
    participants: list[AuthorOut]
    events: list[TimelineEvent]


class CellChange(BaseModel):
    cell_id: str
    change: list[Literal["added", "removed", "moved", "changed"]]
    cell_type: str
    from_index: int | None = None
    to_index: int | None = None
    source_diff: list[str] = Field(description="unified diff lines of the source")
    outputs_changed: bool | None = None
    outputs_from: list[OutputSize] = Field(default_factory=list)
    outputs_to: list[OutputSize] = Field(default_factory=list)


class DiffOut(BaseModel):
    from_seq: int
    to_seq: int
    from_time: datetime | None
    to_time: datetime | None
    cells: list[CellChange] = Field(description="the cells that differ, in the later order")


class Signal(_Strict):
    """What the candidate's page notes for the graders: a long paste, leaving the tab."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    kind: Literal["paste", "blur", "focus"]
    cell_id: str | None = Field(default=None, max_length=100)
    length: int | None = Field(default=None, ge=0, le=10_000_000)
    text: str | None = Field(default=None, max_length=10_000)


GradeStatus = Literal["queued", "running", "done", "failed"]


class TestResult(BaseModel):
    """One hidden test: ``pass``, ``fail`` (an assertion), ``error`` (any other exception),
    ``timeout``, or ``not_run`` (the sandbox stopped before it)."""

    name: str
    status: Literal["pass", "fail", "error", "timeout", "not_run"]
    type: str | None = Field(default=None, description="the exception's type")
    message: str | None = None
    output: str | None = Field(default=None, description="what it printed, cut at a limit")
    duration_ms: int | None = None


class CellResult(BaseModel):
    """One code cell of the submission, as the grader ran it (``skipped``: a cell magic)."""

    index: int
    status: Literal["ok", "error", "timeout", "skipped"]
    type: str | None = None
    message: str | None = None
    output: str | None = None
    duration_ms: int | None = None


class GradeOut(BaseModel):
    id: str
    room_id: str
    template: str
    status: GradeStatus
    at_seq: int = Field(description="the moment of the timeline that was graded")
    at_time: datetime | None = None
    at_end: bool = Field(
        default=True,
        description="graded at the room's end: the room's result (a grading of an earlier "
        "moment never replaces it)",
    )
    requested_by: str
    created_at: datetime
    finished_at: datetime | None = None
    passed: int = 0
    total: int = 0
    tests: list[TestResult] = Field(default_factory=list)
    cells: list[CellResult] = Field(default_factory=list)
    signals: list[str] = Field(
        default_factory=list,
        description="constructs in the code that can tamper with tests: evidence to read, "
        "never a verdict",
    )
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None
    duration_ms: int | None = None


class GradeRequest(_Strict):
    at: int | Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="an update's seq (a number) or an ISO-8601 time"
    )


class BatchOut(BaseModel):
    template: str
    grades: list[GradeOut]


Recommendation = Literal["strong_no", "no", "yes", "strong_yes"]


class Evidence(_Strict):
    """Where a score comes from: a moment of the timeline, a cell, or both."""

    seq: int | None = Field(default=None, ge=0, description="a moment: open with notebook?at=")
    cell_id: str | None = Field(default=None, max_length=100)
    note: str = Field(default="", max_length=1000)


class CriterionScore(_Strict):
    criterion: str = Field(max_length=100)
    score: int | None = Field(default=None, ge=0, le=10, description="one of the levels' scores")
    comment: str = Field(default="", max_length=10_000)
    evidence: list[Evidence] = Field(default_factory=list, max_length=20)


class ScorecardIn(_Strict):
    """A grader's own scorecard; ``submit`` makes it final and shows them the others'."""

    scores: list[CriterionScore] = Field(default_factory=list, max_length=30)
    recommendation: Recommendation | None = None
    summary: str = Field(default="", max_length=20_000)
    submit: bool = False


class ScorecardChange(BaseModel):
    at: datetime
    by: str
    what: str


class ScorecardOut(BaseModel):
    grader_id: str
    grader_name: str
    scores: list[CriterionScore]
    recommendation: Recommendation | None
    summary: str
    status: Literal["draft", "submitted"]
    weighted_score: float | None = Field(
        description="the weighted mean of the scores, as a fraction of the scale (0 to 1)"
    )
    updated_at: datetime
    submitted_at: datetime | None
    history: list[ScorecardChange] = Field(description="who changed what, and when")


class ScorecardsOut(BaseModel):
    rubric: Rubric
    mine: ScorecardOut | None
    others: list[ScorecardOut] = Field(
        description="the other graders' scorecards: shown once the caller has submitted their own"
    )
    hidden: int = Field(description="how many other scorecards exist but are not shown yet")


class ReviewSummary(BaseModel):
    """One room in the review list: how it ended, its tests, who has scored it."""

    room_id: str
    title: str
    template: str
    candidate_name: str | None
    status: RoomStatus
    end_reason: EndReason | None
    ended_at: datetime | None
    grading: GradeStatus | None = Field(description="the latest grading's status")
    tests_passed: int | None
    tests_total: int | None
    scorecards: int = Field(description="submitted scorecards")
    graders: list[str] = Field(description="who has submitted a scorecard")
    recommendations: list[Recommendation]
