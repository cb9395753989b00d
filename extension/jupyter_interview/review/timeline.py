"""A room's timeline: who did what, when, from its recorded history.

One pass over the room's updates, in order, through a document whose changes are observed
cell by cell, turns the raw history into events a grader reads:

- ``edit``: a burst of typing by one person in one cell (pauses under ``BURST_GAP`` join);
- ``cells``: cells added, removed or moved;
- ``run``: a cell was run: its execution count, whether it failed, and its outputs' kinds
  and sizes (a failure is also an ``error`` with its name and message);
- ``piston``: a program run in the sandbox (the room's execution log);
- ``join``, ``leave``, ``paste``, ``blur``, ``focus``: recorded as they happened;
- ``end``: submitted, ended or timed out.

Each event carries the update position (``seq``) at or just before it, so that the
notebook at that moment can be opened (``replay.py``). Edits are attributed to whoever
sent them: the sync bridge records the author of every update as it arrives; updates the
server made itself (loading the template, recovery) have none.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pycrdt import Array, ArrayEvent, Doc, Map, MapEvent, TextEvent

from ..api.models import TimelineOut
from ..api.principal import presence_color
from ..rooms.store import Room, RoomStore
from ..sync.history import HistoryDB, RoomEvent, Update, history_path
from .replay import RoomHistory

# Keystrokes by one person in one cell, closer than this, are one edit.
BURST_GAP = 30.0


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _author(author: dict | None) -> dict[str, str] | None:
    if author is None:
        return None
    return {
        "id": author["id"],
        "role": author["role"],
        "name": author["name"],
        "color": presence_color(author["id"], author["role"]),
    }


def output_summary(output: dict) -> dict[str, Any]:
    """An output's kind and size, never its content."""
    kind = output.get("output_type", "unknown")
    if kind == "stream":
        return {
            "type": f"stream:{output.get('name', 'stdout')}",
            "size": len(output.get("text", "")),
        }
    if kind == "error":
        return {"type": "error", "size": sum(len(line) for line in output.get("traceback", []))}
    data = output.get("data") or {}
    size = sum(len(str(value)) for value in data.values())
    return {"type": f"{kind}:{','.join(sorted(data))}", "size": size}


@dataclass
class _Edit:
    author: dict | None
    cell_id: str
    seq: int
    end_seq: int
    start: float
    end: float
    inserted: int = 0
    deleted: int = 0
    updates: int = 0

    def event(self) -> dict[str, Any]:
        return {
            "kind": "edit",
            "seq": self.seq,
            "time": _when(self.start),
            "end_seq": self.end_seq,
            "end_time": _when(self.end),
            "author": _author(self.author),
            "cell_id": self.cell_id,
            "inserted": self.inserted,
            "deleted": self.deleted,
            "updates": self.updates,
        }


