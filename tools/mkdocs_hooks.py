"""MkDocs hooks for the docs site (mkdocs.yml `hooks:`).

The docs' code fences carry a reason when tests/system/test_docs.py must not run them,
```` ```python skip: downloads CIFAR-10 ````. GitHub reads the first word as the language;
Python-Markdown's fences do not accept the rest and would print the block as text, so the
site drops the reason from the fence (it is for the test runner, not the reader).
"""

from __future__ import annotations

import re
from typing import Any

_REASONED_FENCE = re.compile(r"^(\s*```+\s*[\w+-]+)[ \t]+(?:skip|slow)\b[^\n]*$", re.MULTILINE)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Turns ```` ```python skip: reason ```` into ```` ```python ````."""
    return _REASONED_FENCE.sub(r"\1", markdown)
