"""The in-browser kernel's assets: served locally, checksums right, the rest from the CDN."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .server import TOKEN, InterviewServer

BUILD = Path(__file__).resolve().parents[1] / "lite" / "build"


def test_kernel_packages_are_served_with_matching_checksums() -> None:
    lock = json.loads((BUILD / "pyodide" / "pyodide-lock.json").read_text())["packages"]
    for name in ("micropip", "ipython", "jedi", "traitlets", "pygments", "prompt-toolkit"):
        entry = lock[name]
        wheel = BUILD / "pyodide" / entry["file_name"]
        assert wheel.is_file(), name
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"], name
    for name in ("numpy", "pandas", "matplotlib"):
        assert lock[name]["file_name"].startswith("https://cdn.jsdelivr.net/pyodide/v0.29.3/")
    # Asked for while the kernel starts: never sent to the CDN.
    assert not lock["sqlite3"]["file_name"].startswith("https://")
    for core in ("pyodide.js", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert (BUILD / "pyodide" / core).is_file()


def test_piplite_index_holds_comm() -> None:
    index = json.loads((BUILD / "pypi" / "all.json").read_text())
    (release,) = index["comm"]["releases"]["0.2.3"]
    wheel = BUILD / "pypi" / release["filename"]
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == release["digests"]["sha256"]


def test_pages_point_the_kernel_at_this_server(server: InterviewServer) -> None:
    room = server.create_room()
    with server.client() as c:
        page = c.get(f"notebooks/{room['notebook_path']}?token={TOKEN}").text
        wasm = c.get("interview/lite/pyodide/pyodide.asm.wasm")
    assert wasm.status_code == 200
    assert "max-age" in wasm.headers["cache-control"]
    start = page.index('id="jupyter-config-data"')
    config = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    settings = json.loads(config["litePluginSettings"])[
        "@jupyterlite/pyodide-kernel-extension:kernel"
    ]
    assert settings["pyodideUrl"] == "/interview/lite/pyodide/pyodide.js"
    assert settings["disablePyPIFallback"] is True
    assert "/interview/lite/pypi/all.json" in settings["pipliteUrls"]
    assert config["fullMathjaxUrl"] == ""
