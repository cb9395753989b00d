"""Kill the server at chosen moments, leave what an interrupted save leaves, fill its disk:
no edit that reached another participant is ever lost, and the API stays up."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nbformat
import pytest
from jupyter_ydoc import YNotebook

from .server import TOKEN, InterviewServer, link_token
from .yclient import YClient, connect, save_request

pytestmark = pytest.mark.anyio

MARK = re.compile(r"<(\w)(\d+)>")


def _marks(client: YClient) -> set[str]:
    return {m.group(0) for cell in client.cells for m in MARK.finditer(cell["source"])}


@dataclass
class Typist:
    """A participant typing markers into a cell of its own: <c0>, <c1>, ..."""

    client: YClient
    tag: str
    cell: int
    typed: int = 0
    task: asyncio.Task | None = field(default=None, repr=False)

    def type_one(self) -> None:
        source = self.client.notebook.ycells[self.cell]["source"]
        source.insert(len(source), f"<{self.tag}{self.typed}>")
        self.typed += 1

    async def type_for(self, interval: float) -> None:
        while True:
            self.type_one()
            await asyncio.sleep(interval)


@asynccontextmanager
async def _room_pair(
    srv: InterviewServer, room: dict, kept: dict[str, YNotebook]
) -> AsyncIterator[tuple[Typist, Typist]]:
    """The room's candidate (cell 1) and interviewer (cell 2), each keeping its document."""
    path = room["notebook_path"]
    async with AsyncExitStack() as stack:
        candidate = await stack.enter_async_context(
            connect(srv.url, link_token(room["links"]["candidate"]), path, notebook=kept["c"])
        )
        interviewer = await stack.enter_async_context(
            connect(srv.url, TOKEN, path, notebook=kept["i"])
        )
        yield Typist(candidate, "c", 1), Typist(interviewer, "i", 2)


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _no_duplicate_cells(nb: dict) -> None:
    ids = [cell["id"] for cell in nb["cells"]]
    assert len(ids) == len(set(ids)), "duplicated cells"


async def _check_room(srv: InterviewServer, room: dict, seen: set[str]) -> dict:
    """After the restart: every seen marker is in the room, once; the file equals it."""
    async with connect(srv.url, TOKEN, room["notebook_path"]) as fresh:
        nb = fresh.notebook.get()
        marks = _marks(fresh)
        assert await fresh.save() in ("success", "skipped")
    missing = seen - marks
    assert not missing, f"lost {len(missing)} edits that another participant had seen"
    _no_duplicate_cells(nb)
    for cell in nb["cells"]:
        for mark in set(MARK.findall(cell["source"])):
            assert cell["source"].count(f"<{mark[0]}{mark[1]}>") == 1, "a marker twice"
    on_disk = nbformat.read(srv.data_dir / room["notebook_path"], as_version=4)
    nbformat.validate(on_disk)
    assert [c["source"] for c in on_disk.cells] == [c["source"] for c in nb["cells"]]
    return nb


