"""Benchmark: live sync under interview-day load, against our server and plain collaboration.

N rooms x P peers, each peer typing R edits per second into the same cell of its room's
notebook, through the real room websocket. Each peer behaves like a browser tab: it sends
its own edits and one awareness update (its cursor) per edit, applies what the server
sends, and never echoes remote updates back. Rooms are split over worker processes, and a
room's sender and receivers live in one process, so a latency is read off one clock.

It reports edit propagation (p50, p90, p99, max), missed deliveries, convergence, disk ==
doc after a save, history rows against edits, server CPU and RSS per room. ``--target
plain`` runs the same load against jupyter-collaboration with its defaults (``jupyter
server``, upstream ``SQLiteYStore``, the server token for every peer).

``--grade-batch N`` ends N rooms of the algorithms template before the typing, then, a few
seconds into it, asks the server to grade them all (one batch, in the grading sandbox's
processes); it reports how long the batch took and the typing's latencies as usual.

``--attack`` replays the size attacks of issue 9 against one more room while the load
runs, from its candidate link and a process of its own: eight 100 MB messages at once, one
50 MB string, 100,000 cells in one update, and a 7 MB string (under the transport cap, over
the message limit). It reports how each connection was closed, the server's peak RSS over
its RSS when the typing began, and the load's latencies as usual.

Run on demand, never in CI:
    .venv/bin/python -m bench.sync_load --rooms 200 --peers 3 --rate 2 --duration 30
    .venv/bin/python -m bench.sync_load --target both --rooms 50
    .venv/bin/python -m bench.sync_load --rooms 50 --attack
    .venv/bin/python -m bench.sync_load --rooms 50 --grade-batch 100
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import multiprocessing as mp
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import nbformat
import psutil
from jupyter_interview.app import use_uvloop
from pycrdt import (
    Array,
    Awareness,
    Doc,
    Text,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from tests.server import JUPYTER, TOKEN, InterviewServer, link_token
from tests.yclient import RAW, SYNC, SYNC_STEP2, raw_reply, save_request

TEMPLATE = "sql-groupby"
EDIT = re.compile(r"\|(\d+):(\d+);")
DRAIN_TIMEOUT = 10.0


class PlainServer(InterviewServer):
    """jupyter-collaboration as it ships: `jupyter server` with its defaults, our extension
    off. Its history goes to `.jupyter_ystore.db` in the working directory."""

    health_path = "api"

    def command(self) -> list[str]:
        return [
            str(JUPYTER),
            "server",
            f"--ServerApp.root_dir={self.data_dir}",
            "--ServerApp.jpserver_extensions=jupyter_interview=False",
            "--no-browser",
        ]

    @property
    def history_db(self) -> Path:
        return self.data_dir.parent / "cwd" / ".jupyter_ystore.db"


@dataclass
class RoomSpec:
    """What a worker needs to drive one room: where, and one token per peer."""

    path: str
    disk: str
    tokens: list[str]


@dataclass
class WorkerResult:
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    expected: int = 0
    missed: int = 0
    rooms: int = 0
    converged: int = 0
    disk_equal: int = 0
    errors: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0
    loop_lag_ms: list[float] = field(default_factory=list)


class Peer:
    """One participant: a Yjs document on a websocket, typing into the room's last cell."""

    def __init__(self, room: RoomRun, index: int, token: str) -> None:
        self.room = room
        self.index = index
        self.token = token
        self.doc = Doc()
        self.awareness = Awareness(self.doc)
        self.ws: WebSocketClientConnection | None = None
        self.synced = asyncio.Event()
        self.saved: asyncio.Future[str] | None = None
        self.source: Text | None = None
        self.seq = 0
        self._local = False

    async def connect(self, base_url: str) -> None:
        headers = {"Authorization": f"token {self.token}"}
        # A cookie jar of its own: each peer stands for a separate browser.
        async with httpx.AsyncClient(timeout=60) as http:
            r = await http.put(
                f"{base_url}api/collaboration/session/{self.room.spec.path}",
                json={"format": "json", "type": "notebook"},
                headers=headers,
            )
        r.raise_for_status()
        session = r.json()
        ws_url = base_url.replace("http://", "ws://")
        url = f"{ws_url}api/collaboration/room/json:notebook:{session['fileId']}"
        request = HTTPRequest(f"{url}?sessionId={session['sessionId']}", headers=headers)
        self.ws = await websocket_connect(request, max_message_size=64 * 1024 * 1024)
        # Browsers send with TCP_NODELAY. Without it, an edit and the cursor update right
        # after it meet Nagle and delayed ACKs, and 3% of deliveries wait 40 ms.
        self.ws.protocol.set_nodelay(True)
        asyncio.get_running_loop().create_task(self._read())
        self.doc.observe(self._on_update)
        self._send(create_sync_message(self.doc))
        self.awareness.set_local_state(
            {"user": {"name": f"peer {self.index}", "color": "#1f77b4"}, "cursors": []}
        )
        self._send_awareness()
        await asyncio.wait_for(self.synced.wait(), 60)
        cells = self.doc.get("cells", type=Array)
        self.source = cells[len(cells) - 1]["source"]
        self.source.observe(self._on_source_change)

    def _send(self, message: bytes) -> None:
        assert self.ws is not None
        self.ws.write_message(message, binary=True)

    def _send_awareness(self) -> None:
        update = self.awareness.encode_awareness_update([self.doc.client_id])
        self._send(create_awareness_message(update))

    def _on_update(self, event: object) -> None:
        if self._local:
            self._send(create_update_message(event.update))  # type: ignore[attr-defined]

    def _on_source_change(self, event: object) -> None:
        if self._local:
            return
        now = time.perf_counter()
        for op in event.delta:  # type: ignore[attr-defined]
            insert = op.get("insert")
            if isinstance(insert, str):
                for sender, seq in EDIT.findall(insert):
                    self.room.delivered(int(sender), int(seq), now)

    async def _read(self) -> None:
        assert self.ws is not None
        while (message := await self.ws.read_message()) is not None:
            if not isinstance(message, bytes) or not message:
                continue
            if message[0] == SYNC:
                reply = handle_sync_message(message[1:], self.doc)
                if reply is not None:
                    self._send(reply)
                if message[1] == SYNC_STEP2:
                    self.synced.set()
            elif message[0] == RAW and self.saved is not None and not self.saved.done():
                reply = raw_reply(message)
                if reply.get("type") == "save":
                    self.saved.set_result(reply.get("status", ""))

    def edit(self) -> None:
        """Type one edit at the end of the cell, and move the cursor there."""
        assert self.source is not None
        self.seq += 1
        self.room.sent(self.index, self.seq, time.perf_counter())
        self._local = True
        try:
            self.source += f"|{self.index}:{self.seq};"
        finally:
            self._local = False
        self.awareness.set_local_state_field("cursors", [{"head": len(self.source)}])
        self._send_awareness()

    async def save(self) -> str:
        """Ask the server to write the room's notebook now (JupyterLab's Save)."""
        self.saved = asyncio.get_running_loop().create_future()
        self._send(save_request(1))
        return await asyncio.wait_for(self.saved, 30)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


