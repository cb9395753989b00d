"""Scorecards: each grader's own, against the template's rubric, with every change recorded.

A grader fills a level and a comment per criterion, evidence (a moment of the timeline, a
cell), a recommendation from strong no to strong yes, and a summary. Scoring is blind: a
grader sees the other scorecards of a room only once they have submitted their own. Every
save records who changed what, and when; a submitted scorecard can still be corrected, and
the correction is recorded too.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from ..api.errors import Forbidden, InvalidRequest
from ..api.models import (
    CriterionScore,
    Rubric,
    ScorecardChange,
    ScorecardIn,
    ScorecardOut,
    ScorecardsOut,
)
from ..rooms.store import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scorecards (
    room_id TEXT NOT NULL,
    grader_id TEXT NOT NULL,
    grader_name TEXT NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    PRIMARY KEY (room_id, grader_id)
);
CREATE TABLE IF NOT EXISTS scorecard_changes (
    id INTEGER PRIMARY KEY,
    room_id TEXT NOT NULL,
    grader_id TEXT NOT NULL,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS scorecard_changes_room ON scorecard_changes (room_id, grader_id, id);
"""


def check_scores(rubric: Rubric, card: ScorecardIn) -> None:
    """Every criterion is the rubric's, once, and every score one of its levels; a
    submitted scorecard scores every criterion and recommends (submitting is what shows
    the others' scorecards: it must not be had for nothing)."""
    criteria = {c.name: c for c in rubric.criteria}
    seen: set[str] = set()
    for score in card.scores:
        criterion = criteria.get(score.criterion)
        if criterion is None:
            known = ", ".join(criteria) or "none"
            raise InvalidRequest(
                f"The rubric has no criterion {score.criterion!r}. Its criteria: {known}."
            )
        if score.criterion in seen:
            raise InvalidRequest(f"{score.criterion!r} is scored twice.")
        seen.add(score.criterion)
        levels = [level.score for level in criterion.levels]
        if score.score is not None and score.score not in levels:
            raise InvalidRequest(
                f"{score.criterion!r} is scored on {levels}; {score.score} is not one of them."
            )
    if card.submit:
        scored = {s.criterion for s in card.scores if s.score is not None}
        missing = [c.title for name, c in criteria.items() if name not in scored]
        recommend = " and give a recommendation" if card.recommendation is None else ""
        if missing:
            raise InvalidRequest(
                f"Score every criterion before submitting: {', '.join(missing)}{recommend}."
            )
        if recommend:
            raise InvalidRequest("Give a recommendation before submitting.")


def weighted_score(rubric: Rubric, scores: list[CriterionScore]) -> float | None:
    """The weighted mean of the scored criteria, each as a fraction of its scale."""
    criteria = {c.name: c for c in rubric.criteria}
    total = weight = 0.0
    for score in scores:
        criterion = criteria.get(score.criterion)
        if criterion is None or score.score is None:
            continue
        low = min(level.score for level in criterion.levels)
        high = max(level.score for level in criterion.levels)
        total += criterion.weight * (score.score - low) / ((high - low) or 1)
        weight += criterion.weight
    return round(total / weight, 4) if weight else None


def _changes(before: dict | None, after: ScorecardIn) -> list[str]:
    """What a save changed, in words (the first save: what it set, from an empty card)."""
    said: list[str] = []
    if before is None:
        said.append("started the scorecard")
        before = {}
    old = {s["criterion"]: s for s in before.get("scores", [])}
    for score in after.scores:
        was = old.get(score.criterion, {})
        if was.get("score") != score.score:
            said.append(
                f"{score.criterion}: score {_shown(was.get('score'))} → {_shown(score.score)}"
            )
        if was.get("comment", "") != score.comment:
            said.append(f"{score.criterion}: comment changed")
        if was.get("evidence", []) != [e.model_dump() for e in score.evidence]:
            said.append(f"{score.criterion}: evidence changed")
    if before.get("recommendation") != after.recommendation:
        said.append(
            f"recommendation {_shown(before.get('recommendation'))} → "
            f"{_shown(after.recommendation)}"
        )
    if before.get("summary", "") != after.summary:
        said.append("summary changed")
    if after.submit and before.get("status") != "submitted":
        said.append("submitted it")
    return said


def _shown(value: object) -> str:
    """A value in a change's words: "none" rather than Python's None, words not snake_case."""
    return "none" if value is None else str(value).replace("_", " ")


