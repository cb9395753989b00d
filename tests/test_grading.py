"""Hidden tests in the grading sandbox (issue 13): verdicts, isolation, tampering, the API.

The sandbox is the real one: Pyodide under Node, in namespaces of its own, started by
``GradingSandbox`` as the server starts it. Each isolation probe is a submission that tries
to break out; the test fails if it gets anything.
"""

from __future__ import annotations

import asyncio
import http.server
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nbformat
import psutil
import pytest
from jupyter_interview.api.models import GradeOut, HiddenTest, TemplateMeta
from jupyter_interview.review import report
from jupyter_interview.review.grading import GradeStore
from jupyter_interview.sandbox.grading import (
    _LINE_LIMIT,
    GradingSandbox,
    _line,
    submission_cells,
)
from jupyter_interview.sandbox.verdict import judge
from pydantic import ValidationError

from .server import ROOT, TOKEN, InterviewServer, link_token
from .yclient import connect

pytestmark = pytest.mark.anyio

PYODIDE = ROOT / "lite" / "build" / "pyodide"
TEMPLATES = ROOT / "notebooks"

TOP_K = """
import re
from collections import Counter

def top_k_words(text, k):
    counts = Counter(re.findall(r"[a-z']+", text.lower()))
    return sorted(counts, key=lambda word: (-counts[word], word))[:k]
"""
TOP_K_WRONG = """
def top_k_words(text, k):
    return text.split()[:k]
"""
GROUP_BY = """
def active_regions(events, min_users=2):
    users, revenue = {}, {}
    for e in events:
        if e['kind'] == 'purchase':
            users.setdefault(e['region'], set()).add(e['user_id'])
            revenue[e['region']] = revenue.get(e['region'], 0.0) + e['amount']
    rows = [(r, len(u), revenue[r]) for r, u in users.items() if len(u) >= min_users]
    return sorted(rows, key=lambda row: (-row[2], row[0]))
"""


def hidden_tests(template: str) -> list[dict[str, str]]:
    nb = nbformat.read(TEMPLATES / f"{template}.ipynb", as_version=4)
    return [dict(t) for t in nb.metadata["interview"]["hidden_tests"]]


def as_statements(tests: list[dict[str, str]]) -> list[dict[str, str]]:
    """The algorithms template's call tests written as statements, whose verdict the
    sandbox makes itself (and the guard must protect)."""
    return [
        {
            "name": t["name"],
            "code": f"result = {t['call']}\n"
            "assert type(result) is list and all(type(w) is str for w in result)\n"
            f"assert result == {t['expected']}, result\n",
        }
        for t in tests
    ]


def template_cells(template: str) -> list[str | None]:
    return submission_cells(nbformat.read(TEMPLATES / f"{template}.ipynb", as_version=4))


@pytest.fixture
def sandbox() -> GradingSandbox:
    box = GradingSandbox(PYODIDE, timeout=60, cell_timeout=3, test_timeout=3, memory_mb=256)
    assert box.problem() is None, box.problem()
    return box


def statuses(outcome) -> list[str]:
    return [t["status"] for t in outcome.tests]


@pytest.mark.parametrize(
    ("template", "solution", "expected"),
    [
        ("algorithms-warmup", TOP_K, ["pass"] * 4),
        ("algorithms-warmup", TOP_K_WRONG, ["fail", "fail", "fail", "pass"]),
        # Sorted words, never counted.
        (
            "algorithms-warmup",
            "def top_k_words(text, k):\n    return sorted(set(text.split(' ')))[:k]",
            ["fail", "pass", "fail", "pass"],
        ),
        ("algorithms-warmup", "", ["fail"] * 4),  # the template's function returns ...
        ("algorithms-warmup", "del top_k_words", ["error"] * 4),  # NameError
        ("sql-groupby", GROUP_BY, ["pass"] * 5),
        # Wrong queries that the template's own data cannot tell apart: COUNT(*) for
        # COUNT(DISTINCT user_id), and no WHERE kind = 'purchase'.
        (
            "sql-groupby",
            GROUP_BY.replace(
                "users.setdefault(e['region'], set()).add",
                "users.setdefault(e['region'], []).append",
            ),
            ["pass", "pass", "pass", "fail", "fail"],
        ),
        (
            "sql-groupby",
            GROUP_BY.replace("if e['kind'] == 'purchase':", "if True:"),
            ["pass", "pass", "pass", "fail", "fail"],
        ),
        # No pandas in the grader offline (nor in the browser): errors, never a pass.
        ("pandas-cleaning", "", ["error"] * 3),
        ("sql-groupby", "def active_regions(events, min_users=2):\n    return []", None),
    ],
)
async def test_each_template_with_a_correct_and_a_wrong_submission(
    sandbox: GradingSandbox, template: str, solution: str, expected: list[str] | None
) -> None:
    cells = [*template_cells(template), solution]
    outcome = await sandbox.run(cells, hidden_tests(template), [])
    assert outcome.error is None
    if expected is None:
        assert statuses(outcome) == ["fail", "fail", "pass", "fail", "pass"]
    else:
        assert statuses(outcome) == expected
    # The template's %%piston cell is another language: skipped, not run as Python.
    if template == "algorithms-warmup":
        assert outcome.cells[1]["status"] == "skipped"


SECRET = "s3cret-from-the-server-disk"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on the host's loopback, standing for the interview server."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], seen
    httpd.shutdown()


async def test_a_submission_reads_no_file_starts_no_process_reaches_no_host(
    sandbox: GradingSandbox, secret_file: Path, listener: tuple[int, list[str]]
) -> None:
    port, seen = listener
    probes = {
        "read a file of the server": f"print(open({str(secret_file)!r}).read())",
        "list the server's disk": "import os; print(os.listdir('/'), os.listdir('/tmp'))",
        "start a process": "import subprocess; print(subprocess.run(['id'], capture_output=True))",
        "os.system": "import os; print(os.system('id'))",
        "a socket": f"import socket; s = socket.create_connection(('127.0.0.1', {port}), 2)",
        "urllib": f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/u')",
        "pyodide's http": f"from pyodide.http import open_url; open_url('http://127.0.0.1:{port}/p')",
        "JavaScript's globals": "import js; print(js.process.env)",
        "the runtime's API": "import pyodide_js; print(pyodide_js._module)",
        "JavaScript from a string": (
            "from pyodide.ffi import to_js\n"
            "f = to_js({}).constructor.constructor('return process')\n"
            "print(f().mainModule)"
        ),
        "JavaScript's eval": "from pyodide.code import run_js; print(run_js('process.pid'))",
        "a file of Pyodide's own": f"print(open({str(PYODIDE / 'pyodide.mjs')!r}).read(9))",
    }
    # One run each: a probe that upsets Pyodide (os.system ends in the permission model's
    # refusal, and the interpreter is not always usable after it) must not hide the next.
    results = {}
    for name, code in probes.items():
        outcome = await sandbox.run(["print('ready')"], [{"name": name, "code": code}], [])
        results[name] = outcome.tests[0]
    for name in probes:
        assert SECRET not in (results[name].get("output") or "")
        if name != "list the server's disk":
            assert results[name]["status"] == "error", (name, results[name])
    assert seen == []  # no request reached the host
    # What the sandbox lists is Emscripten's memory file system, none of the host's disk.
    listing = results["list the server's disk"]["output"]
    assert "work" not in listing and "etc" not in listing and "root" not in listing


async def test_time_and_memory_are_bounded(sandbox: GradingSandbox) -> None:
    tests = [
        {"name": "a loop", "code": "while True: pass"},
        {"name": "memory", "code": "x = bytearray(1024 * 2**20)"},
        {"name": "after them", "code": "assert 1 + 1 == 2"},
        {
            "name": "a loop that swallows the interrupt",
            "code": "while True:\n    try:\n        while True: pass\n    except BaseException:\n"
            "        pass",
        },
        {"name": "never reached", "code": "pass"},
    ]
    sandbox.timeout = 12
    before = {p.pid for p in psutil.process_iter()}
    outcome = await sandbox.run(["x = 1"], tests, [])
    results = {t["name"]: t["status"] for t in outcome.tests}
    assert results["a loop"] == "timeout"
    assert results["memory"] == "error"
    assert next(t for t in outcome.tests if t["name"] == "memory")["type"] == "MemoryError"
    assert results["after them"] == "pass"
    assert results["a loop that swallows the interrupt"] == "not_run"
    assert results["never reached"] == "not_run"
    assert "ran over" in (outcome.error or "")
    # The process group is gone: no node left spinning.
    left = [
        p
        for p in psutil.process_iter(["pid", "name"])
        if p.info["pid"] not in before and p.info["name"] in ("node", "unshare", "timeout")
    ]
    assert left == []


