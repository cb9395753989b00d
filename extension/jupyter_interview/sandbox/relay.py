"""The interviewer's runs, executed in the candidate's kernel: one shared program.

Room code never runs in the interviewer's browser, where it would act with the
interviewer's cookie, nor on the server. When the interviewer runs a cell of a room
notebook, their page's "Candidate's browser" kernel (front end, ``relay.ts``) posts it
here; the relay hands it to the candidate's page over the room's event stream, that page
runs it in the candidate's own in-browser kernel (outputs land in the shared notebook),
and reports how it went, which answers the interviewer's request. As on CoderPad, both
share one program and its variables. With no candidate page open, nothing can run.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from ..api.errors import CandidateOffline, RunNotFound
from ..api.models import RunReport
from ..rooms.events import RoomEvents, Subscriber


@dataclass
class _Pending:
    room_id: str
    runner: Subscriber
    result: asyncio.Future[RunReport]


class RunRelay:
    def __init__(self, events: RoomEvents) -> None:
        self.events = events
        self._pending: dict[str, _Pending] = {}
        events.on_leave(self._page_left)

    async def run(self, room_id: str, cell_id: str, code: str) -> RunReport:
        """Run ``code`` (the cell ``cell_id``) in the candidate's kernel; wait for it."""
        pages = self.events.subscribers(room_id, role="candidate")
        if not pages:
            raise CandidateOffline(
                "The candidate's page is not open, so nothing can run this cell: room code "
                "runs only in the candidate's browser."
            )
        runner = pages[-1]  # the newest tab
        run_id = secrets.token_hex(8)
        pending = _Pending(room_id, runner, asyncio.get_running_loop().create_future())
        self._pending[run_id] = pending
        runner.send("run", {"id": run_id, "cell_id": cell_id, "code": code})
        try:
            return await pending.result
        finally:
            self._pending.pop(run_id, None)

    def report(self, room_id: str, run_id: str, report: RunReport) -> None:
        pending = self._pending.get(run_id)
        if pending is None or pending.room_id != room_id:
            raise RunNotFound(f"No run {run_id!r} is waiting in this room.")
        if not pending.result.done():
            pending.result.set_result(report)

    def interrupt(self, room_id: str) -> int:
        """Interrupt the candidate's kernel; returns how many pages were told."""
        pages = self.events.subscribers(room_id, role="candidate")
        for page in pages:
            page.send("interrupt", {})
        return len(pages)

    def _page_left(self, page: Subscriber) -> None:
        for pending in self._pending.values():
            if pending.runner is page and not pending.result.done():
                pending.result.set_exception(
                    CandidateOffline("The candidate's page closed before the cell finished.")
                )
