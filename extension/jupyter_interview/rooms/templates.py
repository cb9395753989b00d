"""The catalogue of interview templates: the notebooks in ``notebooks/`` and their metadata.

A template's hidden tests stay here, on the server: ``room_notebook`` strips them before a
room's notebook is written, so no room link can ever read them.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from pydantic import ValidationError

from ..api.errors import UnknownTemplate
from ..api.models import TEMPLATE_NAME_PATTERN, TemplateMeta, TemplateOut

_NAME = re.compile(TEMPLATE_NAME_PATTERN)


@dataclass(frozen=True)
class Template:
    name: str
    meta: TemplateMeta
    notebook: NotebookNode

    def summary(self, served: frozenset[str]) -> TemplateOut:
        return TemplateOut(
            name=self.name,
            title=self.meta.title,
            description=self.meta.description,
            duration_minutes=self.meta.duration_minutes,
            languages=self.meta.languages,
            packages=self.meta.packages,
            unavailable_packages=self.unavailable(served),
        )

    def unavailable(self, served: frozenset[str]) -> list[str]:
        """The template's packages that this server's in-browser kernel build lacks."""
        return [p for p in self.meta.packages if p.lower() not in served]

    def room_notebook(self, *, room_id: str, title: str) -> NotebookNode:
        """A copy of the notebook for a room: interview metadata reduced to what is public."""
        nb = copy.deepcopy(self.notebook)
        nb.metadata["interview"] = {
            "room_id": room_id,
            "template": self.name,
            "title": title,
            "languages": self.meta.languages,
        }
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        return nb


class TemplateCatalogue:
    """Templates loaded once from a folder; a broken template is logged and left out."""

    def __init__(self, folder: Path, log: logging.Logger) -> None:
        self.folder = folder
        self._templates: dict[str, Template] = {}
        for path in sorted(folder.glob("*.ipynb")):
            template = _load(path, log)
            if template is not None:
                self._templates[template.name] = template
        if not self._templates:
            log.warning("No interview templates found in %s", folder)

    def __iter__(self):
        return iter(self._templates.values())

    def get(self, name: str) -> Template:
        template = self._templates.get(name)
        if template is None:
            known = ", ".join(sorted(self._templates)) or "none"
            raise UnknownTemplate(f"No template named {name!r}. Known templates: {known}.")
        return template


def _load(path: Path, log: logging.Logger) -> Template | None:
    name = path.stem
    if not _NAME.match(name):
        log.error("Template file name %s is not a valid template name; skipped", path.name)
        return None
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        meta = TemplateMeta.model_validate(nb.metadata.get("interview", {}))
    except (OSError, ValueError, nbformat.ValidationError, ValidationError) as e:
        log.error("Template %s is invalid and was skipped: %s", path, e)
        return None
    return Template(name=name, meta=meta, notebook=nb)
