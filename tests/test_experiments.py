"""Tests for regkit.experiments: Report from synthetic histories, argument checks, compare()."""

from __future__ import annotations

import json
import math
import re

import pytest

from regkit.config import Regularization
from regkit.experiments import Report, RunResult, Variant, _coerce_variants


def _history(loss, val_loss, acc, val_acc, **extra):
    return {"loss": loss, "val_loss": val_loss, "accuracy": acc, "val_accuracy": val_acc, **extra}


def _run(variant="baseline", seed=0, **kwargs):
    history = _history(
        [1.0, 0.5, 0.2], [1.2, 0.8, 0.9], [0.6, 0.8, 0.95], [0.5, 0.7, 0.72], **kwargs
    )
    return RunResult.from_history(
        variant, seed, history, params=1000, test_accuracy=0.69, weight_norm=3.0, wall_time=1.5
    )


# ---------------------------------------------------------------------------- RunResult
def test_run_result_takes_figures_at_lowest_val_loss():
    run = _run(reg_loss_share=[0.3, 0.2, 0.1])
    assert run.status == "ok"
    assert run.epochs_run == 3
    assert run.best_epoch == 2  # val_loss 0.8
    assert run.train_accuracy == pytest.approx(0.8)
    assert run.val_accuracy == pytest.approx(0.7)
    assert run.generalization_gap == pytest.approx(0.1)
    assert run.train_loss == pytest.approx(0.5)
    assert run.val_loss == pytest.approx(0.8)
    assert run.reg_loss_share == pytest.approx(0.2)
    assert run.test_accuracy == pytest.approx(0.69)


def test_run_result_nan_loss_is_diverged_and_best_epoch_precedes_it():
    history = _history(
        [1.0, 0.7, math.nan], [1.1, 0.9, math.nan], [0.5, 0.6, 0.1], [0.4, 0.55, 0.1]
    )
    run = RunResult.from_history("hot", 0, history, params=10, test_accuracy=math.nan)
    assert run.status == "diverged"
    assert run.diverged_epoch == 3
    assert run.best_epoch == 2
    assert run.test_accuracy is None  # NaN never reaches a report


def test_run_result_diverged_in_first_epoch_has_no_figures():
    run = RunResult.from_history("hot", 0, _history([math.inf], [math.nan], [0.1], [0.1]))
    assert run.status == "diverged"
    assert run.best_epoch is None
    assert run.generalization_gap is None


def test_run_result_weight_norm_history_is_global_norm_of_layer_norms():
    run = _run(a_kernel_norm=[3.0, 3.0, 6.0], b_kernel_norm=[4.0, 0.0, 8.0])
    assert run.weight_norm_history() == pytest.approx([5.0, 3.0, 10.0])


def test_run_result_rejects_unknown_status():
    with pytest.raises(ValueError, match="Received: status='great'"):
        RunResult("v", 0, status="great")


# ---------------------------------------------------------------------------- variants
def test_variants_from_sequence_and_mapping():
    got = _coerce_variants(["baseline", "all"])
    assert list(got) == ["baseline", "all"]
    assert got["all"].reg == Regularization.preset("all")
    got = _coerce_variants({"mine": Regularization(l2=1e-3), "hot": Variant(learning_rate=5.0)})
    assert got["mine"].reg.l2 == pytest.approx(1e-3)
    assert got["hot"].learning_rate == 5.0
    assert _coerce_variants("baseline, l2") == _coerce_variants(["baseline", "l2"])


def test_variants_errors_name_the_problem():
    with pytest.raises(ValueError, match="expected at least one variant"):
        _coerce_variants([])
    with pytest.raises(ValueError, match=r"unknown variant 'nope'.*baseline, l2, bn"):
        _coerce_variants(["baseline", "nope"])
    with pytest.raises(ValueError, match="unique variant names"):
        _coerce_variants(["l2", "l2"])
    with pytest.raises(ValueError, match="differ after replacing odd characters"):
        _coerce_variants({"a b": "l2", "a_b": "bn"})
    with pytest.raises(ValueError, match="Received: learning_rate=-1"):
        Variant(learning_rate=-1)


