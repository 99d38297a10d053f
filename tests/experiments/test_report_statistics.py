"""report.json and report.md say how far the figures can be trusted: 95% intervals over
seeds and the paired comparison with the reference, checked against hand computations."""

from __future__ import annotations

import math

import pytest

from regkit.experiments.results import Report, RunResult, Variant

T_975_DF2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))  # Student t, 2 degrees of freedom


def _run(variant, seed, val, test, *, train=None, epochs=4):
    train = val + 0.02 if train is None else train
    history = {
        "loss": [1.0 - 0.1 * e for e in range(epochs)],
        "val_loss": [1.1 - 0.1 * e for e in range(epochs)],
        "accuracy": [train - 0.01 * (epochs - 1 - e) for e in range(epochs)],
        "val_accuracy": [val - 0.01 * (epochs - 1 - e) for e in range(epochs)],
    }
    return RunResult.from_history(variant, seed, history, test_accuracy=test)


def _report(seeds=(0, 1, 2)):
    ref_test = [0.90, 0.92, 0.94]
    all_test = [0.92, 0.93, 0.97]
    runs = []
    for i, seed in enumerate(seeds):
        runs.append(_run("baseline", seed, 0.90 + 0.01 * i, ref_test[i]))
        runs.append(_run("all", seed, 0.93 + 0.01 * i, all_test[i]))
    return Report(
        variants={"baseline": Variant("baseline"), "all": Variant("all")},
        runs=runs,
        seeds=seeds,
        config={"model": "cnn", "dataset": "digits", "num_classes": 10},
    )


def test_report_json_intervals_and_paired_comparison_by_hand():
    data = _report().to_dict()["variants"]
    # test accuracy of the reference: 0.90, 0.92, 0.94 -> mean 0.92, s = 0.02
    half = T_975_DF2 * 0.02 / math.sqrt(3)
    assert data["baseline"]["ci95"]["test_accuracy"] == pytest.approx([0.92 - half, 0.92 + half])
    assert set(data["baseline"]["ci95"]) >= {"val_accuracy", "generalization_gap", "params"}
    assert "vs_reference" not in data["baseline"]
    # all - baseline per seed: 0.02, 0.01, 0.03 -> mean 0.02, s = 0.01, t = 2 sqrt(3)
    paired = data["all"]["vs_reference"]
    t = 2 * math.sqrt(3)
    assert paired["metric"] == "test_accuracy"
    assert paired["reference"] == "baseline"
    assert paired["mean_diff"] == pytest.approx(0.02)
    half = T_975_DF2 * 0.01 / math.sqrt(3)
    assert paired["ci95"] == pytest.approx([0.02 - half, 0.02 + half])
    assert paired["p_value"] == pytest.approx(1 - t / math.sqrt(2 + t**2))  # 0.0742


def test_report_md_says_plainly_when_a_difference_is_not_distinguishable():
    markdown = _report().to_markdown()
    assert "## Statistics over seeds" in markdown
    assert "0.9200 [0.8703, 0.9697]" in markdown  # the reference's test accuracy
    row = next(
        line for line in markdown.splitlines() if line.startswith("| all ") and "p =" in line
    )
    assert "+0.0200 [-0.0048, +0.0448], p = 0.0742: not distinguishable from zero at 3 seeds" in row


def test_one_seed_says_no_interval_can_be_given():
    report = _report(seeds=(0,))
    data = report.to_dict()["variants"]
    assert data["baseline"]["ci95"]["test_accuracy"] is None
    assert data["all"]["vs_reference"]["ci95"] is None
    assert data["all"]["vs_reference"]["p_value"] is None
    assert data["all"]["vs_reference"]["mean_diff"] == pytest.approx(0.02)
    assert "One seed: no confidence interval can be given" in report.to_markdown()


def test_a_distinguishable_difference_is_called_so():
    runs = []
    for seed in range(4):
        runs.append(_run("baseline", seed, 0.8, 0.80 + 0.05 * seed))
        runs.append(_run("better", seed, 0.8, 0.81 + 0.05 * seed + 0.001 * seed))
    report = Report(variants={"baseline": "baseline", "better": "l2"}, runs=runs, seeds=range(4))
    assert report.to_dict()["variants"]["better"]["vs_reference"]["ci95"][0] > 0
    assert ": higher than the reference" in report.to_markdown()


def test_runs_carry_warnings_in_json_and_the_status_says_so():
    runs = [_run("baseline", 0, 0.9, 0.9)]
    stuck = {
        "loss": [2.3] * 5,
        "val_loss": [2.3] * 5,
        "accuracy": [0.1] * 5,
        "val_accuracy": [0.1] * 5,
        "reg_loss_share": [0.95] * 5,
    }
    runs.append(RunResult.from_history("l2=1e3", 0, stuck, test_accuracy=0.1))
    report = Report(
        variants={"baseline": "baseline", "l2=1e3": {"l2": 1e3}},
        runs=runs,
        config={"num_classes": 10},
    )
    data = report.to_dict()["variants"]
    assert data["baseline"]["runs"][0]["warnings"] == []
    warnings = data["l2=1e3"]["runs"][0]["warnings"]
    assert [w.split(":")[0] for w in warnings] == [
        "penalty is 95% of the loss at the best epoch",
        "training accuracy 0.10 after 5 epochs is chance level (1/10 = 0.10)",
    ]
    assert data["l2=1e3"]["status"] == "ok"  # the JSON status keeps its meaning
    markdown = report.to_markdown()
    assert "| ok, 2 warnings" in markdown  # ... but the table never says `ok` alone
    assert "## Warnings" in markdown
    assert "- **l2=1e3**, seed 0: penalty is 95% of the loss" in markdown
    assert "ok, 2 warnings" in str(report)
    again = Report.from_dict(report.to_dict())
    assert again.to_dict()["variants"]["l2=1e3"]["runs"][0]["warnings"] == warnings


def test_the_terminal_table_fits_a_terminal_and_the_markdown_keeps_every_figure():
    report = _report()
    text = str(report)
    assert max(len(line) for line in text.splitlines()) <= 110
    assert "0.9200±0.0200" in text  # test accuracy of the reference, mean ± std
    markdown = report.to_markdown()
    assert "Weight norm" in markdown and "Weight norm" not in text
