"""POST /interview/api/rooms/{id}/execute: the room's limits in front of Piston."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_interview.sandbox.executor import NO_SANDBOX

from .piston_standin import PistonStandIn, load_cases
from .server import TOKEN, InterviewServer, free_port, link_token

CASES = {c["name"]: c for c in load_cases()}
CPP_HELLO = CASES["hello world (c++)"]["request_body"]["files"][0]["content"]
PY_HELLO = CASES["hello world (python)"]["request_body"]["files"][0]["content"]
CPP_BROKEN = CASES["compile error (c++)"]["request_body"]["files"][0]["content"]


@pytest.fixture(scope="module")
def piston() -> Iterator[PistonStandIn]:
    with PistonStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def sandboxed(
    piston: PistonStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InterviewServer]:
    srv = InterviewServer(
        tmp_path_factory.mktemp("sandboxed") / "data",
        f"--RoomExecutor.piston_url={piston.url}",
        "--RoomExecutor.runs_per_minute=6",
    ).start()
    yield srv
    srv.stop()


def _execute(server: InterviewServer, token: str | None, room: dict, **body: object):
    with server.client(token) as c:
        return c.post(f"interview/api/rooms/{room['id']}/execute", json=body)


def test_candidate_runs_cpp(sandboxed: InterviewServer) -> None:
    room = sandboxed.create_room("algorithms-warmup")
    token = link_token(room["links"]["candidate"])
    r = _execute(sandboxed, token, room, language="cpp", code=CPP_HELLO)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] == "ok"
    assert result["language"] == "c++"
    assert result["run"]["stdout"] == "Hello, World!\n"
    assert result["compile"]["code"] == 0

    broken = _execute(sandboxed, token, room, language="c++", code=CPP_BROKEN).json()
    assert broken["status"] == "compile_error"
    assert "error" in broken["compile"]["stderr"]

    with sandboxed.client() as c:
        runtimes = c.get(f"interview/api/rooms/{room['id']}/runtimes").json()
        history = c.get(f"interview/api/rooms/{room['id']}/executions").json()
    assert {r["language"] for r in runtimes} == {"c++", "python"}
    assert [(e["language"], e["status"], e["role"]) for e in history] == [
        ("c++", "ok", "candidate"),
        ("c++", "compile_error", "candidate"),
    ]
    assert len(history[0]["code_sha256"]) == 64 and history[0]["duration_ms"] >= 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"language": "cpp", "code": "x" * (64 * 1024 + 1)}, 413, "code_too_large"),
        (
            {"language": "python", "code": PY_HELLO, "stdin": "y" * (64 * 1024 + 1)},
            413,
            "code_too_large",
        ),
        ({"language": "cobol", "code": "DISPLAY 'HI'."}, 400, "unknown_language"),
        ({"language": "rust", "code": "fn main() {}"}, 403, "language_not_allowed"),
        (
            {"language": "python", "code": PY_HELLO, "run_timeout_ms": 60_000},
            400,
            "invalid_request",
        ),
        ({"language": "python", "code": "print(1)", "version": "99.x"}, 400, "piston_rejected"),
        ({"language": "c++; rm -rf /", "code": "x"}, 400, "invalid_request"),
        ({"code": "x"}, 400, "invalid_request"),
    ],
)
def test_limits_and_errors(sandboxed: InterviewServer, body: dict, status: int, code: str) -> None:
    room = sandboxed.create_room("algorithms-warmup")
    r = _execute(sandboxed, link_token(room["links"]["candidate"]), room, **body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code
    assert r.json()["message"]


def test_read_only_links_cannot_execute(sandboxed: InterviewServer) -> None:
    room = sandboxed.create_room("algorithms-warmup")
    observer = link_token(room["links"]["observer"])
    assert _execute(sandboxed, observer, room, language="cpp", code=CPP_HELLO).status_code == 403
    candidate = link_token(room["links"]["candidate"])
    other = sandboxed.create_room("algorithms-warmup")
    assert _execute(sandboxed, candidate, other, language="cpp", code=CPP_HELLO).status_code == 403
    with sandboxed.client() as c:
        c.post(f"interview/api/rooms/{room['id']}/end").raise_for_status()
    assert _execute(sandboxed, candidate, room, language="cpp", code=CPP_HELLO).status_code == 403
    # The interviewer still can.
    assert _execute(sandboxed, TOKEN, room, language="cpp", code=CPP_HELLO).status_code == 200


def test_rate_limit(sandboxed: InterviewServer) -> None:
    room = sandboxed.create_room("algorithms-warmup")
    token = link_token(room["links"]["candidate"])
    statuses = [
        _execute(sandboxed, token, room, language="python", code=PY_HELLO).status_code
        for _ in range(7)
    ]
    assert statuses[:6] == [200] * 6
    assert statuses[6] == 429


def test_no_piston_configured(server: InterviewServer) -> None:
    room = server.create_room("algorithms-warmup")
    r = _execute(server, link_token(room["links"]["candidate"]), room, language="cpp", code="x")
    assert r.status_code == 503
    assert r.json()["error"] == "piston_unavailable"
    # The candidate reads no server setting; the interviewer's room says what to set.
    assert r.json()["message"] == NO_SANDBOX
    assert any("PISTON_URL" in w and "c++" in w for w in room["warnings"]), room["warnings"]


def test_piston_down(tmp_path: Path) -> None:
    srv = InterviewServer(
        tmp_path / "data", f"--RoomExecutor.piston_url=http://127.0.0.1:{free_port()}"
    ).start()
    try:
        room = srv.create_room("algorithms-warmup")
        r = _execute(srv, link_token(room["links"]["candidate"]), room, language="cpp", code="x")
        assert r.status_code == 503
        assert "not reachable" in r.json()["message"]
        assert "127.0.0.1" not in r.json()["message"]
        with srv.client() as c:
            assert c.get("interview/api/health").status_code == 200
    finally:
        srv.stop()
