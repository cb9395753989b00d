"""An interview from the candidate's chair, in Chromium: the page, the clock, Submit, the end,
and the bugs a real interview hit (issue 11)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import nbformat
import pytest
from playwright.async_api import Page, expect

from .browser import ARTIFACTS, chromium, code_cell, header_button, join, lab_url, run, type_into
from .server import TOKEN, InterviewServer, link_token
from .yclient import connect

pytestmark = pytest.mark.anyio

HEADER = ".jp-InterviewHeader"


def _prompt(page: Page, index: int):
    return code_cell(page, index).locator(".jp-InputPrompt")


async def test_counts_the_busy_marker_and_the_saved_file_agree(server: InterviewServer) -> None:
    """The first cell after a start no longer stays [*]; In [N] in a traceback is the
    prompt's N; the saved notebook holds the same counts, none null, none twice."""
    room = server.create_room()
    async with chromium() as browser:
        page = await browser.new_page()
        await join(page, room["links"]["candidate"], "Ada")
        # At once, while Python may still be starting.
        await run(page, code_cell(page, 0), "print('first')")
        await expect(_prompt(page, 0)).to_have_text("[1]:")
        failed = await run(page, code_cell(page, 1), "1/0")
        await expect(failed).to_contain_text("ZeroDivisionError")
        await expect(_prompt(page, 1)).to_have_text("[2]:")
        await expect(failed).to_contain_text("Cell In[2]")
        # A restart counts from 1 again.
        await header_button(page, "Restart").click()
        await page.locator(".jp-Dialog .jp-mod-accept").click()
        await expect(page.locator(HEADER)).to_contain_text("Python is ready", timeout=60_000)
        await run(page, code_cell(page, 0), "print('again')")
        await expect(_prompt(page, 0)).to_have_text("[1]:")
    async with connect(server.url, TOKEN, room["notebook_path"]) as interviewer:
        assert await interviewer.save() == "success"
    saved = nbformat.read(server.data_dir / room["notebook_path"], as_version=4)
    counts = [c.execution_count for c in saved.cells if c.cell_type == "code" and c.outputs]
    assert counts == [1, 2]