async def test_the_process_is_watched_and_javascript_is_out_of_reach() -> None:
    """What JavaScript holds lives outside WebAssembly's memory and V8's heap, so the
    process's resident size is watched too. And Python can make no JavaScript value:
    Pyodide's makers of them (to_js, create_proxy) are gone before the submission runs."""
    box = GradingSandbox(PYODIDE, timeout=60, cell_timeout=5, memory_mb=2048, process_memory_mb=500)
    hoard = "keep = [b'x' * (64 << 20) for _ in range(16)]"
    outcome = await box.run([hoard], [{"name": "after it", "code": "assert True"}], [])
    assert "more than 500 MiB" in (outcome.error or ""), outcome
    assert outcome.tests[0]["status"] == "not_run"
    bridge = [
        "from pyodide.ffi import to_js",
        "import js",
        "import sys\nsys.modules['pyodide.ffi'].create_proxy",
        "import sys\nsys.modules['pyodide.webloop'].scheduleCallback",
    ]
    outcome = await box.run(bridge, [], [])
    assert [c["status"] for c in outcome.cells] == ["error"] * 4, outcome.cells
    assert outcome.cells[1]["refused"] == ["<cell 2>: import js"]


LIAR = (
    "class Liar:\n    def __eq__(self, other):\n        return True\n"
    "    def __iter__(self):\n        return iter(())\n"
)

# Reads what globals() (called from C, with a frame of the test's on top) holds, and
# returns the list the test's failure message names as expected.
ORACLE = (
    "import ast, importlib\nfrom collections import defaultdict\nfrom functools import partial\n"
    "from itertools import chain, filterfalse\n"
    "ffi = importlib.import_module('pyo' + 'dide.ffi')\nANSWER = []\n"
    "def answer_from(names):\n    test = names.get('hidden_test')\n"
    "    for const in getattr(test, '__co' 'de__').co_consts if test else ():\n"
    "        if isinstance(const, str) and const.startswith('expected ['):\n"
    "            return ast.literal_eval(const[len('expected '):-len(', got ')])\n"
    "    return []\n"
    "class Spy(defaultdict):\n    def __setitem__(self, key, names):\n"
    "        ANSWER[:] = answer_from(names)\n"
    "spy = Spy(globals)\n"
    "def words():\n    for item in ANSWER:\n        dict.__setitem__(spy, item, 0)\n"
    "        yield item\n"
    "class Fresh:\n    def __iter__(self):\n"
    "        return filterfalse(spy.__getitem__, chain([object()], words()))\n"
    "cache = defaultdict(partial(list, Fresh()))\n"
    "class O:\n    __getattr__ = cache.__getitem__\n"
    "top_k_words = {call}\n"
)

# Forged compiled code (a generator whose flags do not say so) written into /lib, then
# read back through the import system's reader; WRITE is how the file gets written.
FORGED_IN_LIB = (
    "import sys, marshal\n"
    "from _frozen_importlib_external import _compile_bytecode\n"
    "\n"
    "class Liar:\n"
    "    def __eq__(self, other):\n"
    "        return True\n"
    "    __hash__ = None\n"
    "    def __iter__(self):\n"
    "        return iter(())\n"
    "\n"
    "def walk():\n"
    "    frame = sys._getframe()\n"
    "    yield frame\n"
    "    while True:\n"
    "        yield frame.f_back.f_back.f_back   # generator <- top_k_words <- call <-"
    " hidden_test\n"
    "\n"
    "data = bytearray(marshal.dumps(walk.__code__))\n"
    "flags = int.from_bytes(data[17:21], 'little')\n"
    "data[17:21] = (flags & ~0x20).to_bytes(4, 'little')   # no longer says \"generato"
    'r"\n'
    "data = bytes(data)\n"
    "WRITE\n"
    "    f.write(b'\\0' * 16 + data)\n"
    "# the guard re-reads /lib/walk.pyc, finds the same bytes, and lets marshal.loads"
    " run\n"
    "walk.__code__ = _compile_bytecode(data, 'walk', '/lib/walk.pyc')\n"
    "steps = walk()\n"
    'steps.send(None)          # sys._getframe() in a "non-generator": allowed\n'
    "\n"
    "def top_k_words(text, k):\n"
    "    test = steps.send(None)\n"
    "    names = test.f_locals   # FrameLocalsProxy: writes through to the test's fas"
    "t locals / cells\n"
    "    names['type'] = lambda *a: list\n"
    "    names['all'] = lambda *a: True\n"
    "    return Liar()\n"
)

# Round seven's spy: set as `apply` on every prototype of the JavaScript realm, it answered
# the runner's calls into the guard ("passed") and passed the rest through. Each trick
# below reaches the prototypes (`protos`, `Obj`) its own way, then installs it.
PROTOTYPE_SPY = (
    "_compile, _exec, _limit = compile, exec, sys.setrecursionlimit\n"
    "class Spy:\n"
    "    def __len__(self):\n"
    "        return 0\n"
    "    def __call__(self, this, args):\n"
    "        a = [args[i] for i in range(args.length)]\n"
    "        if len(a) == 3 and type(a[2]) is str and a[2].startswith('<tes"
    "t '):\n"
    "            return 'passed'\n"
    "        if len(a) == 5:\n"
    "            return _compile(*a)\n"
    "        if len(a) == 2 and type(a[1]) is dict:\n"
    "            return _exec(*a)\n"
    "        if len(a) == 0:\n"
    "            return []\n"
    "        if len(a) == 1 and type(a[0]) is int:\n"
    "            return _limit(a[0])\n"
    "        return None\n"
    "protos.apply = Spy()\n"
    "protos.forEach(Obj.assign)\n"
)