class ScorecardStore:
    """Scorecards and their history, in the rooms' SQLite file."""

    def __init__(self, db_path: Path) -> None:
        self._lock = threading.Lock()
        self._db = connect(db_path, _SCHEMA)

    def save(
        self,
        room_id: str,
        grader_id: str,
        grader_name: str,
        card: ScorecardIn,
        rubric: Rubric,
        max_graders: int,
    ) -> None:
        """Save a grader's scorecard; a room takes at most ``max_graders`` graders (a grader
        link is shared: each browser that opens it is one more)."""
        at = datetime.now(UTC).isoformat()
        with self._lock:
            row = self._db.execute(
                "SELECT data, status, submitted_at FROM scorecards"
                " WHERE room_id = ? AND grader_id = ?",
                (room_id, grader_id),
            ).fetchone()
            # A submitted scorecard stays submitted, and so whole: a change is checked as a
            # submission is (a draft's save would otherwise clear its scores).
            whole = row is not None and row[1] == "submitted"
            check_scores(rubric, card.model_copy(update={"submit": True}) if whole else card)
            if row is None:
                (graders,) = self._db.execute(
                    "SELECT COUNT(*) FROM scorecards WHERE room_id = ?", (room_id,)
                ).fetchone()
                if graders >= max_graders:
                    raise Forbidden(
                        f"This interview already has {graders} scorecards, as many as it takes."
                    )
            before = {**json.loads(row[0]), "status": row[1]} if row else None
            submitted = row[2] if row and row[1] == "submitted" else None
            status = "submitted" if card.submit or submitted else "draft"
            data = card.model_dump(exclude={"submit"})
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO scorecards (room_id, grader_id, grader_name, data,"
                    " status, updated_at, submitted_at) VALUES (?,?,?,?,?,?,?)",
                    (
                        room_id,
                        grader_id,
                        grader_name,
                        json.dumps(data),
                        status,
                        at,
                        submitted or (at if card.submit else None),
                    ),
                )
                for what in _changes(before, card):
                    self._db.execute(
                        "INSERT INTO scorecard_changes (room_id, grader_id, at, by, what)"
                        " VALUES (?,?,?,?,?)",
                        (room_id, grader_id, at, grader_name, what),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def all(self, room_id: str, rubric: Rubric) -> list[ScorecardOut]:
        with self._lock:
            rows = self._db.execute(
                "SELECT grader_id, grader_name, data, status, updated_at, submitted_at"
                " FROM scorecards WHERE room_id = ? ORDER BY updated_at",
                (room_id,),
            ).fetchall()
            changes = self._db.execute(
                "SELECT grader_id, at, by, what FROM scorecard_changes WHERE room_id = ?"
                " ORDER BY id",
                (room_id,),
            ).fetchall()
        history: dict[str, list[ScorecardChange]] = {}
        for grader_id, at, by, what in changes:
            history.setdefault(grader_id, []).append(
                ScorecardChange(at=datetime.fromisoformat(at), by=by, what=what)
            )
        cards = []
        for grader_id, name, data, status, updated, submitted in rows:
            body = json.loads(data)
            scores = [CriterionScore.model_validate(s) for s in body.get("scores", [])]
            cards.append(
                ScorecardOut(
                    grader_id=grader_id,
                    grader_name=name,
                    scores=scores,
                    recommendation=body.get("recommendation"),
                    summary=body.get("summary", ""),
                    status=status,
                    weighted_score=weighted_score(rubric, scores),
                    updated_at=datetime.fromisoformat(updated),
                    submitted_at=datetime.fromisoformat(submitted) if submitted else None,
                    history=history.get(grader_id, []),
                )
            )
        return cards

    def view(self, room_id: str, grader_id: str, rubric: Rubric) -> ScorecardsOut:
        """What one grader may see: their own, and the others' submitted ones once theirs
        is submitted (a draft stays its author's)."""
        cards = self.all(room_id, rubric)
        mine = next((c for c in cards if c.grader_id == grader_id), None)
        others = [c for c in cards if c.grader_id != grader_id]
        done = mine is not None and mine.status == "submitted"
        shown = [c for c in others if c.status == "submitted"] if done else []
        hidden = len(others) - len(shown)
        return ScorecardsOut(rubric=rubric, mine=mine, others=shown, hidden=hidden)

    def forget_room(self, room_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM scorecards WHERE room_id = ?", (room_id,))
            self._db.execute("DELETE FROM scorecard_changes WHERE room_id = ?", (room_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
