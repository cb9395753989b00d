"""Benchmark: grading a batch of submissions in the sandbox.

100 submissions of the algorithms template (the template's cells, a solution, the three
hidden tests), graded the way the server grades them (``GradingSandbox``: one process per
submission, Pyodide under Node, in namespaces of its own), with as many workers as given.
Half the submissions are right and half wrong, so both verdicts are exercised.

Target (issue 13): 100 submissions in 60 s or less on the 2-core machine. For live sync
while a batch runs, see ``bench.sync_load --grade-batch``.

Run on demand, never in CI:
    .venv/bin/python -m bench.grading --submissions 100 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import nbformat
from jupyter_interview.sandbox.grading import GradingSandbox, submission_cells

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "notebooks" / "algorithms-warmup.ipynb"
RIGHT = """
import re
from collections import Counter

def top_k_words(text, k):
    counts = Counter(re.findall(r"[a-z']+", text.lower()))
    return sorted(counts, key=lambda word: (-counts[word], word))[:k]
"""
WRONG = "def top_k_words(text, k):\n    return text.split()[:k]\n"


async def measure(submissions: int, workers: int) -> dict:
    notebook = nbformat.read(TEMPLATE, as_version=4)
    tests = [dict(t) for t in notebook.metadata["interview"]["hidden_tests"]]
    cells = submission_cells(notebook)
    sandbox = GradingSandbox(ROOT / "lite" / "build" / "pyodide", workers=workers)
    if problem := sandbox.problem():
        raise SystemExit(problem)
    took: list[float] = []
    loads: list[int] = []

    async def one(i: int) -> list[str]:
        outcome = await sandbox.run([*cells, RIGHT if i % 2 else WRONG], tests, [])
        took.append(outcome.duration_ms / 1000)
        loads.append(outcome.load_ms or 0)
        return [t["status"] for t in outcome.tests]

    started = time.monotonic()
    verdicts = await asyncio.gather(*(one(i) for i in range(submissions)))
    total = time.monotonic() - started
    # The wrong answer passes only the last test ("k larger than the vocabulary").
    right = sum(v == ["pass"] * len(tests) for v in verdicts[1::2])
    wrong = sum(v == ["fail"] * (len(tests) - 1) + ["pass"] for v in verdicts[0::2])
    return {
        "submissions": submissions,
        "workers": workers,
        "total_s": round(total, 1),
        "per_submission_s": round(statistics.median(took), 2),
        "pyodide_start_ms": round(statistics.median(loads)),
        "verdicts_as_expected": right + wrong,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.submissions, args.workers))), flush=True)


if __name__ == "__main__":
    sys.exit(main())
