"""A real `jupyter interview` server in a subprocess, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).parent / "jupyter"
TOKEN = "interviewer-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class InterviewServer:
    """Start, stop and talk to one server; the data directory outlives restarts."""

    def __init__(self, data_dir: Path, *extra_args: str, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    health_path = "interview/api/health"

    def command(self) -> list[str]:
        """The server's command line, less the options every server here shares."""
        return [str(JUPYTER), "interview", f"--InterviewApp.data_dir={self.data_dir}"]

    def start(self, timeout: float = 60) -> InterviewServer:
        args = [
            *self.command(),
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={TOKEN}",
            *self.extra_args,
        ]
        if os.geteuid() == 0:
            args.append("--allow-root")
        log = self.log_path.open("ab")
        # A working directory of its own: the test checks nothing is written there.
        workdir = self.data_dir.parent / "cwd"
        workdir.mkdir(exist_ok=True)
        # Python's fault handler: a server that hangs can be made to print its threads.
        env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + self.health_path, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"server did not answer within {timeout}s:\n{self.log()}")

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"token {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def create_room(self, template: str = "sql-groupby", **fields: object) -> dict:
        with self.client() as c:
            r = c.post("interview/api/rooms", json={"template": template, **fields})
            r.raise_for_status()
            return r.json()


def link_token(link: str) -> str:
    return link.rsplit("/", 1)[1]
