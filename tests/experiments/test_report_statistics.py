"""report.json and report.md say how far the figures can be trusted: 95% intervals over
seeds and the paired comparison with the reference, checked against hand computations."""

from __future__ import annotations

import math

import pytest

from regkit.experiments.report.results import Report, RunResult, Variant

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


def _logit_interval(values):
    """The Student-t interval on the logit scale, mapped back into (0, 1), by hand."""
    logits = [math.log(v / (1 - v)) for v in values]
    centre = sum(logits) / len(logits)
    s = math.sqrt(sum((x - centre) ** 2 for x in logits) / (len(logits) - 1))
    half = T_975_DF2 * s / math.sqrt(len(logits))
    return [1 / (1 + math.exp(-(centre - half))), 1 / (1 + math.exp(-(centre + half)))]


def test_report_json_intervals_and_paired_comparison_by_hand():
    data = _report().to_dict()["variants"]
    # test accuracy of the reference: 0.90, 0.92, 0.94, an accuracy: the interval is taken
    # on the logit scale so that it stays inside [0, 1]
    expected = _logit_interval([0.90, 0.92, 0.94])
    assert data["baseline"]["ci95"]["test_accuracy"] == pytest.approx(expected)
    assert 0.85 < expected[0] < 0.92 < expected[1] < 0.96
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
    assert paired["p_adjusted"] is None  # one comparison: nothing to adjust for
    assert paired["detectable"] == pytest.approx(half)  # the interval's half-width
    assert paired["seeds_needed"] == 4  # 0.02 > t(3) * 0.01 / 2 = 0.0159, not at 3 seeds


def test_report_md_says_plainly_when_a_difference_is_not_distinguishable():
    markdown = _report().to_markdown()
    assert "## Statistics over seeds" in markdown
    lo, hi = _logit_interval([0.90, 0.92, 0.94])
    assert f"92.00 [{100 * lo:.2f}, {100 * hi:.2f}]" in markdown  # the reference's, in %
    row = next(
        line for line in markdown.splitlines() if line.startswith("| all ") and "p =" in line
    )
    assert "+2.00 [-0.48, +4.48], p = 0.0742: not distinguishable from zero at 3 seeds" in row
    # ... and how blind the study was (in percentage points, as the whole table)
    assert "(could detect differences of about 2.5; about 4 seeds would resolve 2)" in row


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
    lo, hi = _logit_interval([0.90, 0.92, 0.94])  # the reference's test accuracy, in %
    assert f"92.0 [{100 * lo:.1f}, {100 * hi:.1f}]" in text and "±" not in text
    markdown = report.to_markdown()
    assert "Weight norm" in markdown and "Weight norm" not in text


def _spread_report():
    """Three variants, four seeds, with figures that spread widely near their bounds."""
    runs = []
    tests = {"baseline": [0.55, 0.99, 0.70, 0.97], "a": [0.60, 0.99, 0.75, 0.98]}
    tests["b"] = [0.562, 0.993, 0.705, 0.976]
    for name, values in tests.items():
        for seed, test in enumerate(values):
            val = min(test + 0.005, 0.999)
            run = _run(name, seed, val, test, train=min(val + 0.01, 1.0))
            run.weight_norm = [0.2, 9.0, 0.1, 0.4][seed]
            run.wall_time = [0.5, 40.0, 1.0, 0.7][seed]
            run.test_loss = [0.01, 3.0, 0.02, 0.05][seed]
            runs.append(run)
    return Report(variants={n: "baseline" for n in tests}, runs=runs, seeds=range(4))


def test_every_interval_stays_inside_its_metrics_range():
    from regkit.experiments.report.stats import METRIC_BOUNDS, ci95

    variants = _spread_report().to_dict()["variants"]
    seen = 0
    for entry in variants.values():
        # the plain t-interval of these norms, times and losses goes below 0
        assert ci95([0.2, 9.0, 0.1, 0.4])[0] < 0
        for metric, interval in entry["ci95"].items():
            if interval is None:
                continue
            lo, hi = METRIC_BOUNDS[metric]
            assert lo is None or interval[0] >= lo, (metric, interval)
            assert hi is None or interval[1] <= hi, (metric, interval)
            seen += 1
        assert entry["ci95"]["weight_norm"][0] > 0
        assert entry["ci95"]["test_accuracy"][1] < 1
    assert seen >= 3 * 10


def test_epoch_counts_stay_within_the_epochs_the_study_trained():
    from regkit.experiments.report.stats import ci95

    runs = []
    for seed, best in enumerate([8, 2, 8, 3]):
        run = _run("baseline", seed, 0.9, 0.9, epochs=8)
        run.best_epoch = best
        runs.append(run)
    config = {"model": "cnn", "dataset": "digits", "num_classes": 10, "epochs": 8}
    report = Report(variants={"baseline": Variant("baseline")}, runs=runs, config=config)
    assert ci95([8, 2, 8, 3])[1] > 8  # the plain t-interval claims a 10th epoch
    lo, hi = report.to_dict()["variants"]["baseline"]["ci95"]["best_epoch"]
    assert 0 <= lo < 5.25 < hi <= 8


def test_vs_reference_carries_holm_adjusted_p_values_and_the_words_follow_them():
    from regkit.experiments.report.stats import paired_difference

    report = _spread_report()
    variants = report.to_dict()["variants"]
    ref = [0.55, 0.99, 0.70, 0.97]
    raw = {
        "a": paired_difference(ref, [0.60, 0.99, 0.75, 0.98]).p_value,
        "b": paired_difference(ref, [0.562, 0.993, 0.705, 0.976]).p_value,
    }
    # Holm by hand over two comparisons: the smaller p times 2, the larger times 1, monotone
    small, large = sorted(raw, key=raw.get)
    expected = {small: min(1, 2 * raw[small])}
    expected[large] = max(expected[small], min(1, raw[large]))
    for name in ("a", "b"):
        paired = variants[name]["vs_reference"]
        assert paired["p_value"] == pytest.approx(raw[name])
        assert paired["p_adjusted"] == pytest.approx(expected[name])
        assert paired["detectable"] > 0 and paired["seeds_needed"] >= 2
    # b's p-value alone is below 0.05 (its differences are steady), Holm's is not
    assert raw["b"] < 0.05 <= expected["b"]
    lines = report.to_markdown().splitlines()
    row = next(line for line in lines if line.startswith("| b ") and "p =" in line)
    assert "not distinguishable from zero at 4 seeds after Holm's adjustment" in row
    assert f"(Holm {expected['b']:.3g})" in row
