"""A hostile candidate, with only a room link, against a real server: each attack must fail.

The browser half (scripts in the interviewer's pages) is in test_hostile_pages.py.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import nbformat
import psutil
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from jupyter_ydoc import YNotebook
from nbformat.sign import NotebookNotary
from pycrdt import Doc, Encoder, Map, Text, create_awareness_message, create_update_message

from .server import TOKEN, InterviewServer, link_token
from .yclient import connect, open_session

pytestmark = pytest.mark.anyio

SCRIPT_HTML = "<script>window.__pwned = 'html'</script><b>bold</b>"


def _signed(server: InterviewServer, path: Path) -> bool:
    notary = NotebookNotary(data_dir=str(server.data_dir / ".notary"))
    return notary.check_signature(nbformat.read(path, as_version=4))


def _trusted_cell() -> dict:
    return {
        "cell_type": "code",
        "source": "display(HTML(...))",
        "metadata": {"trusted": True},
        "outputs": [
            {
                "output_type": "display_data",
                "data": {"text/html": SCRIPT_HTML, "text/plain": "<HTML>"},
                "metadata": {},
            }
        ],
        "execution_count": 1,
    }


def _trust_flags(cells: list[dict]) -> list[object]:
    return [
        cell.get("metadata", {}).get("trusted")
        for cell in cells
        if "trusted" in cell.get("metadata", {})
    ]


async def test_a_candidate_cannot_make_the_room_trusted(server: InterviewServer) -> None:
    room = server.create_room()
    path = room["notebook_path"]
    async with (
        connect(server.url, link_token(room["links"]["candidate"]), path) as candidate,
        connect(server.url, TOKEN, path) as interviewer,
    ):
        candidate.notebook.append_cell(_trusted_cell())
        candidate.notebook.ydoc.get("meta", type=Map)["metadata"]["trusted"] = True
        # Every cell says trusted: the notary would sign such a notebook on save.
        for ycell in candidate.notebook.ycells:
            ycell["metadata"]["trusted"] = True
        await candidate.roundtrip()
        # The server takes the flags out again, and everyone sees that.
        await interviewer.wait_for(lambda: not _trust_flags(interviewer.cells))
        assert "trusted" not in interviewer.notebook.get()["metadata"]
        assert await candidate.save() == "success"
    file = server.data_dir / path
    assert not _signed(server, file)
    on_disk = nbformat.read(file, as_version=4)
    assert "signature" not in on_disk.metadata
    assert SCRIPT_HTML in json.dumps(on_disk)  # the output is kept, as data
    async with connect(server.url, TOKEN, path) as fresh:
        assert not _trust_flags(fresh.cells)


def test_an_uploaded_notebook_is_never_signed(server: InterviewServer) -> None:
    room = server.create_room()
    folder = room["notebook_path"].rsplit("/", 1)[0]
    nb = nbformat.v4.new_notebook(cells=[nbformat.from_dict(_trusted_cell())])
    with server.client(link_token(room["links"]["candidate"])) as c:
        r = c.put(
            f"api/contents/{folder}/evil.ipynb",
            json={"type": "notebook", "format": "json", "content": nb},
        )
        assert r.status_code == 201, r.text
    assert not _signed(server, server.data_dir / folder / "evil.ipynb")
    with server.client() as c:  # the interviewer opening it sees no trusted cell
        opened = c.get(f"api/contents/{folder}/evil.ipynb").json()["content"]
        assert not _trust_flags(opened["cells"])
        assert c.post(f"api/contents/{folder}/evil.ipynb/trust").status_code == 403


def test_every_path_of_a_contents_request_stays_in_the_room(server: InterviewServer) -> None:
    mine, other = server.create_room(), server.create_room()
    folder = mine["notebook_path"].rsplit("/", 1)[0]
    other_folder = other["notebook_path"].rsplit("/", 1)[0]
    text = {"type": "file", "format": "text", "content": "x = 1\n"}
    with server.client(link_token(mine["links"]["candidate"])) as c:
        assert c.put(f"api/contents/{folder}/notes.txt", json=text).status_code == 201

        def rename(to: str) -> int:
            return c.patch(f"api/contents/{folder}/notes.txt", json={"path": to}).status_code

        # Out of the room, into another room, into the server's root: refused.
        assert rename(f"{other_folder}/notes.txt") == 403
        assert rename("notes.txt") == 403
        assert rename(f"{folder}/../{other['id']}/notes.txt") in (400, 403, 404)
        # Onto the room notebook, or into a module Python would import: refused.
        assert rename(mine["notebook_path"]) == 403
        assert rename(f"{folder}/pandas.py") == 403
        # Within the room: fine.
        assert rename(f"{folder}/renamed.txt") == 200
        # Writing a module that shadows an import, in any way: refused.
        assert c.put(f"api/contents/{folder}/pandas.py", json=text).status_code == 403
        assert c.put(f"api/contents/{folder}/x.pth", json=text).status_code == 403
        assert (
            c.post(f"api/contents/{folder}", json={"type": "file", "ext": ".py"}).status_code == 403
        )
        # Copies: the destination is checked too.
        copy = {"copy_from": f"{folder}/renamed.txt"}
        assert c.post(f"api/contents/{other_folder}", json=copy).status_code == 403
        assert c.post("api/contents", json=copy).status_code == 403
    assert not list((server.data_dir / other_folder).glob("*.txt"))
    assert not (server.data_dir / "notes.txt").exists()
    assert not list((server.data_dir / folder).glob("*.py"))
    # What a room user wrote into the room's folder is listed for the interviewer.
    with server.client() as c:
        assert c.get(f"interview/api/rooms/{mine['id']}").json()["files"] == ["renamed.txt"]


def test_server_kernels_are_off_for_room_notebooks(server: InterviewServer) -> None:
    room = server.create_room()
    folder = room["notebook_path"].rsplit("/", 1)[0]
    with server.client() as c:
        session = {
            "path": room["notebook_path"],
            "type": "notebook",
            "name": "",
            "kernel": {"name": "python3"},
        }
        r = c.post("api/sessions", json=session)
        assert r.status_code == 403, r.text
        assert "Server kernels are off" in r.text
        assert c.post("api/kernels", json={"name": "python3", "path": folder}).status_code == 403
        assert c.get("api/kernels").json() == []


# --- limits -------------------------------------------------------------------------------

LIMITS = {
    "max_message_bytes": 64 * 1024,
    "max_document_bytes": 256 * 1024,
    "max_cells": 50,
    "max_output_bytes": 32 * 1024,
    "max_history_bytes": 512 * 1024,
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InterviewServer]:
    """A server with small limits, so that going over them is quick."""
    args = [f"--InterviewApp.{name}={value}" for name, value in LIMITS.items()]
    srv = InterviewServer(tmp_path_factory.mktemp("limited") / "data", *args).start()
    yield srv
    srv.stop()


@asynccontextmanager
async def raw_socket(server: InterviewServer, token: str, path: str) -> AsyncIterator[object]:
    """The room websocket, with no Yjs provider: the test sends what it likes."""
    session = (await open_session(server.url, token, path)).json()
    url = (
        f"{server.ws_url}api/collaboration/room/json:notebook:{session['fileId']}"
        f"?sessionId={session['sessionId']}"
    )
    async with (
        httpx.AsyncClient(headers={"Authorization": f"token {token}"}) as http,
        aconnect_ws(url, http, max_message_size_bytes=64 * 2**20) as ws,
    ):
        await ws.receive_bytes()  # the server's sync step 1
        yield ws


async def _closed(ws: object) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as closed:
        async with asyncio.timeout(20):
            while True:
                await ws.receive_bytes()  # type: ignore[attr-defined]
    return closed.value


async def _update_from(
    server: InterviewServer, path: str, change: Callable[[YNotebook], None]
) -> bytes:
    """A Yjs update that makes ``change`` to the room's current document."""
    async with connect(server.url, TOKEN, path) as current:
        doc = Doc()
        doc.apply_update(current.notebook.ydoc.get_update())
    before = doc.get_state()
    change(YNotebook(doc))
    return doc.get_update(before)


