"""Checks of a study that need no data and no study folder lock (`ledger.check_before_loading`).

`plan_study` calls them before the data set loads, so a wrong `out_dir`, a variant whose
fields exclude each other or a folder of runs with other settings is refused at once, not
after the loading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regkit.experiments.study.config import StudyConfig
from regkit.experiments.study.records import Variant, jsonable

__all__ = ["check_combinations", "check_executor", "early_settings", "out_dir_path"]


def out_dir_path(out_dir: Any) -> Path | None:
    """`out_dir` as a `Path` (None stays None), its type and emptiness checked.

    Raises:
        TypeError: not None, a str or an `os.PathLike` of str.
        ValueError: empty text (which would mean the current folder).
    """
    if out_dir is None:
        return None
    if not isinstance(out_dir, (str, os.PathLike)) or isinstance(os.fspath(out_dir), bytes):
        raise TypeError(
            "Invalid type for argument `out_dir`: expected a folder path (str or "
            "os.PathLike) or None. Received: "
            f"out_dir={out_dir!r} of type {type(out_dir).__name__}"
        )
    if not os.fspath(out_dir).strip():
        raise ValueError(
            "Invalid value for argument `out_dir`: expected a folder path; empty text "
            "names no folder (use '.' for the current one, or None to keep nothing). "
            f"Received: out_dir={out_dir!r}"
        )
    return Path(out_dir).expanduser()


def check_combinations(variants: Mapping[str, Variant]) -> None:
    """Fields that are each valid but exclude each other, refused for every variant at
    planning by the very check a run applies when it starts."""
    from regkit.callbacks.averaging import averaging_callbacks  # defers Keras (heavy)

    for name, variant in variants.items():
        try:
            averaging_callbacks(variant.reg)
        except ValueError as exc:
            detail = str(exc).replace("Invalid value for argument `reg`: ", "")
            raise ValueError(
                f"Invalid value for argument `variants`: variant {name!r}: {detail}"
            ) from None


def early_settings(
    study: StudyConfig, name: str, variant: Variant, seed: int, checked: Mapping[str, Any]
) -> dict[str, Any]:
    """The part of a run's settings (`run_settings`) known before the data loads."""
    settings: dict[str, Any] = {"variant": name, "seed": int(seed)}
    for key in StudyConfig.invalidating():
        if not StudyConfig.field_metadata(key)["resolved"]:  # known only with the data
            settings[key] = checked[key]
    if isinstance(study.model, str):
        settings["model"] = study.model
    if isinstance(study.dataset, (str, os.PathLike)):
        settings["dataset"] = os.fspath(study.dataset)
    if isinstance(study.model_kwargs, Mapping) or study.model_kwargs is None:
        settings["model_kwargs"] = dict(study.model_kwargs or {})
    settings["optimizer"] = variant.optimizer or study.optimizer
    settings["learning_rate"] = variant.learning_rate or checked["learning_rate"]
    reg = variant.reg.to_dict()
    reg.pop("bn_momentum", None)  # set from the data set's size ("auto")
    settings["regularization"] = reg
    return json.loads(json.dumps(jsonable(settings)))


def check_executor(executor: Any) -> None:
    """Refuses an executor that can no longer run tasks, before anything is written.

    A `concurrent.futures` pool that was shut down (or is broken: a worker died) and a
    Dask executor whose client is closed accept no task; found only at the first
    submit, the study would already have written into its folder.

    Raises:
        ValueError: naming `executor` and what is wrong with it.
    """
    if executor is None:
        return
    why = None
    if getattr(executor, "_shutdown_thread", False) is True or (
        getattr(executor, "_shutdown", False) is True
    ):
        why = "it was shut down"
    elif getattr(executor, "_broken", False):
        why = "it is broken (a worker process died)"
    else:
        status = getattr(getattr(executor, "_client", None), "status", None)
        if isinstance(status, str) and status in ("closing", "closed", "failed"):
            why = f"its Dask client is {status}"
    if why:
        raise ValueError(
            f"Invalid value for argument `executor`: expected an executor that can still run "
            f"tasks; {why}. Received: executor={executor!r}"
        )
