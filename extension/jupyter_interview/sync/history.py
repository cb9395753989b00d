"""The Yjs history store: every update of every room, in order, with its time and author.

Plugged into jupyter-collaboration through ``YDocExtension.ystore_class``. Upstream's
``SQLiteYStore`` opens one connection per room and commits each update on its own; past
about 30 busy rooms writers queue on SQLite's lock, the event loop waits in the busy
handler, and updates that hit "database is locked" are dropped. Here one process-wide
``HistoryDB`` per file owns a single connection and one writer thread: ``write()`` only
puts the update on a queue, and the thread commits whatever has queued up, all rooms
together, in one transaction. The event loop never touches SQLite for a write, a locked
database is retried rather than dropped, and the thread is a daemon, so it cannot hold
the process open at shutdown the way idle AnyIO worker threads did.

The history is a room's source of truth, so it is written ahead: the sync bridge commits
each update a client sends, with its author, before the room applies it and relays it to
anyone (``commit``). An update another participant has seen is therefore on disk, even if
the server is killed the next instant. The room's own copy of that update, which
jupyter-collaboration then hands to ``HistoryStore.write``, is skipped (``skip_next``);
what the server changes by itself (loading the file, recovery) is written there as the
server's.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import queue
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from pycrdt.store import BaseYStore, YDocNotFound
from traitlets import Unicode
from traitlets.config import LoggingConfigurable

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS yupdates (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    yupdate BLOB NOT NULL,
    metadata BLOB NOT NULL,
    timestamp REAL NOT NULL,
    author TEXT
);
CREATE INDEX IF NOT EXISTS yupdates_path ON yupdates (path, id);
CREATE TABLE IF NOT EXISTS room_events (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    timestamp REAL NOT NULL,
    author TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS room_events_path ON room_events (path, id);
CREATE TABLE IF NOT EXISTS keyframes (
    path TEXT NOT NULL,
    upto INTEGER NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (path, upto)
);
"""
# Added after the first release: older files get the column on open.
_AUTHOR_COLUMN = "ALTER TABLE yupdates ADD COLUMN author TEXT"
_MAX_BATCH = 5000
# After a commit the writer lets updates gather this long before the next one. Committing
# each update as it came meant hundreds of tiny transactions a second at 200 busy rooms,
# each taking the GIL from the event loop's thread; an update still reaches the file
# within about 10 ms. Flushes and close do not wait.
_BATCH_INTERVAL = 0.01

Row = tuple[bytes, bytes, float]


@dataclass(frozen=True)
class Update:
    """One stored update of a room, for review: its position (``seq``), time and author."""

    seq: int
    update: bytes
    timestamp: float
    author: dict | None


@dataclass(frozen=True)
class RoomEvent:
    """Something that happened in a room besides edits: a join, a leave, a paste, focus."""

    seq: int
    kind: str
    timestamp: float
    author: dict | None
    data: dict


@dataclass(frozen=True)
class _EventRow:
    path: str
    kind: str
    timestamp: float
    author: str | None
    data: str


@dataclass(frozen=True)
class Author:
    """Who sent an update: a room link's user or the interviewer, over one connection."""

    id: str
    role: str
    name: str
    connection: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


@dataclass
class _Flush:
    """A marker in the write queue: ``done`` runs once everything before it is committed."""

    done: Callable[[], None]


@dataclass
class _Run:
    """A statement for the writer thread (it owns the writing connection)."""

    statement: Callable[[sqlite3.Connection], None]
    done: Callable[[], None]


_CLOSE = object()


