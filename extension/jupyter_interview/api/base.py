"""The base of every room API handler: JSON in and out, and the ``@operation`` declaration.

Each API method is declared with ``@operation``: that one declaration parses and validates
the request body, says who may call it, and is what ``openapi.py`` reads to describe it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, TypeAdapter, ValidationError
from tornado import web

from .errors import (
    BodyTooLarge,
    Forbidden,
    InterviewError,
    InvalidJSON,
    InvalidRequest,
    Unauthorized,
)
from .models import ErrorOut
from .principal import RoomUser

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
    errors: dict[int, str] = field(default_factory=dict)
    media_type: str = "application/json"
    body_required: bool = True


def operation(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    public: bool = False,
    room_links: bool = False,
    query: dict[str, Any] | None = None,
    errors: dict[int, str] | None = None,
    media_type: str = "application/json",
    body_required: bool = True,
) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
    """Declare an API method. ``room_links``: a candidate or observer link may call it too;
    ``errors``: the statuses it may answer besides the ones every method shares;
    ``body_required=False``: no body means the body model's defaults."""

    def wrap(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def handle(self: InterviewHandler, **path: str) -> None:
            if not room_links and isinstance(self.current_user, RoomUser):
                raise Forbidden("A room link cannot do this.")
            if body is None:
                await method(self, **path)
            elif not body_required and not (self.request.body or b"").strip():
                await method(self, **path, body=body())
            else:
                await method(self, **path, body=self.parse_body(body))

        op = Operation(
            summary,
            body,
            response,
            status,
            public,
            room_links,
            query or {},
            errors or {},
            media_type,
            body_required,
        )
        if not public:
            handle = _signed_in(authorized(handle))
        handle.__doc__ = method.__doc__
        handle.operation = op  # type: ignore[attr-defined]
        return handle

    return wrap


def _signed_in(
    method: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    """401 when no credential came (not tornado's redirect); 403 when one came that does
    not reach this route (a room link elsewhere, a revoked link)."""

    async def handle(self: InterviewHandler, **path: str) -> None:
        if not self.current_user:
            if self.carries_credential():
                raise Forbidden("This credential cannot reach this route.")
            raise Unauthorized(
                "Sign in: send the server's token (Authorization: token …) or a room link's."
            )
        await method(self, **path)

    return handle


class InterviewHandler(APIHandler):
    """JSON in, JSON out; every error as ``{"error": code, "message": text}``."""

    auth_resource = "interview"

    @property
    def max_body_bytes(self) -> int:
        return self.settings["interview_max_body_bytes"]

    def parse_body(self, model: type[M]) -> M:
        raw = self.request.body or b""
        if len(raw) > self.max_body_bytes:
            raise BodyTooLarge(f"The request body is over {self.max_body_bytes} bytes.")
        if not raw.strip():
            raise InvalidRequest("This request needs a JSON body.")
        try:
            data = json.loads(raw)
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
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        if status_code == 401:
            self.set_header("WWW-Authenticate", "token")
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

    def carries_credential(self) -> bool:
        cookie = self.identity_provider.get_cookie_name(self)
        return bool(self.identity_provider.get_token(self) or self.get_cookie(cookie))

    @classmethod
    def allowed_methods(cls) -> list[str]:
        return [
            method.upper()
            for method in ("get", "post", "put", "patch", "delete")
            if isinstance(getattr(getattr(cls, method, None), "operation", None), Operation)
        ]

    def public_url(self) -> str:
        configured: str = self.settings.get("interview_public_url", "")
        if configured:
            return configured.rstrip("/") + "/"
        return f"{self.request.protocol}://{self.request.host}{self.base_url}"


def json_schema(model: Any) -> dict[str, Any]:
    return TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
