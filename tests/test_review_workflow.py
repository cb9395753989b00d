"""Scorecards, grader links, exports, blind grading, purge and retention (issue 13)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import nbformat
import pytest
from jupyter_interview.review import report
from pycrdt import Array, Map, Text

from .server import ROOT, TOKEN, InterviewServer, link_token
from .yclient import connect

pytestmark = pytest.mark.anyio

SOLUTION = """
import re
from collections import Counter

def top_k_words(text, k):
    counts = Counter(re.findall(r"[a-z']+", text.lower()))
    return sorted(counts, key=lambda word: (-counts[word], word))[:k]
"""


def grader_browser(server: InterviewServer, room: dict, name: str) -> httpx.Client:
    """A browser that opened the room's grader link and gave its name."""
    browser = httpx.Client(base_url=server.url, follow_redirects=True, timeout=60)
    link = room["links"]["grader"].removeprefix(server.url)
    browser.get(link)
    page = browser.post(link, data={"name": name, "_xsrf": browser.cookies["_xsrf"]})
    assert page.status_code == 200, page.text
    assert str(page.url).endswith(f"/interview/review/{room['id']}")
    browser.headers["X-XSRFToken"] = browser.cookies["_xsrf"]
    return browser


async def _type_solution(server: InterviewServer, room: dict, extra: str = "") -> None:
    token = link_token(room["links"]["candidate"])
    async with connect(server.url, token, room["notebook_path"]) as candidate:
        code = next(i for i, c in enumerate(candidate.cells) if c["cell_type"] == "code")
        source = candidate.notebook.ycells[code]["source"]
        source.clear()
        source += SOLUTION + extra
        await candidate.roundtrip()
        assert await candidate.save() == "success"


def _card(score: int, recommendation: str, submit: bool) -> dict:
    return {
        "scores": [
            {
                "criterion": "correctness",
                "score": score,
                "comment": "ties handled",
                "evidence": [{"seq": 3, "note": "first run"}],
            },
            *({"criterion": name, "score": 3} for name in ("complexity", "code-quality")),
            {"criterion": "communication", "score": 3, "comment": ""},
        ],
        "recommendation": recommendation,
        "summary": "solid",
        "submit": submit,
    }


async def test_two_graders_score_blind_and_every_change_is_recorded(
    server: InterviewServer,
) -> None:
    room = server.create_room(template="algorithms-warmup", candidate_name="Ada")
    rid = room["id"]
    with server.client() as c:
        c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
    grace = grader_browser(server, room, "Grace")
    linus = grader_browser(server, room, "Linus")
    url = f"interview/api/rooms/{rid}/scorecards"
    try:
        rubric = grace.get(url).json()["rubric"]
        assert [c["name"] for c in rubric["criteria"]][:2] == ["correctness", "complexity"]
        # Scores outside the rubric are refused, with the reason.
        bad = grace.put(url, json={"scores": [{"criterion": "charm", "score": 1}]})
        assert bad.status_code == 400 and "no criterion 'charm'" in bad.json()["message"]
        bad = grace.put(url, json={"scores": [{"criterion": "correctness", "score": 7}]})
        assert bad.status_code == 400
        # Submitting is what shows the others' cards: it takes a whole scorecard.
        half = {"scores": [{"criterion": "correctness", "score": 1}], "submit": True}
        bad = grace.put(url, json=half)
        assert bad.status_code == 400 and "Score every criterion" in bad.json()["message"]
        # The link used as a bare token is nobody in particular: it may not score.
        with server.client(link_token(room["links"]["grader"])) as bare:
            assert bare.get(url).status_code == 403
            assert bare.put(url, json=_card(4, "yes", submit=True)).status_code == 403
        # Grace drafts, Linus submits: neither sees Grace's draft; Linus sees nothing else.
        assert grace.put(url, json=_card(2, "no", submit=False)).status_code == 200
        seen = linus.put(url, json=_card(4, "strong_yes", submit=True)).json()
        assert seen["mine"]["status"] == "submitted" and seen["others"] == []
        assert seen["hidden"] == 1
        mine = grace.get(url).json()
        assert mine["mine"]["grader_name"] == "Grace" and mine["others"] == []
        assert mine["hidden"] == 1  # Linus's, until Grace submits
        # Grace submits: now both see each other.
        after = grace.put(url, json=_card(3, "yes", submit=True)).json()
        assert [o["grader_name"] for o in after["others"]] == ["Linus"]
        assert linus.get(url).json()["others"][0]["recommendation"] == "yes"
        # Weighted: every criterion at 3 of 1..4.
        assert after["mine"]["weighted_score"] == pytest.approx(2 / 3, abs=1e-3)
        history = [h["what"] for h in after["mine"]["history"]]
        assert history[0] == "started the scorecard"
        # What the first save set is in the history too, so later changes read from it.
        assert "correctness: score none → 2" in history and "recommendation none → no" in history
        assert "correctness: score 2 → 3" in history and "submitted it" in history
        assert all(h["by"] == "Grace" for h in after["mine"]["history"])
        # Linus's card on Grace's page: criteria by title, levels by name, the evidence.
        page = grace.get(f"interview/review/{rid}").text
        assert "<td>Correctness</td><td>4 Excellent</td>" in page
        assert "#3 first run" in page and "score None" not in page
        # The interviewer's login is a grader too, blind like the others.
        with server.client() as c:
            view = c.get(url).json()
            assert view["mine"] is None and view["hidden"] == 2
    finally:
        grace.close()
        linus.close()


