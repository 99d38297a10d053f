"""The report's tuning trail (issue 31) and a budget's early stop (issue 30), with no
training: reports built from RunResults and a config whose ``"tuning"`` is the trail the
run wing writes (`run.halving.select`'s, completed as `run.tuning` completes it).

The trail below is worked by hand: five l2 values, halving rounds of 5, 3 and 2
candidates on 1, 3 and 7 selection seeds (cumulative), and the means each round sees.
"""

from __future__ import annotations

import pytest

from regkit.experiments.report.results import Report, RunResult, Variant
from regkit.experiments.report.tuning_trail import trail_rows, trail_summary
from regkit.experiments.run.halving import halving_rounds, select

VALUES = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
#: Each value's validation accuracy on selection seeds 1000000..1000006.
SCORES = {
    1e-5: [0.90] * 7,
    1e-4: [0.92, 0.93, 0.93, 0.95, 0.95, 0.95, 0.95],  # means 92.00, 92.67, 94.00
    1e-3: [0.93, 0.92, 0.92, 0.90, 0.90, 0.90, 0.90],  # means 93.00, 92.33, 91.00
    1e-2: [0.91, 0.80, 0.80, 0.80, 0.80, 0.80, 0.80],  # means 91.00, 83.67
    1e-1: [0.50] * 7,
}
SELECTION = list(range(1_000_000, 1_000_007))


def _trail(scores, fields, arm):
    """A trail as `run.tuning.tune_arms` records it."""
    trail = select(scores, halving_rounds(len(scores))).as_dict()
    chosen = trail["chosen"]
    values = dict(zip(fields, chosen if isinstance(chosen, tuple) else (chosen,), strict=True))
    label = f"{arm} (tuned={','.join(repr(v) for v in values.values())})"
    trail.update(
        fields=fields,
        selection_seeds=SELECTION,
        metric="val_accuracy",
        chosen_variant="baseline+" + "+".join(f"{f}={v!r}" for f, v in values.items()),
        variant=label,
        chosen=values,
    )
    return trail


L2 = _trail(SCORES, {"l2": VALUES}, "l2")
JOINT_SCORES = {  # l2 x dropout, 4 candidates: rounds of 4 on 1 seed and 2 on 3 seeds
    (1e-4, 0.1): [0.90, 0.90, 0.90],
    (1e-4, 0.3): [0.92, 0.93, 0.93],  # 92.00, then 92.67
    (1e-3, 0.1): [0.93, 0.94, 0.94],  # 93.00, then 93.67: chosen
    (1e-3, 0.3): [0.91, 0.91, 0.91],
}
JOINT = _trail(JOINT_SCORES, {"l2": [1e-4, 1e-3], "dropout": [0.1, 0.3]}, "l2+dropout")


def _run(variant, seed, test):
    history = {
        "loss": [1.0, 0.5],
        "val_loss": [1.1, 0.8],
        "accuracy": [0.9, 0.95],
        "val_accuracy": [0.85, 0.9],
    }
    return RunResult.from_history(variant, seed, history, params=10, test_accuracy=test)


def _report(*, stopped=None, tuning=None):
    """Three variants on seeds 0-2 of a design that looks at 3 and 6 seeds: l2's
    differences (+0.6, -0.4, +0.5 points) leave its verdict open at the first look."""
    tests = {
        "baseline": (0.900, 0.910, 0.920),
        L2["variant"]: (0.906, 0.906, 0.925),
        JOINT["variant"]: (0.700, 0.710, 0.720),  # 20 points below: worse
    }
    regs = [{}, {"l2": 1e-4}, {"l2": 1e-3, "dropout": 0.1}]
    variants = {name: Variant(reg, label=name) for name, reg in zip(tests, regs, strict=True)}
    runs = [_run(name, seed, tests[name][seed]) for seed in range(3) for name in tests]
    design = {"seeds": list(range(6)), "looks": [3, 6], "alpha": 0.05, "margin": 0.002}
    if stopped:
        design["stopped"] = stopped
    config = {"model": "cnn", "dataset": "digits", "epochs": 2, "design": design}
    config["tuning"] = {"l2": L2, "l2+dropout": JOINT} if tuning is None else tuning
    return Report(variants=variants, runs=runs, seeds=(0, 1, 2), config=config)