# ---------------------------------------------------------------------------- Report
def _report(**kwargs):
    runs = [
        _run("baseline", 0),
        RunResult.from_history(
            "hot", 0, _history([1.0, math.nan], [1.0, math.nan], [0.2, 0.1], [0.2, 0.1])
        ),
    ]
    return Report(
        variants={"baseline": "baseline", "hot": Variant(learning_rate=1e6)},
        runs=runs,
        config={"model": "cnn", "dataset": "digits", "epochs": 3, "batch_size": 8},
        **kwargs,
    )


def test_markdown_has_one_row_per_variant_and_says_diverged():
    md = _report().to_markdown()
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table) == 4  # header, rule, one row per variant
    assert set(table[1]) <= set("|-: ")
    baseline_row = next(line for line in table if line.startswith("| baseline"))
    hot_row = next(line for line in table if line.startswith("| hot"))
    assert "0.1000" in baseline_row  # the gap, +0.1000
    assert "0.6900" in baseline_row  # test accuracy
    assert "diverged (epoch 2)" in hot_row
    assert "diverged" not in baseline_row
    assert "cnn on digits" in md


def test_pending_and_partial_reports():
    report = Report(variants={"a": "baseline", "b": "l2"}, runs=[_run("a")], complete=False)
    assert report.status("b") == "pending"
    assert "Partial report" in report.to_markdown()
    assert "pending" in str(report)


def test_json_round_trip(tmp_path):
    report = _report(seeds=(0,))
    path = report.to_json(tmp_path / "sub" / "report.json")
    data = json.loads(path.read_text())  # strict JSON: NaN became null
    assert data["variants"]["baseline"]["generalization_gap"] == pytest.approx(0.1)
    assert data["variants"]["baseline"]["status"] == "ok"
    assert data["variants"]["hot"]["status"].startswith("diverged")
    assert data["variants"]["hot"]["learning_rate"] == 1e6
    assert data["seeds"] == [0]
    assert data["config"]["model"] == "cnn"
    assert {"regkit", "python", "keras", "tensorflow"} <= set(data["versions"])
    assert data["variants"]["hot"]["runs"][0]["history"]["loss"][1] is None

    back = Report.from_json(path)
    assert back.to_markdown() == report.to_markdown()
    assert back.variants == report.variants
    assert math.isnan(back.runs_for("hot")[0].history["loss"][1])


def test_mean_and_std_over_seeds():
    runs = [
        RunResult.from_history("a", seed, _history([0.5], [0.6], [acc], [0.8]), params=7)
        for seed, acc in ((0, 0.9), (1, 1.0))
    ]
    runs.append(RunResult.from_history("a", 2, _history([math.nan], [math.nan], [0.1], [0.1])))
    report = Report(variants={"a": "all"}, runs=runs, seeds=(0, 1, 2))
    summary = report.summary()["a"]
    assert summary["mean"]["train_accuracy"] == pytest.approx(0.95)
    assert summary["std"]["train_accuracy"] == pytest.approx(math.sqrt(0.005))
    assert summary["mean"]["generalization_gap"] == pytest.approx(0.15)
    assert summary["status"] == "diverged (1/3 seeds)"
    assert "0.9500 ± 0.0707" in report.to_markdown()


def test_failed_run_reports_its_error():
    report = Report(variants={"a": "baseline"}, runs=[RunResult.failed("a", 0, MemoryError("oom"))])
    assert report.status("a") == "failed"
    assert "failed: MemoryError: oom" in report.to_markdown()


