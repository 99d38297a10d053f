"""A run that trained several epochs and learned nothing is `collapsed`, not `ok`: the
verdict (exact binomial test against the validation split's majority class), its warning
naming the likely cause, and how reports count collapsed runs apart from ok."""

from __future__ import annotations

import json

import pytest

from regkit.experiments.report.analysis import collapse_figures, is_collapsed, set_verdict
from regkit.experiments.report.results import Report, RunResult

MAJORITY, EXAMPLES = 0.101, 360  # ten digit classes, 360 validation images


def _crushed(variant="l2=0.1", seed=0, epochs=5, val=0.103):
    """An L2 run whose penalty crushed the weights: share high at first, then tiny."""
    history = {
        "loss": [2.6, 2.35, 2.31, 2.303, 2.3026][:epochs],
        "val_loss": [2.4, 2.31, 2.304, 2.3027, 2.3026][:epochs],
        "accuracy": [0.11, 0.10, 0.10, 0.10, 0.10][:epochs],
        "val_accuracy": [0.09, val, 0.10, 0.10, 0.10][:epochs],
        "reg_loss_share": [0.62, 0.2, 0.01, 0.001, 0.00046][:epochs],
        "dense_kernel_norm": [20.0, 4.0, 0.9, 0.3, 0.14][:epochs],
    }
    return RunResult.from_history(variant, seed, history, test_accuracy=0.1, weight_norm=0.14)


def _healthy(variant="baseline", seed=0, test=0.95):
    history = {
        "loss": [1.5, 0.6, 0.3, 0.2, 0.15],
        "val_loss": [1.2, 0.5, 0.3, 0.25, 0.24],
        "accuracy": [0.6, 0.85, 0.92, 0.95, 0.96],
        "val_accuracy": [0.65, 0.86, 0.91, 0.93, 0.94],
        "reg_loss_share": [0.1, 0.1, 0.1, 0.1, 0.1],
    }
    return RunResult.from_history(variant, seed, history, test_accuracy=test, weight_norm=20.0)


def _judged(run, majority=MAJORITY, examples=EXAMPLES):
    return set_verdict(
        run, val_majority=majority, val_examples=examples, prediction_share=lambda: 1.0
    )


def test_a_run_no_better_than_the_majority_class_is_collapsed_with_its_cause():
    run = _judged(_crushed())
    assert run.status == "collapsed"
    assert (run.val_majority, run.val_examples, run.prediction_share) == (MAJORITY, EXAMPLES, 1.0)
    figures = collapse_figures(run, num_classes=10, optimizer="adam")
    assert figures["reg_loss_share"] == 0.62  # the largest share over the epochs
    assert (figures["initial_weight_norm"], figures["weight_norm"]) == (20.0, 0.14)
    report = Report(
        variants={"l2=0.1": {"l2": 0.1}},
        runs=[run],
        config={"num_classes": 10, "optimizer": "adam"},
    )
    (warning, *_) = report.to_dict()["variants"]["l2=0.1"]["runs"][0]["warnings"]
    assert warning.startswith(
        "collapsed: the best validation accuracy (0.103) after 5 epochs is no better than "
        "always answering the most frequent class (0.101 of 360 validation examples)"
    )
    assert "the penalty dominates the loss (L2 too strong): penalty share 62%" in warning
    assert "weight norm 20 -> 0.14" in warning and "adaptive optimizer (Adam)" in warning


def test_short_runs_learners_and_unmeasured_runs_are_not_collapsed():
    assert _judged(_crushed(epochs=2)).status == "ok"  # 1-2 epochs: not learned *yet*
    assert _judged(_healthy()).status == "ok"
    # 54 right of 360 where the majority class gives 36: better than chance, p < 0.001
    assert _judged(_crushed(val=0.15)).status == "ok"
    # without the validation figures (a report from before the verdict) nothing changes
    run = _crushed()
    assert not is_collapsed(run) and run.status == "ok"
    diverged = _crushed()
    diverged.status = "diverged"
    assert _judged(diverged).status == "diverged"