@dataclass
class _Walk:
    """The state of one pass over the updates.

    ``first`` and ``last`` are the updates being applied: one update, or a run of one
    person's keystrokes applied together (``TimelineBuilder.feed``)."""

    cells: Array
    ids: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    open_edits: dict[tuple[str | None, str], _Edit] = field(default_factory=dict)
    runs: set[tuple[str, int]] = field(default_factory=set)
    first: Update | None = None
    last: Update | None = None
    count: int = 0
    touched: dict[int, set[str]] = field(default_factory=dict)
    structure: bool = False

    def observe(self, events: list[Any]) -> None:
        if self.last is None:
            return
        for event in events:
            path = event.path
            if not path:
                if isinstance(event, ArrayEvent):
                    self.structure = True
                    self.ids = [_cell_id(self.cells, i) for i in range(len(self.cells))]
                continue
            index = path[0]
            if not isinstance(index, int):
                continue
            if isinstance(event, TextEvent) and path[1:] == ["source"]:
                self._typed(index, event)
            elif isinstance(event, MapEvent) and len(path) == 1:
                self.touched.setdefault(index, set()).update(event.keys)

    def _typed(self, index: int, event: TextEvent) -> None:
        first, last = self.first, self.last
        assert first is not None and last is not None
        cell_id = self.ids[index] if index < len(self.ids) else str(index)
        inserted = sum(len(op["insert"]) for op in event.delta if isinstance(op.get("insert"), str))
        deleted = sum(op.get("delete", 0) for op in event.delta)
        author_id = last.author["id"] if last.author else None
        key = (author_id, cell_id)
        edit = self.open_edits.get(key)
        if edit is None or first.timestamp - edit.end > BURST_GAP:
            if edit is not None:
                self.events.append(edit.event())
            edit = self.open_edits[key] = _Edit(
                last.author, cell_id, first.seq, last.seq, first.timestamp, last.timestamp
            )
        edit.end_seq, edit.end = last.seq, last.timestamp
        edit.inserted += inserted
        edit.deleted += deleted
        edit.updates += self.count

    def after_update(self) -> None:
        update = self.last
        assert update is not None
        if self.structure and update.author is not None:
            self.events.append(
                {
                    "kind": "cells",
                    "seq": update.seq,
                    "time": _when(update.timestamp),
                    "author": _author(update.author),
                    "count": len(self.cells),
                }
            )
        for index, keys in self.touched.items():
            if "execution_count" in keys and index < len(self.cells):
                self._ran(index)
        self.touched.clear()
        self.structure = False

    def _ran(self, index: int) -> None:
        update = self.last
        assert update is not None
        cell = self.cells[index]
        count = cell.get("execution_count") if isinstance(cell, Map) else None
        if not isinstance(count, int | float) or count is None:
            return
        cell_id = self.ids[index] if index < len(self.ids) else str(index)
        if (cell_id, int(count)) in self.runs:
            return  # the same run, reported by a second page (the interviewer's relay)
        self.runs.add((cell_id, int(count)))
        # A run ends the typing in its cell: what was typed after it is a new edit, so the
        # timeline's edit shows the code as it ran.
        for key in [key for key in self.open_edits if key[1] == cell_id]:
            self.events.append(self.open_edits.pop(key).event())
        outputs = cell.get("outputs")
        outputs = outputs.to_py() if isinstance(outputs, Array) else []
        errors = [o for o in outputs if o.get("output_type") == "error"]
        base = {"seq": update.seq, "time": _when(update.timestamp), "cell_id": cell_id}
        self.events.append(
            {
                **base,
                "kind": "run",
                "author": _author(update.author),
                "execution_count": int(count),
                "status": "error" if errors else "ok",
                "outputs": [output_summary(o) for o in outputs],
            }
        )
        for error in errors:
            self.events.append(
                {
                    **base,
                    "kind": "error",
                    "author": _author(update.author),
                    "ename": str(error.get("ename", "")),
                    "evalue": str(error.get("evalue", ""))[:500],
                }
            )


class _Sorter:
    """A second copy of the document that tells, update by update and cheaply, which
    updates are more than typing: those that add, remove or move cells, or set a cell's
    keys (a run sets its execution count). It watches the cells and each cell's map only:
    a text change costs pycrdt an O(length) delta to report, and typing is most updates.
    """

    def __init__(self) -> None:
        self.doc = Doc()
        self.cells = self.doc.get("cells", type=Array)
        self.cells.observe(self._structure)
        self.watched: list[Any] = []
        self.changed = False

    def more_than_typing(self, update: bytes) -> bool:
        self.changed = False
        self.doc.apply_update(update)
        return self.changed

    def _structure(self, _event: Any) -> None:
        self.changed = True
        for cell, subscription in self.watched:
            cell.unobserve(subscription)
        self.watched = [
            (cell, cell.observe(self._keys)) for cell in self.cells if isinstance(cell, Map)
        ]

    def _keys(self, _event: Any) -> None:
        self.changed = True


def _same_burst(before: Update, after: Update) -> bool:
    """Two keystrokes of one person, close enough to be one edit."""
    same = (before.author or {}).get("id") == (after.author or {}).get("id")
    return same and after.timestamp - before.timestamp <= BURST_GAP


def _cell_id(cells: Array, index: int) -> str:
    cell = cells[index]
    return str(cell.get("id", index)) if isinstance(cell, Map) else str(index)