def test_plot_writes_curves_and_weight_norms(tmp_path):
    pytest.importorskip("matplotlib")
    report = Report(
        variants={"a": "baseline", "b": "l2"},
        runs=[_run("a", a_kernel_norm=[1.0, 2.0, 3.0]), _run("b", a_kernel_norm=[1.0, 1.0, 1.0])],
    )
    paths = report.plot(tmp_path / "plots")
    assert [p.name for p in paths] == ["curves.png", "weight_norms.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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


BAD_ARGUMENTS = [
    ({"variants": []}, "expected at least one variant"),
    ({"variants": ["baseline", "bogus"]}, "unknown variant 'bogus'"),
    ({"epochs": 0}, "Received: epochs=0"),
    ({"batch_size": -1}, "Received: batch_size=-1"),
    ({"seeds": ()}, "Received: seeds=()"),
    ({"seeds": (1, 1)}, "distinct seeds"),
    ({"model": "resnet"}, "unknown model 'resnet'"),
    ({"optimizer": "adagrad"}, "unknown optimizer 'adagrad'"),
    ({"dataset": "no_such_dataset_xyz"}, "no_such_dataset_xyz"),
    ({"learning_rate": 0.0}, "Received: learning_rate=0.0"),
    ({"bn_momentum": 1.5}, "Received: bn_momentum=1.5"),
    ({"image_size": (0, 8)}, "Received: image_size=(0, 8)"),
    ({"on_error": "ignore"}, "Received: on_error='ignore'"),
]


def test_compare_rejects_bad_arguments_before_training(monkeypatch):
    from regkit import compare, experiments

    def no_training(*args, **kw):
        raise AssertionError("training started")

    monkeypatch.setattr(experiments, "_run_one", no_training)
    for kwargs, message in BAD_ARGUMENTS:  # one test: each test pays a Keras session reset
        kwargs = {"variants": ["baseline"], **kwargs}
        with pytest.raises(ValueError, match=re.escape(message)):
            compare(kwargs.pop("variants"), **kwargs)


def test_out_dir_must_be_a_writable_directory(tmp_path):
    from regkit.experiments import _plan_comparison

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="a directory"):
        _plan_comparison(["baseline"], out_dir=blocker)
    plan = _plan_comparison(["baseline"], out_dir=tmp_path / "new" / "dir")
    assert plan.out_dir.is_dir()


def test_plan_resizes_digits_for_mobilenet_and_sets_bn_momentum():
    from regkit.experiments import _plan_comparison

    plan = _plan_comparison(["baseline", "bn"], model="mobilenet_v2", bn_momentum="auto")
    assert plan.input_shape == (32, 32, 1)
    assert plan.image_size == (32, 32)
    # 1,149 training digits / 32 = 36 steps < 1 / (1 - 0.99) = 100 steps
    assert plan.config["steps_per_epoch"] == 36
    assert plan.variants["bn"].reg.bn_momentum == pytest.approx(0.9)
    assert plan.variants["baseline"].reg == Regularization()
    assert "0.99 -> 0.9" in plan.config["bn_momentum"]
    big = _plan_comparison(["bn"], batch_size=4, bn_momentum="auto")  # 288 steps per epoch
    assert big.variants["bn"].reg.bn_momentum == pytest.approx(0.99)
    fixed = _plan_comparison(["bn", "l2"], bn_momentum=0.5)
    assert fixed.variants["bn"].reg.bn_momentum == 0.5
    assert fixed.variants["l2"].reg.bn_momentum == 0.99  # no BatchNorm: left alone


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    import keras

    from regkit import compare

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:  # after the backup of epoch 2 (extra callbacks run last)
                raise KeyboardInterrupt

    quick = {**QUICK, "epochs": 3, "run_eagerly": True, "out_dir": tmp_path}
    with pytest.raises(KeyboardInterrupt):
        compare(["baseline"], callbacks=[Interrupt()], **quick)
    assert (tmp_path / "baseline" / "seed0" / "backup").is_dir()
    run = compare(["baseline"], **quick).runs[0]
    assert run.status == "ok"
    assert run.epochs_run == 3  # epochs 1-2 from the first attempt's log, 3 resumed
    assert len(run.history["loss"]) == 3
    assert not (tmp_path / "baseline" / "seed0" / "backup").exists()


def test_no_matplotlib_means_no_plots_and_a_warning_before_training(tmp_path, monkeypatch):
    import importlib.util

    from regkit.experiments import _plan_comparison

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a),
    )
    with pytest.warns(UserWarning, match="matplotlib is not installed"):
        plan = _plan_comparison(["baseline"], out_dir=tmp_path)
    assert plan.plots is False


def test_report_files_are_readable_by_others(tmp_path):
    report = _report()
    report.save(tmp_path, plots=False)
    for name in ("report.json", "report.md"):
        assert (tmp_path / name).stat().st_mode & 0o044  # not a 0600 temp file
    assert not list(tmp_path.glob(".*tmp"))


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
