"""``%%piston LANG`` and ``%piston_runtimes``: other languages, run in the Piston sandbox.

Load with ``%load_ext jupyter_interview.sandbox.magics`` (room notebooks load it by themselves).
Runs in ipykernel and in the browser's Pyodide kernel alike, so it needs nothing beyond
the standard library and IPython: in Pyodide it sends synchronous XHRs from the kernel's
worker, elsewhere it uses urllib.

Where programs go, first match wins:
- ``configure(base_url=…, room_id=…)`` or JUPYTER_INTERVIEW_URL + JUPYTER_INTERVIEW_ROOM
  (+ JUPYTER_INTERVIEW_TOKEN): the room's execute endpoint on the interview server, which
  holds the Piston URL and applies the room's limits. The candidate page configures this.
- ``configure(piston_url=…)`` or PISTON_URL (+ PISTON_AUTHORIZATION): straight to Piston.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .pistonapi import (
    STATUS_TEXT,
    PistonError,
    PistonRejected,
    PistonUnavailable,
    Result,
    Runtime,
    error_for,
    execute_body,
    parse_runtimes,
)


def _send(method: str, url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body)
    if sys.platform == "emscripten":
        from js import XMLHttpRequest  # type: ignore[import-not-found]

        request = XMLHttpRequest.new()
        request.open(method, url, False)
        for name, value in headers.items():
            request.setRequestHeader(name, value)
        request.send(data)
        status, text = request.status, request.responseText
        if status == 0:
            raise PistonUnavailable(f"{url} is unreachable")
    else:
        encoded = None if data is None else data.encode()
        req = urllib.request.Request(url, data=encoded, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode(errors="replace")
        except OSError as e:
            raise PistonUnavailable(f"{url} is unreachable: {e}") from None
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, None


@dataclass
class RoomEndpoint:
    """The interview server's ``/interview/api/rooms/{id}/…`` endpoints."""

    base_url: str
    room_id: str
    token: str | None = None
    xsrf: str | None = None

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if self.xsrf:
            headers["X-XSRFToken"] = self.xsrf
        url = f"{self.base_url.rstrip('/')}/interview/api/rooms/{self.room_id}/{path}"
        status, data = _send(method, url, body, headers)
        if status != 200:
            message = data.get("message") if isinstance(data, dict) else None
            cls = PistonRejected if status in (400, 403, 409, 413, 429) else PistonUnavailable
            raise cls(message or f"the interview server answered {status}", status)
        return data

    def execute(self, language: str, code: str, **options: Any) -> Result:
        body = {"language": language, "code": code, "version": options.get("version", "*")}
        for ours, theirs in (
            ("stdin", "stdin"),
            ("args", "args"),
            ("run_timeout", "run_timeout_ms"),
        ):
            if options.get(ours) is not None:
                body[theirs] = options[ours]
        return Result.parse(self._call("POST", "execute", body))

    def runtimes(self) -> list[Runtime]:
        return parse_runtimes(self._call("GET", "runtimes"))


@dataclass
class PistonEndpoint:
    """A Piston server, directly (an interviewer's own kernel)."""

    url: str
    authorization: str | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        return headers

    def execute(self, language: str, code: str, **options: Any) -> Result:
        body = execute_body(language, code, **options)
        status, data = _send(
            "POST", self.url.rstrip("/") + "/api/v2/execute", body, self._headers()
        )
        if status != 200:
            raise error_for(status, data)
        return Result.parse(data)

    def runtimes(self) -> list[Runtime]:
        status, data = _send(
            "GET", self.url.rstrip("/") + "/api/v2/runtimes", None, self._headers()
        )
        if status != 200:
            raise error_for(status, data)
        return parse_runtimes(data)


Endpoint = RoomEndpoint | PistonEndpoint
_configured: Endpoint | None = None


def configure(
    *,
    base_url: str | None = None,
    room_id: str | None = None,
    token: str | None = None,
    xsrf: str | None = None,
    piston_url: str | None = None,
    authorization: str | None = None,
) -> None:
    """Say where %%piston sends programs (see the module's docstring)."""
    global _configured
    if base_url and room_id:
        _configured = RoomEndpoint(base_url, room_id, token or None, xsrf or None)
    elif piston_url:
        _configured = PistonEndpoint(piston_url, authorization or None)
    else:
        raise ValueError("give base_url and room_id, or piston_url")


