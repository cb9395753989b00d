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

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pycrdt import Array, ArrayEvent, Doc, Map, MapEvent, TextEvent

from ..rooms.store import Room
from ..sync.history import RoomEvent, Update

# Keystrokes by one person in one cell, closer than this, are one edit.
BURST_GAP = 30.0


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _author(author: dict | None) -> dict[str, str] | None:
    if author is None:
        return None
    return {"id": author["id"], "role": author["role"], "name": author["name"]}


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
        }


@dataclass
class _Walk:
    """The state of one pass over the updates."""

    cells: Array
    ids: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    open_edits: dict[tuple[str | None, str], _Edit] = field(default_factory=dict)
    runs: set[tuple[str, int]] = field(default_factory=set)
    update: Update | None = None
    touched: dict[int, set[str]] = field(default_factory=dict)
    structure: bool = False

    def observe(self, events: list[Any]) -> None:
        update = self.update
        if update is None:
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
        update = self.update
        assert update is not None
        cell_id = self.ids[index] if index < len(self.ids) else str(index)
        inserted = sum(len(op["insert"]) for op in event.delta if isinstance(op.get("insert"), str))
        deleted = sum(op.get("delete", 0) for op in event.delta)
        author_id = update.author["id"] if update.author else None
        key = (author_id, cell_id)
        edit = self.open_edits.get(key)
        if edit is None or update.timestamp - edit.end > BURST_GAP:
            if edit is not None:
                self.events.append(edit.event())
            edit = self.open_edits[key] = _Edit(
                update.author, cell_id, update.seq, update.seq, update.timestamp, update.timestamp
            )
        edit.end_seq, edit.end = update.seq, update.timestamp
        edit.inserted += inserted
        edit.deleted += deleted

    def after_update(self) -> None:
        update = self.update
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
        update = self.update
        assert update is not None
        cell = self.cells[index]
        count = cell.get("execution_count") if isinstance(cell, Map) else None
        if not isinstance(count, int | float) or count is None:
            return
        cell_id = self.ids[index] if index < len(self.ids) else str(index)
        if (cell_id, int(count)) in self.runs:
            return  # the same run, reported by a second page (the interviewer's relay)
        self.runs.add((cell_id, int(count)))
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


def _cell_id(cells: Array, index: int) -> str:
    cell = cells[index]
    return str(cell.get("id", index)) if isinstance(cell, Map) else str(index)


class TimelineBuilder:
    """One room's walk through its history, kept so that the next request only walks the
    updates that came since (``feed``)."""

    def __init__(self) -> None:
        self.doc = Doc()
        self.walk = _Walk(cells=self.doc.get("cells", type=Array))
        self.walk.cells.observe_deep(self.walk.observe)
        self.last_seq = 0
        self.seqs: list[int] = []
        self.times: list[float] = []

    def feed(self, updates: list[Update]) -> None:
        walk = self.walk
        for update in updates:
            walk.update = update
            self.doc.apply_update(update.update)
            walk.after_update()
            self.seqs.append(update.seq)
            self.times.append(update.timestamp)
        if updates:
            self.last_seq = updates[-1].seq

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
                    "author": {"id": run["who"], "role": run["role"], "name": run["who"]},
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


def build_timeline(
    updates: list[Update],
    events: list[RoomEvent],
    executions: list[dict[str, Any]],
    room: Room,
) -> list[dict[str, Any]]:
    builder = TimelineBuilder()
    builder.feed(updates)
    return builder.timeline(events, executions, room)
