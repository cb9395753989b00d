"""The in-browser kernel: serving lite/build and the page settings that point the kernel at it.

The candidate page is Notebook 7 with the JupyterLite Pyodide kernel running in the
browser (jupyterlab-hybrid-kernels). Out of the box that kernel fetches Pyodide from a CDN
and falls back to PyPI; here every URL points at this server (see lite/build.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_server.utils import url_path_join
from tornado import web

KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
KERNEL_STATIC = "lab/extensions/@jupyterlite/pyodide-kernel-extension/static/pypi"
PIPLITE_WHEEL = "piplite-0.7.2-py3-none-any.whl"


class LiteAssetsHandler(web.StaticFileHandler):
    """Pyodide and the wheels: immutable for a given build, so browsers may cache them."""

    def get_cache_time(self, path: str, modified: object, mime_type: str) -> int:
        return 7 * 24 * 3600

    def set_extra_headers(self, path: str) -> None:
        # The page is cross-origin isolated (COEP require-corp): say these may be embedded.
        self.set_header("Cross-Origin-Resource-Policy", "same-origin")


def page_settings(base_url: str) -> dict[str, str]:
    """Entries for the page config (``page_config_data``) of every Notebook/Lab page."""
    kernel = {
        "pyodideUrl": url_path_join(base_url, "interview/lite/pyodide/pyodide.js"),
        "pipliteWheelUrl": url_path_join(base_url, KERNEL_STATIC, PIPLITE_WHEEL),
        "pipliteUrls": [
            url_path_join(base_url, KERNEL_STATIC, "all.json"),
            url_path_join(base_url, "interview/lite/pypi/all.json"),
        ],
        "disablePyPIFallback": True,
    }
    return {
        # jupyterlab_server turns a dict value into a list of its keys: it must be a string.
        "litePluginSettings": json.dumps({KERNEL_PLUGIN: kernel}),
        # Notebook 7 defaults this to a CDN; the bundled MathJax 3 renders math without it.
        "fullMathjaxUrl": "",
    }


def lite_handlers(lite_dir: Path) -> list[tuple[str, type[web.RequestHandler], dict]]:
    return [(r"/interview/lite/(.*)", LiteAssetsHandler, {"path": str(lite_dir)})]
