"""A room link reaches its own room's notebook and nothing else."""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
import pytest
from httpx_ws import WebSocketUpgradeError, aconnect_ws

from .server import TOKEN, InterviewServer, link_token
from .yclient import connect, open_session

pytestmark = pytest.mark.anyio


def _probe(server: InterviewServer, token: str, method: str, path: str, **kw: object) -> int:
    with server.client(token) as c:
        return c.request(method, path, **kw).status_code


@pytest.mark.parametrize("role", ["candidate", "observer"])
def test_room_link_reaches_only_its_room(server: InterviewServer, role: str) -> None:
    mine = server.create_room()
    other = server.create_room()
    token = link_token(mine["links"][role])
    nb, folder = mine["notebook_path"], mine["notebook_path"].rsplit("/", 1)[0]
    other_nb, other_folder = other["notebook_path"], other["notebook_path"].rsplit("/", 1)[0]

    allowed = [
        ("GET", f"interview/api/rooms/{mine['id']}"),
        ("GET", f"api/contents/{nb}"),
        ("GET", f"api/contents/{folder}"),
        ("GET", "lab/api/settings"),
        ("GET", "api/me"),
    ]
    for method, path in allowed:
        assert _probe(server, token, method, path) == 200, path

    # The kernel lists the root when it mounts the contents API: listings on the way to the
    # room are allowed but show nothing of other rooms.
    with server.client(token) as c:
        root = c.get("api/contents").json()
        assert [e["path"] for e in root["content"]] == ["rooms"]
        rooms = c.get("api/contents/rooms").json()
        assert [e["path"] for e in rooms["content"]] == [folder]
    with server.client() as c:
        assert len(c.get("api/contents/rooms").json()["content"]) >= 2

    refused = [
        ("GET", "interview/api/rooms"),
        ("GET", "interview/api/templates"),
        ("POST", "interview/api/rooms"),
        ("GET", f"interview/api/rooms/{other['id']}"),
        ("PATCH", f"interview/api/rooms/{mine['id']}"),
        ("DELETE", f"interview/api/rooms/{mine['id']}"),
        ("POST", f"interview/api/rooms/{mine['id']}/end"),
        ("POST", f"interview/api/rooms/{mine['id']}/runs"),
        ("POST", f"interview/api/rooms/{mine['id']}/interrupt"),
        ("GET", f"interview/api/rooms/{other['id']}/events"),
        ("POST", f"interview/api/rooms/{other['id']}/runs/0123456789abcdef"),
        ("GET", f"interview/api/rooms/{mine['id']}/executions"),
        ("PATCH", f"api/contents/{folder}/x.txt"),
        ("PUT", "api/contents/rooms/new.txt"),
        ("DELETE", "api/contents/rooms"),
        ("GET", f"api/contents/{other_folder}"),
        ("GET", f"api/contents/{other_nb}"),
        ("GET", f"api/contents/{folder}/..%2F{other['id']}"),
        ("GET", f"files/{other_nb}"),
        ("GET", f"nbconvert/html/{nb}"),
        ("GET", f"nbconvert/html/{other_nb}"),
        ("PUT", f"api/contents/{nb}"),
        ("DELETE", f"api/contents/{nb}"),
        ("GET", "api/kernelspecs"),
        ("GET", "kernelspecs/python3/logo-64x64.png"),
        ("GET", "api/kernels"),
        ("POST", "api/kernels"),
        ("GET", "api/sessions"),
        ("POST", "api/sessions"),
        ("GET", "api/terminals"),
        ("POST", "api/terminals"),
        ("GET", "lab/api/workspaces"),
        ("PUT", "lab/api/workspaces/lab"),
        ("PUT", "lab/api/settings/@jupyterlab/apputils-extension:themes"),
        ("GET", "api/events/subscribe"),
        ("PUT", f"api/collaboration/session/{other_nb}"),
        ("GET", "api/collaboration/fork/x"),
        ("GET", f"api/collaboration/timeline/{nb}?format=json&type=notebook"),
        ("GET", "api/fileid/id?path=" + other_nb),
        ("POST", "api/shutdown"),
        ("GET", "lab"),
        ("GET", f"notebooks/{other_nb}"),
    ]
    for method, path in refused:
        status = _probe(server, token, method, path, json={})
        assert status in (403, 404, 302), f"{method} {path} answered {status}"
        assert status != 200


