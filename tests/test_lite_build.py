"""The in-browser kernel's assets: served locally, checksums right, bytecode in, the rest
from the CDN, and pages that point the kernel at them."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from .server import TOKEN, InterviewServer

BUILD = Path(__file__).resolve().parents[1] / "lite" / "build"
PLUGIN = "jupyter-interview:pyodide-kernel"


def lock() -> dict:
    return json.loads((BUILD / "pyodide" / "pyodide-lock.json").read_text())["packages"]


def page_config(html: str) -> dict:
    start = html.index('id="jupyter-config-data"')
    return json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])


@pytest.mark.parametrize(
    "name",
    [
        "micropip",
        "ipython",
        "jedi",
        "traitlets",
        "pygments",
        "prompt-toolkit",
        # Not in Pyodide's lock: the kernel's own wheels, comm and our magics, added so
        # that loadPyodide fetches them with the rest.
        "piplite",
        "pyodide-kernel",
        "ipykernel",
        "comm",
        "jupyter-interview-magics",
    ],
)
def test_kernel_packages_are_served_with_matching_checksums(name: str) -> None:
    entry = lock()[name]
    wheel = BUILD / "pyodide" / entry["file_name"]
    assert wheel.is_file(), name
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == entry["sha256"], name


def test_other_packages_load_from_the_cdn_and_never_at_start() -> None:
    packages = lock()
    for name in ("numpy", "pandas", "matplotlib", "sqlite3"):
        assert packages[name]["file_name"].startswith("https://cdn.jsdelivr.net/pyodide/v0.29.3/")
    # IPython can do without sqlite3 (only in the full release): the kernel never asks.
    assert "sqlite3" not in packages["ipython"]["depends"]
    for core in ("pyodide.js", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert (BUILD / "pyodide" / core).is_file()


def test_what_the_kernel_imports_at_start_is_compiled() -> None:
    """Bytecode for the start-up imports, in the stdlib zip and the wheels; not for the rest."""
    with zipfile.ZipFile(BUILD / "pyodide" / "python_stdlib.zip") as z:
        names = set(z.namelist())
    assert {"asyncio/__init__.py", "asyncio/__init__.pyc", "ast.pyc"} <= names
    assert "statistics.py" in names
    assert "statistics.pyc" not in names
    wheel = BUILD / "pyodide" / lock()["pygments"]["file_name"]
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert "pygments/__pycache__/__init__.cpython-313.pyc" in names
    lexers = [n for n in names if n.startswith("pygments/lexers/") and n.endswith(".py")]
    compiled = [n for n in names if n.startswith("pygments/lexers/__pycache__/")]
    assert 0 < len(compiled) < len(lexers) / 10
    # The wheel's RECORD lists what was added, as installers expect.
    record = next(n for n in names if n.endswith(".dist-info/RECORD"))
    with zipfile.ZipFile(wheel) as z:
        assert "pygments/__pycache__/__init__.cpython-313.pyc," in z.read(record).decode()


def test_piplite_index_holds_comm_and_the_magics() -> None:
    index = json.loads((BUILD / "pypi" / "all.json").read_text())
    for name, version in (("comm", "0.2.3"), ("jupyter-interview-magics", "0.1.0")):
        (release,) = index[name]["releases"][version]
        wheel = BUILD / "pypi" / release["filename"]
        assert hashlib.sha256(wheel.read_bytes()).hexdigest() == release["digests"]["sha256"]


def test_pyodide_is_served_cached_and_gzipped(server: InterviewServer) -> None:
    wasm = (BUILD / "pyodide" / "pyodide.asm.wasm").read_bytes()
    with server.client() as c:
        packed = c.get("interview/lite/pyodide/pyodide.asm.wasm")
        plain = c.get(
            "interview/lite/pyodide/pyodide.asm.wasm", headers={"Accept-Encoding": "identity"}
        )
    for response in (packed, plain):
        assert response.status_code == 200
        assert response.content == wasm
        assert response.headers["content-type"] == "application/wasm"
        assert "max-age" in response.headers["cache-control"]
        assert response.headers["cross-origin-resource-policy"] == "same-origin"
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(wasm) / 2
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(wasm)


def test_pages_point_the_kernel_at_this_server(server: InterviewServer) -> None:
    room = server.create_room()
    with server.client() as c:
        page = c.get(f"notebooks/{room['notebook_path']}?token={TOKEN}").text
    config = page_config(page)
    settings = json.loads(config["litePluginSettings"])[PLUGIN]
    assert settings["pyodideUrl"] == "/interview/lite/pyodide/pyodide.js"
    assert settings["disablePyPIFallback"] is True
    assert settings["pipliteUrls"] == ["/interview/lite/pypi/all.json"]
    # The interviewer completes code: jedi loads at start.
    packages = settings["loadPyodideOptions"]["packages"]
    assert {"pyodide-kernel", "ipython", "jedi"} <= set(packages)
    assert set(packages) <= set(lock())
    assert config["fullMathjaxUrl"] == ""
    # Ours replaces the upstream kernel plugin, which would register "python" too.
    assert "@jupyterlite/pyodide-kernel-extension:kernel" in config["disabledExtensions"]
    # Only a room link's page starts its kernel before the notebook opens.
    assert "interviewNotebook" not in config
