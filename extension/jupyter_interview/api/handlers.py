"""The API's own endpoints: health and the OpenAPI document."""

from __future__ import annotations

import json

from .. import __version__
from .base import InterviewHandler, operation
from .models import Health


class HealthHandler(InterviewHandler):
    @operation(
        "Whether the interview server is up, and can keep what it is sent.",
        response=Health,
        public=True,
        errors={503: "Degraded: the body says what is wrong"},
    )
    async def get(self) -> None:
        problems: list[str] = self.settings["interview_problems"]()
        status = "degraded" if problems else "ok"
        self.send(
            Health(status=status, version=__version__, problems=problems),
            status=503 if problems else 200,
        )


class OpenAPIHandler(InterviewHandler):
    @operation("This API's OpenAPI document.", public=True)
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.settings["interview_openapi"]))


ROUTES: list[tuple[str, type[InterviewHandler]]] = [
    ("/interview/api/health", HealthHandler),
    ("/interview/api/openapi.json", OpenAPIHandler),
]
