"""The contents manager: room users stay in their room folder, and room notebooks are never
trusted.

Three jobs, each below the URL checks of the authorizer, so they hold whatever route a
request took:

- **Every path a room user names is checked**, the destination of a rename or a copy
  included, in the operation itself (``get``, ``save``, ``rename``, ``copy``, ``new``,
  ``delete``, checkpoints). A room user may write only inside its own room folder, never
  the room notebook itself (jupyter-collaboration saves that), and never a file Python
  would import (``.py``, ``.pth``, ``.so``, ...): such a file could shadow a module in a
  kernel someone else runs.
- **Listings** on the way to the room: the in-browser kernel mounts the contents API as
  its file system and lists the root when it starts (a 403 there crashes it), so a room
  user may list the root and ``rooms/``, cut down to the entries on the way to its room.
- **Trust**: a room notebook is written by its candidate. The notary never signs one, and
  loading one marks no cell trusted, so its outputs render sanitised in every page,
  whatever the cells' metadata says.

Writes go through :mod:`jupyter_interview.durable`: a kill mid-save leaves the old file or
the new one, never an empty notebook.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import IO, Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from nbformat import NotebookNode
from tornado.web import HTTPError

from ..api.principal import RoomUser
from ..durable import replace_atomically
from .gate import gate_of_settings

# The room user whose contents request is being handled. Set by the authorizer for the
# contents and files handlers only: jupyter-collaboration's own loads and saves run in
# tasks that a room user's websocket started, and must not be checked as that user.
contents_caller: ContextVar[RoomUser | None] = ContextVar("interview_contents_caller", default=None)

# Set while a call is under way: a directory listing calls ``get`` for each entry, and
# those inner calls are the listing's business, filtered once it returns.
_inner: ContextVar[bool] = ContextVar("interview_contents_inner", default=False)

ROOMS_FOLDER = "rooms"
# Files a room user may not create: Python would import them from the working directory.
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyd", ".pyw", ".pth", ".pyz", ".so", ".whl", ".egg")


def is_room_path(path: str) -> bool:
    path = path.strip("/")
    return path == ROOMS_FOLDER or path.startswith(ROOMS_FOLDER + "/")


def _on_the_way(entry_path: str, folder: str) -> bool:
    path = entry_path.strip("/")
    return folder == path or folder.startswith(path + "/") or path.startswith(folder + "/")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def _plain(raw: str) -> str:
    """A path as a room user may name it: no ``..``, ``.``, empty segments or backslashes."""
    path = raw.strip("/")
    if path and (
        "\\" in path or "\x00" in path or any(p in ("", ".", "..") for p in path.split("/"))
    ):
        raise HTTPError(403, f"{raw!r} is not a plain path")
    return path


class RoomContentsManager(AsyncLargeFileManager):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Paths whose last save failed, and why (the health endpoint lists them).
        self.save_failures: dict[str, str] = {}
        # When the latest successful save of each path began: a slower save that began
        # earlier and failed later (a full disk, since freed) is old news.
        self._saved_from: dict[str, float] = {}
        # Told of every save's outcome: (path, None) when it worked, (path, why) when not.
        self.save_listeners: list[Callable[[str, str | None], None]] = []

    # --- who may touch which path -------------------------------------------------------

    def _room_user(self) -> RoomUser | None:
        return contents_caller.get()

    def _may_write(self, user: RoomUser) -> bool:
        gate = gate_of_settings(self.parent.web_app.settings)
        return gate is not None and gate.can_write(user)

    def _folder(self, user: RoomUser) -> str:
        return f"{ROOMS_FOLDER}/{user.room_id}"

    def _check_read(self, path: str) -> RoomUser | None:
        user = self._room_user()
        if user is None:
            return None
        path = _plain(path)
        if path in ("", ROOMS_FOLDER) or _inside(path, self._folder(user)):
            return user
        raise HTTPError(403, f"{path} is outside this interview room")

    def _check_write(self, *paths: str) -> None:
        user = self._room_user()
        if user is None:
            return
        folder = self._folder(user)
        notebook = self._notebook_path(user)
        if not self._may_write(user):
            raise HTTPError(403, "This link is read-only")
        for raw in paths:
            path = _plain(raw)
            if not path.startswith(folder + "/"):
                raise HTTPError(403, f"{path or '/'} is outside this interview room")
            if path == notebook:
                raise HTTPError(403, "The room notebook is saved by the room itself")
            if path.lower().endswith(CODE_SUFFIXES):
                raise HTTPError(403, f"Room links may not create Python code files ({path})")

    def _notebook_path(self, user: RoomUser) -> str | None:
        gate = gate_of_settings(self.parent.web_app.settings)
        room = gate.store.find(user.room_id) if gate is not None else None
        return room.notebook_path if room is not None else None

    # --- the operations ---------------------------------------------------------------

    async def get(self, path: str, content: bool = True, **kwargs: Any) -> dict[str, Any]:
        if _inner.get():
            return await super().get(path, content=content, **kwargs)
        user = self._check_read(path)
        token = _inner.set(True)
        try:
            model = await super().get(path, content=content, **kwargs)
        finally:
            _inner.reset(token)
        if user is None:
            return model
        if model["type"] == "directory" and model["content"]:
            folder = self._folder(user)
            model["content"] = [e for e in model["content"] if _on_the_way(e["path"], folder)]
        elif model["type"] == "notebook" and not self._may_write(user):
            # Observers, and candidates once the room has ended: the page opens read-only.
            model["writable"] = False
        return model

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        self._check_write(path)
        began = time.monotonic()
        try:
            saved = await super().save(model, path)
        except Exception as e:
            why = getattr(e, "log_message", None) or str(e)
            self._saved(path, began, why, storage=_is_storage_failure(e))
            raise
        self._saved(path, began, None)
        return saved

    def _saved(self, path: str, began: float, error: str | None, *, storage: bool = True) -> None:
        path = path.strip("/")
        if error is None:
            self.save_failures.pop(path, None)
            self._saved_from[path] = began
        elif self._saved_from.get(path, -1.0) > began:
            return
        elif storage:
            self.save_failures[path] = error
        for listener in self.save_listeners:
            listener(path, error)

    async def delete(self, path: str) -> None:
        self._check_write(path)
        await super().delete(path)

    async def rename(self, old_path: str, new_path: str) -> None:
        self._check_write(old_path, new_path)
        await super().rename(old_path, new_path)

    async def copy(self, from_path: str, to_path: str | None = None) -> dict[str, Any]:
        if self._check_read(from_path) is not None:
            folder, _, name = from_path.strip("/").rpartition("/")
            dest = (to_path or folder).strip("/")
            self._check_write(f"{dest}/{name}" if await self.dir_exists(dest) else dest)
        return await super().copy(from_path, to_path)

    async def new_untitled(self, path: str = "", type: str = "", ext: str = "") -> dict[str, Any]:
        self._check_write(f"{path.strip('/')}/untitled{ext}")
        return await super().new_untitled(path, type, ext)

    async def new(self, model: dict[str, Any] | None = None, path: str = "") -> dict[str, Any]:
        self._check_write(path)
        return await super().new(model, path)

    async def create_checkpoint(self, path: str) -> dict[str, Any]:
        self._check_write(path)
        return await super().create_checkpoint(path)

    async def restore_checkpoint(self, checkpoint_id: str, path: str) -> None:
        self._check_write(path)
        await super().restore_checkpoint(checkpoint_id, path)

    async def delete_checkpoint(self, checkpoint_id: str, path: str) -> None:
        self._check_write(path)
        await super().delete_checkpoint(checkpoint_id, path)

    async def list_checkpoints(self, path: str) -> list[dict[str, Any]]:
        self._check_read(path)
        return await super().list_checkpoints(path)

    async def trust_notebook(self, path: str) -> None:
        if is_room_path(path):
            raise HTTPError(403, "Interview room notebooks are never trusted")
        await super().trust_notebook(path)

    # --- trust ------------------------------------------------------------------------

    def check_and_sign(self, nb: NotebookNode, path: str = "", **kwargs: Any) -> None:
        """Sign on save, except a room notebook: it is never signed, whatever its cells say."""
        if is_room_path(path):
            untrust(nb)
            return
        super().check_and_sign(nb, path, **kwargs)

    def mark_trusted_cells(self, nb: NotebookNode, path: str = "") -> None:
        """On load, a room notebook's cells carry no trust flag at all (so none is trusted)."""
        if is_room_path(path):
            untrust(nb)
            return
        super().mark_trusted_cells(nb, path)

    # --- durable writes ---------------------------------------------------------------

    @contextlib.contextmanager
    def atomic_writing(self, os_path: str, **kwargs: Any) -> Iterator[IO[Any]]:
        """Every save: temporary file, fsync, rename, fsync the directory."""
        kwargs.pop("log", None)
        with self.perm_to_403(os_path), replace_atomically(os_path, **kwargs) as f:
            yield f


def untrust(nb: NotebookNode) -> None:
    """Drop every trust flag and signature a notebook carries."""
    nb.metadata.pop("signature", None)
    nb.metadata.pop("trusted", None)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("trusted", None)


def _is_storage_failure(error: BaseException) -> bool:
    """A save that failed for the disk (an operator's problem, on the health endpoint), as
    opposed to for what was sent: a client can send a notebook that cannot be written, and
    must not be able to mark the whole server degraded with it."""
    while error is not None:
        if isinstance(error, OSError):
            return True
        error = error.__cause__ or error.__context__
    return False