def _add_cells(n: int, **fields: object) -> Callable[[YNotebook], None]:
    def change(nb: YNotebook) -> None:
        for _ in range(n):
            nb.append_cell({"cell_type": "code", "source": "", **fields})

    return change


def _big_source(chars: int) -> Callable[[YNotebook], None]:
    return _add_cells(1, source="x" * chars)


def _big_output(chars: int) -> Callable[[YNotebook], None]:
    output = {"output_type": "stream", "name": "stdout", "text": "y" * chars}
    return _add_cells(1, outputs=[output])


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_big_source(70 * 1024), "one change over 64 KiB"),
        (_add_cells(60), "over 50 cells"),
        (_big_output(40 * 1024), "an output over 32 KiB"),
    ],
    ids=["message", "cells", "output"],
)
async def test_an_update_over_a_limit_is_refused(
    limited: InterviewServer, change: Callable[[YNotebook], None], why: str
) -> None:
    room = limited.create_room()
    path = room["notebook_path"]
    file = limited.data_dir / path
    saved = file.read_bytes()
    update = await _update_from(limited, path, change)
    async with connect(limited.url, TOKEN, path) as interviewer:
        before = interviewer.notebook.get()
        async with raw_socket(limited, link_token(room["links"]["candidate"]), path) as ws:
            await ws.send_bytes(create_update_message(update))
            closed = await _closed(ws)
        assert closed.code == 1003
        reason = json.loads(closed.reason)
        assert reason["errorReason"] == f"Change refused: {why}"
        # Nobody saw it, the room still works, and the saved notebook is untouched.
        source = interviewer.notebook.ycells[0]["source"]
        source.insert(len(source), "\nstill editable")
        assert await interviewer.save() == "success"
        after = interviewer.notebook.get()
        assert len(after["cells"]) == len(before["cells"])
    assert "still editable" in file.read_text()
    assert file.read_bytes() != saved  # the interviewer's edit was saved ...
    assert "x" * 1000 not in file.read_text() and "y" * 1000 not in file.read_text()


