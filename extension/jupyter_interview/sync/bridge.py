"""The sync bridge: our rules on jupyter-collaboration's rooms, through public hooks only.

Read-only links (observers, and candidates once a room has ended) must not change the
document, and hiding the UI is not enough. pycrdt-websocket's ``YRoom.on_message`` hook
sees every incoming message but not which client sent it, so the identity provider records
the room user of each request in a context variable. A websocket's serving task is created
inside its request, so it inherits that variable, and the hook can ask about the sender.

The same hook relays presence (awareness) messages itself. A browser sends one with every
cursor move, and pycrdt-websocket forwards each through a new AnyIO task per recipient:
at 200 busy rooms that alone took a fifth of the server's CPU. Tornado's ``write_message``
only queues bytes on the socket, so the relay writes straight to every client, then
updates the room's own awareness as upstream does.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from jupyter_server_ydoc.rooms import DocumentRoom
from pycrdt import YMessageType, read_message
from pycrdt.websocket import YRoom
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..access.identity import connection_user
from ..access.policy import is_document_update
from ..api.principal import RoomUser


def guard_room(room: YRoom, can_write: Callable[[RoomUser], bool]) -> None:
    """Drop document updates that come from room users who may not write, and relay
    awareness without a task per recipient (idempotent). Returning True tells the room
    that the message is handled."""
    if getattr(room.on_message, "interview_guard", False):
        return

    def on_message(message: bytes) -> bool:
        if message and message[0] == YMessageType.AWARENESS and relay_awareness(room, message):
            return True
        user = connection_user.get()
        return user is not None and is_document_update(message) and not can_write(user)

    on_message.interview_guard = True  # type: ignore[attr-defined]
    room.on_message = on_message


def relay_awareness(room: YRoom, message: bytes) -> bool:
    """Forward a presence message to every client of the room, the sender included (it
    keeps the connection alive), and apply it to the room's awareness. False, and nothing
    sent, if a client is not a tornado websocket: upstream then relays it."""
    clients = list(room.clients)
    if not all(isinstance(client, WebSocketHandler) for client in clients):
        return False
    for client in clients:
        try:
            client.write_message(message, binary=True)
        except WebSocketClosedError:
            continue  # the client left: its handler removes it from the room
    room.awareness.apply_awareness_update(read_message(message[1:]), room)
    return True


class OpenSockets:
    """The collaboration websockets that are open: who is online, and what to close at
    shutdown.

    A socket left open when the server stops keeps its serving task pending forever, and
    with it the AnyIO worker threads that jupyter_server's async contents manager started
    from that task: the process then never exits after SIGTERM.
    """

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[WebSocketHandler] = weakref.WeakSet()

    def add(self, socket: WebSocketHandler) -> None:
        self._sockets.add(socket)

    def online(self, room: str) -> list[str]:
        """Names of the users connected to a collaboration room (``json:notebook:<id>``)."""
        names = {
            socket.current_user.name
            for socket in self._sockets
            if socket.ws_connection is not None and getattr(socket, "path", None) == room
        }
        return sorted(names)

    async def close_all(self, grace: float = 1) -> int:
        """Close every open socket: a close frame first, then, after ``grace`` seconds, the
        streams of clients that did not answer it (tornado itself would wait 5 s)."""
        protocols = [s.ws_connection for s in self._sockets if s.ws_connection is not None]
        for socket in list(self._sockets):
            socket.close(1001, "server shutting down")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while loop.time() < deadline and any(not p.stream.closed() for p in protocols):
            # Tornado offers no awaitable for "closed"; its close handshake runs on this loop.
            await asyncio.sleep(0.02)
        for protocol in protocols:
            protocol.stream.close()
        return len(protocols)


class SyncBridge:
    """Our side of every collaboration websocket: the rules on its room, and who is online.

    The authorizer hands each collaboration websocket over before it exchanges a message.
    """

    def __init__(self, can_write: Callable[[RoomUser], bool]) -> None:
        self.can_write = can_write
        self.sockets = OpenSockets()

    def attach(self, socket: WebSocketHandler) -> None:
        room = getattr(socket, "room", None)
        if isinstance(room, DocumentRoom):
            guard_room(room, self.can_write)
            self.sockets.add(socket)

    def online(self, room: str) -> list[str]:
        return self.sockets.online(room)

    async def close_all(self) -> int:
        return await self.sockets.close_all()
