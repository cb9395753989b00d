"""A room's recorded history, for review: the notebook as it stood at any moment.

Every update a room ever took is in the history store, in order; its position there
(``seq``) names a moment. Replaying a long history on every request would cost seconds, so
the state after every ``KEYFRAME_EVERY`` updates is kept as a keyframe (built the first time
someone reviews the room, kept in the history file, extended as the room goes on): a seek
applies the nearest keyframe, then at most that many updates. pycrdt's snapshots would do
too, but need a document with GC off; a full state is as cheap to apply.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nbformat import NotebookNode
from pycrdt import Doc

from ..api.errors import InvalidRequest
from ..sync.history import HistoryDB, Update
from ..sync.recovery import notebook_of, read_notebook

KEYFRAME_EVERY = 500


@dataclass(frozen=True)
class Moment:
    """A position in a room's history: the update ``seq`` (0: before any) and its time."""

    seq: int
    time: datetime | None


class RoomHistory:
    """One room's updates and keyframes. Blocking: call from a thread."""

    # One build at a time (two reviewers of one room would otherwise both build).
    _building = threading.Lock()

    def __init__(self, db: HistoryDB, path: str, every: int = KEYFRAME_EVERY) -> None:
        self.db = db
        self.path = path
        self.every = every
        self.positions = db.positions(path)
        self._seqs = [seq for seq, _ in self.positions]
        self._times = [ts for _, ts in self.positions]

    @property
    def last(self) -> int:
        return self._seqs[-1] if self._seqs else 0

    def moment(self, at: str | None) -> Moment:
        """``at``: an update's seq, an ISO-8601 time, or nothing (the end). The moment is the
        last update at or before it."""
        if not self._seqs:
            return Moment(0, None)
        if at is None or at == "end":
            index = len(self._seqs) - 1
        elif at.isascii() and at.isdigit() and len(at) <= 18:
            index = bisect.bisect_right(self._seqs, int(at)) - 1
        else:
            try:
                when = datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidRequest(
                    f"{at!r} is neither an update's seq nor an ISO-8601 time."
                ) from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            index = bisect.bisect_right(self._times, when.timestamp()) - 1
        if index < 0:
            return Moment(0, None)
        return Moment(self._seqs[index], datetime.fromtimestamp(self._times[index], UTC))

    def first_moment(self) -> Moment:
        """Right after the room's first update (the template, as the room loaded it)."""
        if not self._seqs:
            return Moment(0, None)
        return Moment(self._seqs[0], datetime.fromtimestamp(self._times[0], UTC))

    def doc_at(self, seq: int) -> Doc:
        self.build_keyframes()
        doc = Doc()
        after = 0
        frame = self.db.keyframe(self.path, seq)
        if frame is not None:
            after, state = frame
            doc.apply_update(state)
        for update in self.db.updates(self.path, after=after, upto=seq):
            doc.apply_update(update.update)
        return doc

    def notebook_at(self, seq: int, file: Path | None = None) -> NotebookNode:
        """The notebook after update ``seq``. A room nobody ever opened has no history:
        its notebook is the file the template made (``file``)."""
        if not self._seqs and file is not None:
            saved = read_notebook(file)
            if saved is not None:
                return saved
        if self._seqs:
            # Before the first update there is no notebook yet: show the room as it loaded.
            seq = max(seq, self._seqs[0])
        return notebook_of(self.doc_at(seq))

    def build_keyframes(self) -> None:
        """Keyframes up to the history's end, if they lag behind by a keyframe or more."""
        with self._building:
            frame = self.db.keyframe(self.path)
            done = frame[0] if frame else 0
            if self._count_after(done) < self.every:
                return
            doc = Doc()
            if frame is not None:
                doc.apply_update(frame[1])
            new = []
            for count, update in enumerate(self.db.updates(self.path, after=done), start=1):
                doc.apply_update(update.update)
                if count % self.every == 0:
                    new.append((update.seq, doc.get_update()))
            self.db.save_keyframes(self.path, new)
            self.db.flush_sync()

    def _count_after(self, seq: int) -> int:
        return len(self._seqs) - bisect.bisect_right(self._seqs, seq)

    def updates(self) -> list[Update]:
        return self.db.updates(self.path)
