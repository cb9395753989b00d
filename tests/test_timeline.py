"""The room's timeline, the notebook at any moment, and diffs, from a scripted interview."""

from __future__ import annotations

import random
from datetime import datetime

import httpx
import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_interview.review.diff import notebook_diff
from jupyter_interview.review.replay import KEYFRAME_EVERY
from jupyter_ydoc import YNotebook
from nbformat import from_dict
from pycrdt import Doc

from .server import TOKEN, InterviewServer, link_token
from .yclient import YClient, connect

pytestmark = pytest.mark.anyio


def _type(client: YClient, cell: int, text: str) -> None:
    source = client.notebook.ycells[cell]["source"]
    source.insert(len(source), text)


def _ran(client: YClient, cell: int, count: int, outputs: list[dict]) -> None:
    """What a page does when a cell has run: outputs, then the execution count."""
    ycell = client.notebook.ycells[cell]
    with client.notebook.ydoc.transaction():
        ycell["outputs"].clear()
        for output in outputs:
            ycell["outputs"].append(output)
    ycell["execution_count"] = count


async def test_a_scripted_interview_has_every_event_in_order(server: InterviewServer) -> None:
    room = server.create_room(
        candidate_name="Ada", record_paste_text=False, interviewer_name="Barbara L."
    )
    path, rid = room["notebook_path"], room["id"]
    token = link_token(room["links"]["candidate"])
    async with (
        connect(server.url, token, path) as candidate,
        connect(server.url, TOKEN, path) as interviewer,
        httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"token {token}"}) as page,
    ):
        first, second = [i for i, c in enumerate(candidate.cells) if c["cell_type"] == "code"][:2]
        _type(candidate, first, "\nx = 1")
        await candidate.roundtrip()
        _ran(candidate, first, 1, [{"output_type": "stream", "name": "stdout", "text": "1\n"}])
        await candidate.roundtrip()
        _type(candidate, first, "\ny = 2")  # at once: the run still ends the first edit
        await candidate.roundtrip()
        r = await page.post(
            f"interview/api/rooms/{rid}/signals",
            json={"kind": "paste", "length": 500, "text": "secret", "cell_id": "x"},
        )
        assert r.status_code == 204
        await page.post(f"interview/api/rooms/{rid}/signals", json={"kind": "blur"})
        await page.post(f"interview/api/rooms/{rid}/signals", json={"kind": "focus"})
        _type(candidate, second, "\n1/0")
        await candidate.roundtrip()
        error = {
            "output_type": "error",
            "ename": "ZeroDivisionError",
            "evalue": "division by zero",
            "traceback": ["Traceback", "ZeroDivisionError"],
        }
        _ran(candidate, second, 2, [error])
        await candidate.roundtrip()
        _type(interviewer, 0, "\nInterviewer's note")
        candidate.notebook.append_cell({"cell_type": "code", "source": "extra = True"})
        await interviewer.roundtrip()
        await candidate.roundtrip()
        assert await candidate.save() == "success"
    with server.client() as c:
        c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
        timeline = c.get(f"interview/api/rooms/{rid}/timeline").json()
    events = timeline["events"]
    kinds = [e["kind"] for e in events]
    times = [datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in events]
    assert times == sorted(times)
    names = {p["name"] for p in timeline["participants"]}
    # The interviewer under the name the room gave them, which the candidate saw.
    assert {"Ada", "Barbara L."} <= names
    # Who did what.
    edits = [e for e in events if e["kind"] == "edit"]
    assert {(e["author"]["name"], e["author"]["role"]) for e in edits} >= {
        ("Ada", "candidate"),
        ("Barbara L.", "interviewer"),
    }
    runs = [e for e in events if e["kind"] == "run"]
    assert [(r["execution_count"], r["status"]) for r in runs] == [(1, "ok"), (2, "error")]
    around = [e for e in edits if e["cell_id"] == runs[0]["cell_id"]]
    assert [e["author"]["name"] for e in around] == ["Ada", "Ada"]
    assert around[0]["end_seq"] < runs[0]["seq"] < around[1]["seq"]
    assert runs[0]["outputs"] == [{"type": "stream:stdout", "size": 2}]
    assert runs[0]["author"]["name"] == "Ada"
    error_event = next(e for e in events if e["kind"] == "error")
    assert error_event["ename"] == "ZeroDivisionError"
    paste = next(e for e in events if e["kind"] == "paste")
    assert paste["length"] == 500 and paste.get("text") is None  # the room keeps no text
    assert paste["author"]["name"] == "Ada"
    assert kinds.index("blur") < kinds.index("focus")
    assert "join" in kinds and "cells" in kinds
    # The end, after everything but the participants' pages closing.
    assert [k for k in kinds if k != "leave"][-1] == "end"
    assert next(e for e in events if e["kind"] == "end")["reason"] == "ended"
    # At each run, the notebook holds the source that ran and the output it made.
    with server.client() as c:
        for run, code, text in ((runs[0], "x = 1", "1\n"), (runs[1], "1/0", None)):
            nb = c.get(f"interview/api/rooms/{rid}/notebook", params={"at": run["seq"]}).json()
            cell = next(cell for cell in nb["cells"] if cell["id"] == run["cell_id"])
            assert code in cell["source"]
            assert cell["execution_count"] == run["execution_count"]
            if text:
                assert cell["outputs"][0]["text"] == text
        # The end of the timeline is the saved notebook.
        end = c.get(f"interview/api/rooms/{rid}/notebook").json()
    saved = nbformat.read(server.data_dir / path, as_version=4)
    assert [cell["source"] for cell in end["cells"]] == [cell.source for cell in saved.cells]


