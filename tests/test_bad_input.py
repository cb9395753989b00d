"""Bad input gets a clear JSON error, never a 500, and never touches a saved notebook."""

from __future__ import annotations

import hashlib

import pytest

from .server import InterviewServer


def _fingerprint(server: InterviewServer) -> dict[str, str]:
    return {
        str(p.relative_to(server.data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in server.data_dir.glob("rooms/*/*.ipynb")
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "interview/api/rooms", b"{not json", 400, "invalid_json"),
        ("POST", "interview/api/rooms", b"[1, 2]", 400, "invalid_request"),
        ("POST", "interview/api/rooms", b'{"template": "nope"}', 404, "unknown_template"),
        (
            "POST",
            "interview/api/rooms",
            b'{"template": "../../etc/passwd"}',
            400,
            "invalid_request",
        ),
        (
            "POST",
            "interview/api/rooms",
            b'{"template": "sql-groupby", "x": 1}',
            400,
            "invalid_request",
        ),
        (
            "POST",
            "interview/api/rooms",
            b'{"template": "sql-groupby", "duration_minutes": -5}',
            400,
            "invalid_request",
        ),
        (
            "POST",
            "interview/api/rooms",
            b'{"template": "' + b"a" * 300_000 + b'"}',
            413,
            "body_too_large",
        ),
        ("GET", "interview/api/rooms/..%2Fx", None, 400, "invalid_room_id"),
        ("GET", "interview/api/rooms/ZZZZ", None, 400, "invalid_room_id"),
        ("GET", "interview/api/rooms/0123456789abcdef", None, 404, "room_not_found"),
        ("POST", "interview/api/rooms/0123456789abcdef/end", None, 404, "room_not_found"),
        ("DELETE", "interview/api/rooms/..%2F..%2Frooms", None, 400, "invalid_room_id"),
        ("GET", "interview/api/rooms?status=maybe", None, 400, "invalid_request"),
        ("PUT", "interview/api/rooms", b"{}", 405, "method_not_allowed"),
        ("DELETE", "interview/api/templates", None, 405, "method_not_allowed"),
    ],
)
def test_bad_requests_get_json_errors(
    server: InterviewServer, method: str, path: str, body: bytes | None, status: int, code: str
) -> None:
    room = server.create_room()
    before = _fingerprint(server)
    with server.client() as c:
        r = c.request(method, path, content=body)
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["error"] == code
    assert payload["message"]
    assert _fingerprint(server) == before
    assert (server.data_dir / room["notebook_path"]).is_file()


def test_unknown_and_malformed_links(server: InterviewServer) -> None:
    with server.client(token=None) as c:
        for token in ("ji_" + "A" * 43, "nope", "ji_" + "%2E%2E%2F" * 5):
            r = c.get(f"interview/r/{token}", follow_redirects=False)
            assert r.status_code == 404
            assert "not valid" in r.text
            assert "set-cookie" not in r.headers
    for token in ("ji_" + "A" * 43, "garbage"):
        with server.client(token=token) as c:
            assert c.get("interview/api/rooms").status_code == 403


def test_server_survives_bad_input(server: InterviewServer) -> None:
    with server.client() as c:
        assert c.get("interview/api/health").status_code == 200
    assert "Traceback" not in server.log()
    assert " 500 " not in server.log()
