"""Back up a live data directory consistently, and restore it.

    python -m jupyter_interview.backup DATA_DIR BACKUP_DIR          # the server may run
    python -m jupyter_interview.backup --restore BACKUP_DIR DATA_DIR  # the server stopped

A copy made with ``cp -r`` while the server runs can catch an SQLite database mid-write.
Here each database is copied with SQLite's online backup API (a consistent snapshot, while
writers go on), first, and the room folders after. The history is each room's source of
truth: a notebook copied a moment after its history may be a little newer, and the first
start on the restored directory writes it back from the history (start-up recovery), so
the restored server holds exactly the history's moment, with no room half-made (a room's
folder is made before its row in the room database).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from pathlib import Path

from .datadir import DataDir

DATABASES = (".interview.db", ".ystore.db", ".file_id.db")
FILES = (".link_secret", ".collaboration_sessions.json")
FOLDERS = (".notary", "rooms", ".deleted")


class BackupError(Exception):
    """A backup or restore that cannot be made as asked; the message says why."""


def backup(data_dir: Path, dest: Path) -> list[str]:
    """Copy ``data_dir`` into the new folder ``dest``; returns what was copied."""
    data = DataDir(data_dir.resolve())
    if not data.room_db.is_file():
        raise BackupError(f"{data_dir} is not an interview data directory (no .interview.db)")
    if dest.exists():
        raise BackupError(f"{dest} exists: back up into a new folder")
    dest.mkdir(parents=True, mode=0o700)
    copied = []
    for name in DATABASES:
        source = data.root / name
        if source.is_file():
            _copy_database(source, dest / name)
            copied.append(name)
    for name in FILES:
        if (data.root / name).is_file():
            shutil.copy2(data.root / name, dest / name)
            copied.append(name)
    for name in FOLDERS:
        if (data.root / name).is_dir():
            shutil.copytree(data.root / name, dest / name, ignore=_temporary_files)
            copied.append(name + "/")
    return copied


def restore(backup_dir: Path, data_dir: Path) -> None:
    """Put a backup in place as a data directory (which must not exist, or be empty)."""
    if not (backup_dir / ".interview.db").is_file():
        raise BackupError(f"{backup_dir} is not a backup (no .interview.db)")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir} is not empty: restore into a new folder")
    shutil.copytree(backup_dir, data_dir, dirs_exist_ok=True)
    data_dir.chmod(0o700)


def _copy_database(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _temporary_files(folder: str, names: list[str]) -> list[str]:
    """Leave out the temporary files of writes under way (``durable.py``)."""
    return [name for name in names if name.startswith(".~")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restore", action="store_true", help="restore BACKUP into DATA")
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.restore:
            restore(args.source, args.target)
            print(f"Restored {args.source} into {args.target}; start the server on it.")
        else:
            copied = backup(args.source, args.target)
            print(f"Backed up {', '.join(copied)} into {args.target}")
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