async def test_a_grader_link_reviews_and_can_never_change_the_submission(
    server: InterviewServer,
) -> None:
    room = server.create_room(template="algorithms-warmup", candidate_name="Ada")
    other = server.create_room(template="algorithms-warmup")
    rid, path = room["id"], room["notebook_path"]
    with server.client() as c:
        c.patch(
            f"interview/api/rooms/{rid}", json={"notes": "PRIVATE-NOTE-7f3a"}
        ).raise_for_status()
    grader = grader_browser(server, room, "Barbara")
    try:
        api = f"interview/api/rooms/{rid}"
        for reachable in ("timeline", "notebook", "diff", "grades", "scorecards", "report.html"):
            assert grader.get(f"{api}/{reachable}").status_code == 200, reachable
        public = grader.get(api).json()
        assert "notes" not in public and "links" not in public
        refused = [
            ("GET", f"notebooks/{path}"),
            ("GET", f"api/contents/{path}"),
            ("PUT", f"api/contents/{path}"),
            ("PUT", f"api/collaboration/session/{path}"),
            ("GET", f"{api}/events"),
            ("POST", f"{api}/execute"),
            ("POST", f"{api}/signals"),
            ("POST", f"{api}/end"),
            ("PATCH", api),
            ("DELETE", api),
            ("GET", "interview/api/rooms"),
            ("GET", f"interview/api/rooms/{other['id']}/timeline"),
            ("GET", f"interview/review/{other['id']}"),
            ("GET", "api/kernels"),
            ("GET", "lab"),
        ]
        for method, url in refused:
            status = grader.request(method, url, follow_redirects=False).status_code
            assert status in (302, 401, 403, 404, 405), (method, url, status)
            assert status != 200
        # Nothing a grader reads carries the interviewer's private notes.
        for url in (f"{api}/report.html", f"{api}/export.ipynb", f"{api}/results.json"):
            assert "PRIVATE-NOTE-7f3a" not in grader.get(url).text
        page = grader.get(f"interview/review/{rid}").text
        assert "PRIVATE-NOTE-7f3a" not in page
        # The hidden tests' code, to read what a failure means: graders only.
        assert "the test</summary><pre>top_k_words(&#x27;b a c b a&#x27;, 2) == [" in page
    finally:
        grader.close()
    # And the candidate's link reaches none of the review.
    with server.client(link_token(room["links"]["candidate"])) as candidate:
        for url in ("timeline", "scorecards", "report.html", "export.ipynb", "grades"):
            assert candidate.get(f"interview/api/rooms/{rid}/{url}").status_code == 403, url
        page = candidate.get(f"interview/review/{rid}")
        assert page.status_code in (302, 403)  # a 302 to the server's login
        assert "login" in page.headers.get("location", "login")


