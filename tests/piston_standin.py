"""A local stand-in for a Piston API v2 server that replays ../shared/piston/fixtures.json.

No Piston server can run here; these replies were captured from a real one. A request is
answered with the recorded reply of the case whose body equals it; failing that, of the
case with the same language (aliases resolved), program, stdin and args (so a magic that
names the file differently still matches). Every request is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "piston" / "fixtures.json"


def load_cases() -> list[dict[str, Any]]:
    return json.loads(FIXTURES.read_text())["cases"]


def _runtimes(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return next(c["response_body"] for c in cases if c["path"] == "/api/v2/runtimes")


def _key(body: Any, runtimes: list[dict[str, Any]]) -> tuple | None:
    if not isinstance(body, dict) or not isinstance(body.get("files"), list) or not body["files"]:
        return None
    name = str(body.get("language", "")).lower()
    language = next(
        (r["language"] for r in runtimes if name == r["language"] or name in r["aliases"]), name
    )
    main = body["files"][0]
    return (
        language,
        (main.get("content") or "").rstrip("\n"),
        (body.get("stdin") or "").rstrip("\n"),
        tuple(body.get("args") or ()),
        len(body["files"]),
        body.get("run_timeout"),
    )


class PistonStandIn:
    def __init__(self) -> None:
        self.cases = load_cases()
        self.requests: list[tuple[str, str, Any]] = []
        self.exact_matches = 0
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                standin.requests.append(("GET", self.path, None))
                case = next(
                    (c for c in standin.cases if c["method"] == "GET" and c["path"] == self.path),
                    None,
                )
                if case is None:
                    self._reply(404, {"message": "Not Found"})
                else:
                    self._reply(case["status"], case["response_body"])

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                    self._reply(415, {"message": "requests must be of type application/json"})
                    return
                body = json.loads(raw)
                standin.requests.append(("POST", self.path, body))
                posts = [c for c in standin.cases if c["method"] == "POST"]
                case = next((c for c in posts if c["request_body"] == body), None)
                if case is not None:
                    standin.exact_matches += 1
                else:
                    runtimes = _runtimes(standin.cases)
                    key = _key(body, runtimes)
                    case = next(
                        (c for c in posts if key and _key(c["request_body"], runtimes) == key),
                        None,
                    )
                if case is None:
                    self._reply(400, {"message": "stand-in: no recorded reply for this request"})
                else:
                    self._reply(case["status"], case["response_body"])

            def _reply(self, status: int, body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PistonStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