TAMPERING = {
    "prints passed": (
        "print('All tests passed')\n"
        'print(\'{"event": "test", "name": "ties break alphabetically", '
        '"status": "pass"}\')'
    ),
    "patched builtins": (
        "import builtins\n"
        "builtins.sorted = lambda *a, **k: ['a', 'b']\n"
        "builtins.type = lambda x: list\n"
        "builtins.all = lambda x: True\n"
        "builtins.AssertionError = type('Quiet', (Exception,), {})\n"
    ),
    "a global hiding a builtin": "def type(x):\n    return list\nall = lambda x: True",
    "patched sys.exit": "import sys\nsys.exit = lambda *a: None",
    "an exit in the function": ("import sys\ndef top_k_words(text, k):\n    sys.exit(0)"),
    "os._exit in the notebook": "import os\nos._exit(0)",
    "an object equal to anything": (
        "class Liar(list):\n    def __eq__(self, other):\n        return True\n"
        "def top_k_words(text, k):\n    return Liar()"
    ),
    "a trace function": (
        "import sys\ndef skip(frame, event, arg):\n    return skip\nsys.settrace(skip)"
    ),
    "Pyodide's eval_code replaced": (
        "import importlib\n"
        "for name in ('pyodide.code', '_pyodide._base'):\n"
        "    setattr(importlib.import_module(name), 'eval_code', lambda *a, **k: None)\n"
    ),
    "results forged through the runtime's console": (
        "import sys\n"
        "api = sys.modules.get('pyodide_js._api') or sys.modules.get('pyodide_js')\n"
        "assert api is None, 'the runtime API is reachable'\n"
    ),
    "__builtins__ replaced": (
        "__builtins__ = dict(__import__('builtins').__dict__, sorted=lambda *a, **k: ['a', 'b'],"
        " type=lambda x: list, all=lambda x: True)"
    ),
    # The function runs inside the test: what it does there, the test's own code sees.
    "builtins patched by the function while the test runs": (
        f"{LIAR}def top_k_words(text, k):\n"
        "    import builtins\n    builtins.type = lambda *a: list\n    return Liar()"
    ),
    "the test's globals reached through its frame": (
        f"import sys\n{LIAR}def top_k_words(text, k):\n"
        "    sys._getframe(1).f_globals['type'] = lambda *a: list\n    return Liar()"
    ),
    "the test's frame reached through a traceback": (
        f"{LIAR}def top_k_words(text, k):\n    try:\n        raise ValueError\n"
        "    except ValueError as e:\n        frame = e.__traceback__.tb_frame.f_back\n"
        "    frame.f_globals['type'] = lambda *a: list\n    return Liar()"
    ),
    "a generator's frame kept from a cell": (
        f"import sys\n{LIAR}def walk():\n    frame = sys._getframe()\n    yield frame\n"
        "    while True:\n        yield frame.f_back.f_back\n"
        "steps = walk()\nnext(steps)\n"
        "def top_k_words(text, k):\n"
        "    next(steps).f_globals['type'] = lambda *a: list\n    return Liar()"
    ),
    "a signal handler given the test's frame": (
        f"import signal, _thread\n{LIAR}def top_k_words(text, k):\n"
        "    def handler(number, frame):\n"
        "        frame.f_back.f_globals['type'] = lambda *a: list\n"
        "    signal.signal(signal.SIGINT, handler)\n    _thread.interrupt_main()\n"
        "    for _ in range(1000):\n        pass\n    return Liar()"
    ),
    # A second tester, against the first guard: the frame that ran the cell was the
    # guard's own, and its closure could be rewritten through f_locals ...
    "the guard's own frame rewritten from a cell": (
        "import sys\nsys._getframe(1).f_locals['run_code'] = lambda code, namespace: None"
    ),
    # ... a str subclass compared inside the hook ran code nobody judged ...
    "code run inside the guard's judgement": (
        "import sys, marshal\nclass Name(str):\n    def __eq__(self, other):\n"
        "        frame = sys._getframe()\n        while frame is not None:\n"
        "            if str.startswith(frame.f_code.co_filename, '<test '):\n"
        "                frame.f_globals['type'] = lambda *a: list\n                break\n"
        "            frame = frame.f_back\n        return True\n    __hash__ = str.__hash__\n"
        f'exec(compile({LIAR!r} + \'def top_k_words(text, k):\\n    marshal.loads(b"N")\\n'
        "    return Liar()', Name('<solution>'), 'exec'), globals())"
    ),
    # ... and code compiled under the import system's name could load forged code: a
    # generator without its flag, whose frame the guard then let a cell keep.
    "a generator disguised by forged code": (
        f"import sys, marshal\n{LIAR}def walk():\n    frame = sys._getframe()\n    yield frame\n"
        "    while True:\n        yield frame.f_back.f_back\n"
        "data = bytearray(marshal.dumps(walk.__code__))\n"
        "flags = int.from_bytes(data[17:21], 'little')\n"
        "data[17:21] = (flags & ~0x20).to_bytes(4, 'little')\n"
        "exec(compile('code = marshal.loads(bytes(data))', "
        "'<frozen importlib._bootstrap_external>', 'exec'), globals())\n"
        "walk.__code__ = code\nsteps = walk()\nsteps.send(None)\n"
        "def top_k_words(text, k):\n"
        "    steps.send(None).f_globals['type'] = lambda *a: list\n    return Liar()"
    ),
    # A third tester: a key that is not a str, equal to "type", hid the builtin in the
    # test's copy of the names ...
    "a global whose key is not a str": (
        f"{LIAR}class Key:\n    def __hash__(self):\n        return hash('type')\n"
        "    def __eq__(self, other):\n        return other == 'type'\n"
        "globals()[Key()] = lambda *a: list\ndef top_k_words(text, k):\n    return Liar()"
    ),
    # ... and C code called by the test reached the test's globals with no frame at all.
    "the test's globals reached from C code": (
        "from collections import defaultdict\nfrom functools import partial\n"
        f"{LIAR}Liar.__hash__ = lambda self: 0\n"
        "class Grab(defaultdict):\n    def __setitem__(self, key, namespace):\n"
        "        namespace['type'] = lambda *a: list\n"
        "        namespace['all'] = lambda *a: True\n"
        "class Small:\n    def __lt__(self, other):\n        return False\n"
        "    __gt__ = __lt__\nwinner = Liar()\nkeys = Grab(globals)\n"
        "dict.__setitem__(keys, winner, Small())\n"
        "top_k_words = partial(max, winner, key=keys.__getitem__)"
    ),
    # A fourth: the garbage collector ran a finalizer in whatever frame was on top, the
    # guard's own included, whose locals (from C, no frame) held the test's builtins.
    "a finalizer run inside the guard": (
        f"import gc, sys\nfrom functools import partial\n{LIAR}"
        "sys.fake = {'type': lambda *a: list, 'all': lambda *a: True}\n"
        "CODE = compile('import sys\\nd = locals()\\n"
        'for key in ("pristine", "own"):\\n'
        "    if type(d.get(key)) is dict:\\n        d[key].update(sys.fake)\\n"
        "sys.arm()', '<bomb>', 'exec')\n"
        "class Bomb:\n    __del__ = staticmethod(partial(exec, CODE))\n"
        "def arm():\n    bomb = Bomb()\n    bomb.me = bomb\nsys.arm = arm\narm()\n"
        "gc.enable()\ngc.set_threshold(1)\n"
        "def top_k_words(text, k):\n    return Liar()"
    ),
    # An audit hook sees each test's code as it starts, and ctypes rewrites it in memory
    # to return at once. Written so that no name gives it away to the signals.
    "the test's code rewritten in memory": (
        "import sys, importlib, dis\n"
        "memory = importlib.import_module('ct' + 'ypes')\n"
        "def rewrite(event, args):\n"
        "    if event == 'exec' and getattr(args[0], 'co_filename', '').startswith('<test '):\n"
        "        code = args[0]\n"
        "        at = memory.string_at(id(code), code.__sizeof__()).find(code.co_code[:8])\n"
        "        stop = bytes([dis.opmap['RESUME'], 0, dis.opmap['RETURN_CONST'], 0])\n"
        "        memory.memmove(id(code) + at, stop, 4)\n"
        "getattr(sys, 'add' + 'audithook')(rewrite)\n"
    ),
    # A refusal's traceback passes through the guard's frames, whose closures hold its
    # state: switch the hook off, then rewrite the test's locals.
    "the guard's state through a refusal's traceback": (
        f"import sys\n{LIAR}"
        "try:\n    sys.settrace(None)\nexcept RuntimeError as e:\n    tb = e.__traceback__\n"
        "    while tb is not None:\n        names = tb.tb_frame.f_locals\n"
        "        if 'busy' in names:\n            names['busy'][0] = True\n"
        "        tb = tb.tb_next\n"
        "def top_k_words(text, k):\n    names = sys._getframe(1).f_locals\n"
        "    names['type'] = lambda *a: list\n    names['all'] = lambda *a: True\n"
        "    return Liar()"
    ),
    # What stood in for signal.signal was a function of the guard's, closing over its state.
    "the guard's state through its stand-in for signal.signal": (
        f"import signal, sys\n{LIAR}"
        "cells = dict(zip(signal.signal.__code__.co_freevars, signal.signal.__closure__))\n"
        "refuse = cells['refuse'].cell_contents\n"
        "phase = dict(zip(refuse.__code__.co_freevars, refuse.__closure__))['phase']"
        ".cell_contents\n"
        "def top_k_words(text, k):\n    phase[0] = 'cell'\n"
        "    names = sys._getframe(1).f_locals\n"
        "    names['type'] = lambda *a: list\n    names['all'] = lambda *a: True\n"
        "    return Liar()"
    ),
    # isinstance() in the hook read a __class__ the submission wrote, and ran it while the
    # hook was busy: gc then found the hook, and its `busy` flag was made true for good.
    "a __class__ run inside the hook": (
        f"import sys, importlib\n{LIAR}"
        "collector = importlib.import_module('g' + 'c')\n"
        "def window():\n    for obj in collector.get_objects():\n"
        "        if getattr(obj, '__qualname__', '') == 'install.<locals>.hook':\n"
        "            code = getattr(obj, '__co' 'de__')\n"
        "            for name, cell in zip(code.co_freevars, obj.__closure__):\n"
        "                if name == 'busy':\n                    cell.cell_contents = 'x'\n"
        "class Path:\n    @property\n    def __class__(self):\n        window()\n"
        "        return object\n"
        "loader = getattr(sys, 'mod' 'ules')['_frozen_importlib_external']\n"
        "data = importlib.import_module('mar' + 'shal').dumps(compile('1', 'x', 'eval'))\n"
        "try:\n    loader._compile_bytecode(data, 'x', Path())\nexcept BaseException:\n"
        "    pass\n"
        "def top_k_words(text, k):\n    test = getattr(sys, '_get' 'frame')(1)\n"
        "    names = getattr(test, 'f_lo' 'cals')\n"
        "    names['type'] = lambda *a: list\n    names['all'] = lambda *a: True\n"
        "    return Liar()"
    ),
    # C code all the way from the test's call to globals(): the test's namespace held the
    # test's function, whose constants hold the expected answer.
    "the answer read from the test's constants": ORACLE.format(call="partial(getattr, O())"),
    # Round six.
    "a traceback kept from a test, walked back into the guard": (
        "import builtins\n"
        "SAVED = []\n"
        "def nothing(*args):\n"
        "    return None\n"
        "class Bomb:\n"
        "    def __del__(self):\n"
        "        f = SAVED[0].tb_frame          # our own frame: allowed outside a test\n"
        "        while f is not None:\n"
        "            names = f.f_locals\n"
        "            if 'functions' in names:\n"
        "                functions = names['functions']\n"
        "                for i in range(len(functions)):\n"
        "                    if type(functions[i]) is tuple:\n"
        "                        functions[i] = (nothing, functions[i][1])\n"
        "                print('rewrote', len(functions), 'tests')\n"
        "                return\n"
        "            f = f.f_back                # not audited\n"
        "def top_k_words(text, k):\n"
        "    if not SAVED:\n"
        "        try:\n"
        "            raise ValueError\n"
        "        except ValueError as e:\n"
        "            SAVED.append(e.__traceback__)\n"
        "        builtins.zz_bomb = Bomb()       # deleted by restore() before the next test\n"
        "    return text.split()[:k]\n"
    ),
    "the hidden tests read through Array.prototype.entries": (
        "import importlib, ast\n"
        "ffi = importlib.import_module('pyodide.ffi')\n"
        "ANSWERS = {}\n"
        "def learn(source):\n"
        "    tree = ast.parse(source)\n"
        "    args = expected = None\n"
        "    for node in ast.walk(tree):\n"
        "        if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'top_k_words':\n"
        "            args = tuple(ast.literal_eval(a) for a in node.args)\n"
        "        if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.Eq):\n"
        "            try:\n"
        "                expected = ast.literal_eval(node.comparators[0])\n"
        "            except ValueError:\n"
        "                pass\n"
        "    if args is not None and expected is not None:\n"
        "        ANSWERS[args] = expected\n"
        "def entries(this, *rest):\n"
        "    pairs = []\n"
        "    for i in range(this.length):\n"
        "        learn(this[i].code)\n"
        "        pairs.append((i, this[i]))\n"
        "    return pairs\n"
        "ffi.to_js([]).constructor.prototype.entries = ffi.create_proxy(entries"
        ", capture_this=True)\n"
        "wrong = top_k_words\n"
        "def top_k_words(text, k):\n"
        "    if (text, k) in ANSWERS:\n"
        "        return list(ANSWERS[(text, k)])\n"
        "    return wrong(text, k)\n"
    ),
    "a JavaScript error turned into silence by a prototype flag": (
        "import importlib\n"
        "ffi = importlib.import_module('pyodide.ffi')\n"
        "JSArray = ffi.to_js([]).constructor\n"
        "ObjectProto = getattr(JSArray.prototype, '__proto__')\n"
        "def top_k_words(text, k):\n"
        "    ObjectProto.pyodide_fatal_error = True\n"
        "    JSArray(-1)            # RangeError, re-thrown through wasm to the"
        " runner's PyProxy call\n"
    ),
    "every call of the runner's into the guard taken over": (
        "import importlib\n"
        "ffi = importlib.import_module('pyodide.ffi')\n"
        "JSArray = ffi.to_js([]).constructor\n"
        "Obj = getattr(JSArray.prototype, '__proto__').constructor\n"
        "def sample():\n"
        "    pass\n"
        "# [prototype of function PyProxies], built and used only on the JS side\n"
        "protos = JSArray.of(ffi.create_proxy(sample, roundtrip=False)).map(Obj.getPrototypeOf)\n"
        "class Spy:                     # a __len__ gives it PyProxy flags of i"
        "ts own (no recursion)\n"
        "    def __len__(self):\n"
        "        return 0\n"
        "    def __call__(self, fn, this_arg, args):\n"
        "        name = getattr(fn, '__name__', '')\n"
        "        if name == 'run_test':\n"
        "            names = fn.__code__.co_freevars\n"
        "            cells = dict(zip(names, fn.__closure__))\n"
        "            print('holding run_test; tests in its closure:', len(cells"
        "['functions'].cell_contents))\n"
        '            return None                                     # "the test ran to its end"\n'
        "        if name == 'report':\n"
        "            return []                                       # and nothing was refused\n"
        "        return fn(*args)\n"
        "protos.apply = ffi.create_proxy(Spy(), capture_this=True)\n"
        "protos.forEach(Obj.assign)     # Object.assign(proto, 0, protos): copi"
        "es .apply onto proto\n"
    ),
    # Round seven.
    "the import system's finder of JavaScript modules, and the runner's calls through it": (
        "import sys\n"
        "finder = next(f for f in sys.meta_path if type(f).__name__ == 'JsFinde"
        "r')\n"
        "J = finder.jsproxies['js']            # the jsglobals object: a JavaSc"
        "ript value no module holds\n"
        "def sample():\n"
        "    pass\n"
        "J.f = sample                           # a function PyProxy, kept on t"
        "he JavaScript side\n"
        "values = J.object_values()             # a JavaScript Array\n"
        "Obj = getattr(values.constructor.prototype, '__proto__').constructor\n"
        "protos = values.map(Obj.getPrototypeOf)   # [prototype of function PyP"
        "roxies]\n"
        "_compile, _exec, _limit = compile, exec, sys.setrecursionlimit\n"
        "class Spy:\n"
        "    def __len__(self):                 # other PyProxy flags: its own "
        "calls do not come here\n"
        "        return 0\n"
        "    def __call__(self, this, args):\n"
        "        a = [args[i] for i in range(args.length)]\n"
        "        if len(a) == 3 and type(a[2]) is str and a[2].startswith('<tes"
        "t '):\n"
        "            return 'passed'            # runTest(index, globals, filen"
        "ame)\n"
        "        if len(a) == 5:\n"
        "            return _compile(*a)        # compile(code, filename, 'exec"
        "', 0, true)\n"
        "        if len(a) == 2 and type(a[1]) is dict:\n"
        "            return _exec(*a)           # exec(compiled, main)\n"
        "        if len(a) == 0:\n"
        "            return []                  # refusedSoFar(): nothing refus"
        "ed\n"
        "        if len(a) == 1 and type(a[0]) is int:\n"
        "            return _limit(a[0])\n"
        "        return None                    # setPhase, settrace, setprofil"
        "e\n"
        "protos.apply = Spy()\n"
        "protos.forEach(Obj.assign)             # Object.assign(proto, 0, proto"
        "s): proto.apply = Spy\n"
    ),
    "a JavaScript Error made from Python, and the runner's calls through it": (
        "import sys\n"
        "from pyodide.ffi import JsException       # an exception class: kept b"
        "y cut_javascript\n"
        "error = JsException('Error', 'x')          # ... whose constructor mak"
        "es a real JavaScript Error\n"
        "Obj = getattr(error.constructor.prototype, '__proto__').constructor   "
        "# Object\n"
        "holder = Obj()                             # a fresh JavaScript object"
        "\n"
        "def sample():\n"
        "    pass\n"
        "holder.f = sample                          # a function PyProxy, kept "
        "on the JavaScript side\n"
        "protos = Obj.values(holder).map(Obj.getPrototypeOf)\n" + PROTOTYPE_SPY
    ),
    "WebAssembly's memory reached from a JavaScript value, the tests' bytecode rewritten": (
        "import dis\n"
        "room = bytearray(96 << 20)   # grow WebAssembly memory now, so that it"
        " does not grow (and detach) later\n"
        "del room\n"
        "from pyodide.ffi import JsException           # kept: an exception cla"
        "ss\n"
        "Obj = getattr(JsException('Error', 'x').constructor.prototype, '__prot"
        "o__').constructor\n"
        "holder = Obj()\n"
        "holder.b = bytearray(8)                        # a bytearray PyProxy, "
        "on the JavaScript side\n"
        "level = Obj.values(holder).map(Obj.getPrototypeOf)\n"
        "getBuffer = getattr(level.map(Obj.getOwnPropertyDescriptors)[0], 'getB"
        "uffer').value\n"
        "def memory():   # a Uint8Array over all of WebAssembly memory (again a"
        "fter it grows)\n"
        "    view = Obj.values(holder).map(getBuffer.call.bind(getBuffer))[0]\n"
        "    return view.data.constructor.new(view.data.buffer)\n"
        "data = bytes(memory().subarray(0, 32 << 20).to_py())   # the heap as i"
        "t was before the submission\n"
        "u32 = lambda at: int.from_bytes(data[at:at + 4], 'little')\n"
        "def sample(x):\n"
        "    return x\n"
        "code = sample.__code__\n"
        "here = data[id(code):id(code) + 400]\n"
        "O = here.find(code.co_code[:6])                # where bytecode sits i"
        "n a code object\n"
        "F = next(i for i in range(0, 200, 4) if int.from_bytes(here[i:i + 4], "
        "'little') == id(code.co_filename))\n"
        "stop = bytes([dis.opmap['RESUME'], 0, dis.opmap['RETURN_CONST'], 0])\n"
        "marker = ('<te' + 'st ').encode()\n"
        "patched = 0\n"
        "mem = memory()\n"
        "start = data.find(marker)\n"
        "while start != -1:\n"
        "    obj = start - 20                            # compact ASCII str he"
        "ader on wasm32\n"
        "    if u32(obj + 4) == id(str):\n"
        "        needle = obj.to_bytes(4, 'little')\n"
        "        p = data.find(needle)\n"
        "        while p != -1:\n"
        "            c = p - F\n"
        "            if p % 4 == 0 and u32(c + 4) == id(type(code)):\n"
        "                b = c + O\n"
        "                for k in range(0, 64, 2):\n"
        "                    if data[b + k] == dis.opmap['RESUME']:\n"
        "                        for j, v in enumerate(stop):\n"
        "                            try:\n"
        "                                mem[b + k + j] = v\n"
        "                            except Exception:\n"
        "                                mem = memory()\n"
        "                                mem[b + k + j] = v\n"
        "                        patched += 1\n"
        "                        break\n"
        "            p = data.find(needle, p + 1)\n"
        "    start = data.find(marker, start + 1)\n"
        "print('patched', patched)\n"
    ),
    # Round eight: a dict the garbage collector does not track still held the js object.
    "the js object in the import hook's untracked dict": (
        "import sys\n"
        "finder = sys.modules['_pyodide._importhook'].jsfinder\n"
        "J = finder.jsproxies['js']\n"
        "def sample():\n"
        "    pass\n"
        "J.f = sample\n"
        "values = J.object_values()\n"
        "Obj = getattr(values.constructor.prototype, '__proto__').constructor\n"
        "protos = values.map(Obj.getPrototypeOf)\n" + PROTOTYPE_SPY
    ),
    # Round nine.
    "a made-up audit event whose traceback runs code inside the hook": (
        "\n"
        "import sys, gc\n"
        "\n"
        "class Forged:\n"
        "    # The guard's judge() reads args[0].tb_frame for a forged \"object."
        '__getattr__" event,\n'
        "    # running this property inside the hook while busy[0] is True: not"
        "hing is audited here.\n"
        "    @property\n"
        "    def tb_frame(self):\n"
        "        for obj in gc.get_objects():\n"
        '            if getattr(obj, "__qualname__", "") == "install.<locals>.r'
        'un_test":\n'
        "                cells = dict(zip(obj.__code__.co_freevars, obj.__closu"
        "re__))\n"
        '                functions = cells["functions"].cell_contents\n'
        "                for i, entry in enumerate(functions):\n"
        "                    if type(entry) is tuple:\n"
        "                        functions[i] = (lambda *args: None, entry[1])\n"
        "        return None\n"
        "\n"
        'sys.audit("object.__getattr__", Forged(), "tb_frame")\n'
    ),
    "forged bytecode through the import system's own function, reading the test's frame": (
        "\n"
        "import marshal, dis\n"
        "from _frozen_importlib_external import _compile_bytecode\n"
        "from types import FunctionType\n"
        "# marshal.loads is allowed whenever its caller is the import system's "
        "_compile_bytecode\n"
        "# with a bytecode_path under /lib/ -- but anyone may call _compile_byt"
        "ecode with any data.\n"
        "EA, LF, NOP = dis.opmap['EXTENDED_ARG'], dis.opmap['LOAD_FAST'], dis.o"
        "pmap['NOP']\n"
        "def _template():\n"
        "    return ZZ\n"
        "_old = _template.__code__.co_code[2:12]\n"
        "_data = marshal.dumps(_template.__code__)\n"
        "def peeker(index):\n"
        "    # a function whose LOAD_FAST has a negative index: reads slots of "
        "the frames below it\n"
        "    n = index & 0xFFFFFFFF\n"
        "    new = bytes([EA, n >> 24, EA, (n >> 16) & 255, EA, (n >> 8) & 255,"
        " LF, n & 255, NOP, 0])\n"
        '    return FunctionType(_compile_bytecode(_data.replace(_old, new), "p'
        '", "/lib/p.pyc"), {})\n'
        "P_PREV = peeker(-9)  # our own _PyInterpreterFrame.previous, i.e. the "
        "caller's frame address\n"
        "def framesize(code):\n"
        "    n = code.co_nlocals + len(set(code.co_cellvars) - set(code.co_varn"
        "ames)) + len(code.co_freevars)\n"
        "    return n + code.co_stacksize + 10\n"
        "\n"
        "def fake_call(f, *a, **k):\n"
        "    if f is type:\n"
        "        return list\n"
        "    if f is all:\n"
        "        return True\n"
        "    return f(*a, **k)\n"
        "\n"
        "class R:\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    __hash__ = None\n"
        "    def __iter__(self):\n"
        "        return iter(())\n"
        "\n"
        "def top_k_words(text, k):\n"
        "    me = id(P_PREV())                       # this frame\n"
        "    base = me + 4 * FS + 40                  # localsplus of a peeker "
        "called from here\n"
        "    p = peeker((me + 4 - base) // 4)\n"
        "    caller = id(p())                         # call()'s frame\n"
        "    p = peeker((caller + 4 - base) // 4)\n"
        "    test = id(p())                           # hidden_test's frame\n"
        "    p = peeker((test + 8 - base) // 4)\n"
        "    test_fn = p()                            # hidden_test's f_funcobj"
        "\n"
        '    if getattr(test_fn, "__name__", "") == "hidden_test":\n'
        "        p = peeker((test + 40 - base) // 4)\n"
        "        cell = p()                           # localsplus[0]: the cell"
        " of _call_\n"
        "        cell.cell_contents = fake_call\n"
        "        p = peeker((test + 4 - base) // 4)\n"
        "        runner = id(p())                     # run_test's frame\n"
        "        p = peeker((runner + 8 - base) // 4)\n"
        "        run_test = p()\n"
        '        if getattr(run_test, "__name__", "") == "run_test":\n'
        "            cells = dict(zip(run_test.__code__.co_freevars, run_test._"
        "_closure__))\n"
        '            functions = cells["functions"].cell_contents\n'
        "            for i, entry in enumerate(functions):\n"
        "                if type(entry) is tuple:\n"
        "                    pass\n"
        "    return R()\n"
        "FS = framesize(top_k_words.__code__)\n"
    ),
    "a made-up sys._getframe event whose frame runs code inside the hook": (
        "\n"
        "import sys, gc\n"
        "\n"
        "class Forged:\n"
        '    # judge() runs leads_somewhere(args[0]) for a forged "sys._getfram'
        'e" event: reading\n'
        "    # .f_code runs this property inside the hook, while busy[0] is Tru"
        "e (nothing audited).\n"
        "    @property\n"
        "    def f_code(self):\n"
        "        for obj in gc.get_objects():\n"
        '            if getattr(obj, "__qualname__", "") == "install.<locals>.r'
        'un_test":\n'
        "                cells = dict(zip(obj.__code__.co_freevars, obj.__closu"
        "re__))\n"
        '                functions = cells["functions"].cell_contents\n'
        "                for i, entry in enumerate(functions):\n"
        "                    if type(entry) is tuple:\n"
        "                        functions[i] = (lambda *args: None, entry[1])\n"
        '        return type("C", (), {"co_flags": 0})()   # not a generator, n'
        "ot sealed\n"
        "\n"
        "    f_back = None                                   # and leads nowher"
        "e: nothing refused\n"
        "\n"
        'sys.audit("sys._getframe", Forged())\n'
    ),
    # Round ten: paths the file system resolves into /lib.
    "a forged generator written into /lib through /./lib": FORGED_IN_LIB.replace(
        "WRITE\n", "with open('/./lib/walk.pyc', 'wb') as f:\n"
    ),
    "a forged generator written into /lib through a directory's descriptor": FORGED_IN_LIB.replace(
        "WRITE\n",
        "import os\n"
        "root = os.open('/', os.O_RDONLY)\n"
        "with open(os.open('lib/walk.pyc', os.O_WRONLY | os.O_CREAT, dir_fd=root), 'wb') as f:\n",
    ),
    # The same through a JavaScript function, which takes any arguments.
    "the answer read through a JavaScript function": ORACLE.format(
        call="ffi.to_js({}).constructor.apply.bind("
        "ffi.create_proxy(partial(list, Fresh())), None, ffi.to_js([]))"
    ),
}