async def test_paste_and_delete_in_a_loop_cannot_fill_the_disk(limited: InterviewServer) -> None:
    """The document stays small (deleted text is collected), but the history keeps every
    change: the change that would take a room's history past its quota is refused."""
    room = limited.create_room()
    path = room["notebook_path"]

    def history_bytes() -> int:
        with sqlite3.connect(limited.data_dir / ".ystore.db") as db:
            query = "SELECT COALESCE(SUM(LENGTH(yupdate)), 0) FROM yupdates"
            return db.execute(query).fetchone()[0]

    before_room = history_bytes()
    async with raw_socket(limited, link_token(room["links"]["candidate"]), path) as ws:
        doc = Doc()
        async with connect(limited.url, TOKEN, path) as current:
            doc.apply_update(current.notebook.ydoc.get_update())
        recorded = history_bytes() - before_room  # the room as it loaded
        source = YNotebook(doc).ycells[0]["source"]
        paste = True
        while True:
            before = doc.get_state()
            if paste:
                source.insert(len(source), "z" * 40 * 1024)
            else:
                del source[len(source) - 40 * 1024 :]
            paste = not paste
            update = doc.get_update(before)
            await ws.send_bytes(create_update_message(update))
            recorded += len(update)
            if recorded > 512 * 1024:
                break  # this one is over: nothing more is sent
        # Read from the server's log: after many large sends, this raw client does not
        # see the close frame.
        refusal = "Refused an update from Candidate in json:notebook:"
        async with asyncio.timeout(20):
            while (quota := "recorded 512 KiB of changes, its most") not in limited.log():
                await asyncio.sleep(0.05)
    assert refusal in limited.log() and quota in limited.log()
    assert history_bytes() - before_room <= 512 * 1024


