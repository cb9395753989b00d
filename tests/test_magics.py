"""The %%piston magics in a real ipykernel: straight to Piston, and through a room."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from jupyter_client.manager import start_new_kernel

from .piston_standin import PistonStandIn, load_cases
from .server import TOKEN, InterviewServer

CASES = {c["name"]: c for c in load_cases()}
CPP_HELLO = CASES["hello world (c++)"]["request_body"]["files"][0]["content"]
CPP_BROKEN = CASES["compile error (c++)"]["request_body"]["files"][0]["content"]
STDIN_CASE = CASES["stdin echo (python input() twice)"]["request_body"]


def _run(client, code: str, *, ok: bool = True) -> tuple[str, str]:
    """Execute in the kernel; return its stdout and stderr (and error traceback)."""
    out, err = [], []

    def collect(message: dict) -> None:
        if message["msg_type"] == "stream":
            (out if message["content"]["name"] == "stdout" else err).append(
                message["content"]["text"]
            )
        elif message["msg_type"] == "error":
            err.append("\n".join(message["content"]["traceback"]))

    reply = client.execute_interactive(code, output_hook=collect, timeout=60)
    assert (reply["content"]["status"] == "ok") is ok, err
    return "".join(out), "".join(err)


@pytest.fixture(scope="module")
def piston() -> Iterator[PistonStandIn]:
    with PistonStandIn() as standin:
        yield standin


def test_straight_to_piston(piston: PistonStandIn) -> None:
    env = {**os.environ, "PISTON_URL": piston.url}
    env.pop("JUPYTER_INTERVIEW_URL", None)
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        _run(client, "%load_ext jupyter_interview.sandbox.magics")
        out, err = _run(client, "%%piston cpp\n" + CPP_HELLO)
        assert out.startswith("Hello, World!\n")
        assert "[c++ 12.2.0 · ok" in out
        out, err = _run(client, "%%piston c++\n" + CPP_BROKEN)
        assert "error" in err and "compilation failed" in err
        code = STDIN_CASE["files"][0]["content"]
        _run(client, f"data = {STDIN_CASE['stdin']!r}")
        out, err = _run(client, "%%piston python --version 3.x --stdin-var data\n" + code)
        assert "first='hello' second='world'" in out
        out, _ = _run(client, "%piston_runtimes")
        assert "c++" in out and "cpp" in out
        # Options read like a shell line: quotes group words, and are not passed on.
        _run(client, "%%piston cpp --stdin \"the cat and the hat\" --args 'a b' c\n" + CPP_HELLO)
        body = piston.requests[-1][2]
        assert body["stdin"] == "the cat and the hat"
        assert body["args"] == ["a b", "c"]
        _, err = _run(client, '%%piston cpp --stdin "unbalanced\n' + CPP_HELLO, ok=False)
        assert "No closing quotation" in err
        out, err = _run(client, "%%piston cobol\nDISPLAY 'HI'.")
        assert "cobol-* runtime is unknown" in err
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_through_the_room(piston: PistonStandIn, tmp_path) -> None:
    srv = InterviewServer(tmp_path / "data", f"--RoomExecutor.piston_url={piston.url}").start()
    try:
        room = srv.create_room("algorithms-warmup")
        env = {
            **os.environ,
            "JUPYTER_INTERVIEW_URL": srv.url,
            "JUPYTER_INTERVIEW_ROOM": room["id"],
            "JUPYTER_INTERVIEW_TOKEN": TOKEN,
        }
        env.pop("PISTON_URL", None)
        manager, client = start_new_kernel(kernel_name="python3", env=env)
        try:
            _run(client, "%load_ext jupyter_interview.sandbox.magics")
            out, _ = _run(client, "%%piston cpp\n" + CPP_HELLO)
            assert out.startswith("Hello, World!\n")
            out, err = _run(client, "%%piston rust\nfn main() {}")
            assert "not allowed in this interview" in err
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
        with srv.client() as c:
            history = c.get(f"interview/api/rooms/{room['id']}/executions").json()
        assert [e["role"] for e in history] == ["interviewer"]
    finally:
        srv.stop()


def test_without_a_sandbox_the_magic_says_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PISTON", "JUPYTER_INTERVIEW"))}
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        _run(client, "%load_ext jupyter_interview.sandbox.magics")
        _, err = _run(client, "%%piston cpp\nint main() {}")
        assert "set PISTON_URL" in err
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
