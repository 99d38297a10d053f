"""A finished run leaves a model users can load and export (issue 32, item 4): `model.keras`
in its run folder, the model as evaluated, which plain `keras.saving.load_model` reads and
which predicts the report's test accuracy; `Report.load_model` prefers it."""

from __future__ import annotations

import pytest

from regkit.experiments import Report, compare
from regkit.experiments.report.results import MODEL_FILE
from regkit.experiments.run.ledger import CHECKPOINT_NAME, RUN_FILES

TINY = {"filters": (8, 16), "dense_units": (16,)}
QUICK = {"epochs": 1, "batch_size": 16, "limit": 48, "verbose": 0, "model_kwargs": TINY}


def _test_accuracy(model) -> float:
    from regkit.data import image_pipeline, load_dataset

    split = load_dataset("digits").take(48).test  # the study's test split (limit=48)
    test = image_pipeline(split, batch_size=16, training=False, model=model)
    return model.evaluate(test, return_dict=True, verbose=0)["accuracy"]


def test_a_run_folder_holds_a_keras_file_that_predicts_the_reported_accuracy(tmp_path):
    import keras

    report = compare(["bn"], out_dir=tmp_path, **QUICK)
    run = report.runs[0]
    path = tmp_path / "bn" / "seed0" / MODEL_FILE
    model = keras.saving.load_model(path)  # plain Keras: no custom objects, no regkit call
    assert _test_accuracy(model) == pytest.approx(run.test_accuracy, abs=1e-6)
    assert not list(tmp_path.rglob(".partial-*"))  # renamed into place, nothing left behind

    (path.parent / CHECKPOINT_NAME).unlink()  # Report.load_model reads model.keras first
    model = Report.from_json(tmp_path / "report.json").load_model("bn", seed=0)
    assert _test_accuracy(model) == pytest.approx(run.test_accuracy, abs=1e-6)
    assert model.optimizer is not None  # compiled as trained: it can train on
    assert MODEL_FILE in RUN_FILES  # the ledger knows it: --restart discards it


def test_a_model_keras_cannot_save_leaves_a_warning_not_a_failed_run(tmp_path, monkeypatch):
    import keras

    def refuse(self, filepath, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras.Model, "save", refuse)
    with pytest.warns(RuntimeWarning, match="Could not save .*model.keras"):
        report = compare(["baseline"], out_dir=tmp_path, **QUICK)
    assert report.runs[0].status == "ok"
    assert not (tmp_path / "baseline" / "seed0" / MODEL_FILE).exists()
    assert not list(tmp_path.rglob(".partial-*"))
    monkeypatch.undo()
    model = report.load_model("baseline", seed=0)  # rebuilt from the checkpoint
    assert _test_accuracy(model) == pytest.approx(report.runs[0].test_accuracy, abs=1e-6)
