"""The Content-Security-Policy of every page the server sends.

A room notebook is written by its candidate, and JupyterLab renders its outputs in the
interviewer's page. Untrusted output is sanitised, but this policy holds whatever a page
ends up rendering: scripts only from this server (no inline script, no event-handler
attributes, no ``javascript:`` URLs), images only from this server or inline data (a
candidate's ``<img src=https://…>`` cannot reveal the interviewer's address), connections
only to this server and the Pyodide package source, no plugins, no framing by others.

JupyterLab needs ``'unsafe-eval'`` (its settings validator compiles JSON schemas to
functions) and Pyodide ``'wasm-unsafe-eval'``. The one inline script of the Lab and
Notebook pages (it removes ``?token=`` from the address bar) is allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def page_templates() -> list[Path]:
    """The installed JupyterLab and Notebook 7 page templates."""
    import jupyterlab
    import notebook

    return [
        *Path(jupyterlab.__file__).parent.joinpath("static").glob("*.html"),
        *Path(notebook.__file__).parent.joinpath("templates").glob("*.html"),
    ]


def inline_script_hashes(templates: Iterable[Path]) -> list[str]:
    """``'sha256-…'`` sources for the plain inline scripts of the page templates."""
    found = set()
    for template in templates:
        for script in _INLINE_SCRIPT.findall(template.read_text(encoding="utf-8")):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            found.add(f"'sha256-{digest}'")
    return sorted(found)


def package_origins(lite_dir: Path) -> list[str]:
    """Where the in-browser kernel fetches packages that this server does not serve (the
    Pyodide CDN the lite build's lock points at, if any)."""
    lock = lite_dir / "pyodide" / "pyodide-lock.json"
    if not lock.is_file():
        return []
    packages = json.loads(lock.read_text()).get("packages", {}).values()
    origins = set()
    for package in packages:
        url = urlparse(package.get("file_name", ""))
        if url.scheme in ("http", "https") and url.netloc:
            origins.add(f"{url.scheme}://{url.netloc}")
    return sorted(origins)


def content_security_policy(*, script_hashes: list[str], package_origins: list[str]) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", "'wasm-unsafe-eval'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *package_origins],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())
