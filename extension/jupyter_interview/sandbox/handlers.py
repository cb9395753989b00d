"""HTTP handlers for the Piston sandbox: run a program, list the runtimes, the run history."""

from __future__ import annotations

from ..access.gate import RoomGate
from ..api.base import InterviewHandler, operation
from ..api.errors import Forbidden, RoomEnded
from ..api.models import (
    ExecuteRequest,
    ExecuteResult,
    ExecutionOut,
    RunReport,
    RunRequest,
    RuntimeOut,
)
from ..api.principal import RoomUser
from ..rooms.handlers import ROOM_ID
from ..rooms.store import RoomStore, check_room_id
from ..sync.bridge import author_of_user
from ..sync.history import Author
from .executor import RoomExecutor
from .relay import RunRelay


class SandboxHandler(InterviewHandler):
    @property
    def rooms(self) -> RoomStore:
        return self.settings["interview_rooms"]

    @property
    def executor(self) -> RoomExecutor:
        return self.settings["interview_executor"]

    @property
    def gate(self) -> RoomGate:
        return self.settings["interview_gate"]


class ExecuteHandler(SandboxHandler):
    @operation(
        "Run a program in the Piston sandbox under the room's limits.",
        body=ExecuteRequest,
        response=ExecuteResult,
        room_links=True,
        errors={
            429: "Over the room's rate or concurrency limit",
            502: "Piston failed",
            503: "No sandbox is configured, or it is unreachable",
        },
    )
    async def post(self, room_id: str, body: ExecuteRequest) -> None:
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if isinstance(user, RoomUser):
            if user.room_id != room.id or not self.gate.can_write(user):
                raise Forbidden("This link cannot run code in this room (read-only).")
            author = author_of_user(user)
        else:
            author = Author(id=user.username, role="interviewer", name=user.name, connection="http")
        result = await self.executor.execute(room, author, body)
        self.send(ExecuteResult.model_validate(result.to_dict()))


class RuntimesHandler(SandboxHandler):
    @operation(
        "The sandbox languages this room may use.",
        response=list[RuntimeOut],
        room_links=True,
        errors={
            502: "Piston failed",
            503: "No sandbox is configured, or it is unreachable",
        },
    )
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.send(await self.executor.runtimes(room))


class ExecutionsHandler(SandboxHandler):
    @operation("The room's sandbox executions, oldest first.", response=list[ExecutionOut])
    async def get(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.send([ExecutionOut(**e) for e in self.rooms.executions(room.id)])


class RelayHandler(SandboxHandler):
    @property
    def relay(self) -> RunRelay:
        return self.settings["interview_relay"]


class RunsHandler(RelayHandler):
    @operation(
        "Run a cell of the room in the candidate's kernel (the interviewer's Run); answers "
        "once it has run.",
        body=RunRequest,
        response=RunReport,
        errors={409: "The room has ended, or the candidate's page is not open"},
    )
    async def post(self, room_id: str, body: RunRequest) -> None:
        room = self.rooms.get(check_room_id(room_id))
        if room.status != "open":
            raise RoomEnded("The interview has ended: nothing runs in the room any more.")
        self.send(await self.relay.run(room.id, body.cell_id, body.code))


class RunReportHandler(RelayHandler):
    @operation(
        "The candidate's page reports how a run the interviewer asked for went.",
        body=RunReport,
        status=204,
        room_links=True,
    )
    async def post(self, room_id: str, run_id: str, body: RunReport) -> None:
        room = self.rooms.get(check_room_id(room_id))
        user = self.current_user
        if isinstance(user, RoomUser) and (user.room_id != room.id or user.role != "candidate"):
            raise Forbidden("Only the room's candidate page runs the interviewer's cells.")
        self.relay.report(room.id, run_id, body)
        self.set_status(204)
        self.finish()


class InterruptHandler(RelayHandler):
    @operation("Interrupt the candidate's kernel (the interviewer's Interrupt).", status=204)
    async def post(self, room_id: str) -> None:
        room = self.rooms.get(check_room_id(room_id))
        self.relay.interrupt(room.id)
        self.set_status(204)
        self.finish()


ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    (f"/interview/api/rooms/{ROOM_ID}/execute", ExecuteHandler),
    (f"/interview/api/rooms/{ROOM_ID}/runtimes", RuntimesHandler),
    (f"/interview/api/rooms/{ROOM_ID}/executions", ExecutionsHandler),
    (f"/interview/api/rooms/{ROOM_ID}/runs", RunsHandler),
    (f"/interview/api/rooms/{ROOM_ID}/runs/(?P<run_id>[0-9a-f]{{16}})", RunReportHandler),
    (f"/interview/api/rooms/{ROOM_ID}/interrupt", InterruptHandler),
]
