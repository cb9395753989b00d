"""The timeline of a real interview, and the replay page that plays it back (issue 12).

A candidate in Chromium types, runs, fails, pastes and leaves the tab while two
interviewers edit over Yjs; the timeline holds each of those, attributed to the right
person, in order. Then the interviewer's JupyterLab replays it: markers, seeking by marker,
playing, the diff.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.async_api import Page, expect

from .browser import ARTIFACTS, chromium, code_cell, join, lab_url, run
from .server import TOKEN, InterviewServer, link_token
from .yclient import YClient, connect

pytestmark = pytest.mark.anyio

PASTED = "# pasted from somewhere\n" + "x = 1  # filler\n" * 20  # over the 200 threshold


def _type(client: YClient, cell: int, text: str) -> None:
    source = client.notebook.ycells[cell]["source"]
    source.insert(len(source), text)


async def _paste(page: Page, cell_index: int, text: str) -> None:
    """A paste as the browser delivers one: a paste event with the clipboard's text."""
    editor = code_cell(page, cell_index).locator(".cm-content")
    await editor.click()
    await editor.evaluate(
        """(node, text) => {
            const data = new DataTransfer();
            data.setData('text/plain', text);
            node.dispatchEvent(new ClipboardEvent('paste', {
                clipboardData: data, bubbles: true, cancelable: true
            }));
        }""",
        text,
    )


async def test_an_interview_is_recorded_and_replayed(server: InterviewServer) -> None:
    room = server.create_room(candidate_name="Ada")
    rid, path = room["id"], room["notebook_path"]
    async with chromium() as browser:
        candidate = await browser.new_page()
        await join(candidate, room["links"]["candidate"], "Ada")
        async with (
            connect(server.url, TOKEN, path) as grace,
            connect(server.url, TOKEN, path) as linus,
        ):
            await run(candidate, code_cell(candidate, 0), "total = 6 * 7\nprint(total)")
            failed = await run(candidate, code_cell(candidate, 1), "1/0")
            await expect(failed).to_contain_text("ZeroDivisionError")
            await _paste(candidate, 0, PASTED)
            await expect(code_cell(candidate, 0)).to_contain_text("pasted from somewhere")
            await candidate.evaluate("window.dispatchEvent(new Event('blur'))")
            await candidate.evaluate("window.dispatchEvent(new Event('focus'))")
            _type(grace, 0, "\n# Grace: why 6 * 7?")
            await grace.roundtrip()
            _type(linus, 1, "\n# Linus: handle the zero")
            await linus.roundtrip()
            await candidate.locator(".cm-content", has_text="Linus").wait_for()
        with server.client() as c:
            c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
            timeline = c.get(f"interview/api/rooms/{rid}/timeline").json()
        _check_timeline(timeline)

        lab = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
        await lab.goto(lab_url(server.url, TOKEN))
        await lab.locator("[data-id='jupyter-interview-rooms']").click()
        item = lab.locator(f".jp-InterviewPanel-room[data-room-id='{rid}']")
        await item.get_by_role("button", name="Replay").click()
        replay = lab.locator(".jp-InterviewReplay")
        # A track per participant, and one for the room itself (its end).
        await expect(replay.locator(".jp-InterviewReplay-track")).to_have_count(4, timeout=30_000)
        tracks = await replay.locator(".jp-InterviewReplay-trackLabel").all_inner_texts()
        assert tracks[0] == "Ada · candidate" and tracks[-1] == "Room"
        # The end of the interview shows first: every cell as it was saved.
        await expect(replay.locator(".jp-InterviewReplay-notebook")).to_contain_text("Linus")
        ARTIFACTS.mkdir(exist_ok=True)
        await lab.screenshot(path=str(ARTIFACTS / "replay.png"))

        # Seek by marker: the error shows the source that ran and the error it made.
        error = next(e for e in timeline["events"] if e["kind"] == "error")
        await replay.locator(".jp-InterviewReplay-marker[data-kind='error']").click()
        await expect(replay).to_have_attribute("data-seq", str(error["seq"]))
        failed_cell = replay.locator(f".jp-InterviewReplay-cell[data-cell-id='{error['cell_id']}']")
        await expect(failed_cell).to_contain_text("1/0")
        await expect(failed_cell).to_contain_text("ZeroDivisionError")
        await expect(failed_cell).not_to_contain_text("Linus")  # typed later
        status = replay.locator(".jp-InterviewReplay-status")
        await expect(status).to_contain_text("Ada: ZeroDivisionError")
        # Step to the next event and back.
        await replay.get_by_title("Next event").click()
        await expect(status).not_to_contain_text("ZeroDivisionError")
        await replay.get_by_title("Previous event").click()
        await expect(status).to_contain_text("Ada: ZeroDivisionError")

        # Play from the first marker at 32 times: the moments shown move forward, to the end.
        await replay.locator(".jp-InterviewReplay-speed").select_option("32")
        await replay.locator(".jp-InterviewReplay-marker").first.click()
        start = int(await replay.get_attribute("data-seq") or 0)
        await replay.get_by_role("button", name="▶ Play").click()
        # The button reads "▶ Play" again only once playing stops, but it may not have
        # changed yet when first looked at: wait for the playhead to move first.
        await expect(replay).not_to_have_attribute("data-seq", str(start), timeout=60_000)
        await expect(replay.get_by_role("button", name="▶ Play")).to_be_visible(timeout=60_000)
        assert int(await replay.get_attribute("data-seq") or 0) > start
        await expect(replay.locator(".jp-InterviewReplay-notebook")).to_contain_text("Linus")

        # The diff of the template and the end: the candidate's code, added lines.
        await replay.get_by_role("button", name="Template → end").click()
        diff = replay.locator(".jp-InterviewReplay-diff")
        await expect(diff).to_contain_text("+total = 6 * 7")
        await expect(diff.locator(".jp-mod-add").first).to_be_visible()
        await lab.screenshot(path=str(ARTIFACTS / "replay-diff.png"))
    with server.client() as c:
        assert c.get(f"interview/api/rooms/{rid}").json()["status"] == "ended"