def test_reports_count_collapsed_runs_apart_and_keep_their_figures(tmp_path):
    runs = []
    for seed in range(3):
        runs.append(_healthy("baseline", seed, test=0.95 + 0.01 * seed))
        l2 = _healthy("l2", seed, test=0.9 + 0.01 * seed) if seed < 2 else _crushed("l2", seed)
        runs.append(_judged(l2))
    report = Report(
        variants={"baseline": "baseline", "l2": {"l2": 0.1}},
        runs=runs,
        seeds=(0, 1, 2),
        config={
            "num_classes": 10,
            "sweep": {"fields": ["l2"], "variants": {"l2": {"base": "x", "values": {"l2": 0.1}}}},
        },
    )
    assert report.status("l2") == "ok 2, collapsed 1"
    assert report.status("baseline") == "ok"
    markdown = report.to_markdown()
    assert "| ok 2, collapsed 1, " in markdown  # the table's status cell, with warnings
    assert "| 2/3 ok, 1 collapsed |" in markdown  # the sweep table
    assert "ok 2, collapsed 1" in str(report)
    # the collapsed seed's figures count (they were measured): mean over three seeds
    summary = report.summary()["l2"]
    assert summary["mean"]["test_accuracy"] == pytest.approx((0.9 + 0.91 + 0.1) / 3)
    report.save(tmp_path, plots=False)
    data = json.loads((tmp_path / "report.json").read_text())
    assert [r["status"] for r in data["variants"]["l2"]["runs"]] == ["ok", "ok", "collapsed"]
    again = Report.from_json(tmp_path / "report.json")
    assert again.status("l2") == "ok 2, collapsed 1"
    assert again.runs_for("l2")[2].val_examples == EXAMPLES


def test_a_collapsed_runs_penalty_share_is_shown_as_measured_not_as_zero():
    """At the best epoch the crushed weights leave a penalty of 0.046% of the loss: the
    table says so, and the warning gives the share before the collapse (62%)."""
    report = Report(variants={"l2=0.1": {"l2": 0.1}}, runs=[_judged(_crushed())])
    lines = report.to_markdown().splitlines()
    row = next(line for line in lines if line.startswith("| l2=0.1"))
    assert " 0.046 |" in row and " 0.0 |" not in row  # percent, said once in the header
    assert any("Reg. loss share %" in line for line in lines)
    assert "0.046" in str(report)


def test_a_collapsing_l2_variant_trains_to_status_collapsed(tmp_path, capsys):
    """Trained for real: L2 = 0.1 under Adam (learning rate 0.01) on digits crushes a tiny
    CNN's weights within a few epochs (norm 2.8 -> 0.18 over epochs 1-5); report.json
    and report.md say `collapsed` and why; compare returns normally (CLI exit code 0)."""
    from regkit.experiments import compare

    report = compare(
        "crushed:l2=0.1+learning_rate=0.01",
        epochs=5,
        limit=200,
        batch_size=16,
        model_kwargs={"filters": (8,), "dense_units": (16,)},
        out_dir=tmp_path,
        plots=False,
    )
    (run,) = report.runs
    assert run.status == "collapsed", run.history.get("val_accuracy")
    assert run.prediction_share is not None and run.val_examples
    data = json.loads((tmp_path / "report.json").read_text())
    entry = data["variants"]["crushed"]
    assert entry["status"] == "collapsed"
    assert entry["runs"][0]["warnings"][0].startswith("collapsed: the best validation accuracy")
    # the cause named from the measured figures: the weights shrank far below where they
    # started (the runner records the norm before training), so the penalty is named
    assert run.initial_weight_norm and run.weight_norm < 0.05 * run.initial_weight_norm
    assert "likely cause: the penalty dominates the loss" in entry["runs"][0]["warnings"][0]
    markdown = (tmp_path / "report.md").read_text()
    assert "| collapsed, " in markdown
    assert "- **crushed**, seed 0: collapsed: " in markdown
    assert "(collapsed)" in capsys.readouterr().out
