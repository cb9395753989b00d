"""The candidate page in a real headless Chromium, against the real server and lite build."""

from __future__ import annotations

import asyncio
import time

import nbformat
import pytest
from playwright.async_api import expect

from .browser import (
    ARTIFACTS,
    chromium,
    code_cell,
    header_button,
    join,
    lab_url,
    room_page,
    run,
    type_into,
)
from .server import TOKEN, InterviewServer
from .yclient import YClient, connect

pytestmark = pytest.mark.anyio


def _outputs_text(client: YClient, index: int) -> str:
    code = [c for c in client.cells if c["cell_type"] == "code"]
    outputs = code[index].get("outputs", []) if index < len(code) else []
    return "".join(str(o.get("text", "")) + str(o.get("data", "")) for o in outputs)


async def test_candidate_runs_python_and_everyone_sees_it(server: InterviewServer) -> None:
    """(a) run code in the page, (b) a second participant sees it within 1 s and on disk,
    (c) names in presence, (e) no request leaves the server's origin."""
    room = server.create_room("sql-groupby", candidate_name="Ada Lovelace")
    requests: list[str] = []
    async with (
        chromium() as browser,
        connect(server.url, TOKEN, room["notebook_path"]) as interviewer,
    ):
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.on("websocket", lambda ws: requests.append(ws.url))
        await join(page, room["links"]["candidate"], "Ada Lovelace")
        assert await page.evaluate("crossOriginIsolated") is True

        cell = code_cell(page, 0)
        code = "total = sum(range(10))\nprint('total is', total)"
        output = await run(page, cell, code)
        await expect(output).to_contain_text("total is 45")
        seen_in_page = time.monotonic()

        await interviewer.wait_for(lambda: "total is 45" in _outputs_text(interviewer, 0), 1.0)
        assert time.monotonic() - seen_in_page < 1.0
        assert code in interviewer.sources()

        # (c) presence: the candidate's chosen name is published to the room.
        await interviewer.wait_for_names({"Ada Lovelace"})

        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "candidate-page.png"))

        assert await interviewer.save() == "success"
        nb = nbformat.read(server.data_dir / room["notebook_path"], as_version=4)
        saved = next(c for c in nb.cells if c.source == code)
        assert "total is 45" in "".join(o.get("text", "") for o in saved.outputs)

    foreign = [u for u in requests if not u.startswith((server.url, server.ws_url))]
    assert foreign == [], foreign
    assert any("/interview/lite/pyodide/pyodide.asm.wasm" in u for u in requests)


async def test_interviewer_and_candidate_see_each_other(server: InterviewServer) -> None:
    """(c) both names appear in presence, with the interviewer in JupyterLab."""
    room = server.create_room(candidate_name="Grace Hopper")
    # pycrdt-websocket does not replay presence to a newcomer: join before the pages do.
    async with chromium() as browser, connect(server.url, TOKEN, room["notebook_path"]) as watcher:
        candidate = await browser.new_page()
        await join(candidate, room["links"]["candidate"], "Grace Hopper")
        lab = await (await browser.new_context()).new_page()
        await lab.goto(lab_url(server.url, TOKEN, room["notebook_path"]))
        await lab.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        # The interviewer's JupyterLab publishes its user too (a generated name here).
        await watcher.wait_for_names({"Grace Hopper"}, at_least=2)
        # The candidate's page draws the interviewer's cursor where the interviewer types.
        await type_into(lab, code_cell(lab, 0), "# interviewer was here")
        await candidate.get_by_text("# interviewer was here").wait_for(timeout=15_000)
        cursor = code_cell(candidate, 0).locator(".jp-remote-cursor")
        await cursor.first.wait_for(state="attached", timeout=15_000)


async def test_observer_cannot_change_the_document(server: InterviewServer) -> None:
    """(d) the observer page may type; the server drops it."""
    room = server.create_room()
    async with room_page(room["links"]["observer"], "Watcher") as page:
        await type_into(page, code_cell(page, 0), "OBSERVER EDIT")
        async with connect(server.url, TOKEN, room["notebook_path"]) as interviewer:
            await interviewer.roundtrip()
            assert not any("OBSERVER EDIT" in s for s in interviewer.sources())


async def test_input_works(server: InterviewServer) -> None:
    """(g) input() reads what the candidate types."""
    room = server.create_room()
    async with room_page(room["links"]["candidate"], "Linus") as page:
        cell = code_cell(page, 0)
        await type_into(page, cell, "name = input('Who? ')\nprint('hello', name)")
        await cell.locator(".cm-content").click()
        await page.keyboard.press("Shift+Enter")
        box = page.locator(".jp-Stdin-input")
        await box.wait_for(timeout=120_000)
        await box.fill("Grace")
        await box.press("Enter")
        await cell.get_by_text("hello Grace").wait_for(timeout=30_000)


