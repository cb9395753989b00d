"""Hidden tests, run in a sandbox: never in the server's process, never with a credential.

A submission (a room's notebook at some moment) runs in Pyodide, the Python the candidate
had, under Node, in a process of its own (``grader/runner.mjs``). What isolates it:

- **No network.** The process starts in network, PID and user namespaces of its own
  (``unshare``): no interface but a loopback that is down, so neither the interview server
  nor any other host is reachable, and no other process of the machine can be signalled.
  Where namespaces cannot be made, grading refuses to run (``GradingUnavailable``).
- **No files but Pyodide's.** Node's permission model lets the process read the Pyodide
  build and the runner, nothing else, and write nothing; Python's own files live in
  Emscripten's memory file system.
- **No processes, no code from strings.** The permission model refuses child processes;
  ``--disallow-code-generation-from-strings`` turns off ``eval`` and ``Function`` in the
  runner's JavaScript; ``import js`` reaches an empty object.
- **Bounded.** WebAssembly memory is capped (``--wasm-max-mem-pages``; Python then gets a
  ``MemoryError``), and so is the JavaScript heap; each cell and each test has a time limit
  (a ``KeyboardInterrupt`` from the runner's clock thread), and the whole run has another,
  after which the process group is killed.
- **No credentials.** The process gets an empty environment and no token; the job comes on
  its standard input.

Grading runs in at most ``workers`` processes at once, niced, behind a bounded queue, so
that a batch never takes the CPU from live rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from traitlets import Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from ..api.errors import GradingBusy, GradingUnavailable
from .verdict import judge, returning

RUNNER = Path(__file__).with_name("grader") / "runner.mjs"
# A cell magic (%%piston cpp, %%time) is another language or IPython: the grader skips the
# cell; a line magic or a shell escape (%pip, !ls) becomes `pass`.
_CELL_MAGIC = re.compile(r"^\s*%%")
_LINE_MAGIC = re.compile(r"^(\s*)[%!]")


def submission_cells(notebook: NotebookNode) -> list[str | None]:
    """The code of each code cell, as plain Python (None: a cell the grader skips)."""
    cells: list[str | None] = []
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if _CELL_MAGIC.match(source):
            cells.append(None)
            continue
        cells.append("\n".join(_LINE_MAGIC.sub(r"\1pass  # ", line) for line in source.split("\n")))
    return cells


@dataclass
class Outcome:
    """What a run reported: the cells, the tests, how long it took, and why it stopped."""

    cells: list[dict[str, Any]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    load_ms: int | None = None
    duration_ms: int = 0
    error: str | None = None


class GradingSandbox(LoggingConfigurable):
    node = Unicode("node", config=True, help="The Node.js executable that runs Pyodide.")
    timeout = Float(120.0, config=True, help="Seconds one submission may take, start-up included.")
    cell_timeout = Float(10.0, config=True, help="Seconds one code cell of a submission may run.")
    test_timeout = Float(10.0, config=True, help="Seconds one hidden test may run.")
    memory_mb = Int(512, config=True, help="Most memory Python may use, in MiB.")
    process_memory_mb = Int(
        1280,
        config=True,
        help="Most resident memory the whole grading process may use, in MiB: Python's, "
        "Node's, and what Python hands over to JavaScript, which the limit on Python's "
        "memory does not count. Over it, the submission is stopped.",
    )
    workers = Int(1, config=True, help="Submissions graded at once (each is a process of its own).")
    queue_size = Int(
        500, config=True, help="Submissions that may wait; more are refused until some finish."
    )
    output_limit = Int(
        4000, config=True, help="Characters of a test's or a cell's output that are kept."
    )

    def __init__(self, pyodide_dir: Path, snapshot: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pyodide_dir = pyodide_dir.resolve()
        self.snapshot = (snapshot or pyodide_dir.parent / "grading" / "pyodide.snapshot").resolve()
        self._slots = asyncio.Semaphore(max(1, self.workers))
        self._waiting = 0
        self._running: set[asyncio.subprocess.Process] = set()

    def stop(self) -> None:
        """Kill the submissions being graded (the server is stopping)."""
        for process in list(self._running):
            _kill(process)

    def problem(self) -> str | None:
        """Why grading cannot run here, or None."""
        if shutil.which(self.node) is None:
            return f"Node.js ({self.node}) is not installed."
        if shutil.which("timeout") is None:
            return "timeout (coreutils) is not installed."
        if shutil.which("unshare") is None:
            return "unshare (util-linux) is not installed: grading needs its own namespaces."
        if not (self.pyodide_dir / "pyodide.mjs").exists():
            return f"The Pyodide build is missing ({self.pyodide_dir}): run make."
        return None

    def command(self, results_fd: int) -> list[str]:
        pages = self.memory_mb * 16  # 64 KiB WebAssembly pages
        return [
            # A hard stop of its own, should the server die without stopping it.
            "timeout",
            "--signal=KILL",
            f"{self.timeout + 5:g}",
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            *(["nice", "-n", "10"] if shutil.which("nice") else []),
            self.node,
            "--experimental-permission",
            f"--allow-fs-read={self.pyodide_dir}/*",
            f"--allow-fs-read={RUNNER.parent}/*",
            f"--allow-fs-read={self.snapshot}",
            "--allow-worker",
            "--disallow-code-generation-from-strings",
            f"--wasm-max-mem-pages={pages}",
            "--max-old-space-size=256",
            "--no-warnings",
            str(RUNNER),
            str(self.pyodide_dir),
            str(self.snapshot),
            str(results_fd),
        ]

    async def run(
        self, cells: list[str | None], tests: list[dict[str, Any]], packages: list[str]
    ) -> Outcome:
        """Run a submission's cells and the tests (each ``{name, code}``, or ``{name, call,
        expected}``: see verdict.py), once a worker is free. The outcome's tests are in the
        same order."""
        problem = self.problem()
        if problem:
            raise GradingUnavailable(problem)
        if self._waiting >= self.queue_size:
            raise GradingBusy(f"{self._waiting} submissions are waiting to be graded.")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await self._run(cells, tests, packages)
        finally:
            self._slots.release()

    async def _run(
        self, cells: list[str | None], tests: list[dict[str, Any]], packages: list[str]
    ) -> Outcome:
        nonce = secrets.token_hex(16)
        job = {
            "nonce": nonce,
            "cells": [code or "" for code in cells],
            # A call test's expected value stays here, and so does every test's name (the
            # submission could read it from a frame's file name): the sandbox numbers them.
            "tests": [
                {"code": returning(t["call"]), "returns": True}
                if t.get("call") is not None
                else {"code": t["code"], "returns": False}
                for t in tests
            ],
            "packages": packages,
            "cell_timeout_ms": int(self.cell_timeout * 1000),
            "test_timeout_ms": int(self.test_timeout * 1000),
            "output_limit": self.output_limit,
        }
        outcome = Outcome()
        started = time.monotonic()
        # The results come on a pipe of their own: the submission can reach the runner's
        # stdout (Emscripten's console), never this descriptor.
        read_end, write_end = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command(write_end),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                cwd="/",
                start_new_session=True,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        self._running.add(process)
        loop = asyncio.get_running_loop()
        results = asyncio.StreamReader(limit=_LINE_LIMIT)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(results), os.fdopen(read_end, "rb")
        )
        assert process.stdin and process.stderr
        process.stdin.write(json.dumps(job).encode())
        process.stdin.close()
        stderr = asyncio.ensure_future(process.stderr.read(64 * 1024))
        reader = _Reader(nonce, len(cells), [t["name"] for t in tests], outcome)
        watchdog = asyncio.ensure_future(self._watch_memory(process, outcome))
        try:
            async with asyncio.timeout(self.timeout):
                while (line := await _line(results)) != b"":
                    if line is None:
                        outcome.error = _OVERSIZED
                    else:
                        reader.read(line)
                await process.wait()
        except TimeoutError:
            outcome.error = f"The submission ran over {self.timeout:g} s and was stopped."
        finally:
            watchdog.cancel()
            transport.close()
            await _stop(process)
            self._running.discard(process)
        outcome.duration_ms = round((time.monotonic() - started) * 1000)
        if not reader.done and outcome.error is None:
            tail = (await stderr).decode(errors="replace").strip().splitlines()[-3:]
            outcome.error = "The sandbox stopped before the end" + (
                f": {' '.join(tail)[-300:]}" if tail else "."
            )
        stderr.cancel()
        for index, code in enumerate(cells):
            if code is None and index < len(outcome.cells):
                outcome.cells[index] = {"index": index, "status": "skipped"}
        if outcome.error == _OVERSIZED:
            outcome.tests = []  # nothing the run reported is trusted
        # Off the event loop: a reported value is parsed, and a set of colliding hashes
        # (the submission's choice) takes a while to build.
        await asyncio.to_thread(_judge_calls, outcome, tests)
        for test in tests[len(outcome.tests) :]:
            outcome.tests.append(
                {"name": test["name"], "status": "not_run", "message": outcome.error}
            )
        return outcome

    async def _watch_memory(self, process: asyncio.subprocess.Process, outcome: Outcome) -> None:
        """Stop a run whose resident memory passes the limit. Buffers that Python hands to
        JavaScript live outside WebAssembly's memory and V8's heap, so neither of Node's
        own limits counts them: only the process's resident size does."""
        limit = self.process_memory_mb * 2**20
        page = os.sysconf("SC_PAGE_SIZE")
        while process.returncode is None:
            try:
                statm = Path(f"/proc/{_innermost(process.pid)}/statm").read_text()
                resident = int(statm.split()[1]) * page
            except (OSError, ValueError, IndexError):
                resident = 0
            if resident > limit:
                outcome.error = (
                    f"The submission used more than {self.process_memory_mb} MiB of memory "
                    "and was stopped."
                )
                _kill(process)
                return
            await asyncio.sleep(0.05)  # it grows by at most about 20 MiB between looks