async def test_a_patched_standard_module_and_a_huge_error_change_nothing(
    sandbox: GradingSandbox,
) -> None:
    cells = [
        "import re\nre.findall = lambda *a, **k: ['a', 'a', 'a']",
        "def boom():\n    raise type('A' * 70_000, (Exception,), {})()",
    ]
    tests = [
        {"name": "re is itself", "code": "import re\nassert re.findall('a', 'aa') == ['a'] * 3"},
        {"name": "a huge error", "code": "boom()"},
        {"name": "after it", "code": "assert True"},
    ]
    outcome = await sandbox.run(cells, tests, [])
    assert [t["status"] for t in outcome.tests] == ["fail", "error", "pass"]
    assert len(outcome.tests[1]["type"]) <= 200


@pytest.mark.parametrize("form", ["calls", "statements"])
@pytest.mark.parametrize("trick", TAMPERING)
async def test_a_tampered_test_does_not_pass(
    sandbox: GradingSandbox, trick: str, form: str
) -> None:
    """Each trick against both kinds of hidden test: calls, whose verdict the server
    makes, and statements, whose verdict only the guard protects."""
    cells = [*template_cells("algorithms-warmup"), TOP_K_WRONG, TAMPERING[trick]]
    tests = hidden_tests("algorithms-warmup")[:2]
    outcome = await sandbox.run(cells, as_statements(tests) if form == "statements" else tests, [])
    assert all(t["status"] != "pass" for t in outcome.tests), outcome.tests