async def test_room_websocket_is_only_its_own(server: InterviewServer) -> None:
    mine, other = server.create_room(), server.create_room()
    token = link_token(mine["links"]["candidate"])
    other_session = (
        await open_session(
            server.url, link_token(other["links"]["candidate"]), other["notebook_path"]
        )
    ).json()
    assert (await open_session(server.url, token, other["notebook_path"])).status_code == 403
    url = f"{server.ws_url}api/collaboration/room/json:notebook:{other_session['fileId']}"
    async with httpx.AsyncClient(headers={"Authorization": f"token {token}"}) as http:
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with aconnect_ws(f"{url}?sessionId={other_session['sessionId']}", http):
                pass
    assert refused.value.response.status_code == 403
    async with connect(server.url, token, mine["notebook_path"]) as client:
        assert client.cells


async def test_cookie_websocket_from_a_foreign_origin_is_refused(server: InterviewServer) -> None:
    room = server.create_room()
    token = link_token(room["links"]["candidate"])
    async with httpx.AsyncClient(base_url=server.url, follow_redirects=True) as browser:
        landing = await browser.get(f"interview/r/{token}")
        assert landing.status_code == 200  # followed to the notebook page, cookie set
        session = await browser.put(
            f"api/collaboration/session/{room['notebook_path']}",
            json={"format": "json", "type": "notebook"},
            headers={"X-XSRFToken": browser.cookies.get("_xsrf", "")},
        )
        assert session.status_code in (200, 201), session.text
        s = session.json()
        url = (
            f"{server.ws_url}api/collaboration/room/json:notebook:{s['fileId']}"
            f"?sessionId={s['sessionId']}"
        )
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with aconnect_ws(url, browser, headers={"Origin": "https://evil.example"}):
                pass
        assert refused.value.response.status_code == 403
        same_origin = {"Origin": server.url.rstrip("/")}
        async with aconnect_ws(url, browser, headers=same_origin) as ws:
            assert await ws.receive_bytes()


def test_the_server_token_beats_a_room_cookie(server: InterviewServer) -> None:
    """jupyter_server keeps the cookie's user when a request carries the server token; a
    browser that once opened a candidate link must not stay the candidate."""
    room = server.create_room()
    with server.client(token=None) as browser:
        candidate = link_token(room["links"]["candidate"])
        assert browser.get(f"interview/api/rooms/{room['id']}?token={candidate}").is_success
        assert browser.get("interview/api/rooms").status_code == 403  # the cookie: a candidate
        rooms = browser.get(f"interview/api/rooms?token={TOKEN}")
        assert rooms.status_code == 200
        assert browser.get("interview/api/rooms").status_code == 200  # the cookie is replaced


def test_tokens_are_stored_hashed_and_not_logged(server: InterviewServer) -> None:
    room = server.create_room()
    tokens = [link_token(room["links"][r]) for r in ("candidate", "observer")]
    for token in tokens:
        assert len(token) >= 3 + 43  # 256 bits, base64url
        with server.client(token=None) as c:
            c.get(f"interview/r/{token}", follow_redirects=False)
            c.get(f"interview/api/rooms/{room['id']}?token={token}")
            c.get(f"api/kernels?token={token}")
    unknown = "ji_" + "Z" * 43
    with server.client(token=None) as c:
        assert c.get(f"interview/r/{unknown}").status_code == 404
    db = sqlite3.connect(server.data_dir / ".interview.db")
    dump = "\n".join(db.iterdump())
    raw = b"".join(p.read_bytes() for p in server.data_dir.glob(".interview.db*"))
    assert unknown not in server.log()
    for token in tokens:
        assert token not in dump
        assert token.encode() not in raw
        assert token not in server.log()
    assert "/interview/r/<token>" in server.log()