class RoomRun:
    """One room's peers and the send time of every edit, on one clock."""

    def __init__(self, spec: RoomSpec, stats: WorkerResult, drained: asyncio.Event) -> None:
        self.spec = spec
        self.stats = stats
        self.drained = drained
        self.peers = [Peer(self, i, token) for i, token in enumerate(spec.tokens)]
        self._sent_at: dict[tuple[int, int], float] = {}

    def sent(self, sender: int, seq: int, at: float) -> None:
        self._sent_at[(sender, seq)] = at
        self.stats.sent += 1
        self.stats.expected += len(self.peers) - 1

    def delivered(self, sender: int, seq: int, at: float) -> None:
        sent_at = self._sent_at.get((sender, seq))
        if sent_at is None:
            return
        self.stats.latencies_ms.append((at - sent_at) * 1000)
        if len(self.stats.latencies_ms) >= self.stats.expected:
            self.drained.set()

    def converged(self) -> bool:
        states = [peer.doc.get("cells", type=Array).to_py() for peer in self.peers]
        return all(state == states[0] for state in states)

    def disk_equals_doc(self) -> bool:
        on_disk = nbformat.read(self.spec.disk, as_version=4)
        in_doc = self.peers[0].doc.get("cells", type=Array).to_py()
        return [c.source for c in on_disk.cells] == [c["source"] for c in in_doc]