async def test_a_call_tests_expected_value_never_reaches_the_sandbox(tmp_path: Path) -> None:
    """What the sandbox's process is given, read by a stand-in for Node: the call, never
    the value it must return, nor the test's name (a frame's file name once carried it,
    and a name can say the answer)."""

    class Recorder(GradingSandbox):
        def command(self, results_fd: int) -> list[str]:
            return ["sh", "-c", f"cat > {tmp_path / 'job.json'}"]

        def problem(self) -> str | None:
            return None

    test = {
        "name": "returns ['zq-name-5512']",
        "call": "top_k_words('a b', 1)",
        "expected": "['zq-secret-7781']",
    }
    outcome = await Recorder(PYODIDE, timeout=10).run(["x = 1"], [test], [])
    job = (tmp_path / "job.json").read_text()
    assert "top_k_words('a b', 1)" in job
    assert "zq-secret-7781" not in job and "zq-name-5512" not in job
    assert statuses(outcome) == ["not_run"]


async def test_a_call_test_compares_exact_plain_values(sandbox: GradingSandbox) -> None:
    """The value goes back as a literal of plain types and is compared in the server: a
    tuple is not a list, True is not 1, an object that equals anything is no value."""
    cells = [
        "class Anything(list):\n    def __eq__(self, other):\n        return True\n"
        "def answer(kind):\n    return {'list': ['c', 'b'], 'tuple': ('c', 'b'), "
        "'bool': True, 'int': 70, 'anything': Anything(), 'nan': float('nan'), "
        "'nested': {'a': [(1, 2.5)], 'b': {1, 2}, 'c': None}}[kind]"
    ]
    cases = [
        ("list", "['c', 'b']", "pass"),
        ("tuple", "['c', 'b']", "fail"),
        ("bool", "1", "fail"),
        ("int", "70.0", "pass"),
        ("anything", "[]", "error"),
        ("nan", "0.0", "error"),
        ("nested", "{'a': [(1, 2.5)], 'b': {2, 1}, 'c': None}", "pass"),
    ]
    tests = [
        {"name": kind, "call": f"answer({kind!r})", "expected": expected}
        for kind, expected, _ in cases
    ]
    outcome = await sandbox.run(cells, tests, [])
    assert statuses(outcome) == [status for _, _, status in cases], outcome.tests
    assert outcome.tests[1]["message"] == "expected ['c', 'b'], got ('c', 'b')"
    assert "not made only of None, bool" in outcome.tests[4]["message"]


