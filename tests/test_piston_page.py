"""%%piston from the candidate page: the browser kernel, the room endpoint, the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from .browser import chromium, code_cell, join, run, type_into
from .piston_standin import PistonStandIn, load_cases
from .server import TOKEN, InterviewServer
from .yclient import connect

pytestmark = pytest.mark.anyio

CPP_HELLO = next(c for c in load_cases() if c["name"] == "hello world (c++)")["request_body"][
    "files"
][0]["content"]


@pytest.fixture(scope="module")
def piston() -> Iterator[PistonStandIn]:
    with PistonStandIn() as standin:
        yield standin


@pytest.fixture(scope="module")
def sandboxed(
    tmp_path_factory: pytest.TempPathFactory, piston: PistonStandIn
) -> Iterator[InterviewServer]:
    srv = InterviewServer(
        tmp_path_factory.mktemp("piston-page") / "data",
        f"--RoomExecutor.piston_url={piston.url}",
    ).start()
    yield srv
    srv.stop()


async def test_piston_cell_runs_from_the_candidate_page(
    sandboxed: InterviewServer, piston: PistonStandIn
) -> None:
    room = sandboxed.create_room("algorithms-warmup", candidate_name="Ken Thompson")
    async with (
        chromium() as browser,
        connect(sandboxed.url, TOKEN, room["notebook_path"]) as interviewer,
    ):
        page = await browser.new_page()
        await join(page, room["links"]["candidate"], "Ken Thompson")
        cell = code_cell(page, 0)
        output = await run(page, cell, "%%piston cpp\n" + CPP_HELLO)
        await page.get_by_text("[c++ 12.2.0 · ok").first.wait_for(timeout=30_000)
        await expect(output).to_contain_text("Hello, World!")

        def has_output() -> bool:
            cells = [c for c in interviewer.cells if c["cell_type"] == "code"]
            return any("Hello, World!" in str(o.get("text", "")) for o in cells[0]["outputs"])

        await interviewer.wait_for(has_output, 5)

        # The template's own C++ cell: --stdin "the cat and the hat" reaches the program
        # without its quotes.
        await run(
            page, code_cell(page, 1), '%%piston cpp --stdin "the cat and the hat"\n' + CPP_HELLO
        )
        await page.get_by_text("stand-in").first.wait_for(timeout=30_000)
        assert piston.requests[-1][2]["stdin"] == "the cat and the hat"

        # The cell is highlighted as C++.
        await type_into(page, cell, "%%piston cpp\nint main() { return 0; }")
        language = cell.locator(".cm-content")
        await page.wait_for_function(
            "el => (el.getAttribute('data-language') || '').includes('cpp')",
            arg=await language.element_handle(),
            timeout=10_000,
        )
    with sandboxed.client() as c:
        history = c.get(f"interview/api/rooms/{room['id']}/executions").json()
    # The second program has no recorded reply in the stand-in: a Piston error, recorded too.
    assert [(e["who"], e["language"], e["status"]) for e in history] == [
        ("Ken Thompson", "c++", "ok"),
        ("Ken Thompson", "c++", "piston_error"),
    ]
