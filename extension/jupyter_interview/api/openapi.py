"""The OpenAPI document of the room API, built from the handlers' ``@operation`` declarations.

``python -m jupyter_interview.routes > openapi.json`` writes the copy kept at the
repository root; a test checks that copy against this code.
"""

from __future__ import annotations

import re
from typing import Any

from .. import __version__
from .base import InterviewHandler, Operation, json_schema
from .models import ROOM_ID_PATTERN, ErrorOut

_METHODS = ("get", "post", "put", "patch", "delete")
_ROOM_ID_PARAMETER = {
    "name": "room_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ROOM_ID_PATTERN},
}


def _path_parameter(name: str) -> dict[str, Any]:
    if name == "room_id":
        return _ROOM_ID_PARAMETER
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _operation_id(method: str, path: str) -> str:
    return method + "_" + re.sub(r"[^a-z0-9]+", "_", path.replace("/interview/api", "")).strip("_")


def _path_template(route: str) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route).replace("\\.", ".")


Routes = list[tuple[str, type[InterviewHandler]]]


def operations(routes: Routes) -> list[tuple[str, str, Operation]]:
    """(path, method, operation) for every declared API method."""
    found = []
    for route, handler in routes:
        for method in _METHODS:
            op = getattr(getattr(handler, method, None), "operation", None)
            if isinstance(op, Operation):
                found.append((_path_template(route), method, op))
    return found


def openapi_document(routes: Routes) -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: Any) -> dict[str, Any]:
        schema = json_schema(model)
        schemas.update(schema.pop("$defs", {}))
        title = schema.get("title")
        if schema.get("type") == "object" and title:
            schemas[title] = schema
            return {"$ref": f"#/components/schemas/{title}"}
        return schema

    error = ref(ErrorOut)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, op in operations(routes):
        responses: dict[str, Any] = {}
        if op.response is not None:
            responses[str(op.status)] = {
                "description": "OK",
                "content": {op.media_type: {"schema": ref(op.response)}},
            }
        else:
            responses[str(op.status)] = {"description": "OK"}
        for status, why in _error_statuses(op, path):
            responses[str(status)] = {
                "description": why,
                "content": {"application/json": {"schema": error}},
            }
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": _operation_id(method, path),
            "responses": responses,
        }
        parameters = [
            {"name": n, "in": "query", "required": False, "schema": s} for n, s in op.query.items()
        ]
        for name in reversed(re.findall(r"\{(\w+)\}", path)):
            parameters.insert(0, _path_parameter(name))
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": ref(op.body)}},
            }
        if op.public:
            entry["security"] = []
        if op.room_links:
            entry["description"] = "Also callable with a candidate or observer room link token."
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyter-interview room API",
            "version": __version__,
            "description": "Interview rooms on a Jupyter server. Authenticate with the server's "
            "token (Authorization: token …) or login cookie; POST/PATCH/DELETE with a cookie "
            "also need the _xsrf cookie echoed in an X-XSRFToken header.",
        },
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization"},
            },
        },
        "security": [{"token": []}],
        "paths": paths,
    }


def _error_statuses(op: Operation, path: str) -> list[tuple[int, str]]:
    errors: list[tuple[int, str]] = []
    if op.body is not None or op.query or "{room_id}" in path:
        errors.append((400, "Invalid request: malformed JSON, a failed validation, a bad room id"))
    if not op.public:
        errors.append((401, "No credential: the server's token or a room link's"))
        errors.append((403, "Not allowed for this user or link"))
    if "{room_id}" in path or op.body is not None:
        errors.append((404, "No such room or template"))
    if op.body is not None:
        errors.append((413, "Request body too large"))
    errors.extend(op.errors.items())
    return sorted(errors)
