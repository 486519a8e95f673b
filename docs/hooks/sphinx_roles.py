"""Griffe extension for the API reference: render the Sphinx markup of our docstrings.

The docstrings are Google style with Sphinx roles (``:class:`~autostrada.types.CallResult```)
and reST literal blocks (``Example::``), which Markdown would show as they are. This turns
each role into a cross-reference that links when the target is on the site and is plain
code otherwise (an *optional* autoref: never a build warning), and ``::`` into ``:``
(the indented block after it is a Markdown code block already).

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings...extensions``); the docstrings in
``src/`` stay as they are.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj|const):`(~?)([^`<>]+)`")
LITERAL = re.compile(r"(\S)::$", re.MULTILINE)  # "Example::" -> "Example:"
ALONE = re.compile(r"^(\s*)::$", re.MULTILINE)  # a "::" line of its own goes


class SphinxRoles(griffe.Extension):
    """Rewrite each docstring once the object tree is complete (names resolve then)."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is None:
            return

        def crossref(match: re.Match[str]) -> str:
            short, target = match.group(1) == "~", match.group(2).strip()
            title = target.rsplit(".", 1)[-1] if short else target.lstrip(".")
            return (
                f'<autoref identifier="{html.escape(resolve(obj, target))}" optional>'
                f"<code>{html.escape(title)}</code></autoref>"
            )

        text = ROLE.sub(crossref, docstring.value)
        text = ALONE.sub("", LITERAL.sub(r"\1:", text))
        docstring.value = text


def resolve(obj: griffe.Object, target: str) -> str:
    """The full path of ``target`` as seen from ``obj`` (best effort)."""
    if target.startswith("autostrada."):
        return target
    name = target.lstrip(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        head, _, rest = name.partition(".")
        try:
            found = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError):
            found = None
        if found is None and head in scope.members:
            found = scope.members[head].path
        if found is not None:
            return f"{found}.{rest}" if rest else found
        scope = scope.parent
    return name
