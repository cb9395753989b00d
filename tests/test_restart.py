"""Stop the server mid-interview, start it on the same data directory, lose nothing."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from jupyter_interview.sync.history import history_path
from jupyter_ydoc import YNotebook
from pycrdt import Doc

from .server import TOKEN, InterviewServer, link_token
from .yclient import connect

pytestmark = pytest.mark.anyio


async def _history_holds(srv: InterviewServer, file_id: str, text: str) -> None:
    """Wait until the history file on disk holds ``text`` (another process writes it, so
    there is no event to await: poll the file)."""
    async with asyncio.timeout(10):
        while True:
            with sqlite3.connect(srv.data_dir / ".ystore.db") as db:
                rows = db.execute(
                    "SELECT yupdate FROM yupdates WHERE path = ? ORDER BY id",
                    (history_path(file_id),),
                ).fetchall()
            doc = Doc()
            notebook = YNotebook(doc)
            for (update,) in rows:
                doc.apply_update(update)
            if any(text in cell["source"] for cell in notebook.get()["cells"]):
                return
            await asyncio.sleep(0.02)


def _cells(notebook: dict) -> list[dict]:
    """Cells without the transient ``metadata.trusted`` flag, which a load from disk sets."""
    cells = []
    for cell in notebook["cells"]:
        metadata = {k: v for k, v in cell.get("metadata", {}).items() if k != "trusted"}
        cells.append({**cell, "metadata": metadata})
    return cells


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_restart_keeps_rooms_links_and_every_edit(
    fresh_server: InterviewServer, kill: bool
) -> None:
    srv = fresh_server.start()
    room = srv.create_room("algorithms-warmup", candidate_name="Linus")
    token = link_token(room["links"]["candidate"])
    path = room["notebook_path"]
    kept = YNotebook()

    async with connect(srv.url, token, path, notebook=kept) as candidate:
        candidate.notebook.ycells[1]["source"].insert(0, "# saved edit\n")
        assert await candidate.save() == "success"
        # Typed just before the crash: in the history store, not yet autosaved to disk.
        candidate.notebook.ycells[1]["source"].insert(0, "# unsaved edit\n")
        candidate.notebook.append_cell({"cell_type": "code", "source": "last_cell = True"})
        await candidate.roundtrip()
        session_id = candidate.session_id
        before = candidate.notebook.get()
        if kill:
            await _history_holds(srv, room["file_id"], "last_cell = True")
        await asyncio.to_thread(srv.stop, kill=kill)

    srv.start()
    with srv.client() as c:
        again = c.get(f"interview/api/rooms/{room['id']}").json()
    assert again["links"] == room["links"]
    assert again["status"] == "open"

    # A fresh client sees every edit, the unsaved ones included.
    async with connect(srv.url, TOKEN, path) as fresh:
        assert _cells(fresh.notebook.get()) == _cells(before)

    # The candidate's browser kept its document and reconnects with its old session.
    async with connect(srv.url, token, path, notebook=kept, session_id=session_id) as back:
        await back.roundtrip()
        after = back.notebook.get()
    assert _cells(after) == _cells(before), "cells duplicated or garbled on reconnect"
    sources = [c["source"] for c in after["cells"]]
    assert sources.count("last_cell = True") == 1
    assert sources[1].startswith("# unsaved edit\n# saved edit\n")
