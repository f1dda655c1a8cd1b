"""Jinja2 templates for every user-facing string.

Templates are compiled once when a playbook loads (so a broken template is a load error with a
line number) and rendered with StrictUndefined, so a misspelt variable fails loudly in tests
instead of printing nothing to a user. Output is plain text; each channel adapter escapes or
formats it for its platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import meta

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
)

# Variables every template may use; see playbooks/README.md.
TEMPLATE_VARIABLES = frozenset(
    {
        "records",
        "checklist",
        "groups",
        "id",
        "when",
        "every",
        "name",
        "count",
        "usage",
        "slots",
        "chosen",
        "buttons",
        "outage",
        "status_url",
        "affected",
        "lang",
        "symptom",
        "cause",
        "causes",
        "contact",
        "contacts",
        "step",
        "n",
        "total",
        "minutes",
        "text",
        "note",
        "why",
        "error",
    }
)


class TemplateCache:
    """Compiled templates keyed by their source text (identical strings compile once)."""

    def __init__(self) -> None:
        self._compiled: dict[str, jinja2.Template] = {}

    def compile(self, source: str) -> jinja2.Template:
        """Compile `source`; raise jinja2.TemplateSyntaxError when it is malformed."""
        template = self._compiled.get(source)
        if template is None:
            template = _ENV.from_string(source)
            self._compiled[source] = template
        return template

    def render(self, source: str, variables: Mapping[str, Any]) -> str:
        if "{" not in source:  # most strings are plain text: skip Jinja entirely
            return source
        return self.compile(source).render(variables).strip()


def undeclared_variables(source: str) -> set[str]:
    """Names a template reads that are not among TEMPLATE_VARIABLES."""
    return set(meta.find_undeclared_variables(_ENV.parse(source))) - TEMPLATE_VARIABLES
