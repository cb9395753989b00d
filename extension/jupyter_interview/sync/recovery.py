"""Start-up recovery: bring each room's notebook file up to date with its history.

jupyter-collaboration saves a notebook one second after typing pauses, and cancels that
pending save when the server stops. On the next start a room whose file is older than its
history is "out of sync", and upstream then reloads the *file*, dropping the last edits
even though the history holds them. Before any room opens, this writes the history's
document over any file that is older than the room's newest update, so the file and the
history agree and the room loads with its full history (and reconnecting clients merge).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import nbformat
from jupyter_server.services.contents.manager import ContentsManager
from jupyter_ydoc import YNotebook
from pycrdt import Doc

from ..rooms.store import RoomStore
from .history import HistoryDB, history_path


def recover_rooms(
    rooms: RoomStore,
    history: HistoryDB,
    contents: ContentsManager,
    root_dir: Path,
    log: logging.Logger,
) -> int:
    """Rewrite stale room notebooks from history; returns how many were rewritten.

    Trust is handled as the contents manager's own saves and loads do it, so the file
    reads back exactly as the history's document (``metadata.trusted`` included).
    """
    recovered = 0
    for room in rooms.list():
        if not room.file_id:
            continue
        file = root_dir / room.notebook_path
        rows = history.read(history_path(room.file_id))
        if not rows or not file.is_file() or rows[-1][2] <= file.stat().st_mtime:
            continue
        doc = Doc()
        notebook = YNotebook(doc)
        for update, _metadata, _timestamp in rows:
            doc.apply_update(update)
        content = nbformat.from_dict(notebook.get())
        on_disk = nbformat.read(file, as_version=4)
        contents.mark_trusted_cells(on_disk, room.notebook_path)
        if content == on_disk:
            continue
        contents.check_and_sign(content, room.notebook_path)
        tmp = file.with_name(f".{file.name}.recovering")
        tmp.write_text(nbformat.writes(content), encoding="utf-8")
        os.replace(tmp, file)
        recovered += 1
        log.warning("Room %s: restored edits made after its last save from history", room.id)
    return recovered
