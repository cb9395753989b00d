"""`jupyter interview`: one command, one data directory, the interviewer URL printed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .server import InterviewServer, link_token
from .yclient import connect

pytestmark = pytest.mark.anyio

JUPYTER = Path(sys.executable).parent / "jupyter"


def test_extension_is_enabled_by_installation() -> None:
    out = subprocess.run(
        [str(JUPYTER), "server", "extension", "list"], capture_output=True, text=True
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert "jupyter_interview enabled" in listing, listing


def test_help_lists_our_traitlets() -> None:
    out = subprocess.run(
        [str(JUPYTER), "interview", "--help-all"], capture_output=True, text=True, check=True
    )
    for trait in ("InterviewApp.data_dir", "InterviewApp.ended_candidate_link"):
        assert trait in out.stdout


async def test_everything_durable_lands_in_the_data_dir(fresh_server: InterviewServer) -> None:
    srv = fresh_server.start()
    assert f"http://127.0.0.1:{srv.port}/lab?token=" in srv.log()
    room = srv.create_room("algorithms-warmup")
    token = link_token(room["links"]["candidate"])
    async with connect(srv.url, token, room["notebook_path"]) as client:
        client.notebook.ycells[0]["source"].insert(0, "# hello\n")
        assert await client.save() == "success"
    srv.stop()

    data = srv.data_dir
    names = {p.name for p in data.iterdir()}
    assert {".interview.db", ".ystore.db", ".collaboration_sessions.json", ".file_id.db"} <= names
    assert (data / room["notebook_path"]).is_file()
    assert json.loads((data / ".collaboration_sessions.json").read_text())
    # Nothing in the server's working directory, nothing in a .jupyter beside the rooms.
    assert list((data.parent / "cwd").iterdir()) == []
    assert not (data / ".jupyter").exists()