async def test_exports_carry_no_hidden_tests_no_notes_and_load_nothing(
    server: InterviewServer,
) -> None:
    room = server.create_room(template="algorithms-warmup", candidate_name="=HYPERLINK(1)")
    rid = room["id"]
    await _type_solution(
        server, room, "\nprint('<script>alert(1)</script><img src=https://evil.example/x>')"
    )
    with server.client() as c:
        c.patch(f"interview/api/rooms/{rid}", json={"notes": "PRIVATE-NOTE-91b"}).raise_for_status()
        c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
        graded = c.post(f"interview/api/rooms/{rid}/grade").json()
        assert graded["passed"] == 4
        c.put(
            f"interview/api/rooms/{rid}/scorecards", json=_card(4, "yes", True)
        ).raise_for_status()
        notebook = c.get(f"interview/api/rooms/{rid}/export.ipynb")
        report = c.get(f"interview/api/rooms/{rid}/report.html")
        results = c.get(f"interview/api/rooms/{rid}/results.json").json()
        table = c.get("interview/api/templates/algorithms-warmup/results.csv")
    nb = nbformat.reads(notebook.text, as_version=4)
    nbformat.validate(nb)
    assert "attachment" in notebook.headers["content-disposition"]
    # Each says what it is: an applicant-tracking system goes by the type.
    assert notebook.headers["content-type"] == "application/x-ipynb+json"
    assert report.headers["content-type"] == "text/html; charset=utf-8"
    assert table.headers["content-type"].startswith("text/csv")
    assert nb.metadata["interview"] == {"room_id": rid, "template": "algorithms-warmup"}
    for text in (notebook.text, report.text, json.dumps(results), table.text):
        assert "hidden_tests" not in text and "ties break alphabetically" not in notebook.text
        assert "PRIVATE-NOTE-91b" not in text
    # The report: sanitised, self-contained, inert even when opened from disk.
    assert "sandbox" in report.headers["content-security-policy"]
    assert "default-src 'none'" in report.text
    tags, links = _tags_and_links(report.text)
    assert "script" not in tags and "iframe" not in tags and "object" not in tags
    assert [link for link in links if re.match(r"(https?:)?//", link)] == []
    assert "4 of 4" in report.text and "yes" in report.text
    assert results["tests"]["passed"] == 4 and results["scorecards"][0]["recommendation"] == "yes"
    assert results["summary"]["runs"] == 0
    rows = list(csv.reader(io.StringIO(table.text)))
    ours = next(row for row in rows if row[0] == rid)
    header = rows[0]
    assert ours[header.index("tests_passed")] == "4"
    assert ours[header.index("candidate")] == "'=HYPERLINK(1)"  # no formula


async def test_blind_graders_never_see_the_candidates_name(tmp_path: Path) -> None:
    server = InterviewServer(
        tmp_path / "data",
        "--InterviewApp.blind_graders=True",
        "--InterviewApp.grade_on_end=False",
        "--InterviewApp.max_graders=1",
    ).start()
    try:
        room = server.create_room(template="algorithms-warmup", candidate_name="Ada Lovelace")
        await _type_solution(server, room)
        with server.client() as c:
            c.post(f"interview/api/rooms/{room['id']}/end").raise_for_status()
        grader = grader_browser(server, room, "Grace")
        try:
            api = f"interview/api/rooms/{room['id']}"
            timeline = grader.get(f"{api}/timeline").json()
            names = {p["name"] for p in timeline["participants"]}
            assert "Candidate" in names and "Ada Lovelace" not in names
            for url in (
                f"{api}/report.html",
                f"{api}/results.json",
                f"interview/review/{room['id']}",
            ):
                assert "Ada Lovelace" not in grader.get(url).text, url
        finally:
            grader.close()
        with server.client() as c:  # the interviewer is not blinded
            timeline = c.get(f"interview/api/rooms/{room['id']}/timeline").json()
            assert "Ada Lovelace" in {p["name"] for p in timeline["participants"]}
    finally:
        server.stop()