async def test_small_steps_cannot_pass_the_document_or_output_limits(
    limited: InterviewServer,
) -> None:
    room = limited.create_room()
    path = room["notebook_path"]
    token = link_token(room["links"]["candidate"])
    async with connect(limited.url, token, path) as candidate:
        candidate.notebook.append_cell(
            {
                "cell_type": "code",
                "source": "while True: print('y' * 1000)",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ""}],
            }
        )
        await candidate.roundtrip()
    # A runaway print loop: one output grows by 1,000 characters a message.
    async with raw_socket(limited, token, path) as ws:
        doc = Doc()
        async with connect(limited.url, TOKEN, path) as current:
            doc.apply_update(current.notebook.ydoc.get_update())
        nb = YNotebook(doc)
        stream = nb.ycells[len(nb.ycells) - 1]["outputs"][0]
        refused = None
        for _ in range(40):
            before = doc.get_state()
            text = stream.get("text") if isinstance(stream, Map) else None
            if isinstance(text, Text):
                text.insert(len(text), "y" * 1000)
            else:
                stream["text"] = (stream.get("text") or "") + "y" * 1000
            await ws.send_bytes(create_update_message(doc.get_update(before)))
            try:
                async with asyncio.timeout(0.5):
                    await ws.receive_bytes()
            except TimeoutError:
                continue
            except WebSocketDisconnect as e:
                refused = e
                break
        assert refused is not None and refused.code == 1003
        assert "an output over 32 KiB" in refused.reason
    async with connect(limited.url, TOKEN, path) as interviewer:
        text = interviewer.cells[-1]["outputs"][0]["text"]
        assert 31 * 1024 <= len(text) <= 32 * 1024


async def test_a_message_far_over_the_limit_is_not_even_read(limited: InterviewServer) -> None:
    room = limited.create_room()
    async with raw_socket(
        limited, link_token(room["links"]["candidate"]), room["notebook_path"]
    ) as ws:
        await ws.send_bytes(b"\x00\x02" + b"\x01" * (4 * 64 * 1024))
        closed = await _closed(ws)
    assert closed.code == 1009


# --- presence -----------------------------------------------------------------------------


def _awareness(client_id: int, state: object, clock: int = 1) -> bytes:
    encoder = Encoder()
    encoder.write_var_uint(1)
    encoder.write_var_uint(client_id)
    encoder.write_var_uint(clock)
    encoder.write_var_string("" if state is None else json.dumps(state))
    return create_awareness_message(encoder.to_bytes())


async def test_presence_is_checked_before_it_is_relayed(server: InterviewServer) -> None:
    room = server.create_room(candidate_name="Ada")
    path = room["notebook_path"]
    async with connect(server.url, TOKEN, path) as interviewer:
        mine = interviewer.notebook.ydoc.client_id
        await interviewer.channel.send(_awareness(mine, {"user": {"name": "Interviewer"}}))
        await interviewer.wait_for_names({"Interviewer"})
        async with raw_socket(server, link_token(room["links"]["candidate"]), path) as ws:
            awareness = _awareness
            hostile = [
                b"\x01\xff\xff\xff",  # not even a length
                bytes([1, 5, 1, 7, 1, 50]) + b"{",  # truncated
                awareness(9, [1, 2, 3]),  # a state that is not an object
                # Taking over the interviewer's presence: their client id.
                awareness(mine, None, clock=99),
                awareness(mine, {"user": {"name": "Interviewer (fake)"}}, clock=99),
                # Claiming another name.
                awareness(11, {"user": {"username": "candidate-x", "name": "Interviewer"}}),
            ]
            for message in hostile:
                await ws.send_bytes(message)
            me = {"username": f"candidate-{room['id']}", "name": "Ada"}
            await ws.send_bytes(awareness(12, {"user": me}))
            await interviewer.wait_for_names({"Ada"})
            names = interviewer.names()
        assert names == {"Ada", "Interviewer"}


