"""A griffe extension for the docs site: regkit's `Example:` sections render as examples.

regkit's docstrings (Google style) head their doctests `Example:`; griffe's Google parser
knows only the plural `Examples:` as an examples section (it renders the singular as an
admonition of plain Markdown, where `>>> x["a"][0]` reads as a broken link). mkdocs.yml
loads this extension, which renames the heading before the docstring is parsed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Renames each docstring's `Example:` section heading to `Examples:`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
