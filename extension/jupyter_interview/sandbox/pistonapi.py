"""Piston API v2 shapes: the execute request, the result, the errors. No dependencies.

Shared by the server's client (``piston.py``, httpx) and the ``%%piston`` magics, which
also run inside Pyodide where neither httpx nor the server's packages exist.
Facts from captured Piston replies (shared/piston): when compilation fails, ``run`` is a
copy of ``compile``; ``status`` is RE, SG, TO, OL, EL, XX or null; errors are 400
``{"message"}``, except malformed JSON (400 ``{"stack"}``) and internal failures (500,
empty body).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUS_TEXT = {
    None: "ok",
    "RE": "runtime error",
    "SG": "killed by a signal",
    "TO": "time limit exceeded",
    "OL": "stdout limit exceeded",
    "EL": "stderr limit exceeded",
    "XX": "internal error",
}


class PistonError(Exception):
    """Piston could not run the program; ``message`` is Piston's own words when it gave any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class PistonRejected(PistonError):
    """Piston refused the request (HTTP 4xx): unknown language, bad version, a limit..."""


class PistonUnavailable(PistonError):
    """Piston did not answer, answered 5xx, or is not configured."""


class PistonTimeout(PistonUnavailable):
    """Piston took longer than the client waits."""


@dataclass
class Stage:
    """One stage (compile or run) of an execution."""

    stdout: str = ""
    stderr: str = ""
    output: str = ""
    code: int | None = None
    signal: str | None = None
    message: str | None = None
    status: str | None = None
    cpu_time: int | None = None
    wall_time: int | None = None
    memory: int | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Stage:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Result:
    language: str
    version: str
    run: Stage
    compile: Stage | None = None

    @property
    def compile_failed(self) -> bool:
        return self.compile is not None and (self.compile.code != 0 or bool(self.compile.status))

    @property
    def status(self) -> str:
        """ok, compile_error, runtime_error, signal, timeout, output_limit or internal_error."""
        if self.compile_failed:
            return "compile_error"
        return {
            None: "ok" if not self.run.code else "runtime_error",
            "RE": "runtime_error",
            "SG": "signal",
            "TO": "timeout",
            "OL": "output_limit",
            "EL": "output_limit",
            "XX": "internal_error",
        }.get(self.run.status, "internal_error")

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Result:
        if not isinstance(data, dict) or not isinstance(data.get("run"), dict):
            raise PistonError(f"Piston answered something that is not a result: {data!r:.200}")
        compile_stage = data.get("compile")
        return cls(
            language=data.get("language", ""),
            version=data.get("version", ""),
            run=Stage.parse(data["run"]),
            compile=Stage.parse(compile_stage) if isinstance(compile_stage, dict) else None,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status
        return out


@dataclass
class Runtime:
    language: str
    version: str
    aliases: list[str] = field(default_factory=list)
    runtime: str | None = None

    def names(self) -> set[str]:
        return {self.language, *self.aliases}


def execute_body(
    language: str,
    code: str,
    *,
    version: str = "*",
    stdin: str | None = None,
    args: list[str] | None = None,
    files: list[dict[str, str]] | None = None,
    file_name: str | None = None,
    encoding: str | None = None,
    compile_timeout: int | None = None,
    run_timeout: int | None = None,
    compile_cpu_time: int | None = None,
    run_cpu_time: int | None = None,
    compile_memory_limit: int | None = None,
    run_memory_limit: int | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/v2/execute``; the code is the first (main) file.

    ``files`` are more files ({name, content, encoding?}); ``encoding`` (utf8, base64, hex)
    is the main file's. Times are milliseconds, memory limits bytes.
    """
    main: dict[str, str] = {"name": file_name} if file_name else {}
    main["content"] = code
    if encoding:
        main["encoding"] = encoding
    body: dict[str, Any] = {
        "language": language,
        "version": version,
        "files": [main, *(files or [])],
    }
    optional = {
        "stdin": stdin,
        "args": args,
        "compile_timeout": compile_timeout,
        "run_timeout": run_timeout,
        "compile_cpu_time": compile_cpu_time,
        "run_cpu_time": run_cpu_time,
        "compile_memory_limit": compile_memory_limit,
        "run_memory_limit": run_memory_limit,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def error_for(status: int, data: Any) -> PistonError:
    """The exception for a non-200 reply, carrying Piston's message."""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        message = data["message"]
    elif isinstance(data, dict) and isinstance(data.get("stack"), str):
        message = "Piston could not read the request: " + data["stack"].splitlines()[0]
    else:
        message = f"Piston failed (HTTP {status})"
    if 400 <= status < 500:
        return PistonRejected(message, status)
    return PistonUnavailable(message, status)


def parse_runtimes(data: Any) -> list[Runtime]:
    if not isinstance(data, list):
        raise PistonError("Piston's runtime list is not a list")
    return [
        Runtime(r["language"], r["version"], list(r.get("aliases", [])), r.get("runtime"))
        for r in data
        if isinstance(r, dict) and "language" in r and "version" in r
    ]


def resolve(runtimes: list[Runtime], name: str) -> Runtime | None:
    """The runtime a language name or alias (cpp, js, py...) stands for."""
    name = name.lower()
    for runtime in runtimes:
        if name in runtime.names():
            return runtime
    return None
