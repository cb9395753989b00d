"""A clean stop that loses nothing: no more edits, the history flushed, each open room
written to its file once, all within a bounded time.

jupyter-collaboration's own stop neither waits for nor cancels its pending autosaves, and
its one-second autosave could fire while the process exits. Here the rooms' documents are
taken first, before anything else stops (the sync bridge refuses edits from that moment,
and the clients resend them after the restart), and written with atomic writes, so that an
autosave racing with the exit can leave the old file or the new one, never half of one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pycrdt import Doc
from pycrdt.websocket import YRoom

from ..rooms.store import RoomStore
from .recovery import notebook_of, read_notebook, write_notebook


@dataclass(frozen=True)
class Snapshot:
    """A room's document as it stood when the stop began."""

    room_id: str
    file: Path
    state: bytes


def snapshot_rooms(rooms: RoomStore, live: Mapping[str, YRoom], root_dir: Path) -> list[Snapshot]:
    """The open rooms' documents (synchronous: nothing can change them meanwhile)."""
    taken = []
    for room in rooms.list():
        yroom = live.get(room.collaboration_room)
        if yroom is not None and yroom.ready:
            taken.append(Snapshot(room.id, root_dir / room.notebook_path, yroom.ydoc.get_update()))
    return taken


def write_snapshots(snapshots: list[Snapshot], log: logging.Logger) -> int:
    """Write each room whose file differs from its document; returns how many were written."""
    written = 0
    for snapshot in snapshots:
        doc = Doc()
        doc.apply_update(snapshot.state)
        content = notebook_of(doc)
        if not content.cells:
            continue  # a room that never finished loading: its history is the truth
        try:
            if read_notebook(snapshot.file) != content:
                write_notebook(snapshot.file, content)
                written += 1
        except OSError as e:
            log.error("Room %s: could not write its notebook at stop: %s", snapshot.room_id, e)
    return written