async def test_the_page_leads_nowhere_outside_the_room(server: InterviewServer) -> None:
    """No menu, no link or button to JupyterLab, the file tree, logging out, sharing,
    changing or shutting down Python, trusting; and the page asks the server for nothing
    a room user may not have (beyond the in-browser kernel manager's poll, see README)."""
    room = server.create_room()
    async with chromium() as browser:
        page = await browser.new_page()
        refused: list[str] = []
        page.on(
            "response",
            lambda r: (
                refused.append(f"{r.request.method} {r.url.split('?')[0]}")
                if r.status in (401, 403)
                else None
            ),
        )
        await join(page, room["links"]["candidate"], "Ada")
        await expect(page.locator(HEADER)).to_contain_text("Python is ready", timeout=60_000)
        await run(page, code_cell(page, 0), "print(6 * 7)")
        markdown = await page.locator(".jp-MarkdownCell").count()
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "candidate-chrome.png"))
        assert await page.locator(".lm-MenuBar").count() == 0
        text = await page.locator("body").inner_text()
        for jargon in (
            "Open JupyterLab",
            "Log Out",
            "Shut Down",
            "Change Kernel",
            "Trust",
            "Last Checkpoint",
            "Kernel",
            "ipynb",
        ):
            assert jargon not in text, jargon
        titles = await page.eval_on_selector_all(
            "[title]", "els => els.filter(e => e.checkVisibility()).map(e => e.title)"
        )
        assert [t for t in titles if re.search(r"kernel|checkpoint", t, re.I)] == []
        # A cell is code or text: no "Raw" (nbconvert's) to pick, and no jargon for it.
        kinds = page.locator(".jp-NotebookPanel-toolbar select")
        await expect(kinds).to_have_count(1)
        options = await kinds.evaluate("s => [...s.options].map(o => [o.textContent, o.disabled])")
        assert options == [["-", True], ["Code", False], ["Text", False]]
        # Nor does R make one in command mode. A watcher notes any raw cell that appears;
        # M, a key that still acts, comes after R, so R was handled once M's change shows.
        await page.evaluate(
            "window.rawSeen = false; new MutationObserver(() => { window.rawSeen ||="
            " !!document.querySelector('.jp-RawCell'); })"
            ".observe(document.body, {childList: true, subtree: true})"
        )
        await code_cell(page, 0).click()
        await page.keyboard.press("Escape")
        await page.keyboard.press("r")
        await page.keyboard.press("m")
        await expect(page.locator(".jp-MarkdownCell")).to_have_count(markdown + 1)
        assert await page.evaluate("window.rawSeen") is False
        await page.keyboard.press("y")  # back to code
        await expect(page.locator(".jp-MarkdownCell")).to_have_count(markdown)
        # The menu turns a cell into text and back.
        await expect(kinds).to_have_value("code")
        await kinds.select_option("markdown")
        await expect(page.locator(".jp-MarkdownCell")).to_have_count(markdown + 1)
        await kinds.select_option("code")
        await expect(page.locator(".jp-MarkdownCell")).to_have_count(markdown)
        hrefs = await page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        for href in hrefs:
            assert not re.search(r"/(lab|tree|logout|login|api|files|edit|terminals)\b", href), href
        # Ctrl+Shift+C would open the command palette (and its "Shut Down Kernel").
        await page.keyboard.press("Control+Shift+C")
        assert await page.locator(".lm-CommandPalette").count() == 0
        # Nor do JupyterLab's other shortcuts: a console (behind the server's login page),
        # "Save As" (which moves the page off the room's notebook), the shortcut list.
        opened: list[str] = []
        page.context.on("page", lambda p: opened.append(p.url))
        await code_cell(page, 0).click()
        for keys in ("Control+b", "Control+Shift+S", "Control+Shift+H", "Control+Shift+D"):
            await page.keyboard.press("Escape")
            await page.keyboard.press(keys)
        # The notebook's own chords still work: Ctrl+Enter runs the cell in place.
        await type_into(page, code_cell(page, 0), "print(7 * 8)")
        await page.keyboard.press("Control+Enter")
        await expect(code_cell(page, 0).locator(".jp-OutputArea-output")).to_have_text("56")
        assert await page.locator(".jp-Dialog").count() == 0
        assert opened == []
        # Nor does a right click open JupyterLab's menu ("Restart Kernel…").
        await code_cell(page, 0).click(button="right")
        assert await page.locator(".lm-Menu").count() == 0
        # On a laptop's screen, every control of the header is on the page.
        # The header reflows on the resize event, so wait for it rather than read it at once.
        await page.set_viewport_size({"width": 1024, "height": 700})
        await expect(header_button(page, "◐")).to_be_in_viewport(ratio=1, timeout=10_000)
        await page.screenshot(path=str(ARTIFACTS / "candidate-1024.png"))
        # Who is in the room, whole, where the header has to cut it short.
        people = page.locator(".jp-InterviewHeader-people")
        await expect(people).to_have_attribute("title", re.compile(r"^In the room: Ada"))
        status = page.locator(".jp-InterviewHeader-kernel")
        assert await status.evaluate("e => e.scrollWidth <= e.clientWidth"), "status cut short"
    server_lists = {f"GET {server.url}api/kernels", f"GET {server.url}api/sessions"}
    assert set(refused) <= server_lists, set(refused) - server_lists


