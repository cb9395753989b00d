"""Constructs in a submission that can reach into the tests that run after it.

The grading runner puts builtins, tracing hooks and streams back before each test, and
decides a test's verdict itself; but code that runs inside the test (the candidate's
function, called by it) can still reach the interpreter's internals. These are the ways
in, found by reading the code (never by running it): evidence a grader should look at,
never a verdict.
"""

from __future__ import annotations

import ast

MODULES = {
    "gc": "walks every object (gc)",
    "ctypes": "reaches raw memory (ctypes)",
    "inspect": "inspects frames (inspect)",
    "builtins": "changes builtins",
    "pyodide": "reaches the runtime (pyodide)",
    "js": "reaches JavaScript (js)",
    "_pyodide": "reaches the runtime (_pyodide)",
    "pyodide_js": "reaches the runtime (pyodide_js)",
}
ATTRIBUTES = {
    "settrace": "sets a trace function",
    "setprofile": "sets a profile function",
    "_getframe": "reads the caller's frame",
    "f_back": "reads the caller's frame",
    "f_locals": "reads a frame's variables",
    "f_globals": "reads a frame's globals",
    "__code__": "rewrites a function's code",
    "__globals__": "reaches a function's globals",
    "__builtins__": "changes builtins",
    "_exit": "exits the interpreter",
    "modules": "changes sys.modules",
    "addaudithook": "adds an audit hook",
    "excepthook": "changes the exception hook",
}
CALLS = {"exit": "exits", "quit": "exits", "__import__": "imports dynamically"}


def tampering_signals(cells: list[str | None]) -> list[str]:
    """One line per construct, with the cell it is in (cells numbered from 1)."""
    found: list[str] = []
    for number, code in enumerate(cells, start=1):
        if not code:
            continue
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            # The sandbox's Python is newer than the server's: a cell that parses there
            # may not here, and must not go unread for that.
            found.append(f"cell {number}: not checked (the server's Python cannot parse it)")
            continue
        seen: set[str] = set()
        for node in ast.walk(tree):
            for what in _signals(node):
                if what not in seen:
                    seen.add(what)
                    found.append(f"cell {number}: {what}")
    return found


def _signals(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        roots = [alias.name.split(".")[0] for alias in node.names]
        return [MODULES[root] for root in roots if root in MODULES]
    if isinstance(node, ast.ImportFrom) and node.module:
        root = node.module.split(".")[0]
        return [MODULES[root]] if root in MODULES else []
    if isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
        return [ATTRIBUTES[node.attr]]
    if isinstance(node, ast.Name) and node.id in ("__builtins__",):
        return [ATTRIBUTES["__builtins__"]]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALLS:
        return [CALLS[node.func.id]]
    return []