class HistoryDB:
    """One SQLite file, one connection for the writer thread, one for reads."""

    _open: ClassVar[dict[Path, HistoryDB]] = {}
    _open_lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path) -> HistoryDB:
        """The process's instance for ``path``: rooms opening at once share one."""
        key = Path(path).resolve()
        with cls._open_lock:
            db = cls._open.get(key)
            if db is None or db.closed:
                db = cls._open[key] = cls(key)
            return db

    def __init__(self, path: Path) -> None:
        self.path = path
        self.closed = False
        # Why the last commit failed, while it keeps failing (a full disk, say): for health.
        self.failing: str | None = None
        self.batches = 0
        self.rows_written = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._connect()
        self._writer.executescript(_SCHEMA)
        columns = {row[1] for row in self._writer.execute("PRAGMA table_info(yupdates)")}
        if "author" not in columns:
            self._writer.execute(_AUTHOR_COLUMN)
        self._reader = self._connect()
        self._read_lock = threading.Lock()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        # Set when someone waits for a commit: the writer then skips its batching pause.
        self._urgent = threading.Event()
        self._skip: dict[str, deque[bytes]] = defaultdict(lambda: deque(maxlen=256))
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA secure_delete=ON")  # a purge leaves nothing in free pages
        return db

    def append(
        self,
        path: str,
        update: bytes,
        metadata: bytes,
        timestamp: float,
        author: Author | None = None,
    ) -> None:
        """Queue one update; never blocks. No author: the server made it."""
        self._queue.put((path, update, metadata, timestamp, author and author.to_json()))

    async def commit(self, path: str, update: bytes, author: Author | None) -> None:
        """Write one update and wait until it is committed (write-ahead, see above)."""
        self.append(path, update, b"", time.time(), author)
        await self.flush()

    def record(
        self, path: str, kind: str, author: Author | None = None, data: dict | None = None
    ) -> None:
        """Queue a room event (a join, a leave, a paste, ...); never blocks."""
        self._queue.put(
            _EventRow(path, kind, time.time(), author and author.to_json(), json.dumps(data or {}))
        )

    def updates(self, path: str, after: int = 0, upto: int | None = None) -> list[Update]:
        """A room's updates with ``after < seq <= upto``, in order (blocking)."""
        query = "SELECT id, yupdate, timestamp, author FROM yupdates WHERE path = ? AND id > ?"
        args: list[object] = [path, after]
        if upto is not None:
            query += " AND id <= ?"
            args.append(upto)
        with self._read_lock:
            rows = self._reader.execute(query + " ORDER BY id", args).fetchall()
        authors: dict[str, dict] = {}  # a room has a handful of authors: parse each once

        def author(text: str | None) -> dict | None:
            if text is None:
                return None
            if text not in authors:
                authors[text] = json.loads(text)
            return authors[text]

        return [Update(i, u, t, author(a)) for i, u, t, a in rows]

    def positions(self, path: str) -> list[tuple[int, float]]:
        """(seq, timestamp) of each of a room's updates, in order (blocking)."""
        with self._read_lock:
            return self._reader.execute(
                "SELECT id, timestamp FROM yupdates WHERE path = ? ORDER BY id", (path,)
            ).fetchall()

    def events(self, path: str) -> list[RoomEvent]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT id, kind, timestamp, author, data FROM room_events"
                " WHERE path = ? ORDER BY id",
                (path,),
            ).fetchall()
        return [
            RoomEvent(i, k, t, json.loads(a) if a else None, json.loads(d))
            for i, k, t, a, d in rows
        ]

    def keyframe(self, path: str, seq: int | None = None) -> tuple[int, bytes] | None:
        """The last keyframe of a room at or before ``seq`` (any, if None): (upto, the full
        state after every update up to it), or None (blocking)."""
        query = "SELECT upto, state FROM keyframes WHERE path = ?"
        args: list[object] = [path]
        if seq is not None:
            query += " AND upto <= ?"
            args.append(seq)
        with self._read_lock:
            return self._reader.execute(query + " ORDER BY upto DESC LIMIT 1", args).fetchone()

    def save_keyframes(self, path: str, frames: list[tuple[int, bytes]]) -> None:
        """Keep keyframes (written by the writer thread, in the background)."""

        def insert(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR REPLACE INTO keyframes (path, upto, state) VALUES (?,?,?)",
                [(path, upto, state) for upto, state in frames],
            )

        self._queue.put(_Run(insert, lambda: None))
        self._urgent.set()

    def skip_next(self, path: str, update: bytes) -> None:
        """The room will hand ``update`` to ``HistoryStore.write``: it is already written."""
        self._skip[path].append(update)

    def consume_skip(self, path: str, update: bytes) -> bool:
        pending = self._skip.get(path)
        if pending and update in pending:
            pending.remove(update)
            return True
        return False

    def read(self, path: str) -> list[Row]:
        """A room's history in the order it was written (blocking: call from a thread)."""
        with self._read_lock:
            cursor = self._reader.execute(
                "SELECT yupdate, metadata, timestamp FROM yupdates WHERE path = ? ORDER BY id",
                (path,),
            )
            return cursor.fetchall()

    def size(self, path: str) -> int:
        """Bytes of updates a room's history holds (what its quota counts)."""
        with self._read_lock:
            query = "SELECT COALESCE(SUM(LENGTH(yupdate)), 0) FROM yupdates WHERE path = ?"
            return self._reader.execute(query, (path,)).fetchone()[0]

    def count(self, path: str | None = None) -> int:
        with self._read_lock:
            if path is None:
                return self._reader.execute("SELECT COUNT(*) FROM yupdates").fetchone()[0]
            query = "SELECT COUNT(*) FROM yupdates WHERE path = ?"
            return self._reader.execute(query, (path,)).fetchone()[0]

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done() -> None:
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))

        self._queue.put(_Flush(done))
        self._urgent.set()
        await future

    def rename(self, old_path: str, new_path: str, timeout: float = 10) -> None:
        """Move a room's history to another key (its notebook got a new file id)."""
        done = threading.Event()

        def rename(db: sqlite3.Connection) -> None:
            db.execute("UPDATE yupdates SET path = ? WHERE path = ?", (new_path, old_path))

        self._queue.put(_Run(rename, done.set))
        self._urgent.set()
        done.wait(timeout)

    def purge(self, path: str, timeout: float = 60) -> bool:
        """Erase a room's history (updates, events, keyframes) from the file and its log."""
        done = threading.Event()

        def erase(db: sqlite3.Connection) -> None:
            for table in ("yupdates", "room_events", "keyframes"):
                db.execute(f"DELETE FROM {table} WHERE path = ?", (path,))
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        self._queue.put(_Run(erase, done.set))
        self._urgent.set()
        return done.wait(timeout)

    def flush_sync(self, timeout: float = 10) -> bool:
        event = threading.Event()
        self._queue.put(_Flush(event.set))
        self._urgent.set()
        return event.wait(timeout)

    def close(self, timeout: float = 10) -> None:
        """Commit what is queued, then stop the writer (also run at interpreter exit)."""
        if self.closed:
            return
        self.closed = True
        self._queue.put(_CLOSE)
        self._thread.join(timeout)
        self._reader.close()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < _MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            rows = [item for item in batch if isinstance(item, tuple | _EventRow)]
            if rows:
                self._commit(rows)
            for item in batch:
                if isinstance(item, _Run):
                    try:
                        item.statement(self._writer)
                    except sqlite3.Error:
                        log.exception("A history statement failed")
                    item.done()
            for item in batch:
                if isinstance(item, _Flush):
                    item.done()
            if _CLOSE in batch:
                self._writer.close()
                return
            if rows and not any(isinstance(item, _Flush) for item in batch):
                self._urgent.wait(_BATCH_INTERVAL)
            self._urgent.clear()

    def _commit(self, rows: list[tuple | _EventRow]) -> None:
        updates = [row for row in rows if isinstance(row, tuple)]
        events = [
            (e.path, e.kind, e.timestamp, e.author, e.data)
            for e in rows
            if isinstance(e, _EventRow)
        ]
        delay = 0.01
        while True:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                self._writer.executemany(
                    "INSERT INTO yupdates (path, yupdate, metadata, timestamp, author)"
                    " VALUES (?,?,?,?,?)",
                    updates,
                )
                self._writer.executemany(
                    "INSERT INTO room_events (path, kind, timestamp, author, data)"
                    " VALUES (?,?,?,?,?)",
                    events,
                )
                self._writer.execute("COMMIT")
                self.batches += 1
                self.rows_written += len(rows)
                self.failing = None
                return
            except sqlite3.Error as e:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                # Never drop history: keep the batch and try again.
                if self.failing is None:
                    log.warning("History write of %d updates failed (%s); retrying", len(rows), e)
                self.failing = str(e)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