def endpoint() -> Endpoint:
    if _configured is not None:
        return _configured
    env = os.environ
    if env.get("JUPYTER_INTERVIEW_URL") and env.get("JUPYTER_INTERVIEW_ROOM"):
        return RoomEndpoint(
            env["JUPYTER_INTERVIEW_URL"],
            env["JUPYTER_INTERVIEW_ROOM"],
            env.get("JUPYTER_INTERVIEW_TOKEN"),
        )
    if env.get("PISTON_URL"):
        return PistonEndpoint(env["PISTON_URL"], env.get("PISTON_AUTHORIZATION"))
    raise PistonUnavailable(
        "%%piston does not know where to run programs: open the notebook from an interview "
        "room, or set PISTON_URL (a Piston API v2 server)."
    )


def _parse(magic: Any, line: str) -> Any:
    """Options as a shell reads them: quotes group words and are not part of the value
    (IPython's own splitting keeps them: --stdin "a b" gave the program "a b" with quotes)."""
    try:
        argv = shlex.split(line)
    except ValueError as e:
        raise UsageError(f"%%piston: {e} in: {line}") from None
    return magic.parser.parse_args(argv)


def show(result: Result) -> None:
    """Print a result the way a terminal would, then one line saying how it went."""
    if result.compile_failed and result.compile is not None:
        sys.stderr.write(result.compile.stderr or result.compile.stdout or "")
        note = f"compilation failed (exit code {result.compile.code})"
        stage = result.compile
    else:
        sys.stdout.write(result.run.stdout)
        sys.stderr.write(result.run.stderr)
        stage = result.run
        note = {
            "ok": "ok",
            "runtime_error": f"exit code {stage.code}",
            "signal": f"killed by {stage.signal or 'a signal'}",
            "timeout": stage.message or STATUS_TEXT["TO"],
            "output_limit": "output cut: over the sandbox's output limit",
        }.get(result.status, stage.message or result.status)
    timing = [f"{stage.wall_time} ms"] if stage.wall_time is not None else []
    if stage.memory:
        timing.append(f"{stage.memory / 1e6:.1f} MB")
    line = " · ".join([f"{result.language} {result.version}", note, *timing])
    stream = sys.stdout if result.status == "ok" else sys.stderr
    stream.write("" if (result.run.stdout or "").endswith("\n") or not result.run.stdout else "\n")
    stream.write(f"[{line}]\n")


@magics_class
class PistonMagics(Magics):
    @magic_arguments()
    @argument("language", help="cpp, c, java, go, rust, js, ts, csharp, ruby, php, bash, …")
    @argument("--version", default="*", help="a version or range (default: the newest)")
    @argument("--stdin", default=None, help="text given to the program on standard input")
    @argument("--stdin-var", default=None, help="a variable whose value is the standard input")
    @argument("--timeout", type=int, default=None, help="run timeout in milliseconds")
    @argument("--args", nargs="*", default=None, help="command-line arguments (last option)")
    @cell_magic
    def piston(self, line: str, cell: str) -> None:
        """Run the cell in the Piston sandbox, in another language: %%piston cpp"""
        args = _parse(self.piston, line)
        stdin = args.stdin
        if args.stdin_var:
            if args.stdin is not None:
                sys.stderr.write("Give --stdin or --stdin-var, not both.\n")
                return
            value = self.shell.user_ns.get(args.stdin_var) if self.shell else None
            if value is None:
                sys.stderr.write(f"No variable {args.stdin_var!r} to read stdin from.\n")
                return
            stdin = str(value)
        try:
            result = endpoint().execute(
                args.language,
                cell,
                version=args.version,
                stdin=stdin,
                args=args.args,
                run_timeout=args.timeout,
            )
        except PistonError as e:
            sys.stderr.write(f"%%piston: {e.message}\n")
            return
        show(result)

    @line_magic
    def piston_runtimes(self, line: str) -> None:
        """List the languages %%piston can run here, with their versions and aliases."""
        try:
            runtimes = endpoint().runtimes()
        except PistonError as e:
            sys.stderr.write(f"%piston_runtimes: {e.message}\n")
            return
        for runtime in sorted(runtimes, key=lambda r: r.language):
            aliases = ", ".join(runtime.aliases)
            print(f"{runtime.language:<12} {runtime.version:<10} {aliases}")


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(PistonMagics)