def test_review_is_for_interviewers_only(server: InterviewServer) -> None:
    room = server.create_room()
    rid = room["id"]
    for role in ("candidate", "observer"):
        with server.client(link_token(room["links"][role])) as c:
            for route in ("timeline", "notebook", "diff"):
                assert c.get(f"interview/api/rooms/{rid}/{route}").status_code == 403, route
    with server.client(link_token(room["links"]["observer"])) as c:
        assert (
            c.post(f"interview/api/rooms/{rid}/signals", json={"kind": "blur"}).status_code == 403
        )


async def test_diffs_of_known_edits(server: InterviewServer) -> None:
    room = server.create_room()
    path, rid = room["notebook_path"], room["id"]
    async with connect(server.url, TOKEN, path) as client:
        ids = [cell["id"] for cell in client.cells]
        nb = client.notebook
        code = [i for i, c in enumerate(client.cells) if c["cell_type"] == "code"]
        _type(client, 1, "\nchanged = True")  # change a cell
        nb.ycells[code[1]]["outputs"].append(
            {"output_type": "stream", "name": "stdout", "text": "x"}
        )
        with nb.ydoc.transaction():  # move the last cell to the top, as JupyterLab does
            last = nb.ycells[len(nb.ycells) - 1].to_py()
            del nb.ycells[len(nb.ycells) - 1]
            nb.ycells.insert(0, nb.create_ycell(last))
        del nb.ycells[3]  # delete a cell
        nb.append_cell({"cell_type": "markdown", "source": "new"})  # add one
        await client.roundtrip()
        assert last is not None
        after = [cell["id"] for cell in client.cells]
    with server.client() as c:
        diff = c.get(f"interview/api/rooms/{rid}/diff").json()
    by_id = {change["cell_id"]: change for change in diff["cells"]}
    assert "changed" in by_id[ids[1]]["change"]
    assert any(line.startswith("+changed = True") for line in by_id[ids[1]]["source_diff"])
    assert by_id[ids[code[1]]]["outputs_changed"] is True
    assert "moved" in by_id[ids[-1]]["change"]
    removed = [c for c in diff["cells"] if c["change"] == ["removed"]]
    added = [c for c in diff["cells"] if c["change"] == ["added"]]
    assert len(removed) == 1 and removed[0]["cell_id"] not in after
    assert len(added) == 1 and added[0]["cell_type"] == "markdown"


def test_a_diff_moves_only_what_moved() -> None:
    def nb(*ids: str) -> dict:
        cells = [
            {
                "id": i,
                "cell_type": "code",
                "source": i,
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
            for i in ids
        ]
        return from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})

    changes = notebook_diff(nb("a", "b", "c"), nb("new", "a", "b", "c"))
    assert [(c["cell_id"], c["change"]) for c in changes] == [("new", ["added"])]
    changes = notebook_diff(nb("a", "b", "c"), nb("c", "a", "b"))
    assert {c["cell_id"] for c in changes if "moved" in c["change"]} <= {"a", "b", "c"}
    assert changes