def _tags_and_links(page: str) -> tuple[set[str], list[str]]:
    """The elements of a page, and every URL its attributes would load or link to."""
    tags: set[str] = set()
    links: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            tags.add(tag)
            links.extend(v or "" for k, v in attrs if k in ("src", "href", "action", "srcset"))

    Parser().feed(page)
    return tags, links


MARKER = "zq-purge-marker-4d1c8e"


def _files_with(root: Path, needle: bytes) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and needle in path.read_bytes()
    ]


async def _interview_with_marker(server: InterviewServer) -> dict:
    room = server.create_room(template="algorithms-warmup", candidate_name="Ada")
    await _type_solution(server, room, f"\n# {MARKER}\n")
    with server.client() as c:
        rid = room["id"]
        c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
        c.post(f"interview/api/rooms/{rid}/grade").raise_for_status()
        c.put(
            f"interview/api/rooms/{rid}/scorecards", json=_card(3, "yes", True)
        ).raise_for_status()
        c.get(f"interview/api/rooms/{rid}/timeline").raise_for_status()  # keyframes, cache
    return room


async def test_a_purge_leaves_nothing_in_the_data_directory(tmp_path: Path) -> None:
    server = InterviewServer(tmp_path / "data").start()
    try:
        room = await _interview_with_marker(server)
        keep = server.create_room(template="sql-groupby")
        assert _files_with(server.data_dir, MARKER.encode())  # it was there
        with server.client() as c:
            r = c.delete(f"interview/api/rooms/{room['id']}", params={"purge": "true"})
            assert r.status_code == 204, r.text
            assert c.get(f"interview/api/rooms/{room['id']}").status_code == 404
            assert c.get(f"interview/api/rooms/{keep['id']}").status_code == 200
        assert _files_with(server.data_dir, MARKER.encode()) == []
        link = room["links"]["candidate"].removeprefix(server.url)
        assert httpx.get(server.url + link).status_code == 404
    finally:
        server.stop()
    # And after a restart (recovery must not bring anything back).
    server.start()
    try:
        assert _files_with(server.data_dir, MARKER.encode()) == []
    finally:
        server.stop()


async def test_rooms_past_retention_are_purged(tmp_path: Path) -> None:
    server = InterviewServer(tmp_path / "data").start()
    try:
        old = await _interview_with_marker(server)
        deleted = await _interview_with_marker(server)
        recent = server.create_room(template="sql-groupby")
        with server.client() as c:
            c.post(f"interview/api/rooms/{recent['id']}/end").raise_for_status()
            # Deleted, not purged: its folder waits under .deleted/, its history stays.
            c.delete(f"interview/api/rooms/{deleted['id']}").raise_for_status()
    finally:
        server.stop()
    with sqlite3.connect(server.data_dir / ".interview.db") as db:
        long_ago = (datetime.now(UTC) - timedelta(days=31)).isoformat()
        db.execute("UPDATE rooms SET ended_at = ? WHERE id = ?", (long_ago, old["id"]))
        db.execute(
            "UPDATE deleted_rooms SET deleted_at = ? WHERE id = ?", (long_ago, deleted["id"])
        )
    server.extra_args.append("--InterviewApp.retention_days=30")
    server.start()
    try:
        with server.client() as c:
            rooms = {r["id"] for r in c.get("interview/api/rooms").json()}
        assert old["id"] not in rooms and recent["id"] in rooms
        assert _files_with(server.data_dir, MARKER.encode()) == []
        assert TOKEN not in server.log()
    finally:
        server.stop()