# --- the API's contract -------------------------------------------------------------------


def test_the_api_says_what_went_wrong(server: InterviewServer) -> None:
    room = server.create_room()
    with server.client(token=None) as anonymous:
        r = anonymous.get("interview/api/rooms")
        assert r.status_code == 401
        assert r.json()["error"] == "unauthorized"
    with server.client() as c:
        r = c.put("interview/api/rooms", json={})
        assert r.status_code == 405
        assert set(r.headers["Allow"].split(", ")) == {"GET", "POST"}
        r = c.patch(f"interview/api/rooms/{room['id']}")
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_request"
    document = json.loads((Path(__file__).parents[1] / "openapi.json").read_text())
    for path in ("execute", "runtimes"):
        method = "post" if path == "execute" else "get"
        responses = document["paths"][f"/interview/api/rooms/{{room_id}}/{path}"][method]
        assert "503" in responses["responses"]


@pytest.mark.parametrize("who", ["interviewer", "candidate"])
def test_every_page_carries_a_content_security_policy(server: InterviewServer, who: str) -> None:
    room = server.create_room()
    if who == "interviewer":
        with server.client() as c:
            pages = [c.get("lab"), c.get(f"notebooks/{room['notebook_path']}")]
    else:
        link = room["links"]["candidate"].removeprefix(server.url)
        with httpx.Client(base_url=server.url, follow_redirects=True) as browser:
            landing = browser.get(link)
            page = browser.post(link, data={"name": "Ada", "_xsrf": browser.cookies["_xsrf"]})
            pages = [landing, page]
    for page in pages:
        assert page.status_code == 200
        policy = dict(
            part.strip().split(" ", 1)
            for part in page.headers["Content-Security-Policy"].split(";")
            if part.strip()
        )
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["img-src"] == "'self' data: blob:"
        assert policy["default-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'self'"


def test_an_allowed_server_kernel_gets_a_runner_token_not_the_servers(
    fresh_server: InterviewServer,
) -> None:
    """With server kernels allowed for rooms, the kernel's %%piston reaches the room with a
    token that can run programs there and nothing else."""
    fresh_server.extra_args.append("--RoomKernelManager.room_server_kernels=True")
    srv = fresh_server.start()
    room = srv.create_room()
    with srv.client() as c:
        session = {
            "path": room["notebook_path"],
            "type": "notebook",
            "name": "",
            "kernel": {"name": "python3"},
        }
        r = c.post("api/sessions", json=session)
        assert r.status_code == 201, r.text
        kernel_id = r.json()["kernel"]["id"]
    server = psutil.Process(srv.proc.pid)  # type: ignore[union-attr]
    kernels = [p for p in server.children(recursive=True) if kernel_id in _cmdline(p)]
    assert len(kernels) == 1
    env = kernels[0].environ()
    token = env["JUPYTER_INTERVIEW_TOKEN"]
    assert token != TOKEN and TOKEN not in json.dumps(env)
    assert env["JUPYTER_INTERVIEW_ROOM"] == room["id"]
    with srv.client(token) as runner:
        # Authorized to run programs (this server has no Piston: 503, not 403) ...
        assert runner.get(f"interview/api/rooms/{room['id']}/runtimes").status_code == 503
        # ... and nothing else.
        for path in ("interview/api/rooms", f"interview/api/rooms/{room['id']}", "api/contents"):
            assert runner.get(path).status_code == 403, path
    with srv.client() as c:
        c.delete(f"api/kernels/{kernel_id}")


def _cmdline(process: psutil.Process) -> str:
    """A child's command line; a child that just exited (a zombie, or gone) has none."""
    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess, psutil.AccessDenied):
        return ""
