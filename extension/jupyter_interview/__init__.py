"""jupyter-interview: collaborative coding interviews in Jupyter notebooks."""

from typing import Any

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import InterviewApp

    return [{"module": "jupyter_interview.app", "app": InterviewApp}]
