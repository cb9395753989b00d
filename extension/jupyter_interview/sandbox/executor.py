"""Running a room's code in the Piston sandbox: the room's limits, then Piston, then a record.

Browsers never talk to Piston: the magics call ``POST /interview/api/rooms/{id}/execute``,
and this applies the limits (code and stdin size, run timeout, the template's languages,
a per-room rate and concurrency cap), forwards with httpx, and writes each execution to
the room's history (who, when, language, code hash, status, duration) for replay.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import defaultdict, deque

from traitlets import Float, Int, Unicode, default
from traitlets.config import LoggingConfigurable

from ..api.errors import (
    CodeTooLarge,
    InvalidRequest,
    LanguageNotAllowed,
    RateLimited,
    SandboxFailed,
    SandboxRejected,
    SandboxUnavailable,
    UnknownLanguage,
)
from ..api.models import ExecuteRequest, RuntimeOut
from ..rooms.store import Room, RoomStore
from ..sync.history import Author
from .piston import AsyncPistonClient
from .pistonapi import PistonError, PistonRejected, Result, Runtime, resolve

log = logging.getLogger(__name__)
NO_SANDBOX = "Only Python runs in this interview: this server has no sandbox for other languages."
# Short: a notification shows the first few lines only.
NO_SANDBOX_WARNING = (
    "No Piston here: this template's {languages} cells will not run. "
    "Set RoomExecutor.piston_url or PISTON_URL."
)


class RoomExecutor(LoggingConfigurable):
    piston_url = Unicode(
        config=True,
        help="Base URL of the Piston API v2 server, e.g. http://piston:2000. Default: the "
        "PISTON_URL environment variable; empty means %%piston answers 503 (not configured). "
        "The public Piston API is whitelist-only: run your own.",
    )

    @default("piston_url")
    def _default_piston_url(self) -> str:
        return os.environ.get("PISTON_URL", "")

    piston_authorization = Unicode(
        config=True,
        help="Authorization header sent to Piston, if it needs one. "
        "Default: the PISTON_AUTHORIZATION environment variable.",
    )

    @default("piston_authorization")
    def _default_piston_authorization(self) -> str:
        return os.environ.get("PISTON_AUTHORIZATION", "")

    request_timeout = Float(30.0, config=True, help="Seconds to wait for Piston's answer.")
    max_code_bytes = Int(64 * 1024, config=True, help="Largest program (UTF-8 bytes).")
    max_stdin_bytes = Int(64 * 1024, config=True, help="Largest stdin (UTF-8 bytes).")
    max_run_timeout_ms = Int(
        5000,
        config=True,
        help="Highest run timeout a cell may ask for, in ms; keep it at or below Piston's "
        "own run_timeout (5000 by default).",
    )
    runs_per_minute = Int(30, config=True, help="Executions per room per minute.")
    max_concurrent = Int(2, config=True, help="Executions of one room running at once.")

    def __init__(self, store: RoomStore, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.store = store
        self._client: AsyncPistonClient | None = None
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._running: dict[str, int] = defaultdict(int)

    @property
    def client(self) -> AsyncPistonClient:
        if not self.piston_url:
            # Room users read this: it names no setting (the interviewer's room warnings do).
            raise SandboxUnavailable(NO_SANDBOX)
        if self._client is None:
            self._client = AsyncPistonClient(
                self.piston_url,
                authorization=self.piston_authorization or None,
                timeout=self.request_timeout,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def runtimes(self, room: Room) -> list[RuntimeOut]:
        """The runtimes this room may use."""
        return [
            RuntimeOut(language=r.language, version=r.version, aliases=r.aliases)
            for r in await self._piston_runtimes()
            if _allowed(r, room.languages)
        ]

    async def _piston_runtimes(self) -> list[Runtime]:
        try:
            return await self.client.runtimes()
        except PistonError as e:
            raise _sandbox_error(e) from None

    async def execute(self, room: Room, author: Author, request: ExecuteRequest) -> Result:
        if len(request.code.encode()) > self.max_code_bytes:
            raise CodeTooLarge(f"The program is over {self.max_code_bytes} bytes.")
        if request.stdin and len(request.stdin.encode()) > self.max_stdin_bytes:
            raise CodeTooLarge(f"stdin is over {self.max_stdin_bytes} bytes.")
        if request.run_timeout_ms and request.run_timeout_ms > self.max_run_timeout_ms:
            raise InvalidRequest(f"run_timeout_ms may be at most {self.max_run_timeout_ms}.")
        runtimes = await self._piston_runtimes()
        runtime = resolve(runtimes, request.language)
        if runtime is None:
            known = ", ".join(sorted(r.language for r in runtimes))
            raise UnknownLanguage(f"Piston has no {request.language!r}. It has: {known}.")
        if not _allowed(runtime, room.languages):
            allowed = ", ".join(room.languages)
            raise LanguageNotAllowed(
                f"{runtime.language} is not allowed in this interview (allowed: {allowed})."
            )
        self._admit(room.id)
        started = time.monotonic()
        status = "error"
        try:
            result = await self.client.execute(
                runtime.language,
                request.code,
                version=request.version,
                stdin=request.stdin,
                args=request.args or None,
                run_timeout=request.run_timeout_ms,
            )
            status = result.status
            return result
        except PistonError as e:
            status = "piston_error"
            raise _sandbox_error(e) from None
        finally:
            self._running[room.id] -= 1
            self.store.record_execution(
                room.id,
                who=author.name,
                who_id=author.id,
                role=author.role,
                language=runtime.language,
                code_sha256=hashlib.sha256(request.code.encode()).hexdigest(),
                status=status,
                duration_ms=round((time.monotonic() - started) * 1000),
            )

    def _admit(self, room_id: str) -> None:
        now = time.monotonic()
        recent = self._recent[room_id]
        while recent and now - recent[0] > 60:
            recent.popleft()
        if len(recent) >= self.runs_per_minute:
            raise RateLimited(
                f"This room ran {self.runs_per_minute} programs in the last minute; wait a little."
            )
        if self._running[room_id] >= self.max_concurrent:
            raise RateLimited(
                f"{self.max_concurrent} programs of this room are already running; wait for them."
            )
        recent.append(now)
        self._running[room_id] += 1


def _allowed(runtime: Runtime, languages: list[str]) -> bool:
    return bool(runtime.names() & {name.lower() for name in languages})


def _sandbox_error(error: PistonError) -> Exception:
    """What the cell shows: Piston's own refusal (about the program), never where Piston
    is or how it failed (that goes to the server's log)."""
    if isinstance(error, PistonRejected):
        return SandboxRejected(f"The sandbox refused the program: {error.message}")
    log.warning("Piston: %s", error.message)
    if error.status is not None and error.status >= 500:
        return SandboxFailed("The code sandbox failed to run the program; try again.")
    return SandboxUnavailable("The code sandbox is not reachable right now; try again.")