async def _worker_main(
    base_url: str, specs: list[RoomSpec], rate: float, duration: float, conn: Connection
) -> WorkerResult:
    stats = WorkerResult(rooms=len(specs))
    drained = asyncio.Event()
    rooms = [RoomRun(spec, stats, drained) for spec in specs]
    peers = [peer for room in rooms for peer in room.peers]
    limit = asyncio.Semaphore(16)

    async def join(peer: Peer) -> None:
        async with limit:
            await peer.connect(base_url)

    await asyncio.gather(*(join(peer) for peer in peers))
    conn.send("ready")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "go"
    # A full collection here would pause every peer of this process at once and show up as
    # server latency; the window is short, so collect after it.
    gc.collect()
    gc.disable()
    start = loop.time()
    end = start + duration

    async def type_(peer: Peer) -> None:
        at = start + random.uniform(0, 1 / rate)
        while at < end:
            await asyncio.sleep(max(0.0, at - loop.time()))
            peer.edit()
            at += 1 / rate

    async def watch_lag() -> None:
        """How late this process's own loop wakes: latency the client adds, not the server."""
        while loop.time() < end:
            at = loop.time()
            await asyncio.sleep(0.005)
            stats.loop_lag_ms.append((loop.time() - at - 0.005) * 1000)

    await asyncio.gather(watch_lag(), *(type_(peer) for peer in peers))
    if len(stats.latencies_ms) < stats.expected:
        drained.clear()
        try:
            await asyncio.wait_for(drained.wait(), DRAIN_TIMEOUT)
        except TimeoutError:
            stats.errors.append(f"deliveries missing {DRAIN_TIMEOUT:.0f}s after the last edit")
    # What arrives later than this is missed, and its latency is not counted.
    in_time = len(stats.latencies_ms)
    stats.missed = stats.expected - in_time
    gc.enable()
    stats.converged = sum(room.converged() for room in rooms)
    saving = asyncio.Semaphore(8)

    async def save(room: RoomRun) -> bool:
        async with saving:
            try:
                status = await room.peers[0].save()
            except TimeoutError:
                stats.errors.append(f"save of {room.spec.path} timed out")
                return False
            return status == "success" and room.disk_equals_doc()

    stats.disk_equal = sum(await asyncio.gather(*(save(room) for room in rooms)))
    for peer in peers:
        peer.close()
    stats.cpu_seconds = sum(psutil.Process().cpu_times()[:2])
    del stats.latencies_ms[in_time:]
    return stats


def _worker(
    base_url: str, specs: list[dict], rate: float, duration: float, conn: Connection
) -> None:
    rooms = [RoomSpec(**spec) for spec in specs]
    use_uvloop()  # the client's own loop overhead must not count as the server's latency
    try:
        result = asyncio.run(_worker_main(base_url, rooms, rate, duration, conn))
    except Exception as e:  # report, so the run stops with a reason instead of hanging
        conn.send(f"worker failed: {e!r}")
        raise
    conn.send(asdict(result))


def _interview_rooms(server: InterviewServer, count: int, peers: int) -> list[RoomSpec]:
    """Rooms made through the API; peer 0 is the candidate, the others interviewers."""
    specs = []
    for _ in range(count):
        room = server.create_room(TEMPLATE)
        tokens = [link_token(room["links"]["candidate"])] + [TOKEN] * (peers - 1)
        disk = server.data_dir / room["notebook_path"]
        specs.append(RoomSpec(room["notebook_path"], str(disk), tokens))
    return specs


def _plain_rooms(server: PlainServer, count: int, peers: int) -> list[RoomSpec]:
    """The same template notebook, written straight into the plain server's root."""
    from jupyter_interview.rooms.templates import TemplateCatalogue

    folder = Path(__file__).parents[1] / "notebooks"
    template = TemplateCatalogue(folder, logging.getLogger(__name__)).get(TEMPLATE)
    specs = []
    for i in range(count):
        path = f"rooms/{i:04d}/room.ipynb"
        notebook = template.room_notebook(room_id=f"{i:04d}", title=template.meta.title)
        disk = server.data_dir / path
        disk.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, disk)
        specs.append(RoomSpec(path, str(disk), [TOKEN] * peers))
    return specs


def _history_rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
        return con.execute("SELECT COUNT(*) FROM yupdates").fetchone()[0]


def _settle(db: Path, timeout: float = 30) -> None:
    """Wait until the server's history writer has caught up. It runs in another process,
    so there is nothing to await: poll until the row count stops growing."""
    deadline = time.monotonic() + timeout
    rows = _history_rows(db)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = _history_rows(db)
        if now == rows:
            return
        rows = now


def _edits_in_history(db: Path) -> int:
    """Replay every room's stored history into a fresh document and count the edits it
    holds: rows alone would also count the server's own updates (a save flips `dirty`)."""
    docs: dict[str, Doc] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
        for path, update in con.execute("SELECT path, yupdate FROM yupdates ORDER BY rowid"):
            docs.setdefault(path, Doc()).apply_update(update)
    return sum(
        len(EDIT.findall(str(cell["source"])))
        for doc in docs.values()
        for cell in doc.get("cells", type=Array)
    )


def _update_message(update: bytes) -> bytes:
    return create_update_message(update)


