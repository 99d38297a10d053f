"""A study's models on disk: each finished run's `model.keras` (`MODEL_FILE`), read back
by `Report.load_model` and written out by `Report.export` (`regkit export`).

Keras is imported only when a model is loaded or exported.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from regkit._checks import check_choice, invalid
from regkit.device.export import export_model
from regkit.experiments.study.build import build_from_config
from regkit.experiments.study.specs import CHECKPOINT_NAME, folder_name

__all__ = ["EXPORT_FORMATS", "MODEL_FILE", "export_run_model", "load_run_model", "run_folder_of"]

#: A finished run's model, as evaluated (its best weights), in its run folder: a `.keras`
#: file that `keras.saving.load_model` and `regkit.load_model` read (`Report.load_model`
#: prefers it; `regkit export` converts it).
MODEL_FILE = "model.keras"
#: `Report.export`'s formats and the suffix of the path each writes by default.
EXPORT_FORMATS: dict[str, str] = {"keras": ".keras", "savedmodel": "", "tflite": ".tflite"}


def run_folder_of(report: Any, variant: str, seed: int) -> Path:
    """The folder of one run of `report`'s study (checked: the run exists, and the report
    has a study folder)."""
    runs = [r for r in report.runs_for(variant) if r.seed == seed]
    if not runs:
        seeds = [r.seed for r in report.runs_for(variant)]
        raise invalid("seed", f"a seed {variant!r} ran with ({seeds})", seed)
    if report.directory is None:
        raise ValueError(
            f"Cannot load {variant!r} seed {seed}: this report has no study folder "
            "(compare(..., out_dir=...) keeps each run's weights; Report.from_json "
            "reads them back)."
        )
    return Path(report.directory) / folder_name(variant) / f"seed{seed}"


def load_run_model(report: Any, variant: str, seed: int) -> Any:
    """`Report.load_model`: one run's best model: its `model.keras`, else rebuilt,
    compiled and given the checkpoint's weights."""
    folder = run_folder_of(report, variant, seed)
    if (folder / MODEL_FILE).is_file():  # the model as evaluated, saved by the run
        from regkit.regularization import load_model  # defers Keras (heavy)

        return load_model(folder / MODEL_FILE)
    weights = folder / CHECKPOINT_NAME
    if not weights.is_file():
        run = next(r for r in report.runs_for(variant) if r.seed == seed)
        raise ValueError(
            f"Cannot load {variant!r} seed {seed}: no weights at {weights} (the run "
            f"{run.status}{': ' + run.error if run.error else ''})."
        )
    model = build_from_config(report.config, report.variants[variant])
    model.optimizer.build(model.trainable_variables)  # the file holds its state too
    model.load_weights(weights)
    return model


def export_run_model(
    report: Any,
    variant: str,
    seed: int,
    path: str | os.PathLike[str] | None,
    format: str,
) -> Path:
    """`Report.export`: one run's model written as a `.keras` file, a SavedModel or a
    TFLite file; the path written."""
    check_choice("format", format, tuple(EXPORT_FORMATS))
    target = Path(
        path if path is not None else f"{folder_name(variant)}-seed{seed}{EXPORT_FORMATS[format]}"
    )
    if format == "keras" and target.suffix != ".keras":
        raise invalid("path", "a path ending in '.keras' for format='keras'", str(target))
    saved = run_folder_of(report, variant, seed) / MODEL_FILE
    if target.parent != Path(""):
        target.parent.mkdir(parents=True, exist_ok=True)
    if format == "keras" and saved.is_file():
        shutil.copyfile(saved, target)  # the file the run wrote, byte for byte
        return target
    model = report.load_model(variant, seed)
    if format == "keras":
        model.save(target)
    else:
        export_model(model, target, "tf_saved_model" if format == "savedmodel" else "litert")
    return target
