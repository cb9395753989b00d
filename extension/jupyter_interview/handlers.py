"""HTTP handlers of the room API (``/interview/api/…``) and the room link (``/interview/r/…``).

Each API method is declared with ``@operation``: that one declaration parses and validates
the request body, says who may call it, and is what ``openapi.py`` reads to describe it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async
from pydantic import BaseModel, TypeAdapter, ValidationError
from tornado import web

from . import __version__
from .access import RoomUser
from .errors import BodyTooLarge, Forbidden, InterviewError, InvalidJSON, InvalidRequest
from .execution import RoomExecutor
from .gate import RoomGate
from .landing import RoomLinkHandler
from .models import (
    ErrorOut,
    ExecuteRequest,
    ExecuteResult,
    ExecutionOut,
    Health,
    RoomCreate,
    RoomOut,
    RoomPublic,
    RoomStatus,
    RoomUpdate,
    RuntimeOut,
    TemplateOut,
)
from .rooms import Room, RoomStore, check_room_id, now, slugify
from .templates import TemplateCatalogue

M = TypeVar("M", bound=BaseModel)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    429: "rate_limited",
}


@dataclass
class Operation:
    """What ``openapi.py`` needs to know of one handler method."""

    summary: str
    body: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    public: bool = False
    room_links: bool = False
    query: dict[str, Any] = field(default_factory=dict)


def operation(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    public: bool = False,
    room_links: bool = False,
    query: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
    """Declare an API method. ``room_links``: a candidate or observer link may call it too."""

    def wrap(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def handle(self: InterviewHandler, **path: str) -> None:
            if not room_links and isinstance(self.current_user, RoomUser):
                raise Forbidden("A room link cannot do this.")
            if body is None:
                await method(self, **path)
            else:
                await method(self, **path, body=self.parse_body(body))

        op = Operation(summary, body, response, status, public, room_links, query or {})
        if not public:
            handle = web.authenticated(authorized(handle))  # type: ignore[assignment]
        handle.__doc__ = method.__doc__
        handle.operation = op  # type: ignore[attr-defined]
        return handle

    return wrap


class InterviewHandler(APIHandler):
    """JSON in, JSON out; every error as ``{"error": code, "message": text}``."""

    auth_resource = "interview"

    @property
    def rooms(self) -> RoomStore:
        return self.settings["interview_rooms"]

    @property
    def gate(self) -> RoomGate:
        return self.settings["interview_gate"]

    @property
    def executor(self) -> RoomExecutor:
        return self.settings["interview_executor"]

    @property
    def templates(self) -> TemplateCatalogue:
        return self.settings["interview_templates"]

    @property
    def max_body_bytes(self) -> int:
        return self.settings["interview_max_body_bytes"]

    def parse_body(self, model: type[M]) -> M:
        raw = self.request.body or b""
        if len(raw) > self.max_body_bytes:
            raise BodyTooLarge(f"The request body is over {self.max_body_bytes} bytes.")
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidJSON(f"The request body is not valid JSON: {e}") from None
        try:
            return model.model_validate(data)
        except ValidationError as e:
            problems = [
                {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
                for err in e.errors(include_url=False, include_input=False)
            ]
            message = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems)
            raise InvalidRequest(f"Invalid request body: {message}", details=problems) from None

    def send(self, payload: BaseModel | list[BaseModel], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if isinstance(payload, list):
            self.finish("[" + ",".join(p.model_dump_json() for p in payload) + "]")
        else:
            self.finish(payload.model_dump_json())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, InterviewError):
            out = ErrorOut(error=exc.code, message=exc.message, details=exc.details)
        elif isinstance(exc, web.HTTPError):
            message = exc.log_message or exc.reason or self._reason
            if exc.args and exc.log_message:
                message = exc.log_message % exc.args
            out = ErrorOut(error=_HTTP_CODES.get(status_code, "error"), message=message)
        else:
            out = ErrorOut(error="internal_error", message="The server failed; see its log.")
        self.set_header("Content-Type", "application/json")
        self.finish(out.model_dump_json(exclude_none=True))

    def room_out(self, room: Room) -> RoomOut:
        links = self.rooms.links(room.id, self.public_url())
        return room.full(links, self.gate.sockets.online(room.collaboration_room))

    def public_url(self) -> str:
        configured: str = self.settings.get("interview_public_url", "")
        if configured:
            return configured.rstrip("/") + "/"
        return f"{self.request.protocol}://{self.request.host}{self.base_url}"


class HealthHandler(InterviewHandler):
    @operation("Whether the interview server is up.", response=Health, public=True)
    async def get(self) -> None:
        self.send(Health(status="ok", version=__version__))


class TemplatesHandler(InterviewHandler):
    @operation("The interview templates rooms can be made from.", response=list[TemplateOut])
    async def get(self) -> None:
        self.send([t.summary() for t in self.templates])


class RoomsHandler(InterviewHandler):
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

    @operation("Create a room from a template.", body=RoomCreate, response=RoomOut, status=201)
    async def post(self, body: RoomCreate) -> None:
        template = self.templates.get(body.template)
        room_id = self.rooms.new_id()
        title = body.title or template.meta.title
        folder = f"rooms/{room_id}"
        path = f"{folder}/{slugify(title)}.ipynb"
        cm = self.contents_manager
        await ensure_async(cm.save({"type": "directory"}, folder))
        notebook = template.room_notebook(room_id=room_id, title=title)
        await ensure_async(
            cm.save({"type": "notebook", "format": "json", "content": notebook}, path)
        )
        file_id = self.settings["file_id_manager"].index(path)
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
        )
        self.rooms.add(room)
        self.log.info("Created room %s (%s) from template %s", room.id, title, template.name)
        self.send(self.room_out(room), status=201)


class RoomHandler(InterviewHandler):
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
        "Delete a room; its folder is kept under the data directory's .deleted/.", status=204
    )
    async def delete(self, room_id: str) -> None:
        room = self.rooms.delete(check_room_id(room_id))
        folder = self.settings["interview_root_dir"] / room.notebook_path.rsplit("/", 1)[0]
        if folder.is_dir():
            target = self.settings["interview_deleted_dir"] / f"{room.id}-{now():%Y%m%dT%H%M%S}"
            target.parent.mkdir(exist_ok=True)
            shutil.move(folder, target)
        self.log.info("Deleted room %s", room.id)
        self.set_status(204)
        self.finish()


class EndRoomHandler(InterviewHandler):
    @operation(
        "End the interview: the candidate link turns read-only (or is revoked).", response=RoomOut
    )
    async def post(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        if room.status == "open":
            room = self.rooms.update(room_id, status="ended", ended_at=now())
            self.log.info("Ended room %s", room.id)
        self.send(self.room_out(room))


class ExecuteHandler(InterviewHandler):
    @operation(
        "Run a program in the Piston sandbox under the room's limits.",
        body=ExecuteRequest,
        response=ExecuteResult,
        room_links=True,
    )
    async def post(self, room_id: str, body: ExecuteRequest) -> None:
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if isinstance(user, RoomUser):
            if user.room_id != room.id or not self.gate.can_write(user):
                raise Forbidden("This link cannot run code in this room (read-only).")
            who, role = user.name, user.role
        else:
            who, role = user.name, "interviewer"
        result = await self.executor.execute(room, who, role, body)
        self.send(ExecuteResult.model_validate(result.to_dict()))


class RuntimesHandler(InterviewHandler):
    @operation(
        "The sandbox languages this room may use.",
        response=list[RuntimeOut],
        room_links=True,
    )
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.send(await self.executor.runtimes(room))


class ExecutionsHandler(InterviewHandler):
    @operation("The room's sandbox executions, oldest first.", response=list[ExecutionOut])
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.send([ExecutionOut(**e) for e in self.rooms.executions(room.id)])


class OpenAPIHandler(InterviewHandler):
    @operation("This API's OpenAPI document.", public=True)
    async def get(self) -> None:
        from .openapi import openapi_document

        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(openapi_document()))


ROOM_ID = r"(?P<room_id>[^/]+)"
API_ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    ("/interview/api/health", HealthHandler),
    ("/interview/api/openapi.json", OpenAPIHandler),
    ("/interview/api/templates", TemplatesHandler),
    ("/interview/api/rooms", RoomsHandler),
    (f"/interview/api/rooms/{ROOM_ID}", RoomHandler),
    (f"/interview/api/rooms/{ROOM_ID}/end", EndRoomHandler),
    (f"/interview/api/rooms/{ROOM_ID}/execute", ExecuteHandler),
    (f"/interview/api/rooms/{ROOM_ID}/runtimes", RuntimesHandler),
    (f"/interview/api/rooms/{ROOM_ID}/executions", ExecutionsHandler),
]


def room_handlers() -> list[tuple[str, type[web.RequestHandler]]]:
    return [*API_ROUTES, (r"/interview/r/(?P<token>[^/]+)", RoomLinkHandler)]


def json_schema(model: Any) -> dict[str, Any]:
    return TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
