"""Interview rooms: a row in the room database plus a notebook copied from a template.

The database is SQLite in the data directory (WAL, one connection). Every room and link
grant is also kept in memory, so the access checks that run on every request never touch
the disk; writes go to SQLite first and then to the cache.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..api.errors import InvalidRoomId, RoomNotFound
from ..api.models import (
    ROOM_ID_PATTERN,
    EndReason,
    LinkRole,
    Links,
    Role,
    RoomMode,
    RoomOut,
    RoomPublic,
    RoomStatus,
)
from .links import hash_token, mint_token, new_nonce

_ROOM_ID = re.compile(ROOM_ID_PATTERN)
ROLES: tuple[LinkRole, ...] = ("candidate", "observer", "grader")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    template TEXT NOT NULL,
    status TEXT NOT NULL,
    candidate_name TEXT,
    duration_minutes INTEGER NOT NULL,
    notebook_path TEXT NOT NULL,
    file_id TEXT,
    notes TEXT NOT NULL DEFAULT '',
    completion INTEGER NOT NULL DEFAULT 0,
    languages TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT
);
CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY,
    room_id TEXT NOT NULL,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    role TEXT NOT NULL,
    language TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_room ON executions (room_id, id);
CREATE TABLE IF NOT EXISTS deleted_rooms (
    id TEXT PRIMARY KEY,
    file_id TEXT,
    notebook_path TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    token_hash TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    nonce TEXT NOT NULL,
    UNIQUE (room_id, role)
);
"""


# Columns added after the first release: (name, declaration); older files get them on open.
_ADDED_COLUMNS = [
    ("mode", "TEXT NOT NULL DEFAULT 'live'"),
    ("end_reason", "TEXT"),
    ("submitted_at", "TEXT"),
    ("interviewer_name", "TEXT"),
    ("packages", "TEXT NOT NULL DEFAULT '[]'"),
    ("record_paste_text", "INTEGER NOT NULL DEFAULT 0"),
]
_ADDED_EXECUTION_COLUMNS = [("who_id", "TEXT")]
# Every column of a room, in the order Room's fields take them.
_COLUMNS = [
    "id",
    "title",
    "template",
    "status",
    "candidate_name",
    "duration_minutes",
    "notebook_path",
    "file_id",
    "notes",
    "completion",
    "languages",
    "created_at",
    "started_at",
    "ended_at",
    *(name for name, _ in _ADDED_COLUMNS),
]
_JSON_COLUMNS = {"languages", "packages"}


def check_room_id(room_id: str) -> str:
    if not _ROOM_ID.match(room_id):
        raise InvalidRoomId(f"{room_id!r} is not a room id (16 lowercase hex characters).")
    return room_id


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:48].strip("-")
    return slug or "interview"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Room:
    id: str
    title: str
    template: str
    status: RoomStatus
    candidate_name: str | None
    duration_minutes: int
    notebook_path: str
    file_id: str | None
    notes: str
    created_at: datetime
    completion: bool = False
    languages: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    mode: RoomMode = "live"
    end_reason: EndReason | None = None
    submitted_at: datetime | None = None
    interviewer_name: str | None = None
    packages: list[str] = field(default_factory=list)
    record_paste_text: bool = False

    @property
    def ends_at(self) -> datetime | None:
        if self.started_at is None:
            return None
        return self.started_at + timedelta(minutes=self.duration_minutes)

    def public(self, role: LinkRole | None = None) -> RoomPublic:
        return RoomPublic(
            id=self.id,
            title=self.title,
            status=self.status,
            notebook_path=self.notebook_path,
            created_at=self.created_at,
            started_at=self.started_at,
            ended_at=self.ended_at,
            duration_minutes=self.duration_minutes,
            ends_at=self.ends_at,
            completion=self.completion,
            role=role,
            mode=self.mode,
            end_reason=self.end_reason,
            submitted_at=self.submitted_at,
            interviewer_name=self.interviewer_name,
            record_paste_text=self.record_paste_text,
        )

    @property
    def collaboration_room(self) -> str:
        return f"json:notebook:{self.file_id}"

    def full(self, links: Links, online: list[str], files: list[str]) -> RoomOut:
        return RoomOut(
            **self.public().model_dump(),
            template=self.template,
            candidate_name=self.candidate_name,
            file_id=self.file_id,
            notes=self.notes,
            online=online,
            links=links,
            files=files,
        )

    def files(self, root_dir: Path) -> list[str]:
        """The files in the room's folder besides its notebook, for the interviewer to see."""
        folder = root_dir / self.notebook_path.rsplit("/", 1)[0]
        notebook = root_dir / self.notebook_path
        return sorted(
            str(path.relative_to(folder))
            for path in folder.rglob("*")
            if path.is_file()
            and path != notebook
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        )


