"""Durable file writes: a kill at any instant leaves either the old file or the new one.

jupyter_server's own atomic writing copies the file aside, then truncates and rewrites it
in place: a kill between the two leaves an empty notebook (measured). Here the new bytes go
to a temporary file in the same directory, which is flushed and fsynced, then renamed over
the target, and the directory is fsynced so that the rename itself survives a crash.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def replace_atomically(
    path: str | os.PathLike[str], *, text: bool = True, encoding: str = "utf-8", **kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left as it was. A file
    that exists keeps its permission bits.
    """
    target = Path(path)
    if target.is_symlink():
        target = target.parent / os.readlink(target)
    fd, tmp = tempfile.mkstemp(prefix=f".~{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if text:
            kwargs.setdefault("newline", "\n")
            f: IO[Any] = os.fdopen(fd, "w", encoding=encoding, **kwargs)
        else:
            f = os.fdopen(fd, "wb", **kwargs)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_directory(target.parent)


def write_atomically(path: str | os.PathLike[str], data: str | bytes) -> None:
    if isinstance(data, str):
        with replace_atomically(path) as f:
            f.write(data)
    else:
        with replace_atomically(path, text=False) as f:
            f.write(data)


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a rename or a new file in ``path`` survive a crash (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
