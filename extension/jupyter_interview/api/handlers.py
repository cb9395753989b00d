"""The API's own endpoints: health and the OpenAPI document."""

from __future__ import annotations

import json

from .. import __version__
from .base import InterviewHandler, operation
from .models import Health


class HealthHandler(InterviewHandler):
    @operation("Whether the interview server is up.", response=Health, public=True)
    async def get(self) -> None:
        self.send(Health(status="ok", version=__version__))


class OpenAPIHandler(InterviewHandler):
    @operation("This API's OpenAPI document.", public=True)
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.settings["interview_openapi"]))


ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    ("/interview/api/health", HealthHandler),
    ("/interview/api/openapi.json", OpenAPIHandler),
]
