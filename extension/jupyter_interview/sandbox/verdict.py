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
import math

# What a reported value may be: the guard never reports more.
LONGEST_REPORTED = 100_000
_SHOWN = 300  # characters of a value in a verdict's message


def check_call(call: str) -> None:
    """ValueError unless ``call`` is one expression that a plain function can return."""
    try:
        tree = ast.parse(call, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"`call` is not a Python expression: {e.msg}") from None
    if any(isinstance(node, ast.Await | ast.Yield | ast.YieldFrom) for node in ast.walk(tree)):
        raise ValueError("`call` may not await or yield: the test runs it in a plain function")


def check_expected(expected: str) -> None:
    """ValueError unless ``expected`` is a literal the sandbox can report: plain types only,
    finite numbers."""
    try:
        value = ast.literal_eval(expected)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        raise ValueError("`expected` is not a Python literal") from None
    if not _plain(value):
        raise ValueError(
            "`expected` may hold only None, bool, int, finite float, str, list, tuple, dict "
            "and set: the sandbox reports nothing else"
        )


def _plain(value: object) -> bool:
    if isinstance(value, list | tuple | set):
        return all(map(_plain, value))
    if isinstance(value, dict):
        return all(map(_plain, value)) and all(map(_plain, value.values()))
    if type(value) is float:
        return math.isfinite(value)
    return value is None or type(value) in (bool, int, str)


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
        mine = {_member(k): v for k, v in got.items()}
        return {_member(k) for k in want} == mine.keys() and all(
            same(v, mine[_member(k)]) for k, v in want.items()
        )
    if isinstance(want, set) and isinstance(got, set):
        return {_member(m) for m in want} == {_member(m) for m in got}
    return want == got


def _member(value: object) -> object:
    """A set's member or a dict's key as the comparison sees it: Python's own equality
    takes ``True`` for ``1`` there, this does not (``1`` is still ``1.0``)."""
    if type(value) in (int, float):
        return ("number", value)
    if type(value) is tuple:
        return ("tuple", tuple(map(_member, value)))
    return (type(value).__name__, value)


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
