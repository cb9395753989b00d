"""The identity provider: the server's own login for interviewers, room links for the rest.

It extends jupyter_server's ``PasswordIdentityProvider``: a room token is accepted wherever
Jupyter accepts its own token (``?token=`` or ``Authorization: token``) and is then kept in
the login cookie like any token login. A room user is only *authenticated* on the routes its
room's policy allows, so handlers that skip the authorizer still answer 403 to it.
"""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from urllib.parse import urlparse

from jupyter_server.auth import User
from jupyter_server.auth.identity import PasswordIdentityProvider
from tornado.web import RequestHandler

from ..api.principal import RoomUser, presence_color
from .gate import gate_of

# The room user of the request being handled. A websocket's serving task is created inside
# its request and inherits it, so the sync bridge can tell who sent each message.
connection_user: ContextVar[RoomUser | None] = ContextVar("interview_room_user", default=None)


class InterviewIdentityProvider(PasswordIdentityProvider):
    async def get_user_token(self, handler: RequestHandler) -> User | None:
        token = self.get_token(handler)
        gate = gate_of(handler)
        if token and gate is not None:
            user = gate.user_for_token(token)
            if user is not None:
                return user
        user = await super().get_user_token(handler)
        if isinstance(user, RoomUser):
            # jupyter_server accepts the server token and then keeps whichever user the login
            # cookie names: a browser that once opened a room link would stay that room's
            # user. The server's own token always means the interviewer.
            return self.generate_anonymous_user(handler)
        return user

    def generate_anonymous_user(self, handler: RequestHandler) -> User:
        """Whoever signs in with the server's own login: named as the server says (the
        candidate sees this name), not jupyter_server's random "Anonymous Valetudo"."""
        user = super().generate_anonymous_user(handler)
        name = handler.settings.get("interview_interviewer_name")
        if name:
            user.name = user.display_name = name
            user.initials = "".join(part[0] for part in name.split()[:2]).upper()
        return user

    async def get_user(self, handler: RequestHandler) -> User | None:  # type: ignore[override]
        gate = gate_of(handler)
        if gate is not None:
            await gate.until_ready(self.log)  # every request that names a user waits
        user = await super().get_user(handler)  # type: ignore[misc]
        if user is None:
            return None
        if isinstance(user, RoomUser):
            if gate is None or not gate.allows(user, handler):
                return None
            connection_user.set(user)
        else:
            user.color = user.color or presence_color(user.username, "interviewer")
        if _is_websocket(handler) and _foreign_origin(handler):
            # jupyter-collaboration's room handler accepts any Origin; a cookie sent by
            # another site's page must not open a room (cross-site websocket hijacking).
            self.log.warning("Refused a cookie websocket from origin %s", _origin(handler))
            return None
        return user

    def user_to_cookie(self, user: User) -> str:
        if isinstance(user, RoomUser):
            return json.dumps(
                {
                    "username": user.username,
                    "name": user.name,
                    "room_id": user.room_id,
                    "role": user.role,
                    "grant": user.grant,
                    "named": user.named,
                }
            )
        return super().user_to_cookie(user)

    def user_from_cookie(self, cookie_value: str) -> User | None:
        data = json.loads(cookie_value)
        if "grant" in data:
            return RoomUser(
                username=data["username"],
                name=data["name"],
                room_id=data["room_id"],
                role=data["role"],
                grant=data["grant"],
                named=data.get("named", False),
            )
        return super().user_from_cookie(cookie_value)


def _is_websocket(handler: RequestHandler) -> bool:
    return handler.request.headers.get("Upgrade", "").lower() == "websocket"


def _origin(handler: RequestHandler) -> str | None:
    return handler.request.headers.get("Origin")


def _foreign_origin(handler: RequestHandler) -> bool:
    """Same rule as jupyter_server's ``check_origin`` for its own websockets: a request that
    carries a token, or no Origin, is fine; otherwise the Origin must be this host or one
    allowed by ``ServerApp.allow_origin`` / ``allow_origin_pat``."""
    origin, host = _origin(handler), handler.request.headers.get("Host")
    # Set by jupyter_server's IdentityProvider when this request carried a valid token.
    if origin is None or host is None or getattr(handler, "_token_authenticated", False):
        return False
    allow_origin = handler.settings.get("allow_origin", "")
    if allow_origin == "*" or allow_origin == origin:
        return False
    pattern = handler.settings.get("allow_origin_pat")
    if pattern and re.match(pattern, origin):
        return False
    return urlparse(origin.lower()).netloc != host.lower()