class TimelineBuilder:
    """One room's walk through its history, kept so that the next request only walks the
    updates that came since (``feed``).

    Each update that is more than typing is applied on its own, so that a run or a new
    cell is placed at its exact update. Runs of one person's keystrokes between them are
    applied together: pycrdt reports one change per cell for the run instead of one per
    keystroke, which is most of the cost of a long history.
    """

    def __init__(self) -> None:
        self.doc = Doc()
        self.walk = _Walk(cells=self.doc.get("cells", type=Array))
        self.walk.cells.observe_deep(self.walk.observe)
        self.sorter = _Sorter()
        self.last_seq = 0
        self.seqs: list[int] = []
        self.times: list[float] = []

    def feed(self, updates: list[Update]) -> None:
        typing: list[Update] = []
        for update in updates:
            alone = self.sorter.more_than_typing(update.update)
            if typing and (alone or not _same_burst(typing[-1], update)):
                self._apply(typing)
                typing = []
            if alone:
                self._apply([update])
            else:
                typing.append(update)
            self.seqs.append(update.seq)
            self.times.append(update.timestamp)
        if typing:
            self._apply(typing)
        if updates:
            self.last_seq = updates[-1].seq

    def _apply(self, updates: list[Update]) -> None:
        walk = self.walk
        walk.first, walk.last, walk.count = updates[0], updates[-1], len(updates)
        with self.doc.transaction():
            for update in updates:
                self.doc.apply_update(update.update)
        walk.after_update()

    def seq_at(self, timestamp: float) -> int:
        index = bisect.bisect_right(self.times, timestamp) - 1
        return self.seqs[index] if index >= 0 else 0

    def timeline(
        self, events: list[RoomEvent], executions: list[dict[str, Any]], room: Room
    ) -> list[dict[str, Any]]:
        """The events so far, with those recorded apart from the updates, in time order."""
        timeline = list(self.walk.events)
        timeline.extend(edit.event() for edit in self.walk.open_edits.values())
        for event in events:
            timeline.append(
                {
                    "kind": event.kind,
                    "seq": self.seq_at(event.timestamp),
                    "time": _when(event.timestamp),
                    "author": _author(event.author),
                    **event.data,
                }
            )
        for run in executions:
            at = datetime.fromisoformat(run["at"]).timestamp()
            timeline.append(
                {
                    "kind": "piston",
                    "seq": self.seq_at(at),
                    "time": _when(at),
                    "author": _author(
                        {"id": run["who_id"] or run["who"], "role": run["role"], "name": run["who"]}
                    ),
                    "language": run["language"],
                    "status": run["status"],
                    "duration_ms": run["duration_ms"],
                }
            )
        if room.ended_at is not None:
            at = room.ended_at.timestamp()
            timeline.append(
                {
                    "kind": "end",
                    "seq": self.seq_at(at),
                    "time": _when(at),
                    "reason": room.end_reason,
                }
            )
        timeline.sort(key=lambda e: (datetime.fromisoformat(e["time"]), e["seq"]))
        return timeline


class Timelines:
    """The timelines built so far, a few rooms' worth: a second request for a room walks
    only the updates that came since the first. Blocking: call from a thread."""

    def __init__(self, db: HistoryDB, rooms: int = 8) -> None:
        self.db = db
        self.rooms = rooms
        self._builders: OrderedDict[str, tuple[threading.Lock, TimelineBuilder]] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, room: Room, executions: list[dict[str, Any]]) -> TimelineOut:
        path = history_path(room.file_id or "")
        RoomHistory(self.db, path).build_keyframes()  # seeks in this room come next
        with self._lock:
            if path not in self._builders:
                self._builders[path] = (threading.Lock(), TimelineBuilder())
            self._builders.move_to_end(path)
            lock, builder = self._builders[path]
            while len(self._builders) > self.rooms:
                self._builders.popitem(last=False)
        with lock:
            builder.feed(self.db.updates(path, after=builder.last_seq))
            events = builder.timeline(self.db.events(path), executions, room)
            first = builder.seqs[0] if builder.seqs else 0
        people: dict[str, dict] = {}
        for event in events:
            author = event.get("author")
            if author and author["role"] == "interviewer" and room.interviewer_name:
                # The name the room gave its interviewer, which the candidate saw.
                author = event["author"] = {**author, "name": room.interviewer_name}
            if author and author["id"] not in people:
                people[author["id"]] = author
        return TimelineOut.model_validate(
            {
                "room_id": room.id,
                "first_seq": first,
                "last_seq": builder.last_seq,
                "participants": list(people.values()),
                "events": events,
            }
        )

    def watch(self, rooms: RoomStore, log: logging.Logger) -> None:
        """Build a room's keyframes and timeline as it ends, in a thread: its first review
        then opens at once. Call on the event loop."""
        loop = asyncio.get_running_loop()
        started: set[str] = set()

        def prepare(room: Room, executions: list[dict[str, Any]]) -> None:
            try:
                self.of(room, executions)
            except Exception:  # a bad history fails its review request too, with the reason
                log.warning("Room %s: could not prepare its review", room.id, exc_info=True)

        def changed(room: Room) -> None:
            if room.status == "ended" and room.id not in started:
                started.add(room.id)
                loop.run_in_executor(None, prepare, room, rooms.executions(room.id))

        rooms.on_change(changed)

    def forget(self, path: str) -> None:
        """A purged room: its walk goes too."""
        with self._lock:
            self._builders.pop(path, None)
