"""Deprecated alias of `regkit.experiments.report.collapse` (moved there in 0.4; removed in 0.6).

The study runner is in three wings since 0.4 (docs/architecture.md); this module keeps
`import regkit.experiments.verdicts` working for two minor releases (docs/stability.md).
"""

from __future__ import annotations

import warnings
from typing import Any

from regkit.experiments.report import collapse as _moved

warnings.warn(
    "regkit.experiments.verdicts is deprecated since regkit 0.4 and will be removed in 0.6; "
    "import regkit.experiments.report.collapse instead",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    return getattr(_moved, name)


def __dir__() -> list[str]:
    return dir(_moved)
