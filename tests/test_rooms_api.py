"""The room API: templates, rooms, their life cycle, and the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from jupyter_interview.api.openapi import operations
from jupyter_interview.routes import API_ROUTES, openapi

from .server import InterviewServer

ROOT = Path(__file__).resolve().parents[1]


def test_health_needs_no_login(server: InterviewServer) -> None:
    with server.client(token=None) as c:
        r = c.get("interview/api/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_templates_list_three_real_interviews(server: InterviewServer) -> None:
    with server.client() as c:
        templates = c.get("interview/api/templates").json()
    names = {t["name"] for t in templates}
    assert {"pandas-cleaning", "sql-groupby", "algorithms-warmup"} <= names
    for t in templates:
        assert set(t) == {
            "name",
            "title",
            "description",
            "duration_minutes",
            "languages",
            "packages",
            "unavailable_packages",
        }
        assert t["title"] and t["description"] and t["duration_minutes"] > 0 and t["languages"]
    assert "c++" in next(t for t in templates if t["name"] == "algorithms-warmup")["languages"]
    # The pandas template needs numpy and pandas; this offline build does not serve them.
    pandas = next(t for t in templates if t["name"] == "pandas-cleaning")
    assert pandas["packages"] == ["numpy", "pandas"]
    assert pandas["unavailable_packages"] == ["numpy", "pandas"]


def test_create_room_copies_the_template_without_hidden_tests(server: InterviewServer) -> None:
    room = server.create_room("pandas-cleaning", title="Data role, round 2", candidate_name="Grace")
    assert room["status"] == "open"
    assert room["template"] == "pandas-cleaning"
    assert room["title"] == "Data role, round 2"
    assert room["duration_minutes"] == 45
    assert room["notebook_path"] == f"rooms/{room['id']}/data-role-round-2.ipynb"
    for role in ("candidate", "observer"):
        assert room["links"][role].startswith(server.url + "interview/r/ji_")
    assert room["links"]["candidate"] != room["links"]["observer"]

    nb = nbformat.read(server.data_dir / room["notebook_path"], as_version=4)
    template = nbformat.read(ROOT / "notebooks" / "pandas-cleaning.ipynb", as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in template.cells]
    assert "hidden_tests" not in json.dumps(nb)
    assert "hidden_tests" in json.dumps(template)
    assert nb.metadata["interview"]["room_id"] == room["id"]


def test_room_life_cycle(server: InterviewServer) -> None:
    room = server.create_room(duration_minutes=20)
    rid = room["id"]
    with server.client() as c:
        assert c.get(f"interview/api/rooms/{rid}").json()["links"] == room["links"]
        patched = c.patch(f"interview/api/rooms/{rid}", json={"title": "Renamed", "notes": "good"})
        assert patched.status_code == 200
        assert patched.json()["title"] == "Renamed" and patched.json()["notes"] == "good"

        open_ids = {r["id"] for r in c.get("interview/api/rooms?status=open").json()}
        assert rid in open_ids
        ended = c.post(f"interview/api/rooms/{rid}/end")
        assert ended.status_code == 200
        assert ended.json()["status"] == "ended" and ended.json()["ended_at"]
        assert rid in {r["id"] for r in c.get("interview/api/rooms?status=ended").json()}
        assert rid not in {r["id"] for r in c.get("interview/api/rooms?status=open").json()}

        assert c.delete(f"interview/api/rooms/{rid}").status_code == 204
        assert c.get(f"interview/api/rooms/{rid}").status_code == 404
    # The notebook is kept aside, not destroyed.
    kept = list((server.data_dir / ".deleted").glob(f"{rid}-*/*.ipynb"))
    assert len(kept) == 1


def test_openapi_document_matches_the_code(server: InterviewServer) -> None:
    generated = openapi()
    assert json.loads((ROOT / "openapi.json").read_text()) == generated, (
        "openapi.json is stale: run `make openapi`"
    )
    with server.client(token=None) as c:
        assert c.get("interview/api/openapi.json").json() == generated
    paths = generated["paths"]
    for path, method, _ in operations(API_ROUTES):
        assert method in paths[path]
    assert set(paths["/interview/api/rooms/{room_id}"]) == {"get", "patch", "delete"}
    assert paths["/interview/api/rooms"]["post"]["responses"]["201"]
