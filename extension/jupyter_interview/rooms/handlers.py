"""HTTP handlers for templates and rooms: list, create, read, change, end, delete."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable

from jupyter_server.utils import ensure_async
from tornado.iostream import StreamClosedError

from ..api.base import InterviewHandler, operation
from ..api.errors import Forbidden, InvalidRequest, RoomEnded, RoomNotCreated
from ..api.models import (
    Extend,
    RoomCreate,
    RoomOut,
    RoomPublic,
    RoomStatus,
    RoomUpdate,
    TemplateOut,
)
from ..api.principal import RoomUser
from ..sandbox.executor import NO_SANDBOX_WARNING
from .clock import end_room
from .events import RoomEvents, Subscriber
from .store import Room, RoomStore, check_room_id, now, slugify
from .templates import TemplateCatalogue


class RoomsAPIHandler(InterviewHandler):
    """What the room handlers share: the template catalogue and the interviewer's view."""

    @property
    def rooms(self) -> RoomStore:
        return self.settings["interview_rooms"]

    @property
    def templates(self) -> TemplateCatalogue:
        return self.settings["interview_templates"]

    @property
    def served(self) -> frozenset[str]:
        return self.settings["interview_served_packages"]

    def room_out(self, room: Room) -> RoomOut:
        online: Callable[[str, bool, str | None], list[str]] = self.settings["interview_online"]
        links = self.rooms.links(room.id, self.public_url())
        files = room.files(self.settings["interview_root_dir"])
        people = online(room.collaboration_room, room.status == "open", room.interviewer_name)
        out = room.full(links, people, files)
        missing = [p for p in room.packages if p.lower() not in self.served]
        if missing:
            out.warnings.append(
                f"This server does not serve {', '.join(missing)}: the candidate's browser "
                "loads them from the Pyodide CDN, and cannot import them if it cannot "
                "reach it (a full Pyodide release serves them: lite/build.py --pyodide)."
            )
        others = [lang for lang in room.languages if lang.lower() not in ("python", "python3")]
        if others and not self.settings["interview_executor"].piston_url:
            out.warnings.append(NO_SANDBOX_WARNING.format(languages=", ".join(others)))
        return out


class TemplatesHandler(RoomsAPIHandler):
    @operation("The interview templates rooms can be made from.", response=list[TemplateOut])
    async def get(self) -> None:
        self.send([t.summary(self.served) for t in self.templates])


class RoomsHandler(RoomsAPIHandler):
    @operation(
        "List rooms, newest first.",
        response=list[RoomOut],
        query={"status": {"type": "string", "enum": ["open", "ended"]}},
    )
    async def get(self) -> None:
        status = self.get_query_argument("status", None)
        if status not in (None, "open", "ended"):
            raise InvalidRequest("status must be 'open' or 'ended'.")
        rooms: RoomStatus | None = status  # type: ignore[assignment]
        self.send([self.room_out(r) for r in self.rooms.list(rooms)])

    @operation(
        "Create a room from a template.",
        body=RoomCreate,
        response=RoomOut,
        status=201,
        errors={507: "The room's notebook could not be written (disk full); nothing was made"},
    )
    async def post(self, body: RoomCreate) -> None:
        template = self.templates.get(body.template)
        room_id = self.rooms.new_id()
        title = body.title or template.meta.title
        folder = f"rooms/{room_id}"
        path = f"{folder}/{slugify(title)}.ipynb"
        notebook = template.room_notebook(room_id=room_id, title=title)
        try:
            cm = self.contents_manager
            await ensure_async(cm.save({"type": "directory"}, folder))
            await ensure_async(
                cm.save({"type": "notebook", "format": "json", "content": notebook}, path)
            )
            file_id = self.settings["file_id_manager"].index(path)
        except Exception as e:
            # Nothing half-made stays behind: no folder, no room.
            shutil.rmtree(self.settings["interview_root_dir"] / folder, ignore_errors=True)
            self.log.error("Could not create a room from %s: %s", template.name, e)
            raise RoomNotCreated(
                f"The server could not write the room's notebook ({_reason(e)}); "
                "nothing was created. Free some disk space and try again."
            ) from e
        room = Room(
            id=room_id,
            title=title,
            template=template.name,
            status="open",
            candidate_name=body.candidate_name,
            duration_minutes=body.duration_minutes or template.meta.duration_minutes,
            notebook_path=path,
            file_id=file_id,
            notes="",
            created_at=now(),
            completion=body.completion,
            languages=template.meta.languages,
            mode=body.mode,
            interviewer_name=body.interviewer_name,
            record_paste_text=body.record_paste_text,
            packages=template.meta.packages,
        )
        self.rooms.add(room)
        self.log.info("Created room %s (%s) from template %s", room.id, title, template.name)
        self.send(self.room_out(room), status=201)


def _reason(error: BaseException) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__
    return "see the server's log"


