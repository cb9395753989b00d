"""Benchmark: navigation to the first output of print(1) on the candidate page.

Cold: a new browser profile (nothing cached). Warm: the same profile again (Pyodide and
the wheels come from the browser cache). Then, on the warm profile, the kernel's controls:
from the interrupt button to KeyboardInterrupt in a busy loop's output, and from the
restart button to the output of the next cell. A real server and Debian's Chromium, as in
the tests. Run on demand:  .venv/bin/python -m bench.candidate_page [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright

from tests.browser import CHROMIUM, FLAGS, code_cell, header_button, run, type_into
from tests.server import InterviewServer


async def first_output(user_data_dir: Path, link: str) -> tuple[float, float]:
    """Seconds from navigation to the notebook UI, and to the output of print(1)."""
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=str(CHROMIUM), args=FLAGS
        )
        page = context.pages[0] if context.pages else await context.new_page()
        start = time.monotonic()
        await page.goto(link)
        if await page.locator("#name").count():
            await page.fill("#name", "Bench")
            await page.click("button[type=submit]")
        cell = code_cell(page, 0)
        await cell.wait_for(timeout=60_000)
        ui = time.monotonic() - start
        await type_into(page, cell, "print(1)")
        await page.keyboard.press("Shift+Enter")
        await cell.locator(".jp-OutputArea-output").first.wait_for(timeout=120_000)
        total = time.monotonic() - start
        await context.close()
        return ui, total


async def kernel_controls(user_data_dir: Path, link: str) -> tuple[float, float]:
    """Seconds from interrupt to KeyboardInterrupt, and from restart to the next output."""
    async with async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=str(CHROMIUM), args=FLAGS
        )
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(link)
        if await page.locator("#name").count():
            await page.fill("#name", "Bench")
            await page.click("button[type=submit]")
        cell = code_cell(page, 0)
        await run(page, cell, "print(1)")
        await type_into(page, cell, "print('looping', flush=True)\nwhile True:\n    pass")
        await page.keyboard.press("Shift+Enter")
        await cell.locator(".jp-OutputArea-output").get_by_text("looping").wait_for()
        start = time.monotonic()
        await header_button(page, "Stop").click()
        await cell.get_by_text("KeyboardInterrupt").first.wait_for(timeout=60_000)
        interrupt = time.monotonic() - start
        start = time.monotonic()
        await header_button(page, "Restart").click()
        await page.locator(".jp-Dialog .jp-mod-accept").click()
        await run(page, cell, "print(2)")
        restart = time.monotonic() - start
        await context.close()
        return interrupt, restart


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = InterviewServer(Path(tmp) / "data").start()
        try:
            cold: list[tuple[float, float]] = []
            warm: list[tuple[float, float]] = []
            controls: list[tuple[float, float]] = []
            for i in range(runs):
                room = server.create_room("sql-groupby")
                profile = Path(tmp) / f"profile-{i}"
                cold.append(await first_output(profile, room["links"]["candidate"]))
                room = server.create_room("sql-groupby")
                warm.append(await first_output(profile, room["links"]["candidate"]))
                room = server.create_room("sql-groupby")
                controls.append(await kernel_controls(profile, room["links"]["candidate"]))
        finally:
            server.stop()
    for name, samples in (("cold", cold), ("warm", warm)):
        ui = [s[0] for s in samples]
        total = [s[1] for s in samples]
        print(
            f"{name}: first output median {statistics.median(total):.2f} s "
            f"(min {min(total):.2f}, max {max(total):.2f}); "
            f"UI ready median {statistics.median(ui):.2f} s; {len(samples)} runs"
        )
    for name, values in (
        ("interrupt -> KeyboardInterrupt", [c[0] for c in controls]),
        ("restart -> next output", [c[1] for c in controls]),
    ):
        print(
            f"{name}: median {statistics.median(values):.2f} s "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