MOMENTS = ["steady typing", "right after a burst", "mid-save", "at the first autosave"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
@pytest.mark.parametrize("moment", MOMENTS)
async def test_a_stop_at_any_moment_loses_no_edit_anyone_saw(
    fresh_server: InterviewServer, moment: str, sig: signal.Signals
) -> None:
    srv = fresh_server.start()
    rooms = [srv.create_room(candidate_name=f"C{i}") for i in range(3)]
    kept = [{"c": YNotebook(), "i": YNotebook()} for _ in rooms]
    sessions: list[tuple[str, str]] = []
    seen: list[set[str]] = []
    async with AsyncExitStack() as stack:
        pairs = [
            await stack.enter_async_context(_room_pair(srv, r, k))
            for r, k in zip(rooms, kept, strict=True)
        ]
        sessions = [(c.client.session_id, i.client.session_id) for c, i in pairs]
        typists = [t for pair in pairs for t in pair]
        if moment == "steady typing":
            for t in typists:
                t.task = asyncio.create_task(t.type_for(0.005))
            await asyncio.sleep(0.5)
        elif moment == "right after a burst":
            for _ in range(50):
                for t in typists:
                    t.type_one()
            # The stop comes as soon as the first of the burst has gone round (a fixed
            # 5 ms was, on a loaded machine, before anything had).
            interviewer = pairs[0][1]
            await interviewer.client.wait_for(
                lambda: any(m.startswith("<c") for m in _marks(interviewer.client))
            )
        elif moment == "mid-save":
            for t in typists:
                for _ in range(20):
                    t.type_one()
            await asyncio.gather(*(c.client.roundtrip() for c, _ in pairs))
            for c, _ in pairs:
                await c.client.channel.send(save_request(7))  # no wait for the reply
        elif moment == "at the first autosave":
            for t in typists:
                for _ in range(20):
                    t.type_one()
            await asyncio.gather(*(c.client.roundtrip() for c, _ in pairs))
            await asyncio.sleep(1.0)  # the autosave fires 1 s after the last edit
        # What each participant has seen of the other, the moment the server goes.
        seen = [
            {m for m in _marks(i.client) if m.startswith("<c")}
            | {m for m in _marks(c.client) if m.startswith("<i")}
            for c, i in pairs
        ]
        srv.proc.send_signal(sig)  # type: ignore[union-attr]
        for t in typists:
            if t.task is not None:
                t.task.cancel()
    started = time.monotonic()
    try:
        await asyncio.to_thread(srv.proc.wait, 30)  # type: ignore[union-attr]
    except subprocess.TimeoutExpired:
        srv.proc.send_signal(signal.SIGABRT)  # type: ignore[union-attr]  # faulthandler's dump
        await asyncio.to_thread(srv.proc.wait, 10)  # type: ignore[union-attr]
        raise AssertionError(f"the server did not stop:\n{srv.log()[-6000:]}") from None
    if sig == signal.SIGTERM:
        assert time.monotonic() - started < 25, "a clean stop took too long"
    assert any(seen), "the participants saw nothing: the test tested nothing"
    for db in (".ystore.db", ".interview.db"):
        assert _integrity(srv.data_dir / db) == "ok"
    srv.start()
    for room, marks in zip(rooms, seen, strict=True):
        await _check_room(srv, room, marks)
    # The old browsers come back with their documents and sessions: nothing doubles.
    for room, docs, (c_session, i_session) in zip(rooms, kept, sessions, strict=True):
        path = room["notebook_path"]
        async with (
            connect(
                srv.url,
                link_token(room["links"]["candidate"]),
                path,
                notebook=docs["c"],
                session_id=c_session,
            ) as back,
            connect(srv.url, TOKEN, path, notebook=docs["i"], session_id=i_session) as again,
        ):
            await back.roundtrip()
            await again.roundtrip()
            await again.wait_for(lambda: back.notebook.get() == again.notebook.get())
            _no_duplicate_cells(again.notebook.get())
    srv.stop()


@pytest.mark.parametrize("file_age", ["older", "newer"])
async def test_an_interrupted_save_never_rolls_the_room_back(
    fresh_server: InterviewServer, file_age: str
) -> None:
    """What jupyter_server's own atomic save left after a kill: the notebook copied aside as
    .~<name>, the notebook itself empty. The history wins, whatever the file's age."""
    srv = fresh_server.start()
    room = srv.create_room()
    path = room["notebook_path"]
    file = srv.data_dir / path
    kept = YNotebook()
    async with connect(srv.url, link_token(room["links"]["candidate"]), path, notebook=kept) as c:
        session = c.session_id
        typist = Typist(c, "c", 1)
        for _ in range(10):
            typist.type_one()
        assert await c.save() == "success"
        for _ in range(10):
            typist.type_one()
        await c.roundtrip()
        srv.stop(kill=True)
    shutil.copy(file, file.with_name(f".~{file.name}"))
    file.write_bytes(b"")
    shift = -3600 if file_age == "older" else 3600
    os.utime(file, (time.time() + shift, time.time() + shift))
    srv.start()
    with srv.client() as api:
        assert api.get("interview/api/health").json()["status"] == "ok"
        assert api.get(f"interview/api/rooms/{room['id']}").status_code == 200
    everything = {f"<c{i}>" for i in range(20)}
    nb = await _check_room(srv, room, everything)
    assert not file.with_name(f".~{file.name}").exists()
    assert "written from its history" in srv.log()
    async with connect(
        srv.url, link_token(room["links"]["candidate"]), path, notebook=kept, session_id=session
    ) as back:
        await back.roundtrip()
        assert _marks(back) == everything
        assert back.notebook.get()["cells"] == nb["cells"]


async def test_a_bad_notebook_file_never_takes_the_server_down(
    fresh_server: InterviewServer,
) -> None:
    srv = fresh_server.start()
    typed, garbled, gone, fresh = (srv.create_room() for _ in range(4))
    async with connect(srv.url, TOKEN, typed["notebook_path"]) as client:
        Typist(client, "i", 1).type_one()
        await client.roundtrip()
    srv.stop(kill=True)
    (srv.data_dir / typed["notebook_path"]).write_text("{ not json")
    (srv.data_dir / garbled["notebook_path"]).write_text('{"cells": 5}')
    (srv.data_dir / gone["notebook_path"]).unlink()
    srv.start()
    with srv.client() as api:
        assert api.get("interview/api/health").json()["status"] == "ok"
        assert len(api.get("interview/api/rooms").json()) == 4
    for room in (typed, garbled, gone, fresh):
        nbformat.validate(nbformat.read(srv.data_dir / room["notebook_path"], as_version=4))
        async with connect(srv.url, TOKEN, room["notebook_path"]) as client:
            assert client.cells
    async with connect(srv.url, TOKEN, typed["notebook_path"]) as client:
        assert _marks(client) == {"<i0>"}


# --- a full disk --------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MB filesystem of the test's own for the data directory."""
    mount = tmp_path / "data"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"this machine does not let tests mount a filesystem: {made.stderr!r}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / ".filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 2**20)
                f.flush()
        except OSError:
            pass
    return filler


