"""The sync bridge: our rules on jupyter-collaboration's rooms, through public hooks only.

Every message a client sends to a room passes pycrdt-websocket's ``YRoom.on_message`` hook
before the room acts on it. The hook knows the sender: the identity provider records the
room user of each request, and ``attach`` the websocket, in context variables that the
websocket's serving task inherits. Here, per message:

- **Presence** (awareness) is decoded and checked before it is relayed: malformed or
  oversized messages, states for another connection's client ids, and a room user
  claiming another name are dropped. The relay writes to every client at once (a
  browser sends one with every cursor move; pycrdt-websocket starts an AnyIO task per
  recipient, which at 200 busy rooms was a fifth of the server's CPU).
- **Document updates** from links that may not write (observers, candidates after the
  end) are dropped. Others must fit the room's limits (``RoomLimits``), checked against
  what the document would become; an update over a limit is refused and its sender's
  connection closed with a reason the page shows (code 1003, which jupyter-collaboration's
  front end turns into a dialog), so the room and its saved notebook never hold it.
- **Write-ahead history.** An accepted update is committed to the history store, with
  its author, before the room applies and relays it (``history.py``).
- **Trust.** JupyterLab marks a cell ``trusted`` in its metadata whenever someone runs
  it, so trust flags arrive with ordinary edits; the server removes them right after,
  and no room notebook is ever signed (``access/contents.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jupyter_server_ydoc.rooms import DocumentRoom
from pycrdt import Array, Doc, Map, TransactionEvent, YMessageType, read_message
from pycrdt.websocket import YRoom
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..access.identity import connection_user
from ..access.policy import is_document_update
from ..api.principal import RoomUser
from .history import Author, HistoryDB

# The collaboration websocket whose serving task this is (set when the socket is attached).
connection_socket: ContextVar[WebSocketHandler | None] = ContextVar(
    "interview_socket", default=None
)

REFUSED = 1003  # jupyter-collaboration's front end shows the reason and stops syncing
# How long an update waits for its history commit. Past it (a full disk), the room takes it
# anyway, so the interview goes on; the history writer keeps it queued and writes it when
# it can, and the health endpoint says the history is not being written.
HISTORY_WAIT = 2.0
MAX_AWARENESS_BYTES = 64 * 1024


@dataclass(frozen=True)
class RoomLimits:
    """What one room may hold; every value is an ``InterviewApp`` traitlet."""

    max_message_bytes: int
    max_document_bytes: int
    max_cells: int
    max_output_bytes: int
    max_history_bytes: int


class Refused(Exception):
    """An update the room may not take; the message is what the sender's page shows."""


