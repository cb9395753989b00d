"""Review from the interviewer's panel and from a grader link, in Chromium (issue 13):
private notes saved as they are typed, the review list with its keys, grading from the
panel, the review page's scorecard, and a grader who gives a name and scores blind."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from .browser import ARTIFACTS, chromium, lab_url
from .server import TOKEN, InterviewServer, link_token
from .test_review_workflow import _type_solution

pytestmark = pytest.mark.anyio


async def test_review_from_the_panel_and_from_a_grader_link(server: InterviewServer) -> None:
    room = server.create_room(template="algorithms-warmup", candidate_name="Ada Review")
    rid = room["id"]
    await _type_solution(server, room)
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        lab = await (await browser.new_context(viewport={"width": 1400, "height": 900})).new_page()
        await lab.goto(lab_url(server.url, TOKEN))
        await lab.locator("[data-id='jupyter-interview-rooms']").click()
        item = lab.locator(f".jp-InterviewPanel-room[data-room-id='{rid}']")
        # Private notes, saved as they are typed.
        await item.locator("summary").click()
        await item.locator("textarea").fill("Strong on ties; ask about streaming.")
        await expect(item.locator(".jp-InterviewPanel-notesState")).to_have_text("Saved")
        await item.locator("textarea").press("End")  # still writing when the room ends
        with server.client() as c:
            assert c.get(f"interview/api/rooms/{rid}").json()["notes"].startswith("Strong on")
            c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
        with server.client(link_token(room["links"]["candidate"])) as candidate:
            assert "notes" not in candidate.get(f"interview/api/rooms/{rid}").json()
        # The panel keeps up while the notes are being written, and leaves them be.
        await expect(item).to_contain_text("· ended ·", timeout=20_000)
        notes = item.locator("textarea")
        assert await notes.evaluate("e => e === document.activeElement"), await lab.evaluate(
            "document.activeElement.outerHTML.slice(0, 200)"
        )
        await lab.keyboard.type(" Hire?")
        assert await notes.input_value() == "Strong on ties; ask about streaming. Hire?"

        # The review list: choose the room with the keys and grade it with g.
        panel = lab.locator(".jp-InterviewPanel")
        await panel.get_by_role("button", name="Review", exact=True).first.click()
        reviews = lab.locator(".jp-InterviewReviewList")
        await reviews.locator("select").first.select_option("algorithms-warmup")
        row = reviews.locator(f"li[data-room-id='{rid}']")
        await expect(row).to_contain_text("not graded")
        listbox = reviews.get_by_role("listbox")
        await listbox.focus()
        while await row.get_attribute("aria-selected") != "true":
            await lab.keyboard.press("ArrowDown")
        await lab.keyboard.press("g")
        await expect(row).to_contain_text("tests 4/4", timeout=60_000)
        await lab.screenshot(path=str(ARTIFACTS / "review-list.png"))

        # The review page: the tests, the timeline, the notebook and a scorecard to fill.
        page = await lab.context.new_page()
        await page.goto(f"{server.url}interview/review/{rid}")
        await expect(page.locator("body")).to_contain_text("4 of 4")
        card = page.locator("form.card")
        # Submitting before scoring every criterion is refused, with the reason.
        await card.locator("input[name='score-correctness'][value='4']").check()
        await card.get_by_role("button", name="Submit").click()
        # Everything missing at once, in the rubric's words.
        await expect(page.locator(".problem")).to_have_text(
            "Score every criterion before submitting: Complexity, Code quality, Communication"
            " and give a recommendation."
        )
        # What was filled in is kept, as a draft.
        card = page.locator("form.card")
        await expect(card.locator("input[name='score-correctness'][value='4']")).to_be_checked()
        for criterion in ("correctness", "complexity", "code-quality", "communication"):
            await card.locator(f"input[name='score-{criterion}'][value='3']").check()
        await card.locator("input[name='score-correctness'][value='4']").check()
        await card.locator("textarea[name='comment-correctness']").fill("Every case right.")
        await card.locator("select[name='recommendation']").select_option("strong_yes")
        await card.get_by_role("button", name="Submit").click()
        # Said where the save lands (#scorecard), not at the top of the page.
        await expect(page.locator("#scorecard + .notice")).to_have_text("Saved.")
        await expect(page.locator("#scorecard + .notice")).to_be_in_viewport()
        await expect(page.locator("body")).to_contain_text("Your scorecard is submitted")
        await page.screenshot(path=str(ARTIFACTS / "review-page.png"), full_page=True)

        # A grader: a name once, then the same page, blind to the interviewer's scorecard.
        grader = await (await browser.new_context()).new_page()
        await grader.goto(room["links"]["grader"])
        await grader.fill("#name", "Grace Grader")
        await grader.click("button[type=submit]")
        await expect(grader.locator("h1").first).to_contain_text(room["title"])
        body = grader.locator("body")
        await expect(body).to_contain_text("reviewing as Grace Grader")
        await expect(body).to_contain_text("1 other scorecard: shown once you submit yours")
        await expect(body).not_to_contain_text("Every case right.")
        await expect(body).not_to_contain_text("Strong on ties")  # the private notes
        await grader.screenshot(path=str(ARTIFACTS / "review-grader.png"), full_page=True)
        # Open the notebook at a moment of the timeline from its table: as the room loaded,
        # then after the candidate's typing.
        await grader.locator("tr", has_text="joined").locator("a").click()
        await expect(body).to_contain_text("The notebook as the room loaded")
        await expect(body).to_contain_text("# your code here")
        await grader.locator("tr", has_text="typed in a cell").locator("a").click()
        await expect(body).to_contain_text("The notebook at")
        await expect(body).to_contain_text("Counter(re.findall")
