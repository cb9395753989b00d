"""The grading runner's guard: an audit hook put in before the submission runs.

Runs inside the sandbox's Pyodide (``runner.mjs`` loads it), never in the server. A test
passes when its code runs to its end, so the submission must not be able to rewrite a
test's code or reach its frame while it runs. Python's audit hooks cannot be removed once
added, and are told of every way to do either: ctypes (raw memory), new code objects,
marshalled code, the garbage collector's object graph, tracing and monitoring, and frames.
While a test runs, no frame may be taken at all (the submission's function runs inside the
test, one ``f_back`` from its globals); while the cells run, frames may be taken, but
never one on a generator's stack, which could still be running during a test. Signal
handlers are given the running frame too, so ``signal.signal`` is taken away.

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
    }
)
_PREFIXES = ("ctypes.", "sys.monitoring.")
_IMPORTS = frozenset({"ctypes", "_ctypes"})
_SUSPENDED_FRAMES = frozenset({"gi_frame", "cr_frame", "ag_frame"})
_LOADER = "<frozen importlib._bootstrap_external>"
_KEEP = 50


def install() -> tuple[
    Callable[[str, str], None],
    Callable[[object, dict, str, str], tuple[str, str] | None],
    Callable[[], list[str]],
]:
    """Add the hook; answer the runner's phase switch ("cell", "test" or "reset"), its way
    to run code in a phase, and the list of what was refused. Only the runner holds these:
    nothing the submission can reach refers to them."""
    import _signal
    import signal

    # Bound now, before the submission can replace any builtin.
    getframe = sys._getframe
    text = str.__str__
    refusal = RuntimeError
    base = BaseException
    size = len
    run_code = exec
    kind = type
    as_text = str
    phase = ["cell", ""]
    busy = [False]
    refused: list[str] = []

    def suspendable(frame: object) -> bool:
        depth = 0
        while frame is not None and depth < 10_000:
            if frame.f_code.co_flags & _SUSPENDABLE:  # type: ignore[attr-defined]
                return True
            frame = frame.f_back  # type: ignore[attr-defined]
            depth += 1
        return False

    def frame_refused(frame: object) -> bool:
        return phase[0] == "test" or suspendable(frame)

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
            # The import system reads compiled modules; nothing else loads code this way.
            return None if getframe(2).f_code.co_filename == _LOADER else event
        if event == "object.__getattr__":
            name = text(args[1])
            if name in _SUSPENDED_FRAMES or (
                name == "tb_frame" and frame_refused(args[0].tb_frame)
            ):
                return f"{name} (a frame)"
            return None
        if event == "sys._getframe" and frame_refused(args[0]):
            return "sys._getframe (a frame)"
        return None

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
            if size(refused) < _KEEP:
                refused.append(f"{phase[1]}: {what}")
            raise refusal(f"The grading sandbox does not allow {what}.")

    def no_handlers(*args: object, **kwargs: object) -> None:
        raise refusal("The grading sandbox does not allow signal handlers.")

    sys.addaudithook(hook)
    signal.signal = no_handlers
    _signal.signal = no_handlers

    def set_phase(name: str, where: str) -> None:
        phase[0] = name
        phase[1] = where

    def run(code: object, namespace: dict, name: str, where: str) -> tuple[str, str] | None:
        """Run code in a phase; None if it ran to its end, else what it raised, described
        after the phase is over (no frame of a test exists by then)."""
        set_phase(name, where)
        try:
            run_code(code, namespace)
        except base as error:
            failure = error
        else:
            return None
        finally:
            set_phase("cell", "")
        name = text(kind(failure).__name__)
        try:
            detail = text(as_text(failure))  # may run the submission's __str__
        except base:
            detail = "(the error could not be shown)"
        return name, f"{name}: {detail}" if detail else name

    def report() -> list[str]:
        return list(refused)

    return set_phase, run, report
