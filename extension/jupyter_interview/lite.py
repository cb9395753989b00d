"""The in-browser kernel: serving lite/build and the page settings that point the kernel at it.

The candidate page is Notebook 7 with the JupyterLite Pyodide kernel running in the
browser (our front end's ``jupyter-interview:pyodide-kernel`` plugin, inside
jupyterlab-hybrid-kernels). Out of the box that kernel fetches Pyodide from a CDN, falls
back to PyPI, and installs its packages one by one; here every URL points at this server
(see lite/build.py) and ``loadPyodide`` fetches the start-up packages all at once.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join
from tornado import web

KERNEL_PLUGIN = "jupyter-interview:pyodide-kernel"
# What the kernel imports at start, all in the lock lite/build.py writes.
START_PACKAGES = [
    "micropip",
    "piplite",
    "ipykernel",
    "comm",
    "pyodide-kernel",
    "ipython",
    "jupyter-interview-magics",
]
# IPython completes with jedi when it can import it: about 0.6 s of the kernel's start
# (loading and importing) that only rooms with completion on pay.
COMPLETION_PACKAGES = ["jedi"]


class LiteAssetsHandler(web.StaticFileHandler):
    """Pyodide and the wheels: immutable for a given build, so browsers may cache them.

    Where the build left a gzipped copy (lite/build.py: the wasm, 8.6 MB, is 2.8 MB
    gzipped) and the browser accepts gzip, that copy goes out with Content-Encoding: gzip.
    """

    gzipped = False

    async def get(self, path: str, include_body: bool = True) -> None:
        accepts = "gzip" in self.request.headers.get("Accept-Encoding", "")
        self.gzipped = accepts and Path(self.root, path + ".gz").is_file()
        await super().get(path + ".gz" if self.gzipped else path, include_body)

    def get_content_type(self) -> str:
        if self.gzipped:
            return mimetypes.guess_type(self.absolute_path.removesuffix(".gz"))[0] or (
                "application/octet-stream"
            )
        return super().get_content_type()

    def get_cache_time(self, path: str, modified: object, mime_type: str) -> int:
        return 7 * 24 * 3600

    def set_extra_headers(self, path: str) -> None:
        # The page is cross-origin isolated (COEP require-corp): say these may be embedded.
        self.set_header("Cross-Origin-Resource-Policy", "same-origin")
        self.set_header("Vary", "Accept-Encoding")
        if self.gzipped:
            self.set_header("Content-Encoding", "gzip")


def served_packages(lite_dir: Path) -> frozenset[str]:
    """The Pyodide packages this server serves itself: those the build's lock names by a
    relative file name. The others (numpy, pandas, ...) the lock sends to the Pyodide CDN."""
    lock = lite_dir / "pyodide" / "pyodide-lock.json"
    if not lock.is_file():
        return frozenset()
    packages = json.loads(lock.read_text()).get("packages", {})
    return frozenset(
        name.lower() for name, entry in packages.items() if "://" not in entry["file_name"]
    )


def kernel_settings(
    base_url: str, *, completion: bool, packages: list[str] = (), extra: list[str] = ()
) -> dict[str, Any]:
    """The kernel plugin's settings: completion loads jedi at start; ``packages`` (served
    here) load with the kernel, ``extra`` (from the CDN) right after it, in the background:
    a CDN this browser cannot reach must not keep the kernel from starting."""
    return {
        "pyodideUrl": url_path_join(base_url, "interview/lite/pyodide/pyodide.js"),
        "pipliteUrls": [url_path_join(base_url, "interview/lite/pypi/all.json")],
        "disablePyPIFallback": True,
        "loadPyodideOptions": {
            "packages": [
                *START_PACKAGES,
                *(COMPLETION_PACKAGES if completion else []),
                *packages,
            ],
        },
        "preloadPackages": list(extra),
    }


def lite_plugin_settings(
    base_url: str, *, completion: bool, packages: list[str] = (), extra: list[str] = ()
) -> str:
    # jupyterlab_server turns a dict value into a list of its keys: it must be a string.
    settings = kernel_settings(base_url, completion=completion, packages=packages, extra=extra)
    return json.dumps({KERNEL_PLUGIN: settings})


def page_settings(base_url: str) -> dict[str, str]:
    """Entries for the page config (``page_config_data``) of every Notebook/Lab page."""
    return {
        "litePluginSettings": lite_plugin_settings(base_url, completion=True),
        # Notebook 7 defaults this to a CDN; the bundled MathJax 3 renders math without it.
        "fullMathjaxUrl": "",
    }


def lite_handlers(lite_dir: Path) -> list[tuple[str, type[web.RequestHandler], dict]]:
    return [(r"/interview/lite/(.*)", LiteAssetsHandler, {"path": str(lite_dir)})]