async def test_candidate_cookie_reaches_nothing_else(server: InterviewServer) -> None:
    """(h) from the candidate's page, with its cookie: other rooms, kernels, terminals."""
    room, other = server.create_room(), server.create_room()
    other_nb = other["notebook_path"]
    async with room_page(room["links"]["candidate"], "Probe") as page:
        statuses = await page.evaluate(
            """async (urls) => {
                const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
                const out = {};
                for (const [method, url] of urls) {
                    // A redirect (to the login page) shows as status 0, not as its target's 200.
                    const r = await fetch(url, {
                        method, redirect: 'manual', headers: {'X-XSRFToken': xsrf},
                    });
                    out[method + ' ' + url] = r.status;
                }
                return out;
            }""",
            [
                ["GET", f"/files/{other_nb}"],
                ["GET", f"/api/contents/{other_nb}"],
                ["GET", f"/api/contents/{other_nb.rsplit('/', 1)[0]}"],
                ["GET", f"/interview/api/rooms/{other['id']}"],
                ["GET", "/interview/api/rooms"],
                ["GET", "/api/kernelspecs"],
                ["GET", "/api/kernels"],
                ["POST", "/api/kernels"],
                ["GET", "/api/sessions"],
                ["POST", "/api/terminals"],
                ["GET", "/api/terminals"],
                ["PUT", "/lab/api/workspaces/default"],
                ["GET", "/lab/api/workspaces"],
                ["GET", "/lab"],
            ],
        )
        allowed = {k: v for k, v in statuses.items() if v == 200}
        assert allowed == {}, allowed
        # No kernel picker at all: the candidate cannot change Python for anything else.
        await expect(
            page.locator(".jp-Toolbar-item[data-jp-item-name='kernelName']")
        ).to_be_hidden()
        rooms = await page.evaluate("fetch('/api/contents/rooms').then(r => r.json())")
        assert [e["path"] for e in rooms["content"]] == [f"rooms/{room['id']}"]


async def test_offline_edits_converge_without_duplicates(server: InterviewServer) -> None:
    """(f) the candidate goes offline, both sides edit, the candidate comes back."""
    room = server.create_room()
    async with (
        chromium() as browser,
        connect(server.url, TOKEN, room["notebook_path"]) as interviewer,
    ):
        context = await browser.new_context()
        page = await context.new_page()
        await join(page, room["links"]["candidate"], "Offline Olga")
        # Edit once online, so the editor's lazily loaded code is in before the network goes.
        await type_into(page, code_cell(page, 1), "online = 1")
        await interviewer.wait_for(lambda: "online = 1" in interviewer.sources())
        await context.set_offline(True)
        await type_into(page, code_cell(page, 1), "written_offline = 1")
        interviewer.notebook.append_cell({"cell_type": "markdown", "source": "while you were away"})
        await interviewer.roundtrip()
        # Really offline: the candidate's edit has not reached the room.
        assert "written_offline = 1" not in interviewer.sources()
        await context.set_offline(False)
        await interviewer.wait_for(lambda: "written_offline = 1" in interviewer.sources(), 30)
        away = page.locator(".jp-MarkdownCell").filter(has_text="while you were away")
        await away.first.wait_for(timeout=30_000)
        sources = interviewer.sources()
        ids = [c["id"] for c in interviewer.cells]
        assert len(ids) == len(set(ids))
        assert sources.count("written_offline = 1") == 1
        assert sources.count("while you were away") == 1
        await asyncio.sleep(0)  # let the page settle its last render
        assert await page.locator(".jp-Notebook .jp-Cell").count() == len(sources)


async def test_a_runaway_cell_is_interrupted(server: InterviewServer) -> None:
    """The header's Stop stops a busy loop with KeyboardInterrupt; the kernel's
    state survives, so it was not a restart."""
    room = server.create_room()
    async with room_page(room["links"]["candidate"], "Loopy") as page:
        await run(page, code_cell(page, 0), "kept = 41\nprint('warm')")
        loop = code_cell(page, 1)
        await type_into(page, loop, "print('looping', flush=True)\nwhile True:\n    kept += 0")
        await loop.locator(".cm-content").click()
        await page.keyboard.press("Control+Enter")
        await loop.locator(".jp-OutputArea-output").get_by_text("looping").wait_for()
        await header_button(page, "Stop").click()
        await loop.get_by_text("KeyboardInterrupt").first.wait_for(timeout=30_000)
        output = await run(page, code_cell(page, 0), "print('still', kept + 1)")
        await expect(output).to_contain_text("still 42")


async def test_an_interrupt_while_idle_spares_the_next_cell(server: InterviewServer) -> None:
    """Interrupting an idle kernel does nothing: the next cell runs to its end."""
    room = server.create_room()
    async with room_page(room["links"]["candidate"], "Calm") as page:
        await run(page, code_cell(page, 0), "print('ready')")
        await header_button(page, "Stop").click()
        output = await run(page, code_cell(page, 1), "print(sum(range(10**6)))")
        await expect(output).to_contain_text("499999500000")


async def test_a_runaway_cell_is_stopped_by_a_restart(server: InterviewServer) -> None:
    """A restart stops the loop too, and starts a fresh kernel."""
    room = server.create_room()
    async with room_page(room["links"]["candidate"], "Loopy") as page:
        await run(page, code_cell(page, 0), "print('warm')")
        await type_into(page, code_cell(page, 0), "while True:\n    pass")
        await code_cell(page, 0).locator(".cm-content").click()
        await page.keyboard.press("Control+Enter")
        await header_button(page, "Restart").click()
        await page.locator(".jp-Dialog .jp-mod-accept").click()
        output = await run(page, code_cell(page, 1), "print('alive again')")
        await expect(output).to_contain_text("alive again")
