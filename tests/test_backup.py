"""A backup of a live data directory, taken while candidates type, restores to a server that
holds every room, link and edit made before the backup began."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from jupyter_interview.backup import BackupError, backup, restore

from .server import TOKEN, InterviewServer, link_token
from .test_durability import Typist, _check_room, _marks
from .yclient import connect

pytestmark = pytest.mark.anyio


async def test_a_live_backup_restores(fresh_server: InterviewServer, tmp_path: Path) -> None:
    srv = fresh_server.start()
    rooms = [srv.create_room(candidate_name=f"C{i}") for i in range(2)]
    dest = tmp_path / "backup"
    before: list[set[str]] = []
    async with (
        connect(
            srv.url, link_token(rooms[0]["links"]["candidate"]), rooms[0]["notebook_path"]
        ) as a,
        connect(
            srv.url, link_token(rooms[1]["links"]["candidate"]), rooms[1]["notebook_path"]
        ) as b,
        connect(srv.url, TOKEN, rooms[0]["notebook_path"]) as watching_a,
        connect(srv.url, TOKEN, rooms[1]["notebook_path"]) as watching_b,
    ):
        typists = [Typist(a, "c", 1), Typist(b, "c", 1)]
        tasks = [asyncio.create_task(t.type_for(0.005)) for t in typists]
        await watching_a.wait_for(lambda: len(_marks(watching_a)) >= 20)
        await watching_b.wait_for(lambda: len(_marks(watching_b)) >= 20)
        # What the interviewer had seen when the backup began must all be in it.
        before = [_marks(watching_a), _marks(watching_b)]
        copied = await asyncio.to_thread(backup, srv.data_dir, dest)
        for task in tasks:
            task.cancel()
    srv.stop()
    assert {".interview.db", ".ystore.db", ".link_secret", "rooms/"} <= set(copied)
    for db in dest.glob("*.db"):
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    with pytest.raises(BackupError):
        backup(srv.data_dir, dest)  # never into an existing folder
    with pytest.raises(BackupError):
        restore(dest, srv.data_dir)  # never over a data directory

    restored = tmp_path / "restored" / "data"
    restore(dest, restored)
    again = InterviewServer(restored).start()
    try:
        with again.client() as c:
            listed = {r["id"]: r for r in c.get("interview/api/rooms").json()}
        for room, seen in zip(rooms, before, strict=True):
            tokens = {link_token(url) for url in listed[room["id"]]["links"].values()}
            assert tokens == {link_token(url) for url in room["links"].values()}
            await _check_room(again, room, seen)
        # The candidate's link still works on the restored server.
        token = link_token(rooms[0]["links"]["candidate"])
        async with connect(again.url, token, rooms[0]["notebook_path"]) as back:
            assert before[0] <= _marks(back)
    finally:
        again.stop()
