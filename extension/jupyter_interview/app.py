"""``jupyter interview``: the extension app that wires rooms, access and sync into one server.

It only wires. Run as ``jupyter interview`` it loads ``server_config/`` (which turns on
``manage_server``) and points the whole server at the data directory; loaded into another
Jupyter server it serves the room API but leaves that server's own settings alone.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, Unicode, default

from . import __version__, routes
from .access.authorizer import InterviewAuthorizer
from .access.contents import RoomContentsManager
from .access.csp import (
    content_security_policy,
    inline_script_hashes,
    package_origins,
    page_templates,
)
from .access.gate import SETTINGS_KEY, RoomGate
from .access.identity import InterviewIdentityProvider
from .access.kernels import RoomKernelManager
from .access.pageconfig import room_page_config_hook
from .datadir import DataDir
from .lite import lite_handlers, page_settings, served_packages
from .review.grading import Grader, GradeStore
from .review.retention import Eraser
from .review.scorecards import ScorecardStore
from .review.timeline import Timelines
from .rooms.clock import RoomClock
from .rooms.events import RoomEvents
from .rooms.store import RoomStore
from .rooms.templates import TemplateCatalogue
from .sandbox.executor import RoomExecutor
from .sandbox.grading import GradingSandbox
from .sandbox.relay import RunRelay
from .sync.bridge import RoomLimits, SyncBridge
from .sync.history import HistoryDB
from .sync.recovery import recover_rooms, relocate_file_ids
from .sync.shutdown import snapshot_rooms, write_snapshots
from .sync.websocket import ROOM_ROUTE, CappedRoomWebSocket

# Below this much free space in the data directory (or a tenth of a smaller disk), the
# health endpoint says so.
LOW_DISK_BYTES = 64 * 2**20


def bundled(name: str) -> Path:
    """``notebooks/`` or ``server_config/``: beside the package in a wheel, at the repo root
    in a source checkout."""
    here = Path(__file__).resolve().parent
    for base in (here, here.parents[1]):
        if (base / name).is_dir():
            return base / name
    raise FileNotFoundError(f"{name}/ is missing from the jupyter-interview installation")


class InterviewApp(ExtensionApp):
    name = "interview"
    app_name = "Jupyter Interview"
    description = "Collaborative coding interviews in Jupyter notebooks."
    version = __version__
    classes: ClassVar[list[type]] = [
        *ExtensionApp.classes,
        RoomExecutor,
        RoomKernelManager,
        GradingSandbox,
    ]
    extension_url = "/lab"
    load_other_extensions = True

    data_dir = Unicode(
        config=True,
        help="""The one directory that holds everything durable: the room database, the Yjs
        history, the collaboration session file, the file-id database and the room notebooks
        (rooms/<room-id>/). Default: <jupyter data dir>/interview.""",
    )

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "interview")

    templates_dir = Unicode(
        config=True,
        help="Folder of template notebooks (*.ipynb with metadata.interview). "
        "Default: the notebooks/ shipped with jupyter-interview.",
    )

    @default("templates_dir")
    def _default_templates_dir(self) -> str:
        return str(bundled("notebooks"))

    manage_server = Bool(
        False,
        config=True,
        help="""Point the whole server at data_dir: its root directory, jupyter-collaboration's
        history store and session file, the file-id database, and room-link identity and
        authorization. `jupyter interview` turns this on; it is off when the extension is loaded
        into another Jupyter server, where room links then do not sign anyone in.""",
    )

    ended_candidate_link = Enum(
        ["read-only", "revoked"],
        default_value="read-only",
        config=True,
        help="What a candidate link does once its room has ended: 'read-only' (default) still "
        "opens the notebook but the server drops its edits; 'revoked' stops working.",
    )

    max_body_bytes = Int(
        256 * 1024,
        config=True,
        help="Largest JSON body the room API accepts, in bytes (default 256 KiB).",
    )

    lite_dir = Unicode(
        config=True,
        help="The built in-browser kernel assets (`python lite/build.py`). "
        "Default: lite/build in the source checkout.",
    )

    @default("lite_dir")
    def _default_lite_dir(self) -> str:
        return str(bundled("lite") / "build")

    max_message_bytes = Int(
        4 * 2**20,
        config=True,
        help="""Largest change one collaboration message may carry, in bytes (default 4 MiB).
        A larger one is refused and its sender's connection closed with the reason; up to
        twice this size the server reads it first, beyond that the connection closes
        before it is read.""",
    )

    max_document_bytes = Int(
        16 * 2**20,
        config=True,
        help="Largest encoded size of a room's notebook, in bytes (default 16 MiB). A change "
        "that would pass it is refused.",
    )

    max_cells = Int(1000, config=True, help="Most cells a room's notebook may have (default 1000).")

    max_history_bytes = Int(
        256 * 2**20,
        config=True,
        help="Most bytes of changes one room's history may keep (default 256 MiB). The "
        "history keeps every change, deleted text included, so a client that pastes and "
        "deletes in a loop would otherwise fill the disk; past it, changes are refused.",
    )

    max_output_bytes = Int(
        2 * 2**20,
        config=True,
        help="Largest single cell output in a room, in bytes of content (default 2 MiB). A "
        "change that would pass it is refused.",
    )

    stop_timeout = Float(
        20.0,
        config=True,
        help="""Seconds a clean stop may take to flush the history and write every open
        room's notebook (default 20). Whatever is not written by then is still in the
        history, and start-up recovery writes it.""",
    )

    retention_days = Int(
        0,
        config=True,
        help="Purge each ended room this many days after it ended: its notebook, history, "
        "sandbox runs, gradings, scorecards, notes and links. 0 keeps rooms until deleted.",
    )
    max_graders = Int(
        10,
        config=True,
        help="Most scorecards one interview takes (its grader link is shared: each browser "
        "that opens it is a grader of its own).",
    )
    blind_graders = Bool(
        False,
        config=True,
        help="Hide the candidate's name from grader links (timeline, reports, exports).",
    )
    grade_on_end = Bool(
        True,
        config=True,
        help="Grade each room against its template's hidden tests as it ends (in the "
        "grading sandbox, GradingSandbox).",
    )
    paste_threshold = Int(
        200,
        config=True,
        help="A paste into a room's notebook of at least this many characters is noted in "
        "the room's timeline, with its length (and its text, if the room keeps it). "
        "Default 200; 0 turns the signal off.",
    )

    interviewer_name = Unicode(
        "Interviewer",
        config=True,
        help="The name candidates see for whoever signs in with the server's own login "
        "(default 'Interviewer'); a room may set its own when it is created.",
    )

    public_url = Unicode(
        "",
        config=True,
        help="Base URL used in room links, e.g. https://interviews.example.com/ behind a proxy. "
        "Default '': the URL the request came in on.",
    )

    @property
    def data(self) -> DataDir:
        return DataDir(Path(self.data_dir).expanduser().resolve())

    def _link_jupyter_server_extension(self, serverapp) -> None:  # type: ignore[no-untyped-def]
        super()._link_jupyter_server_extension(serverapp)
        self.data.ensure()
        if self.manage_server:
            # Explicit settings (config files, command line) win over these defaults.
            derived = self.data.server_config()
            derived.ServerApp.identity_provider_class = InterviewIdentityProvider
            derived.ServerApp.authorizer_class = InterviewAuthorizer
            derived.ServerApp.contents_manager_class = RoomContentsManager
            derived.ServerApp.kernel_manager_class = RoomKernelManager
            derived.merge(serverapp.config)
            serverapp.update_config(derived)

    def initialize_settings(self) -> None:
        data = self.data
        self.rooms = RoomStore(data.room_db, data.link_secret())
        self.executor = RoomExecutor(self.rooms, parent=self)
        self.events = RoomEvents(self.rooms)
        self.clock = RoomClock(self.rooms, self.log)
        self.gate = gate = RoomGate(
            self.rooms,
            base_url=self.serverapp.base_url,
            ended_candidate_link=self.ended_candidate_link,
        )
        limits = RoomLimits(
            max_message_bytes=self.max_message_bytes,
            max_document_bytes=self.max_document_bytes,
            max_cells=self.max_cells,
            max_output_bytes=self.max_output_bytes,
            max_history_bytes=self.max_history_bytes,
        )
        history = HistoryDB.open(data.ystore_db) if self.manage_server else None
        self.bridge = SyncBridge(gate.can_write, limits, history, self.log.warning)
        templates = TemplateCatalogue(Path(self.templates_dir), self.log)
        grades = GradeStore(data.room_db)
        scorecards = ScorecardStore(data.room_db)
        timelines = Timelines(history) if history else None
        self.sandbox = sandbox = GradingSandbox(Path(self.lite_dir) / "pyodide", parent=self)
        self.grader = (
            Grader(
                self.rooms,
                history,
                templates,
                sandbox,
                grades,
                self.log,
                root_dir=Path(self.serverapp.root_dir),
                served=served_packages(Path(self.lite_dir)),
            )
            if history
            else None
        )
        self.eraser = (
            Eraser(
                self.rooms,
                history,
                grades,
                scorecards,
                timelines,
                self.bridge.sockets,
                self._collaboration_server,
                self.grader.cancel_room if self.grader else lambda _room_id: None,
                Path(self.serverapp.root_dir),
                data.deleted,
                self.log,
            )
            if history and timelines
            else None
        )
        self.settings.update(
            {
                SETTINGS_KEY: gate,
                "interview_bridge": self.bridge,
                "interview_history": history,
                "interview_timelines": timelines,
                "interview_online": self.bridge.online,
                "interview_openapi": routes.openapi(),
                "interview_max_transport_bytes": 2 * self.max_message_bytes,
                "interview_problems": self.problems,
                "interview_served_packages": served_packages(Path(self.lite_dir)),
                "interview_interviewer_name": self.interviewer_name,
                "interview_paste_threshold": self.paste_threshold,
                "interview_local_url": self.serverapp.connection_url,
                "interview_rooms": self.rooms,
                "interview_executor": self.executor,
                "interview_events": self.events,
                "interview_relay": RunRelay(self.events),
                "interview_templates": templates,
                "interview_grader": self.grader,
                "interview_scorecards": scorecards,
                "interview_eraser": self.eraser,
                "interview_blind_graders": self.blind_graders,
                "interview_max_graders": self.max_graders,
                "interview_max_body_bytes": self.max_body_bytes,
                "interview_public_url": self.public_url,
                "interview_root_dir": Path(self.serverapp.root_dir),
                "interview_deleted_dir": data.deleted,
            }
        )
        contents = self.serverapp.contents_manager
        if isinstance(contents, RoomContentsManager):
            contents.save_listeners.append(self.events.saved)
        web = self.serverapp.web_app.settings
        web["page_config_hook"] = room_page_config_hook(web.get("page_config_hook"))
        if self.manage_server:
            headers = web.setdefault("headers", {})
            headers.setdefault(
                "Content-Security-Policy",
                content_security_policy(
                    script_hashes=inline_script_hashes(page_templates()),
                    package_origins=package_origins(Path(self.lite_dir)),
                ),
            )
        page_config = web.setdefault("page_config_data", {})
        page_config.update(page_settings(self.serverapp.base_url))
        if not (Path(self.lite_dir) / "pyodide" / "pyodide.js").exists():
            self.log.warning(
                "No in-browser kernel assets in %s: run `make lite` (or python lite/build.py)",
                self.lite_dir,
            )
        self.log.info("Interview data directory: %s", data.root)
        if history is not None:
            # Before the first room opens: see sync/recovery.py for the losses it prevents.
            recovered = recover_rooms(
                self.rooms,
                history,
                self.settings["interview_templates"],
                Path(self.serverapp.root_dir),
                self.log,
            )
            if recovered.failed:
                self.log.error("Rooms that could not be recovered: %s", recovered.failed)
        if not self.manage_server:
            self.log.warning(
                "jupyter-interview is loaded into a server it does not manage: room links "
                "will not sign anyone in. Start it with `jupyter interview` instead."
            )

    async def _start_jupyter_server_extension(self, serverapp) -> None:  # type: ignore[no-untyped-def]
        """Once every extension is loaded: expired rooms purged and rooms' file ids moved
        after a move of the data directory, with every request held until both are done
        (jupyter_server is already listening), then trim costs off the sync hot path.

        Logging: traitlets leaves each app's logger at DEBUG and filters in the console
        handler, so the debug calls on the hot path (pycrdt-websocket logs every message it
        sends) format a record per message, 8% of the server's CPU at 200 busy rooms.
        Setting the loggers to the configured level prints the same lines, and
        `--log-level=DEBUG` still shows everything.

        Garbage collection: a full collection walks every object, and the server's start-up
        heap (JupyterLab, its extensions) is most of them. At 200 busy rooms full
        collections of 230 ms came every few seconds. Freezing the start-up heap leaves
        them only the rooms' own objects, and they still took about 100 ms while finding
        almost no garbage (cycles die young here), so they run ten times less often.

        Thread switches: every client update waits for the history writer's commit
        (write-ahead), and the writer thread needs the GIL for it. Python hands the GIL
        over every 5 ms by default, which added up to that to the sync p99; 1 ms keeps
        the handover short while the event loop is busy.
        """
        try:
            if self.manage_server:
                await self._prepare_rooms(serverapp)
            # After the watchers: a room whose time ran out while the server was down ends
            # now, and is graded and its timeline made like any other.
            self.clock.start(asyncio.get_running_loop())
        finally:
            self.gate.ready.set()  # requests were held until now (see access/gate.py)
        if not self.manage_server:
            return
        apps = [serverapp] + [
            app for apps in serverapp.extension_manager.extension_apps.values() for app in apps
        ]
        for app in apps:
            app.log.setLevel(app.log_level)
        sys.setswitchinterval(0.001)
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, 100)

    async def _prepare_rooms(self, serverapp) -> None:  # type: ignore[no-untyped-def]
        """What must be done before any request is served: expired rooms purged, rooms'
        file ids moved (the file id manager exists only once every extension is loaded)."""
        self.settings["interview_timelines"].watch(self.rooms, self.log)
        if self.grader is not None and self.grade_on_end:
            self.grader.watch()
        if self.eraser is not None:
            await self.eraser.start(self.retention_days)
        file_ids = serverapp.web_app.settings.get("file_id_manager")
        if file_ids is not None and self.bridge.history is not None:
            relocate_file_ids(self.rooms, self.bridge.history, file_ids, self.log)

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes.handlers())
        if self.manage_server:
            # Ahead of jupyter-collaboration's own handler for the same route (extensions
            # load in name order): the same handler, with a cap on message size.
            self.handlers.append((ROOM_ROUTE, CappedRoomWebSocket))
        self.handlers.extend(lite_handlers(Path(self.lite_dir)))

    def problems(self) -> list[str]:
        """What keeps this server from keeping what it is sent (the health endpoint)."""
        found = []
        root = self.data.root
        try:
            with tempfile.NamedTemporaryFile(dir=root, prefix=".health-") as probe:
                probe.write(b"\0" * 4096)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as e:
            found.append(f"the data directory {root} cannot be written: {e.strerror or e}")
        disk = shutil.disk_usage(root)
        if disk.free < min(LOW_DISK_BYTES, disk.total // 10):
            found.append(f"the data directory has {disk.free // 2**20} MiB free")
        history = self.bridge.history
        if history is not None and history.failing:
            found.append(f"the history cannot be written: {history.failing}")
        contents = self.serverapp.contents_manager
        if isinstance(contents, RoomContentsManager):
            # A failure for a folder that is gone (a room whose creation failed) is moot.
            root_dir = Path(self.serverapp.root_dir)
            found.extend(
                f"{path} was not saved: {why}"
                for path, why in contents.save_failures.items()
                if (root_dir / path).parent.is_dir()
            )
        return found

    def _collaboration_server(self) -> object | None:
        """jupyter-collaboration's websocket server (its rooms), once it runs."""
        ydoc = self.serverapp.web_app.settings.get("jupyter_server_ydoc")
        return getattr(ydoc, "ywebsocket_server", None)

    async def stop_extension(self) -> None:
        """Stop without losing an edit: refuse new ones, take each open room's document,
        close the sockets, flush the history, write each room's notebook once."""
        started = time.monotonic()
        self.bridge.stopping = True
        if self.grader is not None:
            self.grader.stop()
        self.sandbox.stop()
        if self.eraser is not None:
            self.eraser.stop()
        ydoc = self.serverapp.web_app.settings.get("jupyter_server_ydoc")
        live = ydoc.ywebsocket_server.rooms if ydoc is not None and self.manage_server else {}
        snapshots = snapshot_rooms(self.rooms, live, Path(self.serverapp.root_dir))
        self.events.close_all()
        closed = await self.bridge.close_all()
        history = self.bridge.history
        try:
            if history is not None:
                await asyncio.wait_for(history.flush(), self.stop_timeout)
            written = await asyncio.wait_for(
                asyncio.to_thread(write_snapshots, snapshots, self.log), self.stop_timeout
            )
        except TimeoutError:
            self.log.error(
                "Stop: not done within %s s; start-up recovery will finish from the history",
                self.stop_timeout,
            )
        else:
            self.log.info(
                "Stopped: %d connections closed, history flushed, %d of %d open rooms written "
                "in %.2f s",
                closed,
                written,
                len(snapshots),
                time.monotonic() - started,
            )
        self.clock.stop()
        await self.executor.close()
        self.settings["interview_scorecards"].close()
        if self.grader is not None:
            self.grader.store.close()
        self.rooms.close()


def use_uvloop() -> None:
    """Run the server on uvloop unless ``JUPYTER_INTERVIEW_UVLOOP=0``.

    pycrdt-websocket starts a task for every message it sends, so the event loop's own
    cost per task and per socket write is most of the sync hot path; uvloop's is a
    fraction of asyncio's. It has to be chosen before the server creates its loop, which
    is before any traitlet is read, hence an environment variable.
    """
    if os.environ.get("JUPYTER_INTERVIEW_UVLOOP", "1") == "0":
        return
    try:
        import uvloop
    except ImportError:  # not built for this platform (Windows)
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``jupyter interview``: the server with ``server_config/`` loaded."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(arg.startswith("--config") for arg in args):
        config = bundled("server_config") / "jupyter_server_config.py"
        args.insert(0, f"--config={config}")
    use_uvloop()
    InterviewApp.launch_instance(argv=args)


if __name__ == "__main__":
    main()
