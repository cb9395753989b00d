"""The Piston client against every case captured from a real Piston (replayed locally)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_interview.sandbox.piston import AsyncPistonClient, PistonClient
from jupyter_interview.sandbox.pistonapi import (
    PistonRejected,
    PistonTimeout,
    PistonUnavailable,
    Result,
    error_for,
)

from .piston_standin import PistonStandIn, load_cases
from .server import free_port

CASES = load_cases()
EXECUTE = [
    c
    for c in CASES
    if c["path"] == "/api/v2/execute"
    and isinstance(c["request_body"], dict)
    and {"language", "version", "files"} <= set(c["request_body"])
    and all("content" in f for f in c["request_body"]["files"])
]


def _call(body: dict[str, Any]) -> dict[str, Any]:
    """The execute() arguments that build exactly this request body."""
    main, *rest = body["files"]
    options = {k: v for k, v in body.items() if k not in ("language", "files", "version")}
    return {
        "language": body["language"],
        "code": main["content"],
        "version": body["version"],
        "file_name": main.get("name"),
        "encoding": main.get("encoding"),
        "files": rest or None,
        **options,
    }


@pytest.fixture(scope="module")
def piston() -> Iterator[PistonStandIn]:
    with PistonStandIn() as standin:
        yield standin


@pytest.mark.parametrize("case", EXECUTE, ids=[c["name"] for c in EXECUTE])
def test_every_recorded_execution(piston: PistonStandIn, case: dict[str, Any]) -> None:
    before = piston.exact_matches
    with PistonClient(piston.url) as client:
        if case["status"] == 200:
            result = client.execute(**_call(case["request_body"]))
            expected = case["response_body"]
            assert result.language == expected["language"]
            assert result.run.code == expected["run"]["code"]
            assert result.run.signal == expected["run"]["signal"]
            assert result.run.status == expected["run"]["status"]
            assert isinstance(result.run.wall_time, int | None)
            if "compile" in expected:
                assert result.compile is not None
                assert result.compile.code == expected["compile"]["code"]
            else:
                assert result.compile is None
            if case["name"].startswith(("output limit", "timeout", "cpu time", "memory")):
                assert len(result.run.stdout) <= 65536
            else:
                assert result.run.stdout == expected["run"]["stdout"]
        elif case["status"] == 400:
            with pytest.raises(PistonRejected) as error:
                client.execute(**_call(case["request_body"]))
            assert error.value.message == case["response_body"]["message"]
            assert error.value.status == 400
        else:
            with pytest.raises(PistonUnavailable) as error:
                client.execute(**_call(case["request_body"]))
            assert error.value.status == case["status"]
    # The client built the very request that was recorded.
    assert piston.exact_matches == before + 1


def test_statuses_are_read_as_documented(piston: PistonStandIn) -> None:
    by_name = {c["name"]: c["response_body"] for c in CASES}
    assert Result.parse(by_name["hello world (c++)"]).status == "ok"
    compile_error = Result.parse(by_name["compile error (c++)"])
    assert compile_error.status == "compile_error"
    assert compile_error.compile is not None and "error" in compile_error.compile.stderr
    assert (
        Result.parse(by_name["non-zero exit code (python sys.exit(3))"]).status == "runtime_error"
    )
    assert Result.parse(by_name["segfault (c)"]).run.code == 139
    assert (
        Result.parse(by_name["timeout (python infinite loop, run_timeout 1000)"]).status
        == "timeout"
    )
    assert Result.parse(by_name["output limit exceeded (stdout)"]).status == "output_limit"
    killed = Result.parse(by_name["killed by a signal (python SIGKILLs its run script)"])
    assert killed.status == "signal"


def test_error_replies_without_a_message() -> None:
    by_name = {c["name"]: c for c in CASES}
    stack = by_name["malformed JSON"]
    error = error_for(stack["status"], stack["response_body"])
    assert isinstance(error, PistonRejected) and "could not read" in error.message
    wrong = by_name["wrong content-type (text/plain)"]
    assert error_for(wrong["status"], wrong["response_body"]).message.startswith("requests must")
    empty = by_name["file name escaping the submission dir"]
    assert isinstance(error_for(empty["status"], empty["response_body"]), PistonUnavailable)


def test_runtimes_are_cached(piston: PistonStandIn) -> None:
    with PistonClient(piston.url, runtimes_ttl=60) as client:
        gets = sum(1 for r in piston.requests if r[0] == "GET")
        first = client.runtimes()
        assert client.runtimes() is first
        assert sum(1 for r in piston.requests if r[0] == "GET") == gets + 1
    assert {r.language for r in first} >= {"c++", "python", "rust", "java"}
    cpp = next(r for r in first if r.language == "c++")
    assert "cpp" in cpp.aliases


@pytest.mark.anyio
async def test_async_client_and_a_piston_that_is_down(piston: PistonStandIn) -> None:
    client = AsyncPistonClient(piston.url)
    result = await client.execute("py", 'print("alias")\n', version="3.x", file_name="main.py")
    assert result.run.stdout == "alias\n"
    await client.aclose()
    down = AsyncPistonClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(PistonUnavailable) as error:
        await down.runtimes()
    assert "unreachable" in error.value.message
    await down.aclose()


def test_timeout_is_its_own_error() -> None:
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with PistonClient(url, timeout=0.3) as client, pytest.raises(PistonTimeout):
            client.runtimes()


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("PISTON_URL"), reason="set PISTON_URL to a real Piston")
def test_live_piston() -> None:
    """Against a real Piston: hello world in every runtime, stdin, a compile error, a timeout."""
    hello = {
        "python": 'print("Hello, World!")',
        "javascript": 'console.log("Hello, World!")',
        "bash": 'echo "Hello, World!"',
        "c": '#include <stdio.h>\nint main(){puts("Hello, World!");return 0;}',
        "c++": '#include <iostream>\nint main(){std::cout<<"Hello, World!"<<std::endl;}',
        "ruby": 'puts "Hello, World!"',
        "php": '<?php echo "Hello, World!\\n";',
        "go": 'package main\nimport "fmt"\nfunc main(){fmt.Println("Hello, World!")}',
        "rust": 'fn main(){println!("Hello, World!");}',
        "java": "public class Main{public static void main(String[] a){"
        'System.out.println("Hello, World!");}}',
        "typescript": 'console.log("Hello, World!")',
        "kotlin": 'fun main(){println("Hello, World!")}',
        "csharp": 'using System;class P{static void Main(){Console.WriteLine("Hello, World!");}}',
    }
    with PistonClient(os.environ["PISTON_URL"], timeout=60) as client:
        for runtime in client.runtimes():
            code = hello.get(runtime.language)
            if code is None:
                continue
            result = client.execute(runtime.language, code)
            assert result.status == "ok", (runtime.language, result)
            assert "Hello, World!" in result.run.stdout
        echo = client.execute("python", "print(input()[::-1])", stdin="abc")
        assert echo.run.stdout == "cba\n"
        broken = client.execute("c++", "int main( {")
        assert broken.status == "compile_error"
        slow = client.execute("python", "while True: pass", run_timeout=1000)
        assert slow.status == "timeout"