class RoomGuard:
    """The per-room state of the hook: who may write, the limits' headroom, the history."""

    def __init__(self, room: DocumentRoom, bridge: SyncBridge) -> None:
        self.room = room
        self.bridge = bridge
        self.history_path = room.ystore.path if room.ystore is not None else None
        self.cells: Array = room.ydoc.get("cells", type=Array)
        # Bytes of updates that may still be taken without measuring the document: no
        # update can add more content than its own size (0: measure on the next one).
        self.slack = 0
        # What the room's history holds, counted once, then kept up to date here.
        history = bridge.history
        self.history_bytes = (
            history.size(self.history_path)
            if history is not None and self.history_path is not None
            else 0
        )
        self.applying = False
        self._commits: set[asyncio.Future[None]] = set()
        self.refused: weakref.WeakSet[WebSocketHandler] = weakref.WeakSet()
        self.awareness_owner: dict[int, weakref.ref[WebSocketHandler]] = {}
        room.ydoc.observe(self._on_transaction)
        room.on_message = self.on_message

    # --- the hook ---------------------------------------------------------------------

    def on_message(self, message: bytes) -> Any:
        """False: the room handles the message; True: it is handled (dropped or relayed)."""
        socket = connection_socket.get()
        if socket is not None and socket in self.refused:
            return True
        if message and message[0] == YMessageType.AWARENESS:
            return self.relay_awareness(message, socket)
        if not is_document_update(message):
            return False
        user = connection_user.get()
        if self.bridge.stopping or (user is not None and not self.bridge.can_write(user)):
            return True
        return self._accept(message, socket, user)

    async def _accept(
        self, message: bytes, socket: WebSocketHandler | None, user: RoomUser | None
    ) -> bool:
        try:
            update = read_message(message[2:])
            self._check(update)
        except Refused as e:
            self._refuse(socket, str(e))
            return True
        self.history_bytes += len(update)
        history = self.bridge.history
        if history is not None and self.history_path is not None:
            author = author_of(socket, user)
            if history.failing:
                # Known to be failing: queue it and go on, rather than stall every edit.
                history.append(self.history_path, update, b"", time.time(), author)
            else:
                commit = asyncio.ensure_future(history.commit(self.history_path, update, author))
                self._commits.add(commit)
                commit.add_done_callback(self._commits.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(commit), HISTORY_WAIT)
            if self.bridge.stopping:
                return True  # the server began stopping while the commit waited
        # The room applies the update as soon as this returns, in this same step.
        self.applying = True
        loop = asyncio.get_running_loop()
        loop.call_soon(self._applied)
        if b"trusted" in update:
            loop.call_soon(self.strip_trust)
        return False

    def _applied(self) -> None:
        self.applying = False

    def _on_transaction(self, event: TransactionEvent) -> None:
        if self.applying and self.history_path is not None and self.bridge.history is not None:
            # Already in the history, as its sender sent it, with its author.
            self.bridge.history.skip_next(self.history_path, event.update)

    # --- limits -----------------------------------------------------------------------

    def _check(self, update: bytes) -> None:
        limits = self.bridge.limits
        if len(update) > limits.max_message_bytes:
            raise Refused(f"one change over {_size(limits.max_message_bytes)}")
        if self.history_bytes + len(update) > limits.max_history_bytes:
            raise Refused(
                f"this room has recorded {_size(limits.max_history_bytes)} of changes, its most"
            )
        # An update of n bytes adds at most n/2 cells (an empty map is 2 bytes).
        near_cells = len(self.cells) + len(update) // 2 > limits.max_cells
        if not near_cells and len(update) <= self.slack:
            self.slack -= len(update)
            return
        with _malformed_refused():
            # What the document would become. Cheapest checks first: walking the outputs
            # of 100,000 cells would itself stall the server.
            doc = Doc()
            doc.apply_update(self.room.ydoc.get_update())
            doc.apply_update(update)
            cells = doc.get("cells", type=Array)
            if len(cells) > limits.max_cells:
                raise Refused(f"over {limits.max_cells} cells")
            size = len(doc.get_update())
            if size > limits.max_document_bytes:
                raise Refused(f"notebook over {_size(limits.max_document_bytes)}")
            largest = max((content_size(o) for o in _outputs(cells)), default=0)
            if largest > limits.max_output_bytes:
                raise Refused(f"an output over {_size(limits.max_output_bytes)}")
        self.slack = min(limits.max_document_bytes - size, limits.max_output_bytes - largest)

    def _refuse(self, socket: WebSocketHandler | None, why: str) -> None:
        name = socket.current_user.name if socket is not None else "unknown"
        self.bridge.log(f"Refused an update from {name} in {self.room.room_id}: {why}")
        if socket is None:
            return
        self.refused.add(socket)
        reason = {
            "reason": "initialization_error",
            "errorReason": f"Change refused: {why}",
            "reloadable": True,
        }
        socket.close(REFUSED, json.dumps(reason, separators=(",", ":")))

    # --- trust ------------------------------------------------------------------------

    def strip_trust(self) -> None:
        """Remove every ``trusted`` flag from the document, as the server."""
        meta = self.room.ydoc.get("meta", type=Map)
        with self.room.ydoc.transaction():
            notebook_metadata = meta.get("metadata")
            if isinstance(notebook_metadata, Map) and "trusted" in notebook_metadata:
                del notebook_metadata["trusted"]
            for cell in self.cells:
                metadata = cell.get("metadata") if isinstance(cell, Map) else None
                if isinstance(metadata, Map) and "trusted" in metadata:
                    del metadata["trusted"]

    # --- presence ---------------------------------------------------------------------

    def relay_awareness(self, message: bytes, socket: WebSocketHandler | None) -> bool:
        """Check a presence message (dropped if bad), then forward it to every client of the
        room, the sender included (it keeps the connection alive), and apply it to the
        room's awareness. False, and nothing sent, if a client is not a tornado websocket:
        upstream then relays the checked message."""
        payload = self._valid_awareness(message, socket)
        if payload is None:
            return True
        clients = list(self.room.clients)
        if not all(isinstance(client, WebSocketHandler) for client in clients):
            return False
        for client in clients:
            try:
                client.write_message(message, binary=True)
            except WebSocketClosedError:
                continue  # the client left: its handler removes it from the room
        self.room.awareness.apply_awareness_update(payload, self.room)
        return True

    def _valid_awareness(self, message: bytes, socket: WebSocketHandler | None) -> bytes | None:
        if len(message) > MAX_AWARENESS_BYTES:
            return None
        try:
            payload = read_message(message[1:])
            states = parse_awareness(payload)
        except (ValueError, IndexError, AssertionError, RuntimeError):
            return None
        user = socket.current_user if socket is not None else None
        for client_id, state in states:
            if client_id == self.room.awareness.client_id:
                return None
            if socket is not None:
                owner = self.awareness_owner.setdefault(client_id, weakref.ref(socket))()
                if owner is not socket and owner is not None:
                    return None
            if isinstance(user, RoomUser) and isinstance(state, dict):
                claimed = state.get("user")
                if claimed is not None and (
                    not isinstance(claimed, dict)
                    or claimed.get("username") != user.username
                    or claimed.get("name") != user.name
                ):
                    return None
        return payload


