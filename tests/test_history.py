"""The history store: every update of every room kept, in order, even through a crash."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from jupyter_interview.sync.history import HistoryDB, HistoryStore
from pycrdt import Doc, Text

pytestmark = pytest.mark.anyio


def _update(room: int, i: int) -> bytes:
    """A small Yjs update, distinct per room and index."""
    doc = Doc(client_id=room * 100_000 + i + 1)
    doc["t"] = text = Text()
    text += f"room {room} edit {i}"
    return doc.get_update()


async def test_concurrent_writers_across_rooms(tmp_path: Path) -> None:
    rooms, edits = 40, 50
    stores = [
        HistoryStore(path=f".notebook:{r}.y", db_path=str(tmp_path / "h.db")) for r in range(rooms)
    ]

    async def writer(r: int) -> None:
        for i in range(edits):
            await stores[r].write(_update(r, i))
            if i % 7 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(writer(r) for r in range(rooms)))
    db = stores[0].db
    await db.flush()
    assert db.count() == rooms * edits
    for r in (0, 17, rooms - 1):
        rows = [row async for row in stores[r].read()]
        assert [u for u, _, _ in rows] == [_update(r, i) for i in range(edits)]
        times = [t for _, _, t in rows]
        assert times == sorted(times)
    assert db.batches < rooms * edits  # batched, not one commit per update
    db.close()


def test_threads_share_one_database(tmp_path: Path) -> None:
    db = HistoryDB.open(tmp_path / "h.db")
    assert HistoryDB.open(tmp_path / "h.db") is db

    def writer(r: int) -> None:
        for i in range(200):
            db.append(f"room-{r}", _update(r, i), b"", float(i))

    threads = [threading.Thread(target=writer, args=(r,)) for r in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.flush_sync()
    assert db.count() == 8 * 200
    assert [row[0] for row in db.read("room-3")] == [_update(3, i) for i in range(200)]
    db.close()


def test_a_kill_mid_batch_leaves_a_consistent_history(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    script = textwrap.dedent(
        f"""
        import sys
        from jupyter_interview.sync.history import HistoryDB
        db = HistoryDB.open({str(path)!r})
        i = 0
        while True:
            for room in range(20):
                db.append(f"room-{{room}}", i.to_bytes(8, "big"), b"", float(i))
            i += 1
            if i == 200:
                db.flush_sync()
                print("ready", flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db = HistoryDB.open(path)
    counts = set()
    for room in range(20):
        values = [int.from_bytes(row[0], "big") for row in db.read(f"room-{room}")]
        # Each room's history is a gap-free prefix, in order: whole batches or nothing.
        assert values == list(range(len(values)))
        assert len(values) >= 200
        counts.add(len(values))
    db.close()
