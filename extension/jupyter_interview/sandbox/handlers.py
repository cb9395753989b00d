"""HTTP handlers for the Piston sandbox: run a program, list the runtimes, the run history."""

from __future__ import annotations

from ..access.gate import RoomGate
from ..api.base import InterviewHandler, operation
from ..api.errors import Forbidden
from ..api.models import ExecuteRequest, ExecuteResult, ExecutionOut, RuntimeOut
from ..api.principal import RoomUser
from ..rooms.handlers import ROOM_ID
from ..rooms.store import RoomStore, check_room_id
from .executor import RoomExecutor


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
            who, role = user.name, user.role
        else:
            who, role = user.name, "interviewer"
        result = await self.executor.execute(room, who, role, body)
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


ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    (f"/interview/api/rooms/{ROOM_ID}/execute", ExecuteHandler),
    (f"/interview/api/rooms/{ROOM_ID}/runtimes", RuntimesHandler),
    (f"/interview/api/rooms/{ROOM_ID}/executions", ExecutionsHandler),
]