def _attack_updates() -> dict[str, list[bytes]]:
    """What a hostile candidate sends: each entry is a set of messages sent at once."""

    def grow(change: object) -> bytes:
        doc = Doc()
        cells = doc.get("cells", type=Array)
        change(cells)  # type: ignore[operator]
        return _update_message(doc.get_update())

    def cells(n: int) -> bytes:
        # Entries of the cells array, as small as they come (pycrdt takes minutes to build
        # 100,000 real cell maps on the client; the server counts entries either way), 500
        # at a time: pycrdt's Array.extend takes memory quadratic in its argument's length.
        def fill(arr: Array) -> None:
            for _ in range(n // 500):
                arr.extend(["c"] * 500)

        return grow(fill)

    def text(size: int) -> bytes:
        return grow(lambda arr: arr.append({"source": "x" * size}))

    raw_100mb = bytes([0, 2]) + _varuint(100 * 2**20) + b"\x00" * (100 * 2**20)
    return {
        "8 x 100 MB messages at once": [raw_100mb] * 8,
        "one 50 MB string": [text(50 * 2**20)],
        "100,000 cells": [cells(100_000)],
        "a 7 MB string (under the transport cap)": [text(7 * 2**20)],
    }


def _varuint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


async def _attack(
    base_url: str, path: str, token: str, attacks: dict[str, list[bytes]]
) -> dict[str, list[str]]:
    """Send each attack from the candidate's link; how was each connection closed?"""
    results: dict[str, list[str]] = {}

    async def one(message: bytes) -> str:
        async with httpx.AsyncClient(timeout=60) as http:
            r = await http.put(
                f"{base_url}api/collaboration/session/{path}",
                json={"format": "json", "type": "notebook"},
                headers={"Authorization": f"token {token}"},
            )
            session = r.json()
        url = (
            base_url.replace("http://", "ws://")
            + f"api/collaboration/room/json:notebook:{session['fileId']}"
            + f"?sessionId={session['sessionId']}"
        )
        request = HTTPRequest(url, headers={"Authorization": f"token {token}"})
        ws = await websocket_connect(request, max_message_size=2**31)
        await ws.read_message()
        try:
            await ws.write_message(message, binary=True)
        except Exception as e:  # the server may close while we still write
            return f"write failed: {type(e).__name__}"
        while await ws.read_message() is not None:
            pass
        return f"closed {ws.close_code} {ws.close_reason or ''}".strip()

    for name, messages in attacks.items():
        results[name] = list(await asyncio.gather(*(one(m) for m in messages)))
    return results


def _attacker(base_url: str, path: str, token: str, conn: Connection) -> None:
    """The attacker's own process: its payloads are built before the typing starts."""
    attacks = _attack_updates()
    conn.send("ready")
    conn.recv()  # "go"
    conn.send(asyncio.run(_attack(base_url, path, token, attacks)))


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def _batch_done(server: InterviewServer, count: int, started: float) -> dict[str, float | int]:
    """Wait for the batch's gradings (polled: there is no event for them)."""
    with server.client() as c:
        rooms = [r["id"] for r in c.get("interview/api/rooms?status=ended").json()]
        while True:
            latest = [c.get(f"interview/api/rooms/{rid}/grades").json()[:1] for rid in rooms]
            done = [g[0] for g in latest if g and g[0]["status"] in ("done", "failed")]
            if len(done) >= count:
                break
            time.sleep(0.5)
    return {
        "rooms": count,
        "batch_s": round(time.monotonic() - started, 1),
        "done": sum(g["status"] == "done" for g in done),
    }


def run(
    target: str,
    rooms: int,
    peers: int,
    rate: float,
    duration: float,
    workers: int,
    server_args: list[str],
    attack: bool = False,
    grade_batch: int = 0,
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        if target == "plain":
            data.mkdir()
            server: InterviewServer = PlainServer(data, *server_args)
        else:
            extra = ["--InterviewApp.grade_on_end=False"] if grade_batch else []
            server = InterviewServer(data, *server_args, *extra)
        server.start()
        graded: dict[str, float | int] = {}
        for _ in range(grade_batch):
            ended = server.create_room("algorithms-warmup")
            with server.client() as c:
                c.post(f"interview/api/rooms/{ended['id']}/end").raise_for_status()
        try:
            proc = psutil.Process(server.proc.pid)  # type: ignore[union-attr]
            rss_before = proc.memory_info().rss
            if isinstance(server, PlainServer):
                specs = _plain_rooms(server, rooms, peers)
                history = server.history_db
            else:
                specs = _interview_rooms(server, rooms, peers)
                history = data / ".ystore.db"
            shares = [specs[i::workers] for i in range(workers)]
            pipes, procs = [], []
            ctx = mp.get_context("spawn")
            for share in shares:
                parent, child = ctx.Pipe()
                p = ctx.Process(
                    target=_worker,
                    args=(server.url, [asdict(s) for s in share], rate, duration, child),
                )
                p.start()
                pipes.append(parent)
                procs.append(p)
            for pipe in pipes:
                if (message := pipe.recv()) != "ready":
                    raise RuntimeError(message)
            _settle(history)
            rows_before = _history_rows(history)
            rss_open = proc.memory_info().rss
            cpu_before = _cpu(proc)
            attacked: dict[str, list[str]] = {}
            attacker = None
            if attack:
                target_room = server.create_room(TEMPLATE)
                attacker, child = ctx.Pipe()
                args = (
                    server.url,
                    target_room["notebook_path"],
                    link_token(target_room["links"]["candidate"]),
                    child,
                )
                ctx.Process(target=_attacker, args=args, daemon=True).start()
                if (message := attacker.recv()) != "ready":
                    raise RuntimeError(message)
            rss_go = proc.memory_info().rss
            peak = rss_go
            for pipe in pipes:
                pipe.send("go")
            started = time.monotonic()
            if attacker is not None:
                # A few seconds into the typing, so the latencies cover before and during.
                time.sleep(min(5.0, duration / 4))
                attacker.send("go")
            if grade_batch:
                time.sleep(min(3.0, duration / 10))
                batch_started = time.monotonic()
                with server.client() as c:
                    c.post("interview/api/templates/algorithms-warmup/grade").raise_for_status()
            while time.monotonic() - started < duration:
                peak = max(peak, proc.memory_info().rss)
                time.sleep(0.02)
            if attacker is not None:
                attacked = attacker.recv()
            if grade_batch:
                graded = _batch_done(server, grade_batch, batch_started)
            cpu = (_cpu(proc) - cpu_before) / duration
            results = [WorkerResult(**pipe.recv()) for pipe in pipes]
            for p in procs:
                p.join()
            sent = sum(r.sent for r in results)
            _settle(history)
            rows_after = _history_rows(history)
            in_history = _edits_in_history(history)
        finally:
            server.stop()
    latencies = sorted(x for r in results for x in r.latencies_ms)
    lags = sorted(x for r in results for x in r.loop_lag_ms)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0

    return {
        "target": target,
        "rooms": rooms,
        "peers": peers,
        "rate": rate,
        "duration_s": duration,
        "edits": sent,
        "p50_ms": round(pct(0.50), 1),
        "p90_ms": round(pct(0.90), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "missed": sum(r.missed for r in results),
        "converged": f"{sum(r.converged for r in results)}/{rooms}",
        "disk_equals_doc": f"{sum(r.disk_equal for r in results)}/{rooms}",
        "history_rows_added": rows_after - rows_before,
        "history_lost": sent - in_history,
        "server_cpu_cores": round(cpu, 2),
        "server_rss_mib_per_room": round((rss_open - rss_before) / rooms / 2**20, 3),
        "client_cpu_s": round(sum(r.cpu_seconds for r in results), 1),
        "client_loop_lag_p99_ms": round(lags[int(0.99 * len(lags))], 1) if lags else None,
        "client_loop_lag_max_ms": round(lags[-1], 1) if lags else None,
        "server_rss_peak_over_start_mib": round((peak - rss_go) / 2**20, 1),
        "attacks": attacked,
        "grading": graded,
        "errors": [e for r in results for e in r.errors][:10],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["interview", "plain", "both"], default="interview")
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--peers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=2.0, help="edits per second per peer")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of typing")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument(
        "--attack", action="store_true", help="replay issue 9's size attacks during the load"
    )
    parser.add_argument(
        "--grade-batch", type=int, default=0, help="grade this many ended rooms during the load"
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="an option for the server under test, e.g. --server-arg=--ServerApp.log_level=WARN",
    )
    args = parser.parse_args(argv)
    targets = ["interview", "plain"] if args.target == "both" else [args.target]
    reports = []
    for target in targets:
        report = run(
            target,
            args.rooms,
            args.peers,
            args.rate,
            args.duration,
            args.workers,
            args.server_arg,
            attack=args.attack,
            grade_batch=args.grade_batch,
        )
        reports.append(report)
        print(json.dumps(report), flush=True)
    if len(reports) == 2 and reports[0]["p99_ms"]:
        ratio = reports[1]["p99_ms"] / reports[0]["p99_ms"]
        print(f"p99 plain / interview: {ratio:.1f}x", flush=True)


if __name__ == "__main__":
    sys.exit(main())
