"""The URL table: every group's handlers in one list, and the OpenAPI document made from it.

``python -m jupyter_interview.routes > openapi.json`` writes the copy kept at the
repository root; a test checks that copy against the code.
"""

from __future__ import annotations

import json
from typing import Any

from tornado import web

from .access.landing import RoomLinkHandler
from .api import handlers as api
from .api.openapi import Routes, openapi_document
from .review import exports, pages
from .review import handlers as review
from .rooms import handlers as rooms
from .sandbox import handlers as sandbox

API_ROUTES: Routes = [
    *api.ROUTES,
    *rooms.ROUTES,
    *sandbox.ROUTES,
    *review.ROUTES,
    *exports.ROUTES,
]


def openapi() -> dict[str, Any]:
    return openapi_document(API_ROUTES)


def handlers() -> list[tuple[str, type[web.RequestHandler]]]:
    return [
        *API_ROUTES,
        *pages.ROUTES,
        (r"/interview/r/(?P<token>[^/]+)", RoomLinkHandler),
    ]


if __name__ == "__main__":
    print(json.dumps(openapi(), indent=2))