@dataclass(frozen=True)
class Grant:
    room_id: str
    role: Role
    nonce: str


def connect(db_path: Path, schema: str) -> sqlite3.Connection:
    """A connection to the rooms' SQLite file, as each of its stores opens it (rooms,
    gradings, scorecards): a write-ahead log, and what is deleted is overwritten, not left
    in free pages (purges, retention)."""
    db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA secure_delete=ON")
    db.executescript(schema)
    return db


class RoomStore:
    """Rooms and link grants, in SQLite and mirrored in memory."""

    def __init__(self, db_path: Path, link_secret: bytes) -> None:
        self._secret = link_secret
        self._lock = threading.Lock()
        self._db = connect(db_path, _SCHEMA)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys=ON")
        for table, added in (("rooms", _ADDED_COLUMNS), ("executions", _ADDED_EXECUTION_COLUMNS)):
            present = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, declaration in added:
                if name not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}")
        self._rooms = {row["id"]: _room(row) for row in self._db.execute("SELECT * FROM rooms")}
        self._grants = {
            row["token_hash"]: Grant(row["room_id"], row["role"], row["nonce"])
            for row in self._db.execute("SELECT * FROM grants")
        }
        self._listeners: list[Callable[[Room], None]] = []

    def on_change(self, listener: Callable[[Room], None]) -> None:
        """Call ``listener`` with the room after each change (``rooms/events.py``)."""
        self._listeners.append(listener)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(8)

    def add(self, room: Room) -> None:
        grants = {role: new_nonce() for role in ROLES}
        with self._tx() as db:
            db.execute(
                f"INSERT INTO rooms ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                [_to_sql(name, getattr(room, name)) for name in _COLUMNS],
            )
            for role, nonce in grants.items():
                token_hash = hash_token(mint_token(self._secret, nonce))
                db.execute(
                    "INSERT INTO grants VALUES (?,?,?,?)", (token_hash, room.id, role, nonce)
                )
                self._grants[token_hash] = Grant(room.id, role, nonce)
        self._rooms[room.id] = room

    def get(self, room_id: str) -> Room:
        room = self._rooms.get(check_room_id(room_id))
        if room is None:
            raise RoomNotFound(f"There is no room {room_id!r}.")
        return room

    def find(self, room_id: str) -> Room | None:
        return self._rooms.get(room_id)

    def list(self, status: RoomStatus | None = None) -> list[Room]:
        rooms = sorted(self._rooms.values(), key=lambda r: (r.created_at, r.id), reverse=True)
        return [r for r in rooms if status is None or r.status == status]

    def update(self, room_id: str, **changes: object) -> Room:
        room = replace(self.get(room_id), **changes)
        columns = ", ".join(f"{name} = ?" for name in changes)
        values = [_to_sql(name, v) for name, v in changes.items()]
        with self._tx() as db:
            db.execute(f"UPDATE rooms SET {columns} WHERE id = ?", (*values, room_id))
        self._rooms[room_id] = room
        for listener in self._listeners:
            listener(room)
        return room

    def delete(self, room_id: str) -> Room:
        """Delete a room and its links. What it leaves (its history, gradings, the folder
        kept under .deleted/) is remembered, for retention to erase in time."""
        room = self.get(room_id)
        with self._tx() as db:
            db.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
            db.execute(
                "INSERT OR REPLACE INTO deleted_rooms VALUES (?,?,?,?)",
                (room.id, room.file_id, room.notebook_path, now().isoformat()),
            )
        self._rooms.pop(room_id, None)
        for token_hash in [h for h, g in self._grants.items() if g.room_id == room_id]:
            del self._grants[token_hash]
        return room

    def erase_traces(self, room_id: str) -> None:
        """After ``delete``: the room's sandbox runs too, and nothing left in the file's log."""
        with self._tx() as db:
            db.execute("DELETE FROM executions WHERE room_id = ?", (room_id,))
            db.execute("DELETE FROM deleted_rooms WHERE id = ?", (room_id,))
        self.compact()

    def deleted(self, before: datetime) -> list[Room]:
        """Rooms deleted (not purged) before a time: what is left of them, as rooms."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, file_id, notebook_path FROM deleted_rooms WHERE deleted_at < ?",
                (before.isoformat(),),
            ).fetchall()
        return [
            Room(
                id=row["id"],
                title="",
                template="",
                status="ended",
                candidate_name=None,
                duration_minutes=0,
                notebook_path=row["notebook_path"],
                file_id=row["file_id"],
                notes="",
                created_at=before,
            )
            for row in rows
        ]

    def compact(self) -> None:
        """Fold the write-ahead log into the file and empty it: deleted rows live on in the
        log's old frames until then."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def record_execution(
        self,
        room_id: str,
        *,
        who: str,
        who_id: str,
        role: str,
        language: str,
        code_sha256: str,
        status: str,
        duration_ms: int,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO executions (room_id, at, who, who_id, role, language, code_sha256,"
                " status, duration_ms) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    room_id,
                    now().isoformat(),
                    who,
                    who_id,
                    role,
                    language,
                    code_sha256,
                    status,
                    duration_ms,
                ),
            )

    def executions(self, room_id: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, who, who_id, role, language, code_sha256, status, duration_ms"
                " FROM executions WHERE room_id = ? ORDER BY id",
                (room_id,),
            ).fetchall()
        return [dict(row) for row in rows]

    def grant(self, token_hash: str) -> Grant | None:
        return self._grants.get(token_hash)

    def _token(self, room_id: str, role: Role) -> str:
        """The room's token for ``role``, made the first time it is asked for (rooms made
        before a role existed get theirs then)."""
        grant = next(
            (g for g in self._grants.values() if g.room_id == room_id and g.role == role),
            None,
        )
        if grant is None:
            grant = Grant(room_id, role, new_nonce())
            token_hash = hash_token(mint_token(self._secret, grant.nonce))
            with self._tx() as db:
                db.execute(
                    "INSERT INTO grants VALUES (?,?,?,?)",
                    (token_hash, room_id, role, grant.nonce),
                )
            self._grants[token_hash] = grant
        return mint_token(self._secret, grant.nonce)

    def runner_token(self, room_id: str) -> str:
        """The token a server kernel of the room gets: it may only run programs there."""
        return self._token(room_id, "runner")

    def links(self, room_id: str, base_url: str) -> Links:
        return Links(
            **{role: f"{base_url}interview/r/{self._token(room_id, role)}" for role in ROLES}
        )


def _to_sql(name: str, value: object) -> object:
    if name in _JSON_COLUMNS:
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value.isoformat() if isinstance(value, datetime) else value


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _room(row: sqlite3.Row) -> Room:
    return Room(
        id=row["id"],
        title=row["title"],
        template=row["template"],
        status=row["status"],
        candidate_name=row["candidate_name"],
        duration_minutes=row["duration_minutes"],
        notebook_path=row["notebook_path"],
        file_id=row["file_id"],
        notes=row["notes"],
        completion=bool(row["completion"]),
        languages=json.loads(row["languages"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        started_at=_when(row["started_at"]),
        ended_at=_when(row["ended_at"]),
        mode=row["mode"],
        end_reason=row["end_reason"],
        submitted_at=_when(row["submitted_at"]),
        interviewer_name=row["interviewer_name"],
        packages=json.loads(row["packages"]),
        record_paste_text=bool(row["record_paste_text"]),
    )