def _check_timeline(timeline: dict) -> None:
    events = timeline["events"]
    times = [datetime.fromisoformat(e["time"]) for e in events]
    assert times == sorted(times)
    people = {p["id"]: p for p in timeline["participants"]}
    ada = next(p for p in people.values() if p["role"] == "candidate")
    assert ada["name"] == "Ada"
    interviewers = [p for p in people.values() if p["role"] == "interviewer"]
    assert len(interviewers) == 2  # two connections with the server's login, two people

    def of(kind: str, author: dict | None = None) -> list[dict]:
        wanted = author["id"] if author else None
        return [
            e
            for e in events
            if e["kind"] == kind and (wanted is None or (e["author"] or {}).get("id") == wanted)
        ]

    runs = of("run", ada)
    assert [(r["execution_count"], r["status"]) for r in runs] == [(1, "ok"), (2, "error")]
    assert runs[0]["outputs"] == [{"type": "stream:stdout", "size": 3}]
    assert of("error", ada)[0]["ename"] == "ZeroDivisionError"
    paste = of("paste", ada)[0]
    assert paste["length"] == len(PASTED) and paste.get("text") is None
    blur, focus = of("blur", ada)[0], of("focus", ada)[0]
    assert events.index(runs[1]) < events.index(paste) < events.index(blur) < events.index(focus)
    assert of("edit", ada) and all(of("edit", person) for person in interviewers)
    assert of("join", ada) and all(of("leave", person) for person in interviewers)
    assert [e["reason"] for e in of("end")] == ["ended"]
    # Every participant's events carry their presence colour; the candidate's is the first.
    assert {e["author"]["color"] for e in of("edit", ada)} == {"var(--jp-collaborator-color1)"}


HOSTILE_OUTPUTS = [
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/html": "<img src=x onerror=\"window.__pwned='html'\">"
            "<script>window.__pwned='script'</script>",
            "text/plain": "html",
        },
    },
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {"application/javascript": "window.__pwned = 'javascript'"},
    },
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'"
            " onload=\"window.__pwned='svg'\"></svg>"
        },
    },
]


async def test_a_hostile_notebook_replays_inert(server: InterviewServer) -> None:
    """The replay shows what a candidate's notebook held in the interviewer's own page: no
    script in an output or a markdown cell runs there, whatever the candidate wrote."""
    room = server.create_room(candidate_name="Mallory")
    async with connect(
        server.url, link_token(room["links"]["candidate"]), room["notebook_path"]
    ) as mallory:
        code = next(i for i, c in enumerate(mallory.cells) if c["cell_type"] == "code")
        cell = mallory.notebook.ycells[code]
        with mallory.notebook.ydoc.transaction():
            for output in HOSTILE_OUTPUTS:
                cell["outputs"].append(output)
        cell["execution_count"] = 1
        mallory.notebook.append_cell(
            {
                "cell_type": "markdown",
                "source": "<img src=x onerror=\"window.__pwned='markdown'\">\n\n"
                "[link](javascript:window.__pwned='link')",
            }
        )
        await mallory.roundtrip()
    with server.client() as c:
        c.post(f"interview/api/rooms/{room['id']}/end").raise_for_status()
    async with chromium() as browser:
        lab = await browser.new_page()
        await lab.goto(lab_url(server.url, TOKEN))
        await lab.locator("[data-id='jupyter-interview-rooms']").click()
        item = lab.locator(f".jp-InterviewPanel-room[data-room-id='{room['id']}']")
        await item.get_by_role("button", name="Replay").click()
        replay = lab.locator(".jp-InterviewReplay")
        await expect(replay.locator(".jp-InterviewReplay-cell")).not_to_have_count(0)
        await expect(replay.get_by_text("html", exact=True)).to_have_count(0)
        await replay.locator("a", has_text="link").click()
        await expect(replay.locator(".jp-InterviewReplay-outputs img")).to_have_count(1)
        assert await replay.locator("script, [onerror], [onload]").count() == 0
        assert await lab.evaluate("window.__pwned") is None