async def test_the_history_is_never_squashed(fresh_server: InterviewServer) -> None:
    """jupyter-collaboration's squash settings destroy history: our store has none, and
    even asked for, upstream's squashing does not reach it."""
    fresh_server.extra_args += [
        "--SQLiteYStore.squash_after_inactivity_of=1",
        "--SQLiteYStore.squash_history_older_than=1",
    ]
    srv = fresh_server.start()
    room = srv.create_room()
    async with connect(srv.url, TOKEN, room["notebook_path"]) as client:
        for i in range(20):
            _type(client, 1, str(i))
            await client.roundtrip()
    with srv.client() as c:
        timeline = c.get(f"interview/api/rooms/{room['id']}/timeline").json()
    first = timeline["first_seq"]
    before = timeline["last_seq"]
    async with connect(srv.url, TOKEN, room["notebook_path"]) as client:
        _type(client, 1, "later")
        await client.roundtrip()
    with srv.client() as c:
        again = c.get(f"interview/api/rooms/{room['id']}/timeline").json()
        start = c.get(f"interview/api/rooms/{room['id']}/notebook", params={"at": first}).json()
    assert again["first_seq"] == first and again["last_seq"] > before
    assert "0123" not in start["cells"][1]["source"]  # the first moment is still there


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.text(alphabet="abc xyz\n", max_size=5)),
        max_size=40,
    )
)
def test_every_moment_equals_a_replay_from_scratch(tmp_path_factory, ops) -> None:
    """Random edits by three clients, stored as a history: the notebook at every moment,
    seeking from keyframes, equals replaying every update from the start. (ASCII only:
    pycrdt's Text counts positions in UTF-8 bytes, and one inside a character panics.)"""
    from jupyter_interview.review.replay import RoomHistory
    from jupyter_interview.sync.history import HistoryDB

    db = HistoryDB(tmp_path_factory.mktemp("prop") / f"h{random.random()}.db")
    docs = [Doc() for _ in range(3)]
    base = YNotebook(docs[0])
    base.set(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "source": "",
                    "id": f"c{i}",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
                for i in range(4)
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    start = docs[0].get_update()
    for doc in docs[1:]:
        doc.apply_update(start)
    db.append("p", start, b"", 0.0)
    for step, (who, cell, text) in enumerate(ops):
        doc = docs[who]
        before = doc.get_state()
        source = YNotebook(doc).ycells[cell]["source"]
        if text:
            source.insert(min(step % 7, len(source)), text)
        elif len(source):
            del source[0]
        update = doc.get_update(before)
        for other in docs:
            other.apply_update(update)
        db.append("p", update, b"", float(step + 1))
    db.flush_sync()
    history = RoomHistory(db, "p", every=5)  # keyframes every 5 updates: many seeks use one
    seqs = [seq for seq, _ in history.positions]
    for seq in seqs:
        scratch = Doc()
        for update in db.updates("p", upto=seq):
            scratch.apply_update(update.update)
        assert YNotebook(history.doc_at(seq)).get() == YNotebook(scratch).get()
    db.close()


def test_keyframes_are_built_and_used(tmp_path) -> None:
    from jupyter_interview.review.replay import RoomHistory
    from jupyter_interview.sync.history import HistoryDB

    db = HistoryDB(tmp_path / "h.db")
    doc = Doc()
    notebook = YNotebook(doc)
    notebook.set(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "source": "",
                    "id": "c",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    db.append("p", doc.get_update(), b"", 0.0)
    for i in range(KEYFRAME_EVERY * 2 + 10):
        before = doc.get_state()
        source = notebook.ycells[0]["source"]
        source.insert(len(source), "x")
        db.append("p", doc.get_update(before), b"", float(i))
    db.flush_sync()
    history = RoomHistory(db, "p")
    assert history.doc_at(history.last)
    frame = db.keyframe("p")
    assert frame is not None and frame[0] == history.positions[KEYFRAME_EVERY * 2 - 1][0]
    middle = history.positions[KEYFRAME_EVERY + 3][0]
    assert YNotebook(history.doc_at(middle)).get()["cells"][0]["source"] == "x" * (
        KEYFRAME_EVERY + 3
    )
    db.close()
