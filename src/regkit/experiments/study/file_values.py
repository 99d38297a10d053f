"""A study file's settings, checked as they are read (`specs.load_study`).

Each top-level value must have a TOML type its setting takes and pass the setting's own
check (`StudyConfig`'s ``check`` metadata), so `epochs = "3"`, `out = 3`, `model = {}` or
`tensorboard = [1, 2]` is refused naming the file and the key, before any data loads.

Example:
    >>> checked_setting("epochs", 3, Path("study.toml"), "config")
    3
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from regkit.experiments.study.config import StudyConfig

__all__ = ["checked_setting"]


def checked_setting(name: str, value: Any, file: Path, arg: str) -> Any:
    """A study file's setting, its type and its own check (`StudyConfig`) applied, so a
    wrong value is refused naming the file and the key before anything loads."""
    where = f"Invalid value for argument `{arg}`: study file {str(file)!r}: key {name!r}"
    kinds = _FILE_TYPES.get(name)  # StudyConfig's `file_types` metadata
    if kinds is not None and (
        not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    ):
        expected = " or ".join(_TOML_NAMES.get(k, k.__name__) for k in kinds)
        raise ValueError(f"{where}: expected {expected}. Received: {name}={value!r}")
    if name in ("variants", "sweep"):
        return value  # parsed by load_study
    try:
        StudyConfig(**{name: value}).checked(name)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return value


#: The TOML types each study-file setting may have (beyond its own check, which
#: `compare` applies), from `StudyConfig`'s metadata: a value of another type is refused.
_FILE_TYPES: dict[str, tuple[type, ...]] = {
    field.name: field.metadata["file_types"]
    for field in dataclasses.fields(StudyConfig)
    if field.metadata["file_types"]
}

_TOML_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    dict: "a table",
    list: "an array",
}