async def _events(client: httpx.AsyncClient, room: dict) -> AsyncIterator[tuple[str, dict]]:
    async with client.stream("GET", f"interview/api/rooms/{room['id']}/events") as stream:
        name = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                yield name, json.loads(line[6:])


async def _health(srv: InterviewServer, status: str, timeout: float = 20) -> dict:
    """Poll health until it says ``status`` (the server's disk, not an event, changes)."""
    body: dict = {}
    async with httpx.AsyncClient(base_url=srv.url) as client:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    body = (await client.get("interview/api/health")).json()
                    if body["status"] == status:
                        return body
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"health never said {status}: {body}") from None


async def test_a_full_disk_is_reported_and_nothing_is_lost(
    tmp_path: Path, small_disk: Path
) -> None:
    srv = InterviewServer(small_disk).start()
    try:
        room = srv.create_room()
        path = room["notebook_path"]
        kept = YNotebook()
        async with (
            connect(srv.url, link_token(room["links"]["candidate"]), path, notebook=kept) as c,
            connect(srv.url, TOKEN, path) as interviewer,
            httpx.AsyncClient(base_url=srv.url, headers={"Authorization": f"token {TOKEN}"}) as api,
        ):
            session = c.session_id
            events = _events(api, room)
            assert (await anext(events))[0] == "room"
            candidate = Typist(c, "c", 1)
            candidate.type_one()
            assert await c.save() == "success"
            filler = _fill(small_disk)
            # The interview goes on: the interviewer still sees the candidate type.
            for _ in range(5):
                candidate.type_one()
            await interviewer.wait_for(lambda: "<c5>" in _marks(interviewer))
            await c.save()  # upstream answers "success" whatever happened
            name, data = await anext(events)
            assert (name, data["ok"]) == ("saving", False)
            health = await _health(srv, "degraded")
            text = " ".join(health["problems"])
            assert "cannot be written" in text and "was not saved" in text
            # A room cannot be made, and nothing of it stays behind.
            before = set((small_disk / "rooms").iterdir())
            r = await api.post("interview/api/rooms", json={"template": "sql-groupby"})
            assert r.status_code == 507
            assert r.json()["error"] == "room_not_created"
            assert set((small_disk / "rooms").iterdir()) == before
            # Space comes back: the history catches up, the next save works.
            filler.unlink()
            candidate.type_one()
            assert await c.save() == "success"
            name, data = await anext(events)
            assert (name, data["ok"]) == ("saving", True)
            await _health(srv, "ok")
            # Full again, then killed: the candidate's browser still has what it typed.
            filler = _fill(small_disk)
            for _ in range(3):
                candidate.type_one()
            await interviewer.wait_for(lambda: "<c9>" in _marks(interviewer))
            srv.stop(kill=True)
        filler.unlink()
        srv.start()
        async with connect(
            srv.url, link_token(room["links"]["candidate"]), path, notebook=kept, session_id=session
        ) as back:
            await back.roundtrip()
        async with connect(srv.url, TOKEN, path) as fresh:
            assert {f"<c{i}>" for i in range(10)} <= _marks(fresh)
        assert _integrity(small_disk / ".ystore.db") == "ok"
    finally:
        srv.stop()
