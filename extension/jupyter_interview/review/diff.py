"""A cell-by-cell diff of a notebook between two moments, keyed by cell id.

Cells are matched by their id, so a moved cell is a move, not a removal and an addition.
For each cell that differs: added, removed, moved (its position changed) and changed (its
source, as a unified diff, or its outputs, as their kinds and sizes); a cell can be both
moved and changed.
"""

from __future__ import annotations

import difflib
from typing import Any

from nbformat import NotebookNode

from .timeline import output_summary


def _outputs(cell: dict) -> list[dict[str, Any]]:
    return [output_summary(o) for o in cell.get("outputs", [])]


def notebook_diff(before: NotebookNode, after: NotebookNode) -> list[dict[str, Any]]:
    old = {cell.get("id", str(i)): (i, cell) for i, cell in enumerate(before.cells)}
    new = {cell.get("id", str(i)): (i, cell) for i, cell in enumerate(after.cells)}
    # A move is a change of rank among the cells both moments have, not of raw index:
    # adding a cell above does not move the ones below it.
    kept_old = [cid for cid in old if cid in new]
    kept_new = [cid for cid in new if cid in old]
    changes: list[dict[str, Any]] = []
    for cell_id, (index, cell) in new.items():
        if cell_id not in old:
            changes.append(
                {
                    "cell_id": cell_id,
                    "change": ["added"],
                    "to_index": index,
                    "cell_type": cell.cell_type,
                    "source_diff": _source_diff("", cell.source),
                    "outputs_to": _outputs(cell),
                }
            )
            continue
        from_index, was = old[cell_id]
        change = []
        if kept_old.index(cell_id) != kept_new.index(cell_id):
            change.append("moved")
        source_diff = _source_diff(was.source, cell.source)
        outputs_changed = _outputs(was) != _outputs(cell) or was.get("outputs") != cell.get(
            "outputs"
        )
        if source_diff or outputs_changed or was.cell_type != cell.cell_type:
            change.append("changed")
        if change:
            changes.append(
                {
                    "cell_id": cell_id,
                    "change": change,
                    "from_index": from_index,
                    "to_index": index,
                    "cell_type": cell.cell_type,
                    "source_diff": source_diff,
                    "outputs_changed": outputs_changed,
                    "outputs_from": _outputs(was),
                    "outputs_to": _outputs(cell),
                }
            )
    for cell_id, (index, cell) in old.items():
        if cell_id not in new:
            changes.append(
                {
                    "cell_id": cell_id,
                    "change": ["removed"],
                    "from_index": index,
                    "cell_type": cell.cell_type,
                    "source_diff": _source_diff(cell.source, ""),
                    "outputs_from": _outputs(cell),
                }
            )
    return changes


def _source_diff(before: str, after: str) -> list[str]:
    if before == after:
        return []
    return list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=2
        )
    )
