"""The Yjs history store: every update of every room, in order, with its timestamp.

Plugged into jupyter-collaboration through ``YDocExtension.ystore_class``. Upstream's
``SQLiteYStore`` opens one connection per room and commits each update on its own; past
about 30 busy rooms writers queue on SQLite's lock, the event loop waits in the busy
handler, and updates that hit "database is locked" are dropped. Here one process-wide
``HistoryDB`` per file owns a single connection and one writer thread: ``write()`` only
puts the update on a queue, and the thread commits whatever has queued up, all rooms
together, in one transaction. The event loop never touches SQLite for a write, a locked
database is retried rather than dropped, and the thread is a daemon, so it cannot hold
the process open at shutdown the way idle AnyIO worker threads did.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
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
    timestamp REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS yupdates_path ON yupdates (path, id);
"""
_MAX_BATCH = 5000
# After a commit the writer lets updates gather this long before the next one. Committing
# each update as it came meant hundreds of tiny transactions a second at 200 busy rooms,
# each taking the GIL from the event loop's thread; an update still reaches the file
# within about 10 ms. Flushes and close do not wait.
_BATCH_INTERVAL = 0.01

Row = tuple[bytes, bytes, float]


@dataclass
class _Flush:
    """A marker in the write queue: ``done`` runs once everything before it is committed."""

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
        self.batches = 0
        self.rows_written = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._connect()
        self._writer.executescript(_SCHEMA)
        self._reader = self._connect()
        self._read_lock = threading.Lock()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def append(self, path: str, update: bytes, metadata: bytes, timestamp: float) -> None:
        """Queue one update; never blocks."""
        self._queue.put((path, update, metadata, timestamp))

    def read(self, path: str) -> list[Row]:
        """A room's history in the order it was written (blocking: call from a thread)."""
        with self._read_lock:
            cursor = self._reader.execute(
                "SELECT yupdate, metadata, timestamp FROM yupdates WHERE path = ? ORDER BY id",
                (path,),
            )
            return cursor.fetchall()

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
        await future

    def flush_sync(self, timeout: float = 10) -> bool:
        event = threading.Event()
        self._queue.put(_Flush(event.set))
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
            rows = [item for item in batch if isinstance(item, tuple)]
            if rows:
                self._commit(rows)
            for item in batch:
                if isinstance(item, _Flush):
                    item.done()
            if _CLOSE in batch:
                self._writer.close()
                return
            if rows and not any(isinstance(item, _Flush) for item in batch):
                time.sleep(_BATCH_INTERVAL)

    def _commit(self, rows: list[tuple]) -> None:
        delay = 0.01
        while True:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
                self._writer.executemany(
                    "INSERT INTO yupdates (path, yupdate, metadata, timestamp) VALUES (?,?,?,?)",
                    rows,
                )
                self._writer.execute("COMMIT")
                self.batches += 1
                self.rows_written += len(rows)
                return
            except sqlite3.Error as e:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                # Never drop history: keep the batch and try again.
                log.warning("History write of %d updates failed (%s); retrying", len(rows), e)
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