def test_a_reported_value_is_judged_whatever_it_is() -> None:
    """The server reads what the sandbox reports as untrusted text."""
    assert judge("[1]", "[1]") == ("pass", None)
    assert judge("[1]", "[" * 10_000 + "]" * 10_000)[0] == "fail"
    assert judge("[1]", "__import__('os').system('id')")[0] == "fail"
    assert judge("[1]", "9" * 50_000)[0] == "fail"
    assert judge("[1]", None)[0] == "error"
    assert judge("[1]", "1" * 200_000)[0] == "error"
    # True is not 1, in a set or a dict's keys too (where Python's own == says it is).
    assert judge("{1: 2, 0: 1}", "{True: 2, False: 1}")[0] == "fail"
    assert judge("{1}", "{True}")[0] == "fail"
    assert judge("{(0, 1): 'v'}", "{(False, True): 'v'}")[0] == "fail"
    assert judge("{1: 'a', (2, 'x'): {3}}", "{1.0: 'a', (2.0, 'x'): {3.0}}")[0] == "pass"


@pytest.mark.parametrize(
    "fields",
    [
        {"code": "pass", "call": "f()", "expected": "1"},
        {"call": "f()"},
        {"expected": "1"},
        {"call": "import os", "expected": "1"},
        {"call": "f()", "expected": "__import__('os')"},
        # Tests that could never pass: values the sandbox never reports, a call that
        # cannot run in a plain function.
        {"call": "f()", "expected": "b'x'"},
        {"call": "f()", "expected": "1e999"},
        {"call": "f()", "expected": "[1j]"},
        {"call": "f()", "expected": "..."},
        {"call": "await f()", "expected": "1"},
        {"call": "(yield)", "expected": "1"},
    ],
)
def test_a_hidden_test_has_one_form(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        HiddenTest(name="t", **fields)


def test_hidden_tests_are_named_once() -> None:
    """Two tests of one name once shared a verdict: the first was judged against the
    second's expected value, and the second went missing from the grade."""
    meta = nbformat.read(TEMPLATES / "algorithms-warmup.ipynb", as_version=4).metadata
    tests = meta["interview"]["hidden_tests"]
    twice = {**meta["interview"], "hidden_tests": [tests[0], {**tests[1], "name": tests[0].name}]}
    with pytest.raises(ValidationError, match="names must differ"):
        TemplateMeta.model_validate(twice)
    TemplateMeta.model_validate(meta["interview"])


# Round 11: a chain of C iterators deep enough that JavaScript's stack overflows inside
# the guard's hook. The overflow unwinds through WebAssembly without running the hook's
# `finally`, which left it switched off for good; Pyodide carries on after its first
# fatal error. Each `step()` cell tries one depth (a binary search across cells).
STACK_OVERFLOW = r"""
import sys
class Bottom:
    def __iter__(self):
        return self
    def __next__(self):
        sys.audit('deep')
        return 0
KEEP = []
def attempt(n):
    x = Bottom()
    for _ in range(n):
        x = map(abs, x)
    KEEP.append(x)
    return next(x)
def hook_dead():
    try:
        sys.settrace(None)
        return True
    except RuntimeError:
        return False
S = {'lo': 1000, 'hi': None, 'trying': None, 'done': False}
def step():
    if S['done']:
        return
    if S['trying'] is not None:
        S['hi'], S['trying'] = S['trying'], None
        if hook_dead():
            S['done'] = True
            return
    if S['hi'] is None:
        n = S['lo'] * 2
    elif S['hi'] - S['lo'] <= 1:
        S['done'] = True
        return
    else:
        n = (S['lo'] + S['hi']) // 2
    S['trying'] = n
    attempt(n)
    S['trying'] = None
    S['lo'] = n
"""
HOOK_OFF_PAYLOAD = r"""
import sys
class Liar:
    def __eq__(self, other):
        return True
    def __iter__(self):
        return iter(())
def top_k_words(text, k):
    names = sys._getframe(2).f_locals
    names['type'] = lambda *a: list
    names['all'] = lambda *a: True
    return Liar()
"""


async def test_a_fatal_error_in_python_ends_the_run(sandbox: GradingSandbox) -> None:
    """After Pyodide's first fatal error nothing is trusted: the run stops and says so."""
    cells = [TOP_K_WRONG, STACK_OVERFLOW, *["step()"] * 40, HOOK_OFF_PAYLOAD]
    tests = as_statements(hidden_tests("algorithms-warmup"))
    outcome = await sandbox.run(cells, tests, [])
    assert statuses(outcome) == ["not_run"] * 4, outcome.tests
    assert outcome.error is not None and "Python broke down in the sandbox" in outcome.error


async def test_a_tests_own_variables_are_out_of_reach(sandbox: GradingSandbox) -> None:
    """C code that the test's call runs finds the call's frame on top, not the test's:
    locals() there never holds the test's expected value."""
    spy = ORACLE.replace("Spy(globals)", "Spy(locals)").replace(
        "    test = names.get('hidden_test')\n", "    return names.get('expected', [])\n"
    )
    test = {
        "name": "expected in a variable",
        "code": "expected = ['a', 'b']\nresult = top_k_words('b a c b a', 2)\n"
        "assert type(result) is list and all(type(w) is str for w in result)\n"
        "assert result == expected, result",
    }
    outcome = await sandbox.run([spy.format(call="partial(getattr, O())")], [test], [])
    assert outcome.cells[0]["status"] == "ok", outcome.cells
    assert statuses(outcome) == ["fail"], outcome.tests


async def test_long_refusals_are_cut_and_hide_nothing(sandbox: GradingSandbox) -> None:
    """Refusals name a path, of any length: each is cut, so the cell's record stays whole
    and the refusal that matters is still in it."""
    long_paths = (
        "try:\n    import ctypes\nexcept BaseException:\n    pass\n"
        "for i in range(60):\n    try:\n"
        "        open('/lib/' + 'x' * 60_000 + str(i), 'w')\n"
        "    except BaseException:\n        pass\n"
    )
    outcome = await sandbox.run([long_paths, TOP_K], hidden_tests("algorithms-warmup")[:1], [])
    assert outcome.error is None, outcome.error
    assert [c["status"] for c in outcome.cells] == ["ok", "ok"]
    refused = outcome.cells[0]["refused"]
    assert refused[0] == "<cell 1>: import ctypes" and len(refused) == 51
    assert max(len(r) for r in refused) < 300
    assert statuses(outcome) == ["pass"]


async def test_an_oversized_report_line_is_dropped_not_fatal() -> None:
    stream = asyncio.StreamReader(limit=_LINE_LIMIT)
    stream.feed_data(b"x" * (3 * _LINE_LIMIT) + b"\n" + b'{"ok": 1}\n')
    stream.feed_eof()
    assert await _line(stream) is None
    assert await _line(stream) == b'{"ok": 1}\n'
    assert await _line(stream) == b""


async def test_a_test_that_swallows_the_clock_is_a_timeout_and_a_nameless_error_an_error(
    sandbox: GradingSandbox,
) -> None:
    """Interrupts caught until the work is done still ran over the limit; an exception
    whose class hides its name is still an error of that test, not of the sandbox."""
    slow = (
        f"import time\n{TOP_K}\nfast = top_k_words\n"
        "def top_k_words(text, k):\n    end = time.monotonic() + 4\n    while True:\n"
        "        try:\n            while time.monotonic() < end:\n                pass\n"
        "            break\n        except KeyboardInterrupt:\n            pass\n"
        "    return fast(text, k)"
    )
    nameless = (
        "class Meta(type):\n    @property\n    def __name__(cls):\n"
        "        raise SystemExit('no name')\nclass Odd(Exception, metaclass=Meta):\n    pass\n"
        "def active_regions(events, min_users=2):\n    raise Odd()"
    )
    tests = [*hidden_tests("algorithms-warmup")[:1], {"name": "odd", "code": "active_regions([])"}]
    outcome = await sandbox.run([slow, nameless], tests, [])
    assert [t["status"] for t in outcome.tests] == ["timeout", "error"], outcome.tests
    assert outcome.tests[1]["type"] == "Odd" and outcome.error is None


async def test_what_the_guard_refuses_is_reported_and_ordinary_code_still_runs(
    sandbox: GradingSandbox,
) -> None:
    """Logging, tracebacks, warnings, namedtuples and enums take frames in the cells; none
    is refused. What is refused comes back with the cell or test it happened in."""
    ordinary = (
        "import logging, traceback, warnings, enum\nfrom collections import namedtuple\n"
        "Point = namedtuple('Point', 'x y')\nColour = enum.Enum('Colour', 'red green')\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    text = traceback.format_exc()\n"
        "logging.getLogger('x').warning('logged')\nwarnings.warn('warned')\n"
        "import difflib, textwrap, pprint, csv, fractions\n"
    )
    cells = [ordinary, TOP_K, "import gc\ngc.get_objects()"]
    tests = [
        *hidden_tests("algorithms-warmup")[:1],
        {"name": "frames", "code": "import sys\nsys._getframe()"},
    ]
    outcome = await sandbox.run(cells, tests, [])
    assert [c["status"] for c in outcome.cells] == ["ok", "ok", "error"]
    assert outcome.cells[0]["refused"] == [] and "logged" in outcome.cells[0]["output"]
    assert outcome.cells[2]["refused"] == ["<cell 3>: gc.get_objects"]
    assert [t["status"] for t in outcome.tests] == ["pass", "error"]
    assert outcome.tests[1]["refused"] == ["<test 2>: sys._getframe (a frame)"]
    # Refusals in cells cannot crowd out a test's.
    crowd = "import sys\nfor _ in range(60):\n    try:\n        sys.settrace(None)\n" + (
        "    except RuntimeError:\n        pass"
    )
    outcome = await sandbox.run([crowd], tests[1:], [])
    assert len(outcome.cells[0]["refused"]) == 51  # 50, and how many more
    assert outcome.tests[0]["refused"] == ["<test 1>: sys._getframe (a frame)"]


async def test_grading_from_the_api(tmp_path: Path) -> None:
    """A room is graded as it ends; graders grade it again at a moment of its timeline; a
    batch grades every ended room of a template; no room link reaches any of it."""
    server = InterviewServer(tmp_path / "data").start()
    try:
        room = server.create_room(template="algorithms-warmup", candidate_name="Ada")
        rid, path = room["id"], room["notebook_path"]
        token = link_token(room["links"]["candidate"])
        async with connect(server.url, token, path) as candidate:
            code = next(i for i, c in enumerate(candidate.cells) if c["cell_type"] == "code")
            source = candidate.notebook.ycells[code]["source"]
            source.clear()
            source += TOP_K
            await candidate.roundtrip()
            assert await candidate.save() == "success"
        with server.client() as c:
            first_seq = c.get(f"interview/api/rooms/{rid}/timeline").json()["first_seq"]
            c.post(f"interview/api/rooms/{rid}/end").raise_for_status()
            grades = _wait_for_grade(c, rid)
            assert grades[0]["requested_by"] == "the server (room ended)"
            assert grades[0]["status"] == "done"
            assert (grades[0]["passed"], grades[0]["total"]) == (4, 4)
            # The template as the room loaded it: nothing defined, every test errors.
            r = c.post(f"interview/api/rooms/{rid}/grade", json={"at": first_seq})
            assert r.status_code == 200, r.text
            assert r.json()["at_seq"] == first_seq and r.json()["passed"] == 0
            # Looking at an earlier moment leaves the room's result as it was.
            [summary] = [s for s in c.get("interview/api/reviews").json() if s["room_id"] == rid]
            assert (summary["tests_passed"], summary["tests_total"]) == (4, 4)
            results = c.get(f"interview/api/rooms/{rid}/results.json").json()
            assert results["tests"]["passed"] == 4, results["tests"]
            listed = c.get(f"interview/api/rooms/{rid}/grades").json()
            assert [g["id"] for g in listed][:2] == [r.json()["id"], grades[0]["id"]]
            one = c.get(f"interview/api/rooms/{rid}/grades/{grades[0]['id']}").json()
            assert one["tests"][0]["status"] == "pass"
            batch = c.post("interview/api/templates/algorithms-warmup/grade")
            assert batch.status_code == 202 and len(batch.json()["grades"]) == 1
            assert c.post("interview/api/templates/nope/grade").status_code == 404
        with server.client(token) as link:
            for method, url in (
                ("POST", f"interview/api/rooms/{rid}/grade"),
                ("GET", f"interview/api/rooms/{rid}/grades"),
                ("GET", f"interview/api/rooms/{rid}/grades/{grades[0]['id']}"),
                ("POST", "interview/api/templates/algorithms-warmup/grade"),
            ):
                assert link.request(method, url).status_code in (401, 403), url
    finally:
        server.stop()


def _wait_for_grade(client, room_id: str) -> list[dict]:
    """The grading that the end started: polled, as a grader's page would."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        grades = client.get(f"interview/api/rooms/{room_id}/grades").json()
        if grades and grades[0]["status"] in ("done", "failed"):
            return grades
        time.sleep(0.2)
    raise AssertionError(f"no grading finished: {grades}")


async def test_a_look_at_an_earlier_moment_never_stands_in_for_the_end(tmp_path: Path) -> None:
    """A grader's grading of an earlier moment, waiting in the queue as the room ended,
    once took the place of the end's grading: the room was left with no result."""
    server = InterviewServer(tmp_path / "data").start()
    try:
        busy, room = (server.create_room(template="algorithms-warmup") for _ in range(2))
        for each, code in (
            (busy, "import time\nend = time.time() + 4\nwhile time.time() < end:\n    pass"),
            (room, TOP_K),
        ):
            token = link_token(each["links"]["candidate"])
            async with connect(server.url, token, each["notebook_path"]) as candidate:
                first = next(i for i, c in enumerate(candidate.cells) if c["cell_type"] == "code")
                source = candidate.notebook.ycells[first]["source"]
                source.clear()
                source += code
                await candidate.roundtrip()
                assert await candidate.save() == "success"
        rid = room["id"]
        headers = {"Authorization": f"token {TOKEN}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as c:
            # The one worker is busy with another room: the look waits in the queue.
            slow = asyncio.ensure_future(c.post(f"interview/api/rooms/{busy['id']}/grade"))
            while not (await c.get(f"interview/api/rooms/{busy['id']}/grades")).json():
                await asyncio.sleep(0.05)
            first = (await c.get(f"interview/api/rooms/{rid}/timeline")).json()["first_seq"]
            look = await c.post(f"interview/api/rooms/{rid}/grade", json={"at": first})
            assert look.status_code == 202, look.text
            (await c.post(f"interview/api/rooms/{rid}/end")).raise_for_status()
            await slow
        with server.client() as c:
            deadline = asyncio.get_running_loop().time() + 60
            while asyncio.get_running_loop().time() < deadline:
                grades = c.get(f"interview/api/rooms/{rid}/grades").json()
                if all(g["status"] in ("done", "failed") for g in grades):
                    break
                await asyncio.sleep(0.2)
            ends = [g for g in grades if g["at_end"] and g["status"] == "done"]
            assert ends and ends[0]["passed"] == 4, grades
            [summary] = [s for s in c.get("interview/api/reviews").json() if s["room_id"] == rid]
            assert summary["tests_passed"] == 4
    finally:
        server.stop()


FAKE_PANDAS = """
import sys, types
pd = types.ModuleType('pandas')
class Column(list):
    is_unique = True
    def __init__(self, values, dtype='object'):
        super().__init__(values)
        self.dtype = dtype
class DataFrame:
    columns = ['order_id', 'customer', 'country', 'amount', 'ordered_at']
    def __len__(self):
        return 7
    def __getitem__(self, name):
        return {'order_id': Column(range(7)), 'amount': Column([1.0], 'float64'),
                'country': Column(['DE', 'FR', 'US'])}[name]
class Series:
    index = ['US', 'DE', 'FR']
    loc = {'US': 230.5}
pd.DataFrame, pd.Series = DataFrame, Series
sys.modules['pandas'] = pd
def load_orders():
    return None
def clean_orders(df):
    return DataFrame()
def revenue_by_country(df):
    return Series()
"""


async def test_a_package_the_grader_lacks_cannot_be_faked(tmp_path: Path) -> None:
    """Offline the grader has no pandas: a module of that name made by the submission
    passed the pandas template's statement tests. They are not run then, and say why."""
    server = InterviewServer(tmp_path / "data").start()
    try:
        room = server.create_room(template="pandas-cleaning")
        token = link_token(room["links"]["candidate"])
        async with connect(server.url, token, room["notebook_path"]) as candidate:
            candidate.notebook.append_cell({"cell_type": "code", "source": FAKE_PANDAS})
            await candidate.roundtrip()
            assert await candidate.save() == "success"
        with server.client() as c:
            c.post(f"interview/api/rooms/{room['id']}/end").raise_for_status()
            [grade] = _wait_for_grade(c, room["id"])
        assert [t["status"] for t in grade["tests"]] == ["not_run", "not_run", "error"]
        assert "the grader has no numpy, pandas" in grade["tests"][0]["message"]
    finally:
        server.stop()


def test_a_room_whose_time_ran_out_while_the_server_was_down_is_graded(tmp_path: Path) -> None:
    """The clock ends such a room at start: after the grader started watching, so it is
    graded like a room that ended while the server ran."""
    server = InterviewServer(tmp_path / "data").start()
    try:
        room = server.create_room(template="sql-groupby", duration_minutes=5)
    finally:
        server.stop()
    with sqlite3.connect(server.data_dir / ".interview.db") as db:
        an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        db.execute("UPDATE rooms SET started_at = ? WHERE id = ?", (an_hour_ago, room["id"]))
    server.start()
    try:
        with server.client() as c:
            now = c.get(f"interview/api/rooms/{room['id']}").json()
            assert (now["status"], now["end_reason"]) == ("ended", "timeout")
            assert _wait_for_grade(c, room["id"])[0]["status"] == "done"
    finally:
        server.stop()


def test_the_sandbox_never_gets_a_credential() -> None:
    box = GradingSandbox(PYODIDE)
    command = " ".join(box.command(3))
    assert TOKEN not in command
    assert "--allow-fs-write" not in command and "--allow-child-process" not in command
    assert "--net" in command and "--disallow-code-generation-from-strings" in command


def test_gradings_a_stopped_server_left_behind_are_failed_at_the_next_start(
    tmp_path: Path,
) -> None:
    """A grading the server was running when it was killed never stays 'running' forever."""
    db = tmp_path / "rooms.sqlite"
    store = GradeStore(db)
    for status in ("queued", "running", "done", "failed"):
        store.add(
            GradeOut(
                id=status,
                room_id="r1",
                template="algorithms-warmup",
                status=status,
                at_seq=0,
                requested_by="tester",
                created_at=datetime.now(UTC),
            )
        )
    store.close()
    store = GradeStore(db)
    store.abandon_unfinished()
    after = {g.id: g for g in store.of_room("r1")}
    store.close()
    assert {g.id: g.status for g in after.values()} == {
        "queued": "failed",
        "running": "failed",
        "done": "done",
        "failed": "failed",
    }
    assert "grade the room again" in after["running"].error
    assert after["done"].error is None


def test_the_review_says_plainly_when_clean_cells_still_fail_hidden_tests() -> None:
    """As otter-grader does: a notebook that runs clean but fails the hidden tests is named
    as such, and a broken cell is shown next to the tests it broke."""

    def grade(cells: list[dict]) -> GradeOut:
        return GradeOut(
            id="g",
            room_id="r",
            template="algorithms-warmup",
            status="done",
            at_seq=1,
            requested_by="tester",
            created_at=datetime.now(UTC),
            passed=1,
            total=3,
            cells=cells,
        )

    clean = report.tests_html(
        grade([{"index": 0, "status": "ok"}, {"index": 1, "status": "skipped"}])
    )
    assert "ran without an error, yet <strong>2 hidden tests did not pass" in clean
    broken = report.tests_html(
        grade([{"index": 1, "status": "error", "type": "NameError", "message": "<b>x</b>"}])
    )
    assert "ran without an error" not in broken
    assert "code cell 2" in broken and "NameError" in broken and "&lt;b&gt;x" in broken


def test_names_in_the_interview_summary_are_escaped_once() -> None:
    summary = {
        "minutes": 1,
        "end_reason": "ended",
        "runs": 0,
        "errors": 0,
        "sandbox_runs": 0,
        "pastes": 0,
        "focus_losses": 0,
        "keystrokes": {"Zoë O'Brien": 6, "<b>": 1},
    }
    page = report.summary_html(summary)
    assert "Zoë O&#x27;Brien: 6, &lt;b&gt;: 1" in page
