"""Benchmark: a clean stop (SIGTERM) in the middle of 200 busy rooms: how long, and what is lost.

N rooms x 2 peers (the candidate and the interviewer) type R edits per second into their
room's last cell, through the real room websocket (the peers of ``bench.sync_load``). After
T seconds the server gets SIGTERM while they keep typing. It reports the time from the
signal to the process's exit, the server's own account of its stop, and, after a restart,
how many of the edits that had reached the other peer are missing (the target: none).

Run on demand, never in CI:
    .venv/bin/python -m bench.stop_time --rooms 200 --rate 2 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

from pycrdt import Array

from bench.sync_load import (
    EDIT,
    Peer,
    RoomRun,
    RoomSpec,
    WorkerResult,
    _interview_rooms,
)
from tests.server import TOKEN, InterviewServer

STOPPED = re.compile(r"Stopped: .*")


class SeenRoom(RoomRun):
    """A room that remembers which edits reached the other peer."""

    def __init__(self, spec: RoomSpec, stats: WorkerResult, drained: asyncio.Event) -> None:
        super().__init__(spec, stats, drained)
        self.seen: set[tuple[int, int]] = set()

    def delivered(self, sender: int, seq: int, at: float) -> None:
        self.seen.add((sender, seq))


async def _type_then_stop(
    server: InterviewServer, specs: list[RoomSpec], rate: float, duration: float
) -> tuple[list[SeenRoom], float]:
    stats = WorkerResult(rooms=len(specs))
    rooms = [SeenRoom(spec, stats, asyncio.Event()) for spec in specs]
    peers = [peer for room in rooms for peer in room.peers]
    limit = asyncio.Semaphore(16)

    async def join(peer: Peer) -> None:
        async with limit:
            await peer.connect(server.url)

    await asyncio.gather(*(join(peer) for peer in peers))
    loop = asyncio.get_running_loop()
    end = loop.time() + duration + 5

    async def type_(peer: Peer) -> None:
        at = loop.time() + random.uniform(0, 1 / rate)
        while at < end:
            await asyncio.sleep(max(0.0, at - loop.time()))
            try:
                peer.edit()
            except Exception:  # the server went away mid-edit
                return
            at += 1 / rate

    typing = [asyncio.create_task(type_(peer)) for peer in peers]
    await asyncio.sleep(duration)
    assert server.proc is not None
    signalled = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    await asyncio.to_thread(server.proc.wait, 120)
    took = time.monotonic() - signalled
    for task in typing:
        task.cancel()
    for peer in peers:
        peer.close()
    return rooms, took


async def _missing(server: InterviewServer, rooms: list[SeenRoom]) -> tuple[int, int]:
    """(edits seen by the other peer, of them missing after the restart)."""
    seen = missing = 0
    limit = asyncio.Semaphore(16)
    stats = WorkerResult()

    async def check(room: SeenRoom) -> None:
        nonlocal seen, missing
        fresh = RoomRun(RoomSpec(room.spec.path, room.spec.disk, [TOKEN]), stats, asyncio.Event())
        peer = fresh.peers[0]
        async with limit:
            await peer.connect(server.url)
        cells = peer.doc.get("cells", type=Array).to_py()
        text = "".join(cell["source"] for cell in cells)
        present = {(int(s), int(n)) for s, n in EDIT.findall(text)}
        seen += len(room.seen)
        missing += len(room.seen - present)
        peer.close()

    await asyncio.gather(*(check(room) for room in rooms))
    return seen, missing


def run(rooms: int, rate: float, duration: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = InterviewServer(Path(tmp) / "data").start()
        try:
            specs = _interview_rooms(server, rooms, 2)
            typed, took = asyncio.run(_type_then_stop(server, specs, rate, duration))
            account = STOPPED.findall(server.log())
            server.start()
            seen, missing = asyncio.run(_missing(server, typed))
        finally:
            server.stop()
    return {
        "rooms": rooms,
        "rate": rate,
        "typing_s": duration,
        "sigterm_to_exit_s": round(took, 2),
        "server_says": account[-1] if account else None,
        "edits_seen_by_the_other_peer": seen,
        "missing_after_restart": missing,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2.0, help="edits per second per peer")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds before SIGTERM")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.rooms, args.rate, args.duration)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