def test_the_trail_is_the_worked_example():
    assert L2["chosen"] == {"l2": 1e-4} and L2["variant"] == "l2 (tuned=0.0001)"
    assert [r["dropped"] for r in L2["rounds"]] == [[1e-5, 1e-1], [1e-2], [1e-3]]  # best first
    assert [r["seeds"] for r in L2["rounds"]] == [1, 3, 7]
    assert JOINT["chosen"] == {"l2": 1e-3, "dropout": 0.1}


def test_the_table_has_every_candidates_means_per_round_the_drops_and_the_choice():
    assert trail_rows(L2) == [
        ["l2", "Round 1, 1 seed", "Round 2, 3 seeds", "Round 3, 7 seeds", "Outcome"],
        ["1e-05", "90.00", "dropped", "-", "dropped after round 1"],
        ["0.0001", "92.00", "92.67", "94.00", "chosen"],
        ["0.001", "93.00", "92.33", "91.00", "dropped after round 3"],
        ["0.01", "91.00", "83.67", "dropped", "dropped after round 2"],
        ["0.1", "50.00", "dropped", "-", "dropped after round 1"],
    ]
    assert trail_rows(JOINT) == [
        ["l2", "dropout", "Round 1, 1 seed", "Round 2, 3 seeds", "Outcome"],
        ["0.0001", "0.1", "90.00", "dropped", "dropped after round 1"],
        ["0.0001", "0.3", "92.00", "92.67", "dropped after round 2"],
        ["0.001", "0.1", "93.00", "93.67", "chosen"],
        ["0.001", "0.3", "91.00", "dropped", "dropped after round 1"],
    ]


def test_the_rows_agree_with_the_trail_for_any_halving():
    """Each row's drop round is the round whose `dropped` lists it, and only the chosen
    value is marked, whatever the scores (NumPy draws, no training)."""
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(0)
    for n in range(2, 10):
        values = [10.0**-k for k in range(n)]
        scores = {v: list(rng.uniform(0.5, 1.0, 16)) for v in values}
        trail = _trail(scores, {"l2": values}, "l2")
        _, *rows = trail_rows(trail)
        dropped_in = {v: r["round"] for r in trail["rounds"] for v in r["dropped"]}
        for value, row in zip(values, rows, strict=True):
            if value == trail["chosen"]["l2"]:
                assert row[-1] == "chosen" and "dropped" not in row
            else:
                assert row[-1] == f"dropped after round {dropped_in[value] + 1}"
                after = row[1 + dropped_in[value] + 1 : -1]
                assert after[:1] in ([], ["dropped"]) and set(after[1:]) <= {"-"}


def test_report_md_has_a_tuning_section_and_the_terminal_a_line_per_arm():
    report = _report()
    markdown = report.to_markdown()
    section = markdown[markdown.index("## Tuning") :]
    assert "### l2\n" in section and "### l2+dropout\n" in section
    assert "| 0.0001 | " in section and "**chosen**" in section
    assert section.count("Selection seeds: 1000000-1000006 (7 seeds).") == 2
    assert "the choice used validation accuracy only" in section
    assert (
        "l2 (tuned=0.0001) was then compared with baseline on the study's own seeds (0, 1, 2)"
        in section
    )
    terminal = str(report)
    assert "l2: chose l2=0.0001 (val acc 94.0% over 7 seeds; 5 candidates, 3 rounds)" in terminal
    assert trail_summary("l2+dropout", JOINT) in terminal
    page = report._repr_html_()
    assert "Tuning (validation accuracy %, selection seeds)" in page and "<td>94.00</td>" in page
    # report.json keeps the trail: read back, the report shows the same section
    again = Report.from_dict(report.to_dict())
    assert again.to_markdown().split("## Tuning")[1] == markdown.split("## Tuning")[1]


def test_a_report_without_a_readable_trail_has_no_tuning_section():
    damaged = {"l2": {**L2, "rounds": [{"candidates": [1e-4], "mean_val_accuracy": ["x"]}]}}
    for tuning in ({}, damaged, {"l2": None}):
        report = _report(tuning=tuning)
        assert "## Tuning" not in report.to_markdown() and "chose" not in str(report)
    report = _report()
    report.config["tuning"] = None  # a selection study's own report
    assert "## Tuning" not in report.to_markdown()


