"""A hostile candidate's notebook, opened by the interviewer in JupyterLab and Notebook, and
by an observer: no script of the candidate's runs, and no request leaves for a forbidden
route or another host."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import Page, Request

from .browser import chromium, join, lab_url
from .server import TOKEN, InterviewServer, link_token
from .yclient import connect

pytestmark = pytest.mark.anyio

MARK = "hostile output rendered"


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """Another origin (a port of its own) that records every request it gets: what a
    candidate's page would use to learn the interviewer's address."""
    hits: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def _hostile_cells(leak: str) -> list[dict]:
    html = (
        f"<b>{MARK}</b>"
        "<script>window.__pwned = 'script'; fetch('/api/kernels', {method: 'POST'})</script>"
        "<img src='x' onerror=\"window.__pwned = 'onerror'\">"
        f"<img src='{leak}/leak.png'>"
        f"<link rel='stylesheet' href='{leak}/leak.css'>"
        "<a id='js-link' href=\"javascript:window.__pwned='href'\">link</a>"
    )
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg'><script>window.__pwned='svg'</script>"
        "<rect width='10' height='10'/></svg>"
    )
    return [
        {
            "cell_type": "code",
            "source": "display(HTML(...))",
            "metadata": {"trusted": True},
            "execution_count": 1,
            "outputs": [
                {"output_type": "display_data", "metadata": {}, "data": {"text/html": html}},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"application/javascript": "window.__pwned = 'javascript'"},
                },
                {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": svg}},
            ],
        },
        {
            "cell_type": "markdown",
            "source": "<script>window.__pwned = 'markdown'</script>"
            "<img src=x onerror=\"window.__pwned='md-onerror'\">",
            "metadata": {"trusted": True},
        },
    ]


def _watch(page: Page) -> list[str]:
    """Requests the page makes that it never should: to start a server kernel."""
    bad: list[str] = []

    def check(request: Request) -> None:
        if request.method == "POST" and "/api/kernels" in request.url:
            bad.append(request.url)

    page.on("request", check)
    return bad


@pytest.mark.parametrize("view", ["lab", "notebooks", "observer"])
async def test_a_hostile_notebook_runs_no_script_in_another_users_page(
    server: InterviewServer, view: str, elsewhere: tuple[str, list[str]]
) -> None:
    outside, hits = elsewhere
    room = server.create_room()
    path = room["notebook_path"]
    async with connect(server.url, link_token(room["links"]["candidate"]), path) as candidate:
        for cell in _hostile_cells(outside):
            candidate.notebook.append_cell(cell)
        await candidate.roundtrip()
        async with chromium() as browser:
            page = await browser.new_page()
            bad = _watch(page)
            if view == "observer":
                await join(page, room["links"]["observer"], "Observer")
            else:
                url = (
                    lab_url(server.url, TOKEN, path)
                    if view == "lab"
                    else f"{server.url}notebooks/{path}?token={TOKEN}"
                )
                await page.goto(url)
            await page.get_by_text(MARK).first.wait_for(timeout=60_000)
            await page.wait_for_load_state("networkidle")
            link = page.locator("#js-link")
            if await link.count():
                await link.first.click()
            assert await page.evaluate("window.__pwned") is None
            assert bad == []
    assert hits == []
