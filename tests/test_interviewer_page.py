"""The interviewer's side in JupyterLab: New interview, the rooms panel, ending a room."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .browser import ARTIFACTS, chromium, code_cell, join, lab_url, run
from .server import TOKEN, InterviewServer

pytestmark = pytest.mark.anyio


async def test_new_interview_from_the_panel(server: InterviewServer) -> None:
    async with chromium() as browser:
        context = await browser.new_context(
            viewport={"width": 1400, "height": 900},
            permissions=["clipboard-read", "clipboard-write"],
        )
        lab = await context.new_page()
        await lab.goto(lab_url(server.url, TOKEN))
        await lab.locator("[data-id='jupyter-interview-rooms']").click()
        await lab.locator(".jp-InterviewPanel-header button").click()
        dialog = lab.locator(".jp-Dialog")
        await dialog.locator("select").first.select_option("algorithms-warmup")
        await dialog.get_by_placeholder("Title (optional)").fill("Panel-made interview")
        await dialog.get_by_placeholder("Candidate name").fill("Barbara Liskov")
        await dialog.locator("input[type=number]").fill("25")
        await lab.screenshot(path=str(ARTIFACTS / "new-interview-dialog.png"))
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
        await lab.evaluate("navigator.clipboard.writeText('')")
        copy = panel_room.first.get_by_role("button", name="Copy observer link")
        await copy.click()
        await expect(copy).to_have_text("Copied")
        copied = await lab.evaluate("navigator.clipboard.readText()")
        ARTIFACTS.mkdir(exist_ok=True)
        await lab.screenshot(path=str(ARTIFACTS / "interviewer-panel.png"))
    with server.client() as c:
        rooms = c.get("interview/api/rooms").json()
    made = [r for r in rooms if r["title"] == "Panel-made interview"]
    assert len(made) == 1
    assert copied == made[0]["links"]["observer"]
    assert made[0]["candidate_name"] == "Barbara Liskov"
    assert made[0]["template"] == "algorithms-warmup"
    assert made[0]["duration_minutes"] == 25


async def test_ending_a_room_turns_the_candidate_page_read_only(server: InterviewServer) -> None:
    room = server.create_room(title="Ending soon", candidate_name="Grace Hopper")
    async with chromium() as browser:
        candidate = await browser.new_page()
        await join(candidate, room["links"]["candidate"], "Grace Hopper")
        header = candidate.locator(".jp-InterviewHeader")
        await expect(header).to_contain_text("left", timeout=30_000)

        lab = await (await browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
        await lab.goto(lab_url(server.url, TOKEN))
        await lab.locator("[data-id='jupyter-interview-rooms']").click()
        item = lab.locator(f".jp-InterviewPanel-room[data-room-id='{room['id']}']")
        await item.get_by_text("online: Grace Hopper").wait_for(timeout=15_000)
        await item.get_by_role("button", name="End").click()
        await lab.locator(".jp-Dialog").get_by_role("button", name="End").click()

        await expect(header).to_contain_text("The interview has ended")
        assert await candidate.locator(".jp-mod-interviewReadOnly").count() == 1
    with server.client() as c:
        assert c.get(f"interview/api/rooms/{room['id']}").json()["status"] == "ended"


async def test_the_interviewers_runs_execute_in_the_candidates_kernel(
    server: InterviewServer,
) -> None:
    """One shared program: the interviewer's Run executes in the candidate's browser, with
    the candidate's variables, and no room code ever runs in the interviewer's page."""
    room = server.create_room(candidate_name="Ada")
    async with chromium() as browser:
        # Wide enough that the notebook toolbar keeps its kernel name beside the file browser.
        lab = await (await browser.new_context(viewport={"width": 1600, "height": 900})).new_page()
        workers: list[str] = []
        lab.on("worker", lambda worker: workers.append(worker.url))
        await lab.goto(lab_url(server.url, TOKEN, room["notebook_path"]))
        kernel = lab.locator(".jp-Toolbar-item[data-jp-item-name='kernelName']").first
        await expect(kernel).to_contain_text("Candidate's browser", timeout=60_000)
        # With no candidate page open, nothing runs, and the interviewer reads why.
        output = await run(lab, code_cell(lab, 0), "print('nobody here')")
        await expect(output).to_contain_text("The candidate's page is not open")

        candidate = await browser.new_page()
        await join(candidate, room["links"]["candidate"], "Ada")
        await run(candidate, code_cell(candidate, 1), "secret = 'from the candidate'\nprint(1)")
        output = await run(lab, code_cell(lab, 0), "import sys\nprint(secret, sys.platform)")
        await expect(output).to_contain_text("from the candidate emscripten")
        # The candidate's page shows the same output: it ran there.
        await expect(code_cell(candidate, 0).locator(".jp-OutputArea-output")).to_contain_text(
            "from the candidate emscripten"
        )
        # The picker offers the candidate's kernel; neither the page's own Pyodide nor the
        # server's kernel can start for a room notebook.
        await kernel.click()
        options = lab.locator(".jp-Dialog select option")
        await options.first.wait_for(state="attached")
        assert "Candidate's browser" in await options.all_inner_texts()
        assert not [url for url in workers if "pyodide" in url]
    with server.client() as c:
        assert c.get("api/kernels").json() == []
