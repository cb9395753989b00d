"""Headless Debian Chromium driven by Playwright, and the candidate page's gestures."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots the tests take, to look at (make test keeps them; git ignores them).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A cold Pyodide start is about 10 s on two cores; leave room for a loaded CI machine.
KERNEL_TIMEOUT_MS = 120_000


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get)")
    pytest.skip("browser tests need Debian's chromium (`apt-get install chromium`)")


@asynccontextmanager
async def chromium(user_data_dir: Path | None = None) -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def join(page: Page, link: str, name: str) -> None:
    """Open a room link, give a name, and wait for the notebook."""
    await page.goto(link)
    await page.fill("#name", name)
    await page.click("button[type=submit]")
    await page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)


@asynccontextmanager
async def room_page(link: str, name: str) -> AsyncIterator[Page]:
    """A page in a fresh headless browser that has joined a room by its link, as ``name``."""
    async with chromium() as browser:
        page = await browser.new_page()
        await join(page, link, name)
        yield page


def lab_url(server_url: str, token: str, path: str | None = None) -> str:
    """The interviewer's JupyterLab in a workspace of its own, empty: JupyterLab would
    otherwise restore every notebook and tab that earlier tests opened on a shared server,
    and a hidden tab's cells are not the ones on screen."""
    workspace = f"lab/workspaces/t{uuid.uuid4().hex[:12]}"
    tree = f"/tree/{path}" if path else ""
    return f"{server_url}{workspace}{tree}?reset&token={token}"


def header_button(page: Page, name: str) -> Locator:
    """A button of a room page's header: 'Run', 'Stop', 'Restart', 'Submit', ..."""
    return page.locator(".jp-InterviewHeader").get_by_role("button", name=name, exact=True)


def code_cell(page: Page, index: int) -> Locator:
    return page.locator(".jp-Notebook .jp-CodeCell").nth(index)


async def type_into(page: Page, cell: Locator, code: str) -> None:
    """Replace a cell's source by typing, as a person does."""
    await cell.locator(".cm-content").click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(code)


async def run(page: Page, cell: Locator, code: str) -> Locator:
    """Type code into a cell, run it, and return the cell's first output once it shows."""
    await type_into(page, cell, code)
    await cell.locator(".cm-content").click()
    await page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output").first
    await output.wait_for(timeout=KERNEL_TIMEOUT_MS)
    return output
