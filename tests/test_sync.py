"""Live sync through a real room: a candidate and an interviewer edit at once."""

from __future__ import annotations

import asyncio

import nbformat
import pytest
from jupyter_ydoc import YNotebook

from .server import TOKEN, InterviewServer, link_token
from .yclient import YClient, connect

pytestmark = pytest.mark.anyio


def _state(client: YClient) -> dict:
    return client.notebook.get()


async def _converged(a: YClient, b: YClient) -> None:
    async with asyncio.timeout(10):
        while _state(a) != _state(b):
            a.changed.clear()
            b.changed.clear()
            await asyncio.wait(
                [asyncio.create_task(a.changed.wait()), asyncio.create_task(b.changed.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )


async def test_concurrent_edits_converge_and_save(server: InterviewServer, room: dict) -> None:
    path = room["notebook_path"]
    candidate_token = link_token(room["links"]["candidate"])
    async with (
        connect(server.url, candidate_token, path) as candidate,
        connect(server.url, TOKEN, path) as interviewer,
    ):
        assert _state(candidate) == _state(interviewer)
        cell = 1
        # Both type into the same cell and both add cells, without waiting for each other.
        for i in range(20):
            candidate.notebook.ycells[cell]["source"].insert(0, f"c{i} ")
            text = interviewer.notebook.ycells[cell]["source"]
            text.insert(len(text), f" i{i}")
        candidate.notebook.append_cell({"cell_type": "code", "source": "print('candidate')"})
        interviewer.notebook.append_cell({"cell_type": "markdown", "source": "Interviewer note"})
        await _converged(candidate, interviewer)

        source = candidate.cells[cell]["source"]
        for i in range(20):
            assert f"c{i} " in source and f" i{i}" in source
        sources = candidate.sources()
        assert "print('candidate')" in sources and "Interviewer note" in sources
        assert len(sources) == len(set(sources))

        assert await candidate.save() == "success"
        on_disk = nbformat.read(server.data_dir / path, as_version=4)
        assert [c.source for c in on_disk.cells] == interviewer.sources()


async def test_observer_updates_are_dropped_by_the_server(
    server: InterviewServer, room: dict
) -> None:
    path = room["notebook_path"]
    observer_token = link_token(room["links"]["observer"])
    candidate_token = link_token(room["links"]["candidate"])
    async with (
        connect(server.url, observer_token, path) as observer,
        connect(server.url, candidate_token, path) as candidate,
    ):
        observer.notebook.ycells[0]["source"].insert(0, "OBSERVER WAS HERE ")
        observer.notebook.append_cell({"cell_type": "code", "source": "observer cell"})
        await observer.roundtrip()
        candidate.notebook.ycells[0]["source"].insert(0, "CANDIDATE ")
        await candidate.roundtrip()
        # The observer still receives the candidate's edits live.
        await observer.wait_for(lambda: "CANDIDATE " in observer.cells[0]["source"])

    async with connect(server.url, TOKEN, path) as fresh:
        text = " ".join(fresh.sources())
    assert "CANDIDATE " in text
    assert "OBSERVER WAS HERE" not in text
    assert "observer cell" not in text


async def test_a_late_joiner_gets_the_whole_document(server: InterviewServer, room: dict) -> None:
    path = room["notebook_path"]
    async with connect(server.url, link_token(room["links"]["candidate"]), path) as candidate:
        candidate.notebook.append_cell({"cell_type": "code", "source": "x = 42"})
        await candidate.roundtrip()
        async with connect(server.url, TOKEN, path, notebook=YNotebook()) as late:
            assert "x = 42" in late.sources()
