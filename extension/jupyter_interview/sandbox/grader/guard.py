"""The grading runner's guard: an audit hook put in before the submission runs.

Runs inside the sandbox's Pyodide (``runner.mjs`` loads it), never in the server. A call
test only returns a value, which the server compares (``sandbox/verdict.py``): the value it
expects is never here. A statement test passes when its code runs to its end, so the
submission must not be able to rewrite a test's code or reach its frame while it runs.
Python's audit hooks cannot be removed once added, and are told of every way to do
either: ctypes (raw memory), new code objects, marshalled code, the garbage collector's
object graph, tracing and monitoring, and frames.
While a test runs, no frame may be taken at all (the submission's function runs inside the
test, one ``f_back`` from its globals); while the cells run, frames may be taken, but
never one on a generator's stack, which could still be running during a test. Signal
handlers are given the running frame too, so ``signal.signal`` is taken away. The cyclic
garbage collector runs the submission's finalizers in whatever frame is on top, the
guard's own included, so it is switched off for the run, for good.

Code objects are only ever made by the compiler (whose flags are honest) or read by the
import system from Pyodide's own files under ``/lib``, which the submission may not write:
a forged code object could claim not to be a generator, or carry bytecode that writes
memory. The hook never runs the submission's code while it judges (no comparison of an
object the submission made, no attribute it could override): code running inside the hook
would be judged by nobody.

What is refused is raised as ``RuntimeError`` in the submission (silently, for
``sys.addaudithook``, as Python does) and reported to the graders as evidence.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

# Generator, coroutine, iterable coroutine, async generator: frames that can be resumed.
_SUSPENDABLE = 0x20 | 0x80 | 0x100 | 0x200
_ALWAYS = frozenset(
    {
        "sys.addaudithook",
        "code.__new__",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "os.kill",
        "signal.pthread_kill",
        # Processes: Node's permission model refuses them too, but its refusal is a
        # JavaScript error thrown through Python, which can leave the interpreter unusable.
        "os.system",
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "subprocess.Popen",
        # Paths that could lead a write into Pyodide's own files.
        "os.chdir",
        "os.symlink",
        "os.link",
    }
)
_PREFIXES = ("ctypes.", "sys.monitoring.")
# ctypes writes memory; `js` and `pyodide_js` are JavaScript's side (see cut_javascript).
_IMPORTS = frozenset({"ctypes", "_ctypes", "js", "pyodide_js"})
_SUSPENDED_FRAMES = frozenset({"gi_frame", "cr_frame", "ag_frame"})
# Events that change the file system: refused on Pyodide's own files.
_CHANGES = frozenset(
    {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.truncate", "os.chmod", "os.utime"}
)
_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY O_RDWR O_CREAT O_TRUNC O_APPEND
_KEEP = 50
_LONGEST = 200  # characters of one refusal: a path can be of any length
# A frame reached by the traceback module's walkers: refused, and not recorded.
_UNRECORDED = "a frame of the grading sandbox's own"
_REFUSE = "jupyter_interview.refuse"  # the audit event by which the guard's stand-ins refuse


_CALL = "_call_"
# What run_test answers for a test that ran to its end: said, never assumed (a run that
# JavaScript cut short answers nothing).
_PASSED = "passed"
_CALL_SOURCE = "def call(function, /, *args, **kwargs):\n    return function(*args, **kwargs)\n"
# What a call test's value may be made of, and how much of it: enough for any answer a
# template asks for, too little to stall the runner.
_MOST_ITEMS = 100_000
_LONGEST_VALUE = 100_000
_NOT_PLAIN = (
    "the value it returned is not made only of None, bool, int, finite float, str, list, "
    "tuple, dict and set (their exact types), or is too large to compare"
)


def prepared(source: str, filename: str) -> tuple[object, tuple[str, ...]] | str:
    """A test as the body of a function whose every name is a parameter: the test then
    reads ``type``, ``all``, ``result`` ... from its own fast locals, which nothing the
    submission's function can reach changes. Every call the test makes goes through
    ``call`` (one more parameter), so C code of the submission's that a call runs (which
    pushes no frame of its own) finds ``call``'s frame on top, not the test's: ``locals()``,
    ``globals()``, ``eval`` or ``exec`` reached from C see the call's own arguments, never
    the test's variables. The error's text for a test that cannot be such a function."""
    import ast

    class ThroughCall(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            through = ast.Call(
                func=ast.Name(id=call, ctx=ast.Load()),
                args=[node.func, *node.args],
                keywords=node.keywords,
            )
            return ast.copy_location(through, node)

    try:
        tree = ast.parse(source, filename)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        call = _CALL
        while call in names:
            call += "_"
        tree = ThroughCall().visit(tree)
        parameters = (call, *sorted(names))
        function = ast.FunctionDef(
            name="hidden_test",
            args=ast.arguments(
                posonlyargs=[ast.arg(arg=name) for name in parameters],
                args=[],
                kwonlyargs=[],
                kw_defaults=[],
                defaults=[],
            ),
            body=tree.body or [ast.Pass()],
            decorator_list=[],
            type_params=[],
        )
        module = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
        return compile(module, filename, "exec", dont_inherit=True), parameters
    except (SyntaxError, ValueError, TypeError) as error:
        return f"{type(error).__name__}: {error}"


def _codes(code: object) -> set[object]:
    """A code object and every code object inside it."""
    found = {code}
    for const in code.co_consts:  # type: ignore[attr-defined]
        if type(const) is type(code):
            found |= _codes(const)
    return found


def cut_javascript() -> None:
    """Take JavaScript out of the submission's reach. The runner calls into Python through
    JavaScript objects, and one JavaScript value in Python's hands leads to them all
    (``to_js([]).constructor.prototype``), and to WebAssembly's memory itself (a PyProxy's
    ``getBuffer``): a rewritten prototype took over the runner's calls into the guard, and
    a view of the memory rewrote the tests' bytecode. So, before the submission runs, every
    JavaScript value that anything of Python's holds (any dict, list, cell or default: the
    collector lists them all) is dropped, every function of Pyodide's that makes one from
    Python (``to_js``, ``create_proxy`` ...) is removed, ``JsException`` can no longer be
    made from Python (it made a JavaScript ``Error``), and the import system's finder of
    JavaScript modules goes (``js`` and ``pyodide_js`` are refused by the hook too)."""
    import gc

    from pyodide.ffi import JsException, to_js

    def never(cls: type, *args: object, **kwargs: object) -> None:
        raise TypeError("JavaScript errors cannot be made in the grading sandbox")

    JsException.__new__ = never  # type: ignore[method-assign,assignment]
    makers = []
    for name in ("_pyodide_core", "pyodide.ffi", "pyodide.ffi.wrappers", "pyodide.code"):
        module = sys.modules.get(name)
        for value in vars(module).values() if module is not None else ():
            origin = getattr(value, "__module__", None) or ""
            if (
                callable(value)
                and origin.startswith(("pyodide", "_pyodide"))
                and not (isinstance(value, type) and issubclass(value, BaseException))
            ):
                makers.append(value)
    bridge = {id(value) for value in makers}

    # The class every JavaScript value's type derives from: ``pyodide.ffi.JsProxy`` is a
    # stand-in whose metaclass answers isinstance (and runs Python code to do it).
    root = type(to_js({})).__mro__[-2]

    def javascript(value: object) -> bool:
        return root in type(value).__mro__ or id(value) in bridge

    for finder in sys.meta_path:
        if type(getattr(finder, "jsproxies", None)) is dict:
            finder.jsproxies.clear()
    sys.meta_path[:] = [f for f in sys.meta_path if not hasattr(f, "jsproxies")]
    for name, module in list(sys.modules.items()):
        if javascript(module):
            del sys.modules[name]
    # The collector lists only the containers it tracks: a dict of strs and JavaScript
    # values is not (JavaScript values are not the collector's). So the dicts within reach
    # of the modules (theirs, their objects', and the dicts those hold) are walked too.
    seen: set[int] = set()
    dicts = [vars(m) for m in list(sys.modules.values()) if type(getattr(m, "__dict__", 0)) is dict]
    while dicts and len(seen) < 500_000:
        namespace = dicts.pop()
        if id(namespace) in seen:
            continue
        seen.add(id(namespace))
        for key, value in list(namespace.items()):
            if javascript(value):
                del namespace[key]
            elif type(value) is dict:
                dicts.append(value)
            elif type(getattr(value, "__dict__", None)) is dict:
                dicts.append(value.__dict__)
    for holder in gc.get_objects():
        kind = type(holder)
        if kind is dict:
            for key in [key for key, value in holder.items() if javascript(value)]:
                del holder[key]
        elif kind is list and any(javascript(value) for value in holder):
            holder[:] = [value for value in holder if not javascript(value)]
        elif kind.__name__ == "cell":
            try:
                if javascript(holder.cell_contents):
                    holder.cell_contents = None
            except ValueError:  # an empty cell
                continue
        elif kind.__name__ == "function" and any(map(javascript, holder.__defaults__ or ())):
            holder.__defaults__ = tuple(
                None if javascript(value) else value for value in holder.__defaults__
            )


def _zipped_code_members() -> dict[str, tuple[str, int, int, int]]:
    """Where each compiled module of the archives Python imports from sits: its path as
    the import system names it, the archive, the member's header offset, its stored size
    and its compression. Read now, while ``zipfile`` is as Pyodide made it."""
    import zipfile

    members = {}
    for entry in sys.path:
        if entry.startswith("/lib/") and entry.endswith(".zip"):
            with zipfile.ZipFile(entry) as archive:
                for info in archive.infolist():
                    if info.filename.endswith(".pyc"):
                        members[f"{entry}/{info.filename}"] = (
                            entry,
                            info.header_offset,
                            info.compress_size,
                            info.compress_type,
                        )
    return members


def install(
    tests: list[tuple[str, str, bool]],
) -> tuple[
    Callable[[str, str], None],
    Callable[[int, dict, str], tuple[object, str] | str],
    Callable[[], list[str]],
]:
    """Add the hook; answer the runner's phase switch ("cell", "test" or "reset"), its way
    to run a test (``tests``: each test's code, file name and whether it returns a value,
    prepared now, before the submission can change any module), and the list of what was
    refused. Only the runner holds these: nothing the submission can reach refers to them."""
    import _imp
    import _signal
    import builtins
    import gc
    import io
    import os
    import signal
    import stat
    import traceback
    import types
    import zlib
    from functools import partial
    from types import MappingProxyType

    pristine = MappingProxyType(dict(builtins.__dict__))  # read-only to whoever sees it
    builtin_names = frozenset(pristine)

    def made(code: object, name: str) -> Callable[..., object]:
        """The function a module's code defines, in globals that hold nothing else: what
        reaches a test's or the call's globals from C finds no test there."""
        scope: dict = {"__builtins__": pristine}
        exec(code, scope)
        return scope.pop(name)

    call = made(compile(_CALL_SOURCE, "<call>", "exec", dont_inherit=True), "call")
    functions: list[tuple[Callable[..., object], tuple[str, ...]] | str] = []
    returning = [returns for _, _, returns in tests]
    # The guard's and the tests' code: no frame running it is ever handed out, not even
    # through the traceback of a refusal, which passes through the guard's frames.
    sealed = _codes(install.__code__) | _codes(call.__code__)
    for source, filename, _ in tests:
        test = prepared(source, filename)
        if type(test) is str:
            functions.append(test)
            continue
        code, names = test  # type: ignore[misc]
        sealed |= _codes(code)
        functions.append((made(code, "hidden_test"), names))
    sealed = frozenset(sealed)
    cut_javascript()
    # Printing a refusal's traceback walks into the guard's frames (and then into its
    # own, a generator's): refused, but not news.
    walkers = frozenset(
        {traceback.walk_tb.__code__, traceback._walk_tb_with_full_positions.__code__}
    )

    # Bound now, before the submission can replace any of them.
    getframe = sys._getframe
    text = str.__str__  # an exact copy of a str, even of a subclass, running none of its code
    name_of = type.__dict__["__name__"].__get__  # a class's name, past any metaclass
    refusal = RuntimeError
    denied = PermissionError  # for files: what the import system expects, and skips
    base = BaseException
    size = len
    kind = type
    is_str = str
    as_text = str
    subclass = issubclass
    raw = bytes
    whole = int
    some = any
    # The import system's two readers of compiled code, by identity: from a file, and from
    # a zip archive (Pyodide's standard library is one).
    loaders = (
        sys.modules["_frozen_importlib_external"]._compile_bytecode.__code__,
        sys.modules["zipimport"]._unmarshal_code.__code__,
    )
    zipped = _zipped_code_members()
    inflate = zlib.decompressobj
    number = int.from_bytes
    read_file = io.open_code
    cwd = os.getcwd()  # fixed: changing it is refused
    show = repr
    nothing = type(None)

    def literal(value: object) -> str | None:
        """A call test's value as a Python literal, if it is made of plain types only:
        their exact types, compared by identity, so that no code of the submission's runs
        to walk or show it. None for anything else."""
        stack = [value]
        seen = 0
        while stack:
            item = stack.pop()
            seen += 1
            if seen > _MOST_ITEMS:
                return None
            t = kind(item)
            if t is dict:
                stack.extend(item.keys())  # type: ignore[attr-defined]
                stack.extend(item.values())  # type: ignore[attr-defined]
            elif t is list or t is tuple or t is set:
                stack.extend(item)  # type: ignore[call-overload]
            elif t is float:
                if item - item != 0.0:  # type: ignore[operator]  # inf and nan
                    return None
            elif not (t is nothing or t is bool or t is int or t is is_str):
                return None
        try:
            shown = show(value)
        except base:  # an int of more digits than Python shows
            return None
        return shown if size(shown) <= _LONGEST_VALUE else None

    def is_directory(path: str) -> bool:
        try:
            return directory(status(path).st_mode)
        except OSError:
            return False

    status = os.stat
    directory = stat.S_ISDIR
    frame_type = types.FrameType
    traceback_type = types.TracebackType
    missing = object()
    phase = ["cell", ""]
    busy = [False]
    refused: list[str] = []
    dropped = [0]

    def path_of(value: object) -> str | None:
        # ``issubclass`` of the value's real type: ``isinstance`` would read a
        # ``__class__`` that the submission defined, and run it inside the hook.
        if subclass(kind(value), is_str):
            return text(value)  # type: ignore[arg-type]
        if subclass(kind(value), raw):
            return raw.decode(value, "latin-1")  # type: ignore[arg-type]
        return None

    def canonical(path: str) -> str:
        """A path as the file system resolves it (``//lib``, ``/./lib`` and a relative
        ``lib`` from ``/`` are all ``/lib``); symbolic links cannot be made here."""
        if not path.startswith("/"):
            path = cwd + "/" + path
        return "/" + "/".join([part for part in path.split("/") if part and part != "."])

    def ours(value: object) -> bool:
        """Whether a path could name one of Pyodide's own files."""
        path = path_of(value)
        return path is not None and (canonical(path).startswith("/lib") or ".." in path)

    def leads_somewhere(frame: object) -> bool:
        """Whether a frame, or one its ``f_back`` leads to, could still run (a generator's)
        or is the guard's or a test's. A frame that has finished keeps the frames that
        called it as its ``f_back``: the traceback of a submission's own exception, kept
        from a test, leads down into the test and the guard."""
        depth = 0
        while frame is not None and depth < 10_000:
            if kind(frame) is not frame_type:
                return True  # never read what is not a frame: it could run code here
            code = frame.f_code  # type: ignore[attr-defined]
            if code.co_flags & _SUSPENDABLE or code in sealed:
                return True
            frame = frame.f_back  # type: ignore[attr-defined]
            depth += 1
        return False

    def frame_refused(frame: object) -> bool:
        return phase[0] == "test" or leads_somewhere(frame)

    def loaded_code(depth: int) -> bool:
        """Whether marshalled code is what the import system read from one of Pyodide's
        files: the caller must be one of the import system's readers, and the bytes must
        be that file's or that archive member's, read here with functions taken before the
        submission ran (it may call a reader itself, with bytes of its own, or patch the
        modules a reader uses)."""
        frame = getframe(depth)
        if frame.f_code is loaders[0]:
            path = path_of(frame.f_locals.get("bytecode_path"))
            data = frame.f_locals.get("data")
            skip = 16
        elif frame.f_code is loaders[1]:
            path = path_of(frame.f_locals.get("pathname"))
            data = frame.f_locals.get("data")
            skip = 0
        else:
            return False
        if path is None or ".." in path or not canonical(path).startswith("/lib/"):
            return False
        if kind(data) is not raw and kind(data) is not memoryview:
            return False
        path = canonical(path)
        member = zipped.get(path)
        if member is not None:
            archive, offset, size, method = member
            with read_file(archive) as file:
                file.seek(offset)
                header = file.read(30)
                file.seek(
                    offset + 30 + number(header[26:28], "little") + number(header[28:30], "little")
                )
                stored = file.read(size)
            expected = inflate(-15).decompress(stored) if method == 8 else stored
        elif skip:
            with read_file(path) as file:
                expected = file.read()
        else:
            return False
        return expected[skip:] == raw(data)

    def judge(event: str, args: tuple) -> str | None:
        """What is refused, named for the graders, or None."""
        if event in _ALWAYS or event.startswith(_PREFIXES):
            if phase[0] == "reset" and event in ("sys.settrace", "sys.setprofile"):
                return None
            return event
        if event == "import":
            module = text(args[0])
            return f"import {module}" if module.partition(".")[0] in _IMPORTS else None
        if event in ("marshal.loads", "marshal.load"):
            return None if loaded_code(3) else event
        if event == "compile" and (path_of(args[1]) or "").startswith("<frozen"):
            return "compile as the import system"
        if event == "open":
            mode, flags = args[1], args[2]
            mode = path_of(mode) or ""
            writes = some(c in mode for c in "wax+") or (
                kind(flags) is whole and flags & _WRITE_FLAGS
            )
            if writes and ours(args[0]):
                return f"writing {path_of(args[0])}"
            # A directory's descriptor would let a relative path (dir_fd) name any file.
            path = path_of(args[0])
            return "opening a directory" if path is not None and is_directory(path) else None
        if event in _CHANGES:
            return event if some(ours(arg) for arg in args) else None
        if event == "object.__getattr__":
            name = text(args[1])
            if name in _SUSPENDED_FRAMES:
                return f"{name} (a frame)"
            if name == "tb_frame":
                # Events can be made up (sys.audit): only a real traceback is read.
                if kind(args[0]) is not traceback_type:
                    return f"{name} (a frame)"
                frame = args[0].tb_frame
                if frame_refused(frame):
                    return _UNRECORDED if getframe(2).f_code in walkers else f"{name} (a frame)"
            return None
        if event == _REFUSE:
            return path_of(args[0]) if args else event
        if event == "sys._getframe" and (kind(args[0]) is not frame_type or frame_refused(args[0])):
            return "sys._getframe (a frame)"
        return None

    def refuse(what: str, problem: type[Exception] = refusal) -> None:
        """Record a refusal for the graders, and raise it in the submission."""
        # A test's refusals are always kept: cells cannot crowd them out.
        if what is _UNRECORDED:
            raise problem(f"The grading sandbox does not allow {what}.")
        if size(what) > _LONGEST:
            what = what[:_LONGEST] + "…"
        if size(refused) < _KEEP or (phase[0] == "test" and size(refused) < 4 * _KEEP):
            refused.append(f"{phase[1]}: {what}")
        elif not dropped[0]:
            dropped[0] = 1
            refused.append("and more refusals, not listed")
        raise problem(f"The grading sandbox does not allow {what}.")

    def hook(event: str, args: tuple) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            what = judge(event, args)
        except base:
            what = event
        finally:
            busy[0] = False
        if what is not None:
            refuse(what, denied if event == "open" or event in _CHANGES else refusal)

    # What stands in for a refused function is C code (an audit event the hook refuses):
    # a Python function of the guard's in the submission's reach would hand it the
    # guard's state through its closure.
    no_handlers = partial(sys.audit, _REFUSE, "signal handlers")
    no_collector = partial(sys.audit, _REFUSE, "the garbage collector to run by itself")
    no_new_modules = partial(sys.audit, _REFUSE, "new built-in modules")

    # The cyclic garbage collector runs finalizers (the submission's ``__del__``) at any
    # safe point, in whatever frame is on top, the guard's included: it stays off, and
    # nothing can turn it back on (a fresh ``gc`` module from the import system's
    # built-in loader included: every built-in module is loaded now, then no more).
    for name in sys.builtin_module_names:
        if name not in _IMPORTS and name not in sys.modules:
            try:
                __import__(name)
            except ImportError:
                continue
    gc.disable()
    gc.enable = no_collector
    gc.set_threshold = no_collector
    _imp.create_builtin = no_new_modules
    _imp.exec_builtin = no_new_modules
    sys.addaudithook(hook)
    signal.signal = no_handlers
    _signal.signal = no_handlers

    def set_phase(name: str, where: str) -> None:
        phase[0] = name
        phase[1] = where

    def run_test(index: int, main: dict, where: str) -> tuple[object, str] | str:
        """Run a test with the notebook's names (only plain ``str`` keys, none that hides
        a builtin: no key of the submission's is ever compared) as its arguments; for a call
        test ``(True, literal)``, for a statement test "passed" if it ran to its end; else
        what it raised. The failure is described still in the test's phase (describing runs
        the submission's ``__str__``), so no frame, this one included, is within its
        reach."""
        namespace = {
            key: value
            for key, value in main.items()
            if kind(key) is is_str and key not in builtin_names
        }
        function = functions[index]
        if kind(function) is is_str:
            return "HiddenTestError", f"This hidden test cannot run: {function}"
        test, names = function  # type: ignore[misc]
        arguments = [call] + [
            namespace[name] if name in namespace else pristine.get(name, missing)
            for name in names[1:]
        ]
        set_phase("test", where)
        try:
            try:
                value = test(*arguments)
            except base as error:
                failure = error
            else:
                if not returning[index]:
                    return _PASSED
                shown = literal(value)
                if shown is None:
                    return "TypeError", f"TypeError: {_NOT_PLAIN}"
                return True, shown
            try:
                name = text(name_of(kind(failure)))
            except base:
                name = "Exception"
            try:
                detail = text(as_text(failure))
            except base:
                detail = "(the error could not be shown)"
            return name, f"{name}: {detail}" if detail else name
        finally:
            set_phase("cell", "")

    def report() -> list[str]:
        return list(refused)

    return set_phase, run_test, report
