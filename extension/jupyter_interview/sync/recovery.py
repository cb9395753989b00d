"""Start-up recovery: every room's notebook file is made equal to its history.

A room's history is its source of truth; the ``.ipynb`` is a copy of it. Two upstream
behaviours make that copy dangerous after a crash or a stop:

- jupyter_server's own atomic save truncates the file in place after copying it aside, so
  a kill mid-save left an empty notebook; on the next read it silently restored the older
  copy. (Our contents manager now writes atomically, but files written before may exist.)
- jupyter-collaboration, opening a room whose file differs from its history, reloads the
  room *from the file* and records the difference in the history as deletions: an older,
  empty or invalid file rolls the room back, for every reconnecting browser too.

So before any room opens, each room's document is rebuilt from its history and written
over its file whenever the two differ (missing, empty, invalid, older or newer alike). A
room with no history yet (never opened) keeps its file, or gets its template back if the
file is unreadable. Each room is handled on its own: one bad file is logged and the rest
of the server comes up.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_ydoc import YNotebook
from nbformat import NotebookNode
from pycrdt import Array, Doc, Map

from ..access.contents import untrust
from ..durable import write_atomically
from ..rooms.store import Room, RoomStore
from ..rooms.templates import TemplateCatalogue
from .history import HistoryDB, history_path


@dataclass
class Recovery:
    """What recovery did, room by room (also logged)."""

    rewritten: list[str]
    from_template: list[str]
    failed: list[str]


def notebook_of(doc: Doc) -> NotebookNode:
    """The notebook a room's document holds, as its file should hold it.

    A client can give the document any shape (a cell that is a string, a source that is a
    number, no ``nbformat``): what cannot be read as a cell is left out and a field of the
    wrong type gets its empty value, so a review, an export or a recovery never fails on it.
    """
    try:
        content: Any = YNotebook(doc).get()
    except Exception:
        content = {
            "cells": doc.get("cells", type=Array).to_py(),
            **(doc.get("meta", type=Map).to_py() or {}),
        }
    nb = nbformat.from_dict(_well_formed(content))
    untrust(nb)
    return nb


_CELL_TYPES = ("code", "markdown", "raw")
_CELL_KEYS = ("id", "cell_type", "metadata", "source", "outputs", "execution_count", "attachments")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _well_formed(content: Any) -> dict[str, Any]:
    """The notebook with each field of the wrong type given its empty value, and nothing
    else changed: a well-formed document reads as exactly what it holds (recovery compares
    the two, and a difference would reload the room from its file)."""
    content = content if isinstance(content, dict) else {}
    raw_cells = content.get("cells")
    cells, ids = [], set()
    for index, raw in enumerate(raw_cells if isinstance(raw_cells, list) else []):
        if not isinstance(raw, dict) or raw.get("cell_type") not in _CELL_TYPES:
            continue
        cell = {key: value for key, value in raw.items() if key in _CELL_KEYS}
        if "id" in cell:
            cell_id = cell["id"]
            if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id) or cell_id in ids:
                cell["id"] = f"cell-{index}"
            ids.add(cell["id"])
        if not isinstance(cell.get("metadata", {}), dict):
            cell["metadata"] = {}
        if not isinstance(cell.get("source", ""), str):
            cell["source"] = _text(cell["source"])
        if "outputs" in cell:
            outputs = cell["outputs"] if isinstance(cell["outputs"], list) else []
            cell["outputs"] = [
                o for o in outputs if isinstance(o, dict) and isinstance(o.get("output_type"), str)
            ]
        count = cell.get("execution_count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
            cell["execution_count"] = None
        if "attachments" in cell and not isinstance(cell["attachments"], dict):
            del cell["attachments"]
        cells.append(cell)
    metadata = content.get("metadata")
    minor = content.get("nbformat_minor")
    return {
        "cells": cells,
        "metadata": metadata if isinstance(metadata, dict) else {},
        "nbformat": 4,
        "nbformat_minor": minor if isinstance(minor, int) and 0 <= minor <= 5 else 5,
    }


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return ""


def write_notebook(file: Path, nb: NotebookNode) -> None:
    write_atomically(file, nbformat.writes(nb))


def read_notebook(file: Path) -> NotebookNode | None:
    """The notebook on disk, as the contents manager would load it; None if unreadable."""
    try:
        nb = nbformat.read(file, as_version=4)
    except (OSError, ValueError, nbformat.reader.NotJSONError, KeyError, TypeError):
        return None
    untrust(nb)
    return nb


def _trust_removed(doc: Doc) -> bytes | None:
    """Remove trust flags left in a history (a kill before the bridge removed them); the
    update that does it, to append to the history, or None if there were none."""
    notebook = YNotebook(doc)
    flagged = [c for c in notebook.ycells if "trusted" in c.get("metadata", {})]
    if not flagged:
        return None
    before = doc.get_state()
    with doc.transaction():
        for cell in flagged:
            del cell["metadata"]["trusted"]
    return doc.get_update(before)


def recover_rooms(
    rooms: RoomStore,
    history: HistoryDB,
    templates: TemplateCatalogue,
    root_dir: Path,
    log: logging.Logger,
) -> Recovery:
    done = Recovery([], [], [])
    for room in rooms.list():
        try:
            outcome = _recover(room, history, templates, root_dir, log)
        except Exception:
            log.exception("Room %s: recovery failed; its notebook is left as it was", room.id)
            done.failed.append(room.id)
            continue
        if outcome == "rewritten":
            done.rewritten.append(room.id)
        elif outcome == "template":
            done.from_template.append(room.id)
    return done


def _recover(
    room: Room,
    history: HistoryDB,
    templates: TemplateCatalogue,
    root_dir: Path,
    log: logging.Logger,
) -> str | None:
    file = root_dir / room.notebook_path
    rows = history.read(history_path(room.file_id)) if room.file_id else []
    for stale in file.parent.glob(f".~{file.name}"):
        # jupyter_server's copy-aside from an interrupted save: it would restore it over a
        # file it cannot read. The history wins instead.
        stale.unlink()
        log.warning("Room %s: removed %s, left by an interrupted save", room.id, stale.name)
    on_disk = read_notebook(file) if file.is_file() else None
    if not rows:
        if on_disk is not None:
            return None
        state = "missing" if not file.exists() else "unreadable"
        template = templates.get(room.template)
        file.parent.mkdir(parents=True, exist_ok=True)
        write_notebook(file, template.room_notebook(room_id=room.id, title=room.title))
        log.warning(
            "Room %s: notebook %s and no history yet: written again from template %s",
            room.id,
            state,
            room.template,
        )
        return "template"
    doc = Doc()
    for update, _metadata, _timestamp in rows:
        doc.apply_update(update)
    fix = _trust_removed(doc)
    if fix is not None and room.file_id:
        history.append(history_path(room.file_id), fix, b"", rows[-1][2])
        history.flush_sync()
    content = notebook_of(doc)
    if on_disk is not None and _same(on_disk, content):
        return None
    state = "missing" if not file.exists() else "unreadable" if on_disk is None else "different"
    write_notebook(file, content)
    log.warning(
        "Room %s: its notebook file was %s; written from its history (%d updates)",
        room.id,
        state,
        len(rows),
    )
    return "rewritten"


def _same(a: NotebookNode, b: NotebookNode) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def relocate_file_ids(
    rooms: RoomStore, history: HistoryDB, file_ids: Any, log: logging.Logger
) -> int:
    """Give each room a file id that its notebook has here, keeping its history.

    jupyter-server-fileid records absolute paths. In a data directory restored from a
    backup elsewhere, or moved, the rooms' ids point outside the server's root: the
    collaboration would give each notebook a new id, and the room's history (kept under
    the old one) would be lost to it. So the notebook is indexed again (the file id
    manager's public ``index``) and the room and its history move to the new id. Returns
    how many rooms moved.
    """
    moved = 0
    for room in rooms.list():
        if not room.file_id or file_ids.get_id(room.notebook_path) == room.file_id:
            continue
        if file_ids.get_path(room.file_id) is not None:
            continue  # the id is this server's: a renamed notebook is not ours to guess
        new_id = file_ids.index(room.notebook_path)
        history.rename(history_path(room.file_id), history_path(new_id))
        rooms.update(room.id, file_id=new_id)
        moved += 1
    if moved:
        log.warning("%d rooms came from a data directory elsewhere: file ids renewed", moved)
    return moved
