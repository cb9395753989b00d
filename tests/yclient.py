"""A Python Yjs client for a room notebook: pycrdt + jupyter_ydoc over the room websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from httpx_ws import WebSocketNetworkError, aconnect_ws
from jupyter_ydoc import YNotebook
from pycrdt import (
    Awareness,
    Decoder,
    Encoder,
    Provider,
    create_sync_message,
    create_update_message,
    read_message,
)
from pycrdt.websocket.websocket import HttpxWebsocket
from wsproto.utilities import LocalProtocolError

SYNC, AWARENESS, RAW = 0, 1, 2
SYNC_STEP2 = 1


def save_request(request_id: int) -> bytes:
    """jupyter-collaboration's RAW "save" message: write the room's notebook now."""
    encoder = Encoder()
    encoder.write_var_uint(RAW)
    encoder.write_var_string("save")
    encoder.write_var_uint(request_id)
    return encoder.to_bytes()


def raw_reply(message: bytes) -> dict:
    """The JSON body of a RAW message from the server."""
    return json.loads(Decoder(message[1:]).read_var_string())


class RoomChannel(HttpxWebsocket):
    """Passes Yjs messages to the provider and keeps the server's RAW (JSON) replies."""

    def __init__(self, websocket: object, path: str) -> None:
        super().__init__(websocket, path)
        self.raw: asyncio.Queue[dict] = asyncio.Queue()
        self.step2 = asyncio.Event()
        self.awareness: Awareness | None = None
        self.awareness_changed = asyncio.Event()

    async def send(self, message: bytes) -> None:
        """Send, or drop the message once the server has begun closing the socket.

        A server stopped or killed mid-test (test_restart.py, test_durability.py) closes
        its websockets while the provider may still be sending an update; a browser's would
        be lost the same way, and the test goes on to reconnect.
        """
        try:
            await super().send(message)
        except (LocalProtocolError, WebSocketNetworkError):
            return

    async def recv(self) -> bytes:
        while True:
            message = await super().recv()
            if message and message[0] == RAW:
                self.raw.put_nowait(raw_reply(message))
                continue
            if message[:2] == bytes([SYNC, SYNC_STEP2]):
                self.step2.set()
            if message[0] == AWARENESS and self.awareness is not None:
                self.awareness.apply_awareness_update(read_message(message[1:]), "remote")
                self.awareness_changed.set()
                continue
            return message


@dataclass
class YClient:
    notebook: YNotebook
    provider: Provider
    channel: RoomChannel
    session_id: str
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def cells(self) -> list[dict]:
        return self.notebook.get()["cells"]

    def sources(self) -> list[str]:
        return [cell["source"] for cell in self.cells]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        """Wait until ``condition()`` holds, woken by each document change."""
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    def names(self) -> set[str]:
        """The user names the room's participants publish in awareness (presence)."""
        assert self.channel.awareness is not None
        return {
            state["user"]["name"]
            for state in self.channel.awareness.states.values()
            if state and "user" in state
        }

    async def wait_for_names(
        self, names: set[str], *, at_least: int = 0, timeout: float = 15
    ) -> None:
        """Wait until ``names`` are all present and at least ``at_least`` names in all."""
        async with asyncio.timeout(timeout):
            while not (names <= self.names() and len(self.names()) >= at_least):
                self.channel.awareness_changed.clear()
                await self.channel.awareness_changed.wait()

    async def roundtrip(self) -> None:
        """Return once the server has handled this client's whole document.

        The provider sends edits from a task of its own, so a sync request could overtake
        them. Sending the full state (idempotent in Yjs) and then a sync request through
        the same socket puts both in order: the reply comes after the state was handled.
        """
        self.channel.step2.clear()
        await self.channel.send(create_update_message(self.notebook.ydoc.get_update()))
        await self.channel.send(create_sync_message(self.notebook.ydoc))
        async with asyncio.timeout(10):
            await self.channel.step2.wait()

    async def save(self) -> str:
        """Ask the server to save the room now, as JupyterLab's Save does."""
        await self.roundtrip()
        await self.channel.send(save_request(1))
        async with asyncio.timeout(10):
            while True:
                reply = await self.channel.raw.get()
                if reply.get("type") == "save" and reply.get("responseTo") == 1:
                    return reply["status"]


async def open_session(base_url: str, token: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(headers={"Authorization": f"token {token}"}) as c:
        return await c.put(
            f"{base_url}api/collaboration/session/{path}",
            json={"format": "json", "type": "notebook"},
        )


@asynccontextmanager
async def connect(
    base_url: str,
    token: str,
    path: str,
    *,
    notebook: YNotebook | None = None,
    session_id: str | None = None,
) -> AsyncIterator[YClient]:
    """Join a room as the holder of ``token``, optionally bringing a document kept in memory
    (and the session id it came from) to reconnect after a restart."""
    r = await open_session(base_url, token, path)
    r.raise_for_status()
    session = r.json()
    room = f"json:notebook:{session['fileId']}"
    session_id = session_id or session["sessionId"]
    notebook = notebook or YNotebook()
    ws_url = base_url.replace("http://", "ws://") + f"api/collaboration/room/{room}"
    async with (
        httpx.AsyncClient(headers={"Authorization": f"token {token}"}) as http,
        aconnect_ws(f"{ws_url}?sessionId={session_id}", http) as ws,
    ):
        channel = RoomChannel(ws, room)
        channel.awareness = Awareness(notebook.ydoc)
        async with Provider(notebook.ydoc, channel) as provider:
            client = YClient(notebook, provider, channel, session_id)
            subscription = notebook.ydoc.observe(lambda _event: client.changed.set())
            async with asyncio.timeout(15):
                await provider.synced.wait()
            try:
                yield client
            finally:
                notebook.ydoc.unobserve(subscription)