class _Meta(type(LoggingConfigurable), type(BaseYStore)):  # type: ignore[misc]
    pass


class HistoryStore(LoggingConfigurable, BaseYStore, metaclass=_Meta):
    """A room's view of the shared ``HistoryDB``: what ``ystore_class`` instantiates."""

    db_path = Unicode(
        ".ystore.db",
        config=True,
        help="The SQLite file of the Yjs history. `jupyter interview` puts it in the data "
        "directory (<data_dir>/.ystore.db).",
    )

    def __init__(
        self,
        path: str,
        metadata_callback: Callable[[], Awaitable[bytes] | bytes] | None = None,
        log: logging.Logger | None = None,
        **kwargs: object,
    ) -> None:
        if log is not None:
            kwargs["log"] = log
        # HasTraits passes what is not a trait (path, metadata_callback) on to BaseYStore.
        super().__init__(path=path, metadata_callback=metadata_callback, **kwargs)
        self.path = path
        self.metadata_callback = metadata_callback
        self.db = HistoryDB.open(self.db_path)

    async def write(self, data: bytes) -> None:
        if self.db.consume_skip(self.path, data):
            return
        self.db.append(self.path, data, await self.get_metadata(), time.time())

    async def read(self) -> AsyncIterator[Row]:  # type: ignore[override]
        await self.db.flush()
        rows = await asyncio.to_thread(self.db.read, self.path)
        if not rows:
            raise YDocNotFound
        for row in rows:
            yield row


def history_path(file_id: str) -> str:
    """The key jupyter-collaboration gives a notebook's history (``.notebook:<file id>.y``)."""
    return f".notebook:{file_id}.y"
