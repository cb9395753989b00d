"""The one data directory that holds everything durable, and the server config that points there.

Keeping the room database, the Yjs history, the collaboration session file, the file-id
database and the room notebooks together is what makes a restart safe: upstream corrupts
notebooks when the history store is lost while the session file survives (#594).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config


@dataclass(frozen=True)
class DataDir:
    """Paths inside the data directory. Internal files start with a dot, so the contents API
    (``ContentsManager.allow_hidden`` is off by default) never serves them."""

    root: Path

    @property
    def rooms(self) -> Path:
        return self.root / "rooms"

    @property
    def room_db(self) -> Path:
        return self.root / ".interview.db"

    @property
    def ystore_db(self) -> Path:
        return self.root / ".ystore.db"

    @property
    def session_file(self) -> Path:
        return self.root / ".collaboration_sessions.json"

    @property
    def file_id_db(self) -> Path:
        return self.root / ".file_id.db"

    @property
    def secret_file(self) -> Path:
        return self.root / ".link_secret"

    @property
    def notary(self) -> Path:
        """Notebook trust signatures (nbformat's NotebookNotary)."""
        return self.root / ".notary"

    @property
    def deleted(self) -> Path:
        return self.root / ".deleted"

    def ensure(self) -> None:
        """Create the directory tree (private to the server's user)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.rooms.mkdir(exist_ok=True)
        self.notary.mkdir(mode=0o700, exist_ok=True)

    def link_secret(self) -> bytes:
        """The key room links are derived from; made once, kept apart from the database."""
        path = self.secret_file
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())

    def server_config(self) -> Config:
        """Config that puts the server's root and jupyter-collaboration's files in here."""
        root = str(self.root)
        return Config(
            {
                "ServerApp": {"root_dir": root},
                "YDocExtension": {
                    "session_store_path": str(self.session_file),
                    "ystore_class": "jupyter_interview.sync.history.HistoryStore",
                },
                "HistoryStore": {"db_path": str(self.ystore_db)},
                "NotebookNotary": {"data_dir": str(self.notary)},
                "BaseFileIdManager": {"db_path": str(self.file_id_db)},
            }
        )