class RoomHandler(RoomsAPIHandler):
    @operation(
        "A room. A room link gets the reduced public view of its own room.",
        response=RoomOut | RoomPublic,
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if isinstance(user, RoomUser):
            if user.room_id != room.id:
                raise Forbidden("A room link can only read its own room.")
            self.send(room.public(role=user.role))
        else:
            self.send(self.room_out(room))

    @operation(
        "Change a room's title, candidate, duration, notes or completion.",
        body=RoomUpdate,
        response=RoomOut,
    )
    async def patch(self, room_id: str, body: RoomUpdate) -> None:
        self.rooms.get(check_room_id(room_id))
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        room = self.rooms.update(room_id, **changes) if changes else self.rooms.get(room_id)
        self.send(self.room_out(room))

    @operation(
        "Delete a room; its folder is kept under the data directory's .deleted/. With "
        "purge=true, erase it: the notebook, its history, sandbox runs, gradings, scorecards "
        "and notes, in no file of the data directory afterwards.",
        status=204,
        query={"purge": {"type": "boolean", "description": "erase everything, at once"}},
    )
    async def delete(self, room_id: str) -> None:
        if self.get_query_argument("purge", "false").lower() in ("true", "1", "yes"):
            room = self.rooms.get(check_room_id(room_id))
            await self.settings["interview_eraser"].purge(room)
            self.set_status(204)
            self.finish()
            return
        room = self.rooms.delete(check_room_id(room_id))
        folder = self.settings["interview_root_dir"] / room.notebook_path.rsplit("/", 1)[0]
        if folder.is_dir():
            target = self.settings["interview_deleted_dir"] / f"{room.id}-{now():%Y%m%dT%H%M%S}"
            target.parent.mkdir(exist_ok=True)
            shutil.move(folder, target)
        self.log.info("Deleted room %s", room.id)
        self.set_status(204)
        self.finish()


class EndRoomHandler(RoomsAPIHandler):
    @operation(
        "End the interview: the candidate link turns read-only (or is revoked).", response=RoomOut
    )
    async def post(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        if room.status == "open":
            room = end_room(self.rooms, room, "ended")
            self.log.info("Ended room %s", room.id)
        self.send(self.room_out(room))


class ExtendRoomHandler(RoomsAPIHandler):
    @operation(
        "Give a running room more time: its deadline moves, every page sees it at once.",
        body=Extend,
        response=RoomOut,
        errors={409: "The room has ended"},
    )
    async def post(self, room_id: str, body: Extend) -> None:
        room = self.rooms.get(check_room_id(room_id))
        if room.status != "open":
            raise RoomEnded("This interview has ended; it cannot be extended.")
        room = self.rooms.update(room.id, duration_minutes=room.duration_minutes + body.minutes)
        self.log.info("Room %s: %d minutes more", room.id, body.minutes)
        self.send(self.room_out(room))


class SubmitHandler(RoomsAPIHandler):
    @operation(
        "The candidate hands in: the room ends for the candidate, submitted_at is recorded.",
        response=RoomPublic,
        room_links=True,
        errors={409: "The room has already ended"},
    )
    async def post(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if not isinstance(user, RoomUser) or user.room_id != room.id or user.role != "candidate":
            raise Forbidden("Only the room's candidate link submits.")
        if room.status != "open":
            raise RoomEnded("This interview has already ended.")
        room = end_room(self.rooms, room, "submitted")
        self.log.info("Room %s: submitted by the candidate", room.id)
        self.send(room.public(role=user.role))


class RoomEventsHandler(RoomsAPIHandler):
    """Server-sent events: ``room`` (the room, at once and after every change), and for
    the candidate's page ``run`` and ``interrupt`` (the interviewer's runs)."""

    KEEPALIVE_SECONDS = 20
    _subscriber: Subscriber | None = None

    @property
    def events(self) -> RoomEvents:
        return self.settings["interview_events"]

    @operation(
        "The room's events, as server-sent events: `room` (the room now, then after each "
        "change); for the candidate's page also `run` and `interrupt`.",
        response=str,
        room_links=True,
        media_type="text/event-stream",
    )
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if isinstance(user, RoomUser) and user.room_id != room.id:
            raise Forbidden("A room link can only follow its own room.")
        role = user.role if isinstance(user, RoomUser) else "interviewer"
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self._subscriber = subscriber = self.events.subscribe(room, role)
        try:
            while True:
                try:
                    event = await asyncio.wait_for(subscriber.queue.get(), self.KEEPALIVE_SECONDS)
                except TimeoutError:
                    self.write(": keep-alive\n\n")
                else:
                    if event is None:
                        break
                    name, data = event
                    self.write(f"event: {name}\ndata: {json.dumps(data)}\n\n")
                await self.flush()
        except StreamClosedError:
            pass
        finally:
            self.events.unsubscribe(subscriber)

    def on_connection_close(self) -> None:
        if self._subscriber is not None:
            self._subscriber.close()


ROOM_ID = r"(?P<room_id>[^/]+)"
TEMPLATE = r"(?P<name>[^/]+)"
ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    ("/interview/api/templates", TemplatesHandler),
    ("/interview/api/rooms", RoomsHandler),
    (f"/interview/api/rooms/{ROOM_ID}", RoomHandler),
    (f"/interview/api/rooms/{ROOM_ID}/end", EndRoomHandler),
    (f"/interview/api/rooms/{ROOM_ID}/extend", ExtendRoomHandler),
    (f"/interview/api/rooms/{ROOM_ID}/submit", SubmitHandler),
    (f"/interview/api/rooms/{ROOM_ID}/events", RoomEventsHandler),
]
