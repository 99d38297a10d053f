"""Tests for regkit.experiments.report.results: RunResult and Report from synthetic histories."""

from __future__ import annotations

import json
import math

import pytest

from regkit.experiments import Report, RunResult, Variant


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
    assert "+10.00" in baseline_row  # the gap, in percentage points (0.1)
    assert "69.00" in baseline_row  # test accuracy, in percent (0.69)
    assert "diverged (epoch 2)" in hot_row
    assert "diverged" not in baseline_row
    assert "cnn on digits" in md


def test_pending_and_partial_reports():
    report = Report(variants={"a": "baseline", "b": "l2"}, runs=[_run("a")], complete=False)
    assert report.status("b") == "pending"
    assert "Partial report" in report.to_markdown()
    assert "pending" in str(report)


def test_a_finished_study_says_incomplete_only_where_seeds_were_planned_and_not_run():
    runs = [_run("a", s) for s in (0, 1, 2)] + [_run("b", s) for s in (0, 1)]
    fixed = Report(variants={"a": "baseline", "b": "l2"}, runs=runs, seeds=(0, 1, 2), complete=True)
    assert fixed.status("b") == "incomplete (2/3 seeds)"  # a fixed study planned 3 for each
    # an adaptive study stops a variant once it is decided: fewer seeds is the plan there
    design = {"looks": [2, 3], "alpha": 0.05, "margin": 0.005}
    adaptive = Report(
        variants={"a": "baseline", "b": "l2"},
        runs=runs,
        seeds=(0, 1, 2),
        complete=True,
        config={"design": design},
    )
    assert adaptive.status("b") == "ok"
    assert adaptive.status("a") == "ok"


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
    from regkit.experiments.report.analysis import interval

    lo, hi = interval([0.9, 1.0], "train_accuracy")  # the 95 % CI, not the std
    markdown = report.to_markdown()
    assert f"95.00 [{100 * lo:.2f}, {100 * hi:.2f}]" in markdown and "±" not in markdown
    assert "mean over seeds 0, 1, 2 with its 95 % CI in brackets" in markdown  # said once


def test_failed_run_reports_its_error():
    report = Report(variants={"a": "baseline"}, runs=[RunResult.failed("a", 0, MemoryError("oom"))])
    assert report.status("a") == "failed"
    assert "failed: MemoryError: oom" in report.to_markdown()


def test_report_files_are_readable_by_others(tmp_path):
    report = _report()
    report.save(tmp_path, plots=False)
    for name in ("report.json", "report.md"):
        assert (tmp_path / name).stat().st_mode & 0o044  # not a 0600 temp file
    assert not list(tmp_path.glob(".*tmp"))


def test_the_notes_say_which_weights_averaging_variants_report():
    from regkit import Regularization

    plain = Report(variants={"baseline": Variant()}, runs=[_run()])
    assert "averag" not in plain.to_markdown().lower()
    variants = {
        "baseline": Variant(),
        "ema": Variant(Regularization(ema=0.9)),
        "swa": Variant(Regularization(swa=0.5)),
        "both": Variant(Regularization(ema=0.9, swa=0.5)),
    }
    runs = [_run(name) for name in variants]
    notes = [
        line
        for line in Report(variants=variants, runs=runs).to_markdown().splitlines()
        if "averag" in line
    ]
    ema_note = next(line for line in notes if "EMA" in line)
    swa_note = next(line for line in notes if "SWA" in line)
    assert "ema, both" in ema_note and "validation" in ema_note
    assert "swa, both" in swa_note and "training weights" in swa_note