def test_no_request_is_answered_before_expired_rooms_are_purged(tmp_path: Path) -> None:
    """jupyter_server listens before it runs the extensions' start hooks: a request that
    came in between saw rooms half erased (their links dead, their folders still there)."""
    server = InterviewServer(tmp_path / "data").start()
    try:
        expired = [server.create_room(template="sql-groupby") for _ in range(20)]
        with server.client() as c:
            for room in expired:
                c.post(f"interview/api/rooms/{room['id']}/end").raise_for_status()
    finally:
        server.stop()
    folders = [(server.data_dir / r["notebook_path"]).parent for r in expired]
    assert all(folder.is_dir() for folder in folders)
    with sqlite3.connect(server.data_dir / ".interview.db") as db:
        long_ago = (datetime.now(UTC) - timedelta(days=31)).isoformat()
        db.execute("UPDATE rooms SET ended_at = ?", (long_ago,))
    server.extra_args.append("--InterviewApp.retention_days=30")
    server.start()  # its first answer (to the health check) is the first request it served
    try:
        assert [folder.name for folder in folders if folder.exists()] == []
    finally:
        server.stop()


async def test_a_notebook_nbconvert_refuses_still_opens_for_review(server: InterviewServer) -> None:
    """Fields of the wrong type and huge outputs (1.5 MB, under the room's 2 MiB limit),
    written by the candidate, neither break the review page nor the report."""
    room = server.create_room(template="algorithms-warmup")
    token = link_token(room["links"]["candidate"])
    async with connect(server.url, token, room["notebook_path"]) as candidate:
        code = next(i for i, c in enumerate(candidate.cells) if c["cell_type"] == "code")
        cell = candidate.notebook.ycells[code]
        cell["metadata"]["tags"] = 5
        cell["outputs"].append(
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {"text/html": "<b>big</b>" * 150_000, "text/plain": "big"},
            }
        )
        await candidate.roundtrip()
    with server.client() as c:
        report = f"interview/api/rooms/{room['id']}/report.html"
        for url in (f"interview/review/{room['id']}", report):
            r = c.get(url)
            assert r.status_code == 200, (url, r.text[:300])
            assert "could not be rendered" in r.text or "left out here" in r.text


async def test_the_interviewer_is_named_as_the_room_names_them(server: InterviewServer) -> None:
    """The name given in the New interview dialog, which the candidate sees, is the one the
    panel, the review page and the scorecards show too (not the server-wide default)."""
    room = server.create_room(template="algorithms-warmup", interviewer_name="Grace H.")
    rid = room["id"]
    async with connect(server.url, TOKEN, room["notebook_path"]):
        with server.client() as c:
            assert c.get(f"interview/api/rooms/{rid}").json()["online"] == ["Grace H."]
    with server.client() as c:
        c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
        c.put(
            f"interview/api/rooms/{rid}/scorecards", json=_card(3, "yes", True)
        ).raise_for_status()
        mine = c.get(f"interview/api/rooms/{rid}/scorecards").json()["mine"]
        assert mine["grader_name"] == "Grace H."
        assert "reviewing as Grace H." in c.get(f"interview/review/{rid}").text