async def test_the_end_reaches_every_page_within_a_second(server: InterviewServer) -> None:
    room = server.create_room(candidate_name="Ada")
    path = room["notebook_path"]
    async with (
        chromium() as browser,
        connect(server.url, TOKEN, path) as interviewer,
    ):
        candidate = await browser.new_page()
        await join(candidate, room["links"]["candidate"], "Ada")
        observer = await browser.new_page()
        await join(observer, room["links"]["observer"], "Watcher")
        await expect(candidate.locator(HEADER)).to_contain_text("left")
        await interviewer.wait_for_names({"Ada"})
        with server.client() as c:
            assert "Ada" in c.get(f"interview/api/rooms/{room['id']}").json()["online"]
            ended_at = time.monotonic()
            c.post(f"interview/api/rooms/{room['id']}/end").raise_for_status()
        await expect(candidate.locator(HEADER)).to_contain_text(
            "The interview has ended", timeout=1000
        )
        await expect(observer.locator(HEADER)).to_contain_text(
            "The interview has ended", timeout=1000
        )
        assert time.monotonic() - ended_at < 2  # both, measured from the request
        await expect(candidate.get_by_text("The interviewer ended the interview")).to_be_visible()
        # Presence: the candidate is gone from the interviewer's view and the room's list.
        async with asyncio.timeout(5):
            while "Ada" in interviewer.names():
                interviewer.channel.awareness_changed.clear()
                await interviewer.channel.awareness_changed.wait()
        with server.client() as c:
            assert "Ada" not in c.get(f"interview/api/rooms/{room['id']}").json()["online"]
        # The page is read-only: no key adds a cell.
        cells = await candidate.locator(".jp-Notebook .jp-Cell").count()
        await candidate.locator(".jp-Notebook .jp-Cell").first.click()
        for key in ("Escape", "b", "a", "x", "d", "d", "Enter"):
            await candidate.keyboard.press(key)
        assert await candidate.locator(".jp-Notebook .jp-Cell").count() == cells
        # Nothing runs any more, and the header does not say otherwise.
        await expect(candidate.locator(".jp-InterviewHeader-kernel")).to_have_text("")
        await candidate.screenshot(path=str(ARTIFACTS / "candidate-ended.png"))


async def test_an_observer_page_offers_no_edit(server: InterviewServer) -> None:
    room = server.create_room()
    async with chromium() as browser:
        page = await browser.new_page()
        await join(page, room["links"]["observer"], "Watcher")
        await expect(page.locator(HEADER)).to_contain_text(room["title"])
        # An observer runs nothing: no Python starts in its page.
        assert await page.locator(".jp-InterviewHeader-kernel").inner_text() == ""
        cells = page.locator(".jp-Notebook .jp-Cell")
        count = await cells.count()
        await cells.first.click()
        for key in ("Escape", "b", "a", "x", "d", "d", "Shift+Enter", "Control+v"):
            await page.keyboard.press(key)
        assert await cells.count() == count
        assert await page.locator(HEADER).get_by_role("button", name="Run").count() == 0
        assert await page.locator(HEADER).get_by_role("button", name="Submit").count() == 0
        await expect(page.locator(".jp-NotebookPanel-toolbar")).to_be_hidden()


async def test_the_interviewer_has_a_name(server: InterviewServer) -> None:
    with server.client() as c:
        assert c.get("api/me").json()["identity"]["name"] == "Interviewer"
    room = server.create_room(candidate_name="Ada", interviewer_name="Grace Hopper")
    async with chromium() as browser:
        lab = await browser.new_page()
        await lab.goto(lab_url(server.url, TOKEN, room["notebook_path"]))
        candidate = await browser.new_page()
        await join(candidate, room["links"]["candidate"], "Ada")
        await expect(candidate.locator(HEADER)).to_contain_text("Grace Hopper", timeout=30_000)
        assert "Valetudo" not in await candidate.locator(HEADER).inner_text()


@pytest.mark.parametrize("who", ["interviewer", "candidate"])
def test_no_page_offers_the_server_token_in_a_link(server: InterviewServer, who: str) -> None:
    room = server.create_room()
    if who == "interviewer":
        with server.client() as c:
            page = c.get("lab").text
    else:
        link = room["links"]["candidate"].removeprefix(server.url)
        with httpx.Client(base_url=server.url, follow_redirects=True) as browser:
            browser.get(link)
            page = browser.post(link, data={"name": "Ada", "_xsrf": browser.cookies["_xsrf"]}).text
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S)[1])
    assert "@jupyter/collaboration-extension:shared-link" in config["disabledExtensions"]


