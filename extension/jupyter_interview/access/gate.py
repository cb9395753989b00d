"""The room gate: turns a room link into a user, and a user's request into yes or no.

One instance lives in the web app's settings (``interview_gate``). The identity provider
and the authorizer are created by the server before extensions load, so they find the
gate there at request time.

The gate also holds requests until the server is ready (through our identity provider,
which ``jupyter interview`` installs): jupyter_server starts listening before it runs the
extensions' start hooks, and ours purge expired rooms and move rooms' file ids. A request
served in between would see a room half erased or a link that finds no notebook.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from tornado.web import RequestHandler

from ..api.principal import RoomUser
from ..rooms.links import hash_token, looks_like_room_token
from ..rooms.store import Room, RoomStore
from .policy import RoomPolicy, RoomScope, clean_path

SETTINGS_KEY = "interview_gate"
EndedLinkMode = Literal["read-only", "revoked"]


class RoomGate:
    def __init__(
        self,
        store: RoomStore,
        *,
        base_url: str,
        ended_candidate_link: EndedLinkMode,
        policy: RoomPolicy | None = None,
    ) -> None:
        self.store = store
        self.base_url = base_url
        self.ended_candidate_link = ended_candidate_link
        self.policy = policy or RoomPolicy()
        self.ready = asyncio.Event()
        self._holding = False

    async def until_ready(self, log: logging.Logger) -> None:
        """Hold a request until start-up is done, and say so in the log once."""
        if self.ready.is_set():
            return
        if not self._holding:
            self._holding = True
            log.info("Holding requests until start-up is done (expired rooms being purged)")
        await self.ready.wait()

    def user_for_token(self, token: str) -> RoomUser | None:
        """The room user a link token stands for, or None for an unknown or dead link."""
        if not looks_like_room_token(token):
            return None
        token_hash = hash_token(token)
        grant = self.store.grant(token_hash)
        if grant is None:
            return None
        room = self.store.find(grant.room_id)
        if room is None or not self._link_alive(room, grant.role):
            return None
        names = {"candidate": room.candidate_name, "runner": "Server kernel"}
        return RoomUser(
            username=f"{grant.role}-{room.id}",
            name=names.get(grant.role) or grant.role.capitalize(),
            room_id=room.id,
            role=grant.role,
            grant=token_hash,
        )

    def _link_alive(self, room: Room, role: str) -> bool:
        return not (
            role == "candidate"
            and room.status == "ended"
            and self.ended_candidate_link == "revoked"
        )

    def scope(self, user: RoomUser) -> RoomScope | None:
        """What the user may touch now; None once its link is gone (deleted, revoked)."""
        grant = self.store.grant(user.grant)
        if grant is None or grant.room_id != user.room_id or grant.role != user.role:
            return None
        room = self.store.find(user.room_id)
        if room is None or not self._link_alive(room, user.role):
            return None
        return RoomScope(
            room_id=room.id,
            role=user.role,
            notebook_path=room.notebook_path,
            file_id=room.file_id,
            writable=user.role in ("candidate", "runner") and room.status == "open",
        )

    def can_write(self, user: RoomUser) -> bool:
        scope = self.scope(user)
        return scope is not None and scope.writable

    def allows(self, user: RoomUser, handler: RequestHandler) -> bool:
        scope = self.scope(user)
        if scope is None:
            return False
        base = self.base_url.rstrip("/")
        raw = handler.request.path
        if base and not raw.startswith(base + "/"):
            return False
        path = clean_path(raw[len(base) :])
        return path is not None and self.policy.allows(scope, handler.request.method or "", path)


def gate_of(handler: RequestHandler) -> RoomGate | None:
    return gate_of_settings(handler.settings)


def gate_of_settings(settings: dict) -> RoomGate | None:
    return settings.get(SETTINGS_KEY)