async def test_evidence_is_read_as_the_timeline_shows_it(server: InterviewServer) -> None:
    """A moment is given as the timeline shows it, a number (#n) or mm:ss; one that cannot
    be read is named, and the rest of the scorecard is kept as a draft, never dropped."""
    room = server.create_room(template="algorithms-warmup", candidate_name="Ada")
    await _type_solution(server, room)
    grader = grader_browser(server, room, "Barbara")
    try:
        url = f"interview/review/{room['id']}"
        page = grader.get(url).text
        first = int(re.search(r"open #(\d+)", page).group(1))
        form = {"_xsrf": grader.cookies["_xsrf"], "action": "save", "summary": "kept"}
        form |= {"evidence-correctness": "00:00", "evidence-note-correctness": "at the start"}
        form |= {"evidence-complexity": f"#{first}", "comment-complexity": "said O(n log n)"}
        form |= {"evidence-code-quality": "soon", "evidence-note-code-quality": "a note"}
        r = grader.post(url, data=form)
        assert r.status_code == 400
        assert "Not understood as a moment: “soon” (Code quality)" in r.text
        mine = grader.get(f"interview/api/rooms/{room['id']}/scorecards").json()["mine"]
        evidence = {s["criterion"]: s["evidence"] for s in mine["scores"]}
        assert evidence["correctness"] == [{"seq": first, "cell_id": None, "note": "at the start"}]
        assert evidence["complexity"][0]["seq"] == first
        assert evidence["code-quality"] == [{"seq": None, "cell_id": None, "note": "a note"}]
        assert mine["summary"] == "kept" and mine["status"] == "draft"
        # The form gives the moments back as they were typed (#n), and a save comes back
        # to the scorecard, not to the top of the page.
        assert f'name="evidence-complexity" size=12 value="#{first}"' in r.text
        form["evidence-code-quality"] = f"#{first}"
        r = grader.post(url, data=form, follow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"].endswith("#scorecard")
        # A submitted card is changed, not turned back into a draft.
        scores = {
            f"score-{n}": "3"
            for n in ("correctness", "complexity", "code-quality", "communication")
        }
        form |= scores | {"action": "submit", "recommendation": "yes"}
        assert grader.post(url, data=form).status_code == 200
        page = grader.get(url).text
        assert "Save draft" not in page and ">Save changes</button>" in page
        # Nor can a change leave it without a score: it stays whole, and says why.
        r = grader.post(url, data={**form, "score-complexity": ""})
        assert r.status_code == 400 and "Score every criterion" in r.text
        mine = grader.get(f"interview/api/rooms/{room['id']}/scorecards").json()["mine"]
        assert mine["status"] == "submitted"
        assert {s["criterion"]: s["score"] for s in mine["scores"]}["complexity"] == 3
    finally:
        grader.close()


async def test_a_cell_cannot_hide_its_code_or_cover_the_page(server: InterviewServer) -> None:
    """Metadata steers nbconvert: ``transient.remove_source`` hid a cell's code from the
    review, and a picture's width, written unquoted, let a style cover the whole page."""
    room = server.create_room(template="algorithms-warmup")
    token = link_token(room["links"]["candidate"])
    cover = "640 style=position:fixed;top:0;left:0;width:100vw;height:100vh;z-index:99"
    async with connect(server.url, token, room["notebook_path"]) as candidate:
        candidate.notebook.ycells.append(
            Map(
                {
                    "id": "hidden",
                    "cell_type": "code",
                    "source": Text("hidden_code_7c1 = 1"),
                    "metadata": Map({"transient": {"remove_source": True}}),
                    "execution_count": None,
                    "outputs": Array(
                        [
                            {
                                "output_type": "display_data",
                                "data": {"image/png": "iVBORw0KGgo=", "text/plain": "x"},
                                "metadata": {"image/png": {"width": cover}},
                            }
                        ]
                    ),
                }
            )
        )
        await candidate.roundtrip()
    with server.client() as c:
        for url in (
            f"interview/review/{room['id']}",
            f"interview/api/rooms/{room['id']}/report.html",
        ):
            r = c.get(url)
            assert r.status_code == 200, url
            assert "hidden_code_7c1" in r.text, url
            body = r.text.split("</head>", 1)[1]
            assert "position:fixed" not in body and " style=" not in body, url
            policy = r.headers["Content-Security-Policy"]
            assert "'unsafe-inline'" not in policy and "style-src 'sha256-" in policy


@pytest.mark.parametrize(
    "shape",
    [
        "a cell that is a string",
        "a source that is a number",
        "outputs that are a string",
        "notebook metadata that is a string",
        "no nbformat",
    ],
)
async def test_a_document_of_the_wrong_shape_is_still_reviewed(
    server: InterviewServer, shape: str
) -> None:
    """A candidate's client can give the shared document any shape. The review, the exports,
    the diff and the grader's submission still read it, and the server stays healthy."""
    room = server.create_room(template="algorithms-warmup")
    token = link_token(room["links"]["candidate"])
    async with connect(server.url, token, room["notebook_path"]) as candidate:
        nb = candidate.notebook
        source = nb.ycells[1]["source"]
        source.clear()
        source += "def top_k_words(text, k):\n    return []\n"
        cell = {"id": "x", "cell_type": "code", "metadata": Map(), "execution_count": None}
        shapes = {
            "a cell that is a string": lambda: nb.ycells.append("not a cell"),
            "a source that is a number": lambda: nb.ycells.append(
                Map({**cell, "source": 5, "outputs": Array()})
            ),
            "outputs that are a string": lambda: nb.ycells.append(
                Map({**cell, "source": Text("1"), "outputs": "oops"})
            ),
            "notebook metadata that is a string": lambda: nb._ymeta.__setitem__("metadata", "x"),
            "no nbformat": lambda: nb._ymeta.pop("nbformat"),
        }
        shapes[shape]()
        await candidate.roundtrip()
        await candidate.save()
    rid = room["id"]
    with server.client() as c:
        c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
        for url in (
            f"interview/review/{rid}",
            f"interview/api/rooms/{rid}/report.html",
            f"interview/api/rooms/{rid}/export.ipynb",
            f"interview/api/rooms/{rid}/results.json",
            f"interview/api/rooms/{rid}/notebook",
            f"interview/api/rooms/{rid}/diff",
        ):
            r = c.get(url)
            assert r.status_code == 200, (url, r.text[:300])
        exported = nbformat.reads(c.get(f"interview/api/rooms/{rid}/export.ipynb").text, 4)
        nbformat.validate(exported)
        assert "return []" in exported.cells[1].source
        assert c.get("interview/api/health").json()["status"] == "ok"


async def test_private_notes_reach_no_room_link(server: InterviewServer) -> None:
    """The interviewer's notes: not in the room a link reads, its files, its collaboration
    document or presence, nor in anything exported to it."""
    room = server.create_room(template="algorithms-warmup")
    rid, path = room["id"], room["notebook_path"]
    secret = "PRIVATE-NOTE-c0ffee"
    with server.client() as c:
        c.patch(f"interview/api/rooms/{rid}", json={"notes": secret}).raise_for_status()
        assert c.get(f"interview/api/rooms/{rid}").json()["notes"] == secret
    for role in ("candidate", "observer"):
        token = link_token(room["links"][role])
        with server.client(token) as link:
            seen = [
                link.get(f"interview/api/rooms/{rid}").text,
                link.get(f"api/contents/{path.rsplit('/', 1)[0]}").text,
                link.get(f"api/contents/{path}").text,
                link.get(f"interview/api/rooms/{rid}/export.ipynb").text,
                link.get(f"interview/api/rooms/{rid}/report.html").text,
            ]
        assert not any(secret in text for text in seen), role
        async with connect(server.url, token, path) as client:
            await client.roundtrip()
            document = json.dumps(client.notebook.get())
            awareness = client.channel.awareness
            presence = json.dumps(dict(awareness.states) if awareness else {})
        assert secret not in document and secret not in presence


def test_headings_links_never_swallow_the_text_after_them() -> None:
    """nbconvert's empty heading anchor (``<a ... />``) once made every paragraph after a
    heading one link, on the review page and in the report."""

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.depth = 0
            self.linked: list[str] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.depth += tag == "a"

        def handle_endtag(self, tag: str) -> None:
            self.depth -= tag == "a"

        def handle_data(self, data: str) -> None:
            if self.depth and data.strip():
                self.linked.append(data.strip())

    for template in ("algorithms-warmup", "sql-groupby", "pandas-cleaning"):
        links = Links()
        notebook = nbformat.read(ROOT / "notebooks" / f"{template}.ipynb", as_version=4)
        links.feed(report.notebook_html(notebook))
        assert links.linked == [], (template, links.linked[:3])
