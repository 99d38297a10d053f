"""One unit and one interval convention in every output of a report (issue 32 item 7):
accuracies in percent, the gap and differences in percentage points, the 95 % CI (never a
bare standard deviation), epochs as whole epochs, said once in each output's header; and
the sequential verdicts shown beside the figures where the report has them."""

from __future__ import annotations

import pytest

from regkit.experiments.report import results, tables
from regkit.experiments.report.analysis import interval
from regkit.experiments.report.results import Report, RunResult


def _run(variant, seed, test, best_epoch):
    epochs = 3
    val = [test - 0.05] * epochs
    val[best_epoch - 1] = test
    history = {
        "loss": [1.0 - 0.1 * e for e in range(epochs)],
        "val_loss": [1.0 if e != best_epoch - 1 else 0.5 for e in range(epochs)],
        "accuracy": [test + 0.02] * epochs,
        "val_accuracy": val,
        "cnn_dense_kernel_norm": [30.0 + 0.01 * e + seed for e in range(epochs)],
    }
    return RunResult.from_history(variant, seed, history, test_accuracy=test, params=100)


def _report():
    tests = {"baseline": (0.90, 0.92, 0.94), "l2": (0.905, 0.925, 0.945), "bn": (0.91, 0.95, 0.9)}
    runs = [
        _run(name, seed, values[seed], best_epoch=2 + (seed % 2))
        for seed in range(3)
        for name, values in tests.items()
    ]
    config = {"model": "cnn", "dataset": "digits", "num_classes": 10, "epochs": 3}
    return Report(
        variants={n: "baseline" for n in tests}, runs=runs, seeds=(0, 1, 2), config=config
    )


VERDICTS = {
    "l2": {"verdict": "equivalent", "margin": 0.005},
    "bn": {"verdict": "undecided", "margin": 0.005, "detectable": 0.012, "seeds_to_decide": 5},
}


@pytest.fixture
def with_verdicts(monkeypatch):
    """vs_reference entries as the sequential verdicts give them (verdict, margin, ...)."""
    original = tables.reference_comparisons

    def decided(report):
        comparisons = original(report)
        for name, extra in VERDICTS.items():
            comparisons[name] = {**comparisons[name], **extra}
        return comparisons

    monkeypatch.setattr(tables, "reference_comparisons", decided)
    monkeypatch.setattr(results, "reference_comparisons", decided)


def test_every_text_output_says_percent_and_the_95_ci_once():
    report = _report()
    lo, hi = interval([0.90, 0.92, 0.94], "test_accuracy")
    markdown, terminal, page = report.to_markdown(), str(report), report._repr_html_()
    for text in (markdown, page):
        assert text.count("with its 95 % CI in brackets") == 1  # said once
        assert text.count("percentage points") == 1
        assert f"92.00 [{100 * lo:.2f}, {100 * hi:.2f}]" in text  # the reference's test acc
    assert "Accuracy in %, gap in points; mean [95 % CI] over 3 seeds" in terminal
    assert f"92.0 [{100 * lo:.1f}, {100 * hi:.1f}]" in terminal
    for text in (markdown, terminal, page):
        assert "±" not in text and "0.9200" not in text  # no std, no fraction
    # epochs as epochs: the best epochs 2, 3, 2 over seeds are the range 2-3, not 2.33±0.58
    baseline = next(line for line in terminal.splitlines() if line.startswith("baseline"))
    assert "2-3" in baseline.split()
    assert " 2-3 |" in next(line for line in markdown.splitlines() if line.startswith("| bn "))


def test_frames_are_in_percent_and_say_so():
    pytest.importorskip("pandas")
    frame = _report().to_frame()
    assert frame[frame.variant == "baseline"].test_accuracy.tolist() == pytest.approx([90, 92, 94])
    assert frame.params.tolist()[0] == 100  # counts stay counts
    assert frame.attrs["units"].startswith("accuracies and the penalty share in %")


def test_verdicts_and_the_margin_show_in_report_md_terminal_html_and_frame(with_verdicts):
    report = _report()
    markdown = report.to_markdown()
    lines = [line for line in markdown.splitlines() if line.startswith("| ") and "p = " in line]
    rows = {line.split("|")[1].strip(): line for line in lines}
    assert "Verdict" in markdown
    assert rows["l2"].rstrip(" |").endswith("equivalent")
    assert "undecided (could detect 1.2 points; about 5 more seeds would decide)" in rows["bn"]
    assert markdown.count("±0.50 points") == 1  # the margin, once
    terminal = str(report)
    assert "vs baseline" in terminal and terminal.count("±0.50 points") == 1
    words = {line.split()[0]: line for line in terminal.splitlines()[3:] if line.strip()}
    assert " equivalent " in words["l2"] and " undecided " in words["bn"]
    assert "reference" in words["baseline"]
    page = report._repr_html_()
    assert "<th>Verdict</th>" in page and "<td>equivalent</td>" in page
    if pytest.importorskip("pandas"):
        frame = report.to_frame()
        assert set(frame[frame.variant == "bn"].verdict) == {"undecided"}
        assert frame.attrs["margin"] == pytest.approx(0.5)  # points, once


def test_a_report_without_verdicts_renders_as_before(monkeypatch):
    original = tables.reference_comparisons

    def undecided(report):  # vs_reference entries of a report written before verdicts
        keys = ("verdict", "margin", "seeds_to_decide")
        return {
            name: c and {k: v for k, v in c.items() if k not in keys}
            for name, c in original(report).items()
        }

    monkeypatch.setattr(tables, "reference_comparisons", undecided)
    report = _report()
    assert "Verdict" not in report.to_markdown() and "vs baseline" not in str(report)


def _figures(monkeypatch):
    """The figures plot_report draws, kept instead of saved."""
    import regkit.plots

    kept = {}
    monkeypatch.setattr(
        regkit.plots, "_save_png", lambda fig, path: kept.setdefault(path.name, fig) and path
    )
    return kept


def test_plots_use_percent_and_the_weight_norm_axis_follows_the_norms(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    kept = _figures(monkeypatch)
    _report().plot(tmp_path)
    accuracy = kept["curves.png"].axes[1]
    assert accuracy.get_title() == "Accuracy (%)" and accuracy.get_ylim() == (-2, 102)
    (norms,) = kept["weight_norms.png"].axes
    low, high = norms.get_ylim()  # norms 30.00-32.02: three nearly equal lines stay apart
    assert 29 < low < 30 and high < 34  # not from 0
    (differences,) = kept["differences.png"].axes
    assert "percentage points; mean and 95 % CI over paired seeds" in differences.get_xlabel()
    assert len(differences.patches) == 0  # no margin: no band


def test_differences_png_shows_the_verdicts_and_a_band_for_the_margin(
    tmp_path, monkeypatch, with_verdicts
):
    pytest.importorskip("matplotlib")
    kept = _figures(monkeypatch)
    report = _report()
    assert [row["decision"] for row in report.difference_rows()] == ["equivalent", "undecided"]
    report.plot(tmp_path)
    (ax,) = kept["differences.png"].axes
    (band,) = ax.patches  # the shaded +-margin band, in points
    assert band.get_x() == pytest.approx(-0.5) and band.get_width() == pytest.approx(1.0)
    notes = [text.get_text() for text in ax.texts]
    assert notes[0].startswith("equivalent") and notes[1].startswith("undecided")
    labels = [t.get_text() for t in kept["differences.png"].legends[0].get_texts()]
    assert labels == [
        "better",
        "worse",
        "equivalent",
        "undecided",
        "equivalence margin ±0.50 points",
    ]
