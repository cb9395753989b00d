from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import InterviewServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InterviewServer]:
    """One server shared by the tests that do not restart or reconfigure it."""
    # Rooms end all the time here: grading each (a sandbox process) would only load the
    # machine. test_grading.py grades on end with a server of its own.
    srv = InterviewServer(
        tmp_path_factory.mktemp("shared") / "data", "--InterviewApp.grade_on_end=False"
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[InterviewServer]:
    """A server of the test's own, for tests that restart it or read its whole data dir."""
    srv = InterviewServer(tmp_path / "data")
    yield srv
    srv.stop()


@pytest.fixture
def room(server: InterviewServer) -> dict:
    return server.create_room(candidate_name="Ada Lovelace")
