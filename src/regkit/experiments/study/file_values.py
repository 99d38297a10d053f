"""A study file's settings, checked as they are read (`specs.load_study`).

Each top-level value must have a TOML type its setting takes and pass the setting's own
check (`StudyConfig`'s ``check`` metadata), so `epochs = "3"`, `out = 3`, `model = {}` or
`tensorboard = [1, 2]` is refused naming the file and the key, before any data loads.

Example:
    >>> checked_setting("epochs", 3, Path("study.toml"), "config")
    3
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regkit.experiments.study.config import StudyConfig

__all__ = ["checked_setting"]

#: The TOML types each study-file setting may have (beyond its own check, which
#: `compare` applies): a value of another type is refused naming the key.
_FILE_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "dataset": (str,),
    "out_dir": (str,),
    "data_dir": (str,),
    "optimizer": (str,),
    "model_kwargs": (dict,),
    "augment": (str, bool, dict),
    "image_size": (int, list),
    "bn_momentum": (str, float, int),
    "download": (bool,),
    "plots": (bool,),
    "run_eagerly": (bool,),
    "tensorboard": (bool,),
    "verbose": (int, str),
}


def checked_setting(name: str, value: Any, file: Path, arg: str) -> Any:
    """A study file's setting, its type and its own check (`StudyConfig`) applied, so a
    wrong value is refused naming the file and the key before anything loads."""
    where = f"Invalid value for argument `{arg}`: study file {str(file)!r}: key {name!r}"
    kinds = _FILE_TYPES.get(name)
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


_TOML_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    dict: "a table",
    list: "an array",
}
