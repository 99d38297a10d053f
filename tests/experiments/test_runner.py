"""Tests for regkit.experiments.run.runner: compare() trains, records, resumes."""

from __future__ import annotations

import json

import pytest

from regkit.experiments import Report, Variant

# ---------------------------------------------------------------------------- compare
TINY = {"filters": (8, 16), "dense_units": (16,)}  # 8x8 digits -> 4 -> 2
QUICK = {"epochs": 1, "batch_size": 16, "limit": 48, "verbose": 0, "model_kwargs": TINY}


def test_compare_two_variants_same_data_and_seed(tmp_path):
    from regkit import compare

    out = tmp_path / "out"
    # "twin" is "all" under another name: same seed, data, batches and dropout masks.
    # Eager: one step is cheaper than tracing (graph mode runs in the tests below).
    report = compare({"all": "all", "twin": "all"}, out_dir=out, run_eagerly=True, **QUICK)
    assert [r.variant for r in report.runs] == ["all", "twin"]
    first, twin = report.runs
    assert first.history["loss"] == pytest.approx(twin.history["loss"], rel=1e-6)
    assert first.test_accuracy == pytest.approx(twin.test_accuracy)
    for run in report.runs:
        assert run.status == "ok"
        assert run.epochs_run == 1 and run.best_epoch == 1
        assert 0.0 <= run.test_accuracy <= 1.0
        assert run.generalization_gap == pytest.approx(run.train_accuracy - run.val_accuracy)
        assert run.weight_norm > 0
        assert 0 < run.reg_loss_share < 1
    # files: report, plots, per-run logs and checkpoints
    names = {p.name for p in out.iterdir()}
    assert names >= {"report.md", "report.json", "curves.png", "weight_norms.png", "all", "twin"}
    assert (out / "twin" / "seed0" / "log.csv").exists()
    assert (out / "twin" / "seed0" / "best.weights.h5").exists()
    back = Report.from_json(out / "report.json")
    assert back.to_markdown() == report.to_markdown()
    assert back.config["model_kwargs"] == {"filters": [8, 16], "dense_units": [16]}


def test_compare_reports_a_diverging_variant_and_finishes_the_others():
    from regkit import compare

    variants = {
        "hot": Variant("baseline", optimizer="sgd", learning_rate=1e4),
        "baseline": "baseline",
    }
    report = compare(variants, **QUICK)
    hot, base = report.runs_for("hot")[0], report.runs_for("baseline")[0]
    assert hot.status == "diverged"
    assert base.status == "ok" and base.test_accuracy is not None
    row = next(line for line in report.to_markdown().splitlines() if line.startswith("| hot"))
    assert "diverged" in row
    assert json.loads(json.dumps(report.to_dict()))["variants"]["hot"]["status"].startswith(
        "diverged"
    )


def _fragile_cnn(input_shape, num_classes, *, reg, **kwargs):
    from regkit import build_cnn

    if reg.l2 > 0:
        raise RuntimeError("simulated crash while building")
    return build_cnn(input_shape, num_classes, reg=reg, **kwargs)


def test_a_crash_keeps_the_finished_variants(tmp_path):
    from regkit import compare

    variants = ["baseline", "l2", "dropout"]
    with pytest.raises(RuntimeError, match="simulated crash"):
        compare(variants, model=_fragile_cnn, out_dir=tmp_path, **QUICK)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["complete"] is False
    assert saved["variants"]["baseline"]["status"] == "ok"
    assert saved["variants"]["l2"]["status"] == "failed"
    assert "simulated crash" in saved["variants"]["l2"]["runs"][0]["error"]
    assert saved["variants"]["dropout"]["status"] == "pending"
    assert "simulated crash" in (tmp_path / "l2" / "seed0" / "error.txt").read_text()

    # "record" carries on after a failure (both fail here, so nothing trains)
    report = compare(["l2", "bn+l2"], model=_fragile_cnn, on_error="record", **QUICK)
    assert [report.status(v) for v in ("l2", "bn+l2")] == ["failed", "failed"]
    assert report.complete
    assert report.config["model"] == "_fragile_cnn"


def test_an_interrupted_run_resumes_and_repeats_the_uninterrupted_run(tmp_path):
    import keras

    from regkit import compare

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:  # after the backup of epoch 2 (extra callbacks run last)
                raise KeyboardInterrupt

    # dropout, augmentation and shuffling: every kind of training randomness
    quick = {**QUICK, "epochs": 3, "run_eagerly": True, "augment": True}
    whole = compare(["all"], out_dir=tmp_path / "whole", **quick).runs[0]
    out = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        compare(["all"], callbacks=[Interrupt()], out_dir=out, **quick)
    assert (out / "all" / "seed0" / "backup").is_dir()
    report = compare(["all"], out_dir=out, **quick)
    run = report.runs[0]
    assert run.status == whole.status and run.origin == "resumed"  # the same verdict
    assert run.epochs_run == 3  # epochs 1-2 from the first attempt's log, 3 resumed
    assert run.history == whole.history  # bit for bit: each epoch's randomness is (seed, epoch)
    assert (run.test_accuracy, run.weight_norm) == (whole.test_accuracy, whole.weight_norm)
    assert not (out / "all" / "seed0" / "backup").exists()
    assert "Resumed after an interruption: all seed 0." in report.to_markdown()


def test_compare_on_a_mocked_tfds_set_needs_and_uses_image_size():
    import tensorflow_datasets as tfds

    from regkit import compare
    from regkit.data import Augment

    common = {**QUICK, "dataset": "imagenette/160px", "download": True, "run_eagerly": True}
    with tfds.testing.mock_data(num_examples=6):  # never the network
        with pytest.raises(ValueError, match=r"argument `image_size`.*vary in size"):
            compare(["baseline"], **common)
        report = compare(
            {"basic": "baseline", "regularized": "dropout"},
            image_size=16,
            augment=Augment.seed001(),  # rot90 needs the square size
            **common,
        )
    assert [report.status(v) for v in ("basic", "regularized")] == ["ok", "ok"]
    assert report.config["input_shape"] == [16, 16, 3]
    assert report.config["augment"]["rot90"] is True