def test_tuning_png_has_one_axes_per_tuned_field_and_marks_the_choice(tmp_path):
    pytest.importorskip("matplotlib")
    from regkit.plots import plot_report
    from regkit.plots.tuning import tuning_figure

    written = plot_report(_report(), tmp_path)
    assert (tmp_path / "tuning.png") in written
    assert (tmp_path / "tuning.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = tuning_figure(_report().config["tuning"])
    l2, joint_l2, dropout = fig.axes  # l2; then l2 and dropout of the joint arm
    assert [ax.get_xlabel() for ax in fig.axes] == ["l2 (log scale)", "l2", "dropout"]
    assert l2.get_xscale() == "log"  # 1e-5 .. 0.1: positive, a factor 10,000
    assert joint_l2.get_xscale() == "linear"  # 1e-4 .. 1e-3: a factor 10, not more

    def stars(ax):
        found = [line for line in ax.get_lines() if line.get_marker() == "*"]
        return [(x, y) for s in found for x, y in zip(s.get_xdata(), s.get_ydata(), strict=True)]

    assert stars(l2) == [(1e-4, pytest.approx(94.0))]  # the chosen value, its last mean
    assert stars(dropout) == [(0.1, pytest.approx(93.67, abs=0.01))]  # the joint choice
    # one point per candidate per round: 5 + 3 + 2, the dropped ones hollow
    points = [line for line in l2.get_lines() if line.get_marker() in ("o", "s", "D")]
    assert len(points) == 10
    hollow = sorted(float(p.get_xdata()[0]) for p in points if p.get_markerfacecolor() == "none")
    assert hollow == [1e-5, 1e-3, 1e-2, 1e-1]
    labels = [t.get_text() for t in l2.get_legend().get_texts()]
    assert labels[:3] == [
        "round 1: mean over 1 seed",
        "round 2: mean over 3 seeds",
        "round 3: mean over 7 seeds",
    ]
    assert tuning_figure({}) is None and tuning_figure(None) is None


def test_a_budget_stop_is_said_in_the_notes_and_beside_each_open_verdict():
    stop = "the budget of 40 runs is spent (40 runs)"
    report = _report(stopped=stop)
    comparisons = report.comparisons()
    assert comparisons[L2["variant"]]["verdict"] == "undecided"
    assert comparisons[JOINT["variant"]]["verdict"] == "worse"
    markdown = report.to_markdown()
    assert f"- **Stopped early:** {stop}; the verdicts still open stay undecided" in markdown
    rows = [line for line in markdown.splitlines() if "p = " in line]  # the verdicts' table
    row = next(line for line in rows if line.startswith("| l2 (tuned"))
    assert "| undecided (budget spent; could detect " in row  # then what it could detect
    worse = next(line for line in rows if line.startswith("| l2+dropout"))
    assert "budget" not in worse and worse.rstrip(" |").endswith("worse")  # decided: as it was
    terminal = str(report)
    assert f"Stopped early: {stop}; open verdicts stay undecided." in terminal
    line = next(line for line in terminal.splitlines() if line.startswith("l2 (tuned"))
    assert "undecided (budget spent)" in line
    assert "undecided (budget spent" in report._repr_html_()
    plain = _report()  # the same report, not stopped: no budget words
    for text in (plain.to_markdown(), str(plain), plain._repr_html_()):
        assert "budget spent" not in text and "Stopped early" not in text


def test_candidates_that_score_alike_on_every_seed_are_a_tie_said_as_one():
    # SWA's validation figures are of the training weights, and an EMA decay its warm-up
    # never reaches changes nothing: every candidate then scores the very same accuracies
    alike = {share: [0.8363, 0.8402, 0.8391] for share in (0.1, 0.25, 0.5, 0.75)}
    trail = _trail(alike, {"swa": [0.1, 0.25, 0.5, 0.75]}, "swa")
    assert trail["tied"] is True and trail["chosen"] == {"swa": 0.1}  # the smallest, by rule
    line = trail_summary("swa", trail)
    assert line.endswith("every candidate scored the same: kept by the tie rule, not tuned")
    # one seed apart is a measurement, not a tie
    apart = {**alike, 0.5: [0.8362, 0.8402, 0.8391]}
    assert select(apart, halving_rounds(4)).as_dict()["tied"] is False
    assert "tie rule" not in trail_summary("l2", L2) and L2["tied"] is False
    report = _report(tuning={"swa": trail})
    assert "every candidate scored the same" in report.to_markdown().split("## Tuning")[1]