# A result line is short: messages, outputs and refusals are cut by the runner.
_LINE_LIMIT = 2**20
_OVERSIZED = "The sandbox reported a result over 1 MiB, which its runner never writes: not trusted."


async def _line(stream: asyncio.StreamReader) -> bytes | None:
    """The next line, b"" at the end, None for a line over the limit (read and dropped):
    the runner cuts everything it reports, so such a line was not the runner's doing.
    (``readline`` would drop whatever followed such a line in the buffer too.)"""
    dropped = False
    while True:
        try:
            line = await stream.readuntil(b"\n")
        except asyncio.LimitOverrunError as over:
            dropped = True
            await stream.readexactly(over.consumed)
        except asyncio.IncompleteReadError as end:
            return None if dropped else end.partial
        else:
            return None if dropped else line


class _Reader:
    """Takes the runner's lines: only with this run's nonce, one per cell and per test, in
    order (a test is reported by its number, and named here)."""

    def __init__(self, nonce: str, cells: int, tests: list[str], outcome: Outcome) -> None:
        self.nonce = nonce
        self.cells = cells
        self.tests = tests
        self.outcome = outcome
        self.done = False

    def read(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict) or record.pop("nonce", None) != self.nonce:
            return
        event = record.pop("event", None)
        if event == "started":
            self.outcome.load_ms = record.get("load_ms")
        elif event == "cell" and len(self.outcome.cells) < self.cells:
            self.outcome.cells.append(record)
        elif event == "test":
            index, reported = record.pop("index", None), len(self.outcome.tests)
            if type(index) is int and index == reported and reported < len(self.tests):
                record["name"] = self.tests[index]
                self.outcome.tests.append(record)
        elif event == "fatal":
            message = record.get("message")
            self.outcome.error = (
                "Python broke down in the sandbox"
                + (f" ({message[:300]})" if isinstance(message, str) else "")
                + ": nothing after it was run or is trusted."
            )
        elif event == "done":
            self.done = True


def _judge_calls(outcome: Outcome, tests: list[dict[str, Any]]) -> None:
    """Make the verdict of each call test from the value it returned. Only a call test
    returns a value, and only a statement test has a verdict of the sandbox's own."""
    for test, record in zip(tests, outcome.tests, strict=False):
        returned = record.pop("returned", None)
        status = record.get("status")
        call = test.get("call") is not None
        if call and status == "returned":
            record["status"], record["message"] = judge(test["expected"], returned)
        elif status == "returned" or (call and status == "pass"):
            record["status"] = "error"
            record["message"] = "The sandbox's report of this test is not one it makes."


def _innermost(pid: int) -> int:
    """The last of a chain of single children (timeout, unshare, node): the runner."""
    while True:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return pid
        if not children:
            return pid
        pid = int(children[0])


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the runner, innermost first: each parent then reaps its child and exits. Killing
    the whole group at once would leave orphans that a container's init may never reap."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(_innermost(process.pid), signal.SIGKILL)


async def _stop(process: asyncio.subprocess.Process) -> None:
    _kill(process)
    try:
        await asyncio.wait_for(process.wait(), 5)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
