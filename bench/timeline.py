"""Benchmark: review of long interviews: building the timeline and opening any moment.

A synthetic interview is written into a history file the way the server writes one: three
participants typing into cells at human rates (one update a keystroke), runs with outputs
every couple of minutes, cells added now and then, each update with its author and time.
Then, as the review handlers do (``jupyter_interview.review``): the timeline is built (the
first time with the keyframes, then again), and random moments are opened as notebooks.

Targets (issue 12): a 60-minute, 3-participant interview (about 20,000 updates) builds its
timeline in 300 ms or less, any moment opens in 20 ms or less at p99; a 4-hour take-home of
100,000 updates opens any moment in 50 ms or less.

Run on demand, never in CI:
    .venv/bin/python -m bench.timeline
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from jupyter_interview.review.replay import RoomHistory
from jupyter_interview.review.timeline import Timelines
from jupyter_interview.rooms.store import Room
from jupyter_interview.sync.history import Author, HistoryDB
from jupyter_interview.sync.recovery import notebook_of
from jupyter_ydoc import YNotebook
from pycrdt import Doc

PATH = ".notebook:bench.y"
PEOPLE = [
    Author("candidate-bench", "candidate", "Ada", "c1"),
    Author("anonymous-1", "interviewer", "Grace", "i1"),
    Author("anonymous-2", "interviewer", "Linus", "i2"),
]


def record(db: HistoryDB, updates: int, minutes: float, seed: int = 7) -> None:
    """Write a synthetic interview of ``updates`` keystrokes over ``minutes``."""
    rng = random.Random(seed)
    doc = Doc()
    notebook = YNotebook(doc)
    cells = [
        {
            "cell_type": "code",
            "source": "",
            "id": f"cell{i}",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
        }
        for i in range(6)
    ]
    notebook.set({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    start = datetime(2026, 11, 30, 9, tzinfo=UTC).timestamp()
    db.append(PATH, doc.get_update(), b"", start)
    sent: list[bytes] = []
    doc.observe(lambda event: sent.append(event.update))
    step = minutes * 60 / updates
    count = 0
    # People type in stretches, a line or so at a time, in the cell they are working on:
    # the keyboard passes to someone else about every 40 keystrokes (80% of stretches are
    # the candidate's), and a person moves to another cell about every 200 keystrokes.
    author = PEOPLE[0]
    where = {person.id: 0 for person in PEOPLE}
    for i in range(updates):
        if rng.random() < 1 / 40:
            author = PEOPLE[0] if rng.random() < 0.8 else PEOPLE[rng.randint(1, 2)]
        if rng.random() < 1 / 200:
            where[author.id] = rng.randrange(len(notebook.ycells))
        index = where[author.id]
        cell = notebook.ycells[index]
        if i % 600 == 599:  # a run: outputs, then the execution count
            count += 1
            with doc.transaction():
                cell["outputs"].clear()
                cell["outputs"].append(
                    {"output_type": "stream", "name": "stdout", "text": f"result {count}\n"}
                )
                cell["execution_count"] = count
        elif i % 2500 == 2499:
            notebook.append_cell({"cell_type": "code", "source": ""})
        elif rng.random() < 0.1 and len(cell["source"]):  # a backspace
            source = cell["source"]
            del source[len(source) - 1]
        else:
            source = cell["source"]
            source.insert(len(source), rng.choice("abcdefghij =()\n"))
        # What a page sends: the update of its own transaction (a diff against a state
        # vector would carry the whole delete set every time).
        db.append(PATH, sent.pop(), b"", start + i * step, author)
    db.flush_sync()


def room() -> Room:
    return Room(
        id="0123456789abcdef",
        title="bench",
        template="bench",
        status="open",
        candidate_name="Ada",
        duration_minutes=60,
        notebook_path="rooms/x/bench.ipynb",
        file_id="bench",
        notes="",
        created_at=datetime.now(UTC),
    )


def measure(updates: int, minutes: float, seeks: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = HistoryDB(Path(tmp) / "history.db")
        record(db, updates, minutes)

        def timeline(timelines: Timelines) -> float:
            started = time.perf_counter()
            timelines.of(room(), [])
            return (time.perf_counter() - started) * 1000

        first = timeline(Timelines(db))  # builds the keyframes too
        cold = [timeline(Timelines(db)) for _ in range(3)]  # as after a restart
        cached = Timelines(db)
        timeline(cached)
        warm = [timeline(cached) for _ in range(3)]
        history = RoomHistory(db, PATH)
        rng = random.Random(1)
        seqs = [seq for seq, _ in history.positions]
        took = []
        for _ in range(seeks):
            seq = rng.choice(seqs)
            started = time.perf_counter()
            notebook_of(history.doc_at(seq))
            took.append((time.perf_counter() - started) * 1000)
        took.sort()
        db.close()
    return {
        "updates": updates,
        "minutes": minutes,
        "timeline_first_ms": round(first, 1),
        "timeline_ms": round(statistics.median(cold), 1),
        "timeline_cached_ms": round(statistics.median(warm), 1),
        "seek_p50_ms": round(took[len(took) // 2], 2),
        "seek_p99_ms": round(took[int(0.99 * len(took))], 2),
        "seek_max_ms": round(took[-1], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeks", type=int, default=300)
    args = parser.parse_args(argv)
    for updates, minutes in ((20_000, 60), (100_000, 240)):
        print(json.dumps(measure(updates, minutes, args.seeks)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
