"""The verdict of a call test, made here in the server, not in the sandbox.

A call test (``call`` and ``expected`` in a template's hidden tests) runs its call in the
sandbox, which reports the value returned as a Python literal of plain types; the value
the test expects never leaves the server. A submission that took over its whole
interpreter can still only report a value: to pass, it must report the right one, which is
the task itself. Statement tests (``code``) have their verdict made in the sandbox, where
the guard (``grader/guard.py``) has to keep the submission away from the test.

The comparison is exact: the same types all the way down (a tuple is not a list, ``True``
is not ``1``), except numbers, which compare by value (``70`` equals ``70.0``).
"""

from __future__ import annotations

import ast

# What a reported value may be: the guard never reports more.
LONGEST_REPORTED = 100_000
_SHOWN = 300  # characters of a value in a verdict's message


def returning(call: str) -> str:
    """The test's code as the sandbox runs it: the call's value, returned."""
    return f"return (\n{call}\n)"


def judge(expected: str, reported: object) -> tuple[str, str | None]:
    """("pass", None), or ("fail" or "error", why) for a value the sandbox reported."""
    if not isinstance(reported, str) or len(reported) > LONGEST_REPORTED:
        return "error", "The sandbox reported no value that can be compared."
    want = ast.literal_eval(expected)  # checked when the template was read
    try:
        got = ast.literal_eval(reported)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        return "fail", f"expected {_short(expected)}, got a value that is not a plain literal"
    if same(want, got):
        return "pass", None
    return "fail", f"expected {_short(expected)}, got {_short(reported)}"


def same(want: object, got: object) -> bool:
    numbers = (int, float)
    if type(want) in numbers and type(got) in numbers:
        return want == got
    if type(want) is not type(got):
        return False
    if isinstance(want, list | tuple) and isinstance(got, list | tuple):
        return len(want) == len(got) and all(map(same, want, got))
    if isinstance(want, dict) and isinstance(got, dict):
        return want.keys() == got.keys() and all(same(v, got[k]) for k, v in want.items())
    return want == got


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