@contextlib.contextmanager
def _malformed_refused() -> Iterator[None]:
    """An update pycrdt cannot decode or integrate is refused like one over a limit."""
    try:
        yield
    except Refused:
        raise
    except Exception as e:
        raise Refused("malformed update") from e
    except BaseException as e:  # pyo3's PanicException is a BaseException
        if type(e).__name__ != "PanicException":
            raise
        raise Refused("malformed update") from None


def parse_awareness(payload: bytes) -> list[tuple[int, dict | None]]:
    """Decode an awareness update strictly: (client id, state) pairs, nothing left over."""
    reader = _Reader(payload)
    states = []
    for _ in range(reader.var_uint()):
        client_id = reader.var_uint()
        reader.var_uint()  # clock
        text = reader.var_bytes().decode("utf-8")
        state = json.loads(text) if text else None
        if state is not None and not isinstance(state, dict):
            raise ValueError("an awareness state is an object or null")
        states.append((client_id, state))
    if not reader.done:
        raise ValueError("trailing bytes")
    return states


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0

    @property
    def done(self) -> bool:
        return self.i == len(self.data)

    def var_uint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.data[self.i]
            self.i += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")

    def var_bytes(self) -> bytes:
        n = self.var_uint()
        if self.i + n > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.i : self.i + n]
        self.i += n
        return chunk


def _outputs(cells: Array) -> list[Any]:
    found = []
    for cell in cells:
        outputs = cell.get("outputs") if isinstance(cell, Map) else None
        if isinstance(outputs, Array):
            found.extend(outputs.to_py() or [])
    return found


def content_size(value: Any) -> int:
    """The bytes of content a value holds: strings and keys in UTF-8, one per scalar.

    Never more than the bytes of the Yjs update that created it, which is what makes the
    headroom in ``RoomGuard._check`` sound.
    """
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, dict):
        return sum(len(str(k).encode()) + content_size(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(content_size(v) for v in value)
    return 1


def author_of(socket: WebSocketHandler | None, user: RoomUser | None) -> Author | None:
    if socket is None:
        return None
    current = socket.current_user
    return Author(
        id=current.username,
        role=user.role if user is not None else "interviewer",
        name=current.name,
        connection=f"{id(socket):x}",
    )


def author_of_user(user: RoomUser) -> Author:
    """The author of what a room user sends over HTTP (not over a collaboration socket)."""
    return Author(id=user.username, role=user.role, name=user.name, connection="http")


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n / 1024:g} KiB"


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

    def online(self, room: str, open_: bool = True, interviewer: str | None = None) -> list[str]:
        """Names of the people connected to a collaboration room (``json:notebook:<id>``),
        the interviewer under the room's name for them if it has one; once the room has
        ended its candidate no longer counts (it may only look)."""
        names = {
            socket.current_user.name
            if interviewer is None or isinstance(socket.current_user, RoomUser)
            else interviewer
            for socket in self._sockets
            if socket.ws_connection is not None
            and getattr(socket, "path", None) == room
            and (open_ or getattr(socket.current_user, "role", None) != "candidate")
        }
        return sorted(names)

    def close_room(self, room: str, reason: str) -> None:
        """Close the sockets of one collaboration room (``json:notebook:<id>``)."""
        for socket in list(self._sockets):
            if getattr(socket, "path", None) == room and socket.ws_connection is not None:
                socket.close(1000, reason)

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

    def __init__(
        self,
        can_write: Callable[[RoomUser], bool],
        limits: RoomLimits,
        history: HistoryDB | None,
        log: Callable[[str], None],
    ) -> None:
        self.can_write = can_write
        self.limits = limits
        self.history = history
        self.log = log
        self.stopping = False
        self.sockets = OpenSockets()
        self._guards: weakref.WeakKeyDictionary[YRoom, RoomGuard] = weakref.WeakKeyDictionary()

    def attach(self, socket: WebSocketHandler) -> None:
        room = getattr(socket, "room", None)
        if isinstance(room, DocumentRoom):
            if room not in self._guards:
                self._guards[room] = RoomGuard(room, self)
            self.sockets.add(socket)
            connection_socket.set(socket)
            self._record(room, "join", socket)

    def detach(self, socket: WebSocketHandler) -> None:
        """The socket closed: a leave, for the timeline."""
        room = getattr(socket, "room", None)
        if isinstance(room, DocumentRoom):
            self._record(room, "leave", socket)

    def _record(self, room: DocumentRoom, kind: str, socket: WebSocketHandler) -> None:
        if self.history is None or room.ystore is None:
            return
        user = socket.current_user
        author = author_of(socket, user if isinstance(user, RoomUser) else None)
        self.history.record(room.ystore.path, kind, author)

    def online(self, room: str, open_: bool = True, interviewer: str | None = None) -> list[str]:
        return self.sockets.online(room, open_, interviewer)

    async def close_all(self) -> int:
        return await self.sockets.close_all()