async def test_packages_the_server_cannot_serve_are_explained(server: InterviewServer) -> None:
    room = server.create_room("pandas-cleaning")
    assert any("numpy, pandas" in w and "Pyodide CDN" in w for w in room["warnings"])
    async with chromium() as browser:
        page = await browser.new_page()
        await join(page, room["links"]["candidate"], "Ada")
        output = code_cell(page, 0).locator(".jp-OutputArea")
        await run(page, code_cell(page, 0), "import pandas")
        await expect(output).to_contain_text(
            "pandas is loaded from https://cdn.jsdelivr.net, which this browser cannot reach",
            timeout=60_000,
        )


async def test_submit_ends_the_room_for_the_candidate(server: InterviewServer) -> None:
    room = server.create_room(mode="take-home")
    assert room["mode"] == "take-home" and room["started_at"] is None
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(room["links"]["candidate"])
        await expect(page.locator("main")).to_contain_text("take-home exercise")
        await page.fill("#name", "Ada")
        await page.click("button[type=submit]")
        await expect(page.locator(HEADER)).to_contain_text("left", timeout=60_000)
        with server.client() as c:
            started = c.get(f"interview/api/rooms/{room['id']}").json()
        assert started["started_at"] and started["ends_at"]
        # More time from the interviewer is said, not only seen on the clock.
        with server.client() as c:
            c.post(
                f"interview/api/rooms/{room['id']}/extend", json={"minutes": 10}
            ).raise_for_status()
        await expect(page.get_by_text("You have 10 more minutes.")).to_be_visible()
        await type_into(page, code_cell(page, 0), "answer = 42")
        await header_button(page, "Submit").click()
        await page.locator(".jp-Dialog").get_by_role("button", name="Submit").click()
        await expect(page.locator(HEADER)).to_contain_text("Submitted")
        await expect(page.get_by_text("Your work was submitted")).to_be_visible()
    with server.client() as c:
        done = c.get(f"interview/api/rooms/{room['id']}").json()
    assert done["status"] == "ended" and done["end_reason"] == "submitted"
    assert done["submitted_at"]


async def test_a_one_minute_room_ends_by_itself_across_a_restart(
    fresh_server: InterviewServer,
) -> None:
    srv = fresh_server.start()
    room = srv.create_room(duration_minutes=1)
    async with chromium() as browser:
        page = await browser.new_page()
        await join(page, room["links"]["candidate"], "Ada")
        header = page.locator(HEADER)
        await expect(header).to_contain_text("left", timeout=60_000)
        await expect(page.get_by_text("1 minute left")).to_be_visible()
        await expect(header.locator(".jp-InterviewHeader-clock.jp-mod-urgent")).to_be_visible()
        await page.screenshot(path=str(ARTIFACTS / "candidate-last-minute.png"))
        # The server goes down and comes back while the clock runs: nobody is watching it.
        await asyncio.to_thread(srv.stop)
        srv.start()
        with srv.client() as c:
            ends_at = c.get(f"interview/api/rooms/{room['id']}").json()["ends_at"]
        await expect(header).to_contain_text("Time is up", timeout=75_000)
        await expect(page.get_by_text("Time is up. The notebook is read-only now.")).to_be_visible(
            timeout=15_000
        )
    with srv.client() as c:
        done = c.get(f"interview/api/rooms/{room['id']}").json()
    assert done["status"] == "ended" and done["end_reason"] == "timeout"
    assert done["ended_at"] == ends_at
    with httpx.Client(base_url=srv.url) as anonymous:
        r = anonymous.get(
            f"interview/api/rooms/{room['id']}",
            headers={"Authorization": f"token {link_token(room['links']['candidate'])}"},
        )
    assert r.json()["status"] == "ended"
