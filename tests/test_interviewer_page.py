"""The interviewer's side in JupyterLab: New interview, the rooms panel, ending a room."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .browser import chromium, code_cell, join, run
from .server import TOKEN, InterviewServer

pytestmark = pytest.mark.anyio


async def test_new_interview_from_the_panel(server: InterviewServer) -> None:
    async with chromium() as browser:
        lab = await (await browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
        await lab.goto(f"{server.url}lab?token={TOKEN}")
        await lab.locator("[data-id='jupyter-interview-rooms']").click()
        await lab.locator(".jp-InterviewPanel-header button").click()
        dialog = lab.locator(".jp-Dialog")
        await dialog.locator("select").select_option("algorithms-warmup")
        await dialog.get_by_placeholder("Title (optional)").fill("Panel-made interview")
        await dialog.get_by_placeholder("Candidate name").fill("Barbara Liskov")
        await dialog.get_by_role("button", name="Create").click()
        # The room's notebook opens in JupyterLab, with its banner. JupyterLab may also
        # restore notebooks that earlier tests opened on this server: find the new one's.
        banner = lab.locator(".jp-NotebookPanel .jp-InterviewBanner")
        # The banner is drawn first and filled once the room is fetched: wait for the text.
        await expect(banner.filter(has_text="Panel-made interview")).to_have_count(
            1, timeout=60_000
        )
        panel_room = lab.locator(".jp-InterviewPanel-room", has_text="Panel-made interview")
        await panel_room.first.wait_for(timeout=15_000)
    with server.client() as c:
        rooms = c.get("interview/api/rooms").json()
    made = [r for r in rooms if r["title"] == "Panel-made interview"]
    assert len(made) == 1
    assert made[0]["candidate_name"] == "Barbara Liskov"
    assert made[0]["template"] == "algorithms-warmup"


async def test_ending_a_room_turns_the_candidate_page_read_only(server: InterviewServer) -> None:
    room = server.create_room(title="Ending soon", candidate_name="Grace Hopper")
    async with chromium() as browser:
        candidate = await browser.new_page()
        await join(candidate, room["links"]["candidate"], "Grace Hopper")
        banner = candidate.locator(".jp-InterviewBanner")
        await expect(banner).to_contain_text("live", timeout=30_000)

        lab = await (await browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
        await lab.goto(f"{server.url}lab?token={TOKEN}")
        await lab.locator("[data-id='jupyter-interview-rooms']").click()
        item = lab.locator(f".jp-InterviewPanel-room[data-room-id='{room['id']}']")
        await item.get_by_text("online: Grace Hopper").wait_for(timeout=15_000)
        await item.get_by_role("button", name="End").click()
        await lab.locator(".jp-Dialog").get_by_role("button", name="End").click()

        await candidate.get_by_text("the interview has ended: read-only").wait_for(timeout=20_000)
        assert await candidate.locator(".jp-mod-interviewReadOnly").count() == 1
    with server.client() as c:
        assert c.get(f"interview/api/rooms/{room['id']}").json()["status"] == "ended"


async def test_the_interviewer_runs_the_room_in_the_browser_and_may_pick_a_server_kernel(
    server: InterviewServer,
) -> None:
    """JupyterLab runs a room notebook on the in-browser kernel; its picker, unlike a
    candidate's, also offers the server's own kernel."""
    room = server.create_room()
    async with chromium() as browser:
        lab = await browser.new_page()
        await lab.goto(f"{server.url}lab/tree/{room['notebook_path']}?token={TOKEN}")
        output = await run(lab, code_cell(lab, 0), "import sys\nprint(sys.platform)")
        await expect(output).to_contain_text("emscripten")
        await lab.locator(".jp-Toolbar-item[data-jp-item-name='kernelName']").first.click()
        options = lab.locator(".jp-Dialog select option")
        await options.first.wait_for(state="attached")
        kernels = await options.all_inner_texts()
        assert {"Python (Pyodide)", "Python 3 (ipykernel)"} <= set(kernels)