async def test_ended_room_turns_the_candidate_link_read_only(server: InterviewServer) -> None:
    room = server.create_room()
    token = link_token(room["links"]["candidate"])
    nb = room["notebook_path"]
    async with connect(server.url, token, nb) as candidate:
        candidate.notebook.ycells[0]["source"].insert(0, "before end\n")
        await candidate.roundtrip()
        with server.client() as c:
            assert c.post(f"interview/api/rooms/{room['id']}/end").status_code == 200
        candidate.notebook.ycells[0]["source"].insert(0, "after end\n")
        await candidate.roundtrip()
    assert _probe(server, token, "GET", f"interview/api/rooms/{room['id']}") == 200
    with server.client(token) as c:
        assert c.get(f"interview/api/rooms/{room['id']}").json()["status"] == "ended"
    async with connect(server.url, link_token(room["links"]["observer"]), nb) as watcher:
        source = watcher.cells[0]["source"]
    assert source.startswith("before end\n")
    assert "after end" not in source


def test_revoked_mode_closes_the_candidate_link(fresh_server: InterviewServer) -> None:
    fresh_server.extra_args.append("--InterviewApp.ended_candidate_link=revoked")
    srv = fresh_server.start()
    room = srv.create_room()
    token = link_token(room["links"]["candidate"])
    assert _probe(srv, token, "GET", f"interview/api/rooms/{room['id']}") == 200
    with srv.client() as c:
        c.post(f"interview/api/rooms/{room['id']}/end").raise_for_status()
    assert _probe(srv, token, "GET", f"interview/api/rooms/{room['id']}") == 403
    with srv.client(token=None) as c:
        assert c.get(f"interview/r/{token}", follow_redirects=False).status_code == 404
    observer = link_token(room["links"]["observer"])
    assert _probe(srv, observer, "GET", f"interview/api/rooms/{room['id']}") == 200


def test_deleting_a_room_kills_its_links(server: InterviewServer) -> None:
    room = server.create_room()
    token = link_token(room["links"]["candidate"])
    with server.client() as c:
        assert c.delete(f"interview/api/rooms/{room['id']}").status_code == 204
    assert _probe(server, token, "GET", f"interview/api/rooms/{room['id']}") == 403


@pytest.mark.parametrize("completion", [False, True])
def test_room_pages_never_carry_the_server_token(server: InterviewServer, completion: bool) -> None:
    """Notebook 7 puts the server's token in every page's config; not for room links."""
    room = server.create_room(completion=completion)
    link = room["links"]["candidate"].removeprefix(server.url)
    with httpx.Client(base_url=server.url, follow_redirects=True) as browser:
        browser.get(link)
        page = browser.post(link, data={"name": "Ada", "_xsrf": browser.cookies["_xsrf"]})
        assert page.status_code == 200
        assert TOKEN not in page.text
        config = json.loads(
            re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page.text, re.S).group(1)
        )
    assert config["token"] == ""
    completer = "@jupyterlab/completer-extension:manager"
    assert (completer in config["disabledExtensions"]) is not completion
    # Without completion the kernel does not load jedi either.
    kernel = json.loads(config["litePluginSettings"])["jupyter-interview:pyodide-kernel"]
    assert ("jedi" in kernel["loadPyodideOptions"]["packages"]) is completion
    # The room's notebook page starts its kernel before the notebook opens.
    assert config["interviewNotebook"] == room["notebook_path"]
    # The interviewer's own pages keep working with the token.
    with server.client() as c:
        assert TOKEN in c.get(f"notebooks/{room['notebook_path']}").text
