"""Tests for regkit.plots: real PNG files from every kind of history, and from reports."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from regkit.plots import load_history, plot_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _read_png(path):
    import matplotlib.image

    assert path.read_bytes()[:8] == PNG_MAGIC
    return matplotlib.image.imread(path)


HISTORY = {
    "loss": [1.2, 0.8, 0.6],
    "val_loss": [1.3, 0.9, 0.8],
    "accuracy": [0.5, 0.7, 0.8],
    "val_accuracy": [0.45, 0.6, 0.7],
    "learning_rate": [1e-3, 1e-3, 5e-4],
}


def test_dict_history_gives_a_two_panel_png(tmp_path):
    out = plot_history(HISTORY, tmp_path / "sub" / "h.png", title="two panels")
    assert out == tmp_path / "sub" / "h.png"
    image = _read_png(out)
    assert image.shape == (400, 1000, 4)  # 2 panels of 5x4 inches at 100 dpi
    assert image[..., :3].std() > 0.05  # something was drawn


def test_kernel_norms_add_a_third_panel(tmp_path):
    history = dict(HISTORY, conv1_kernel_norm=[3.0, 2.9, 2.7], dense_kernel_norm=[5, 5.1, 5.3])
    image = _read_png(plot_history(history, tmp_path / "h.png"))
    assert image.shape == (400, 1500, 4)


def test_loss_only_history_has_one_panel(tmp_path):
    image = _read_png(plot_history({"loss": [1.0, 0.5]}, tmp_path / "h.png"))
    assert image.shape == (400, 500, 4)


def test_keras_history_and_csv_logger_file(tmp_path):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax", name="out")]
    )
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = np.arange(8) % 3
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=4,
        validation_data=(x, y),
        verbose=0,
        callbacks=[keras.callbacks.CSVLogger(str(csv_path))],
    )
    assert _read_png(plot_history(history, tmp_path / "fit.png")).shape == (400, 1000, 4)
    epochs, series = load_history(csv_path)
    assert epochs == [1, 2]
    np.testing.assert_allclose(series["loss"], history.history["loss"], rtol=1e-6)
    assert _read_png(plot_history(str(csv_path), tmp_path / "csv.png")).shape == (400, 1000, 4)


def test_plotting_leaves_no_pyplot_figure_open(tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_history(HISTORY, tmp_path / "h.png")
    assert plt.get_fignums() == before


def test_bad_histories_raise(tmp_path):
    with pytest.raises(ValueError, match="a 'loss' series"):
        plot_history({"accuracy": [0.5]}, tmp_path / "h.png")
    with pytest.raises(ValueError, match="at least one logged epoch"):
        plot_history({"loss": []}, tmp_path / "h.png")
    with pytest.raises(ValueError, match="series of equal length"):
        plot_history({"loss": [1.0, 0.5], "val_loss": [1.0]}, tmp_path / "h.png")
    with pytest.raises(TypeError, match="expected a keras History"):
        plot_history([1.0, 0.5], tmp_path / "h.png")
    with pytest.raises(FileNotFoundError):
        plot_history(tmp_path / "missing.csv", tmp_path / "h.png")
    assert not (tmp_path / "h.png").exists()


def _report_run(variant, seed, norms):
    from regkit.experiments import RunResult

    history = dict(HISTORY, conv_kernel_norm=norms)
    return RunResult.from_history(variant, seed, history, params=10, test_accuracy=0.7)


def test_plot_report_overlays_variants_and_weight_norms(tmp_path):
    from regkit.experiments import Report
    from regkit.plots import plot_report

    report = Report(
        variants={"a": "baseline", "b": "l2"},
        runs=[_report_run("a", 0, [1.0, 2.0, 3.0]), _report_run("b", 0, [1.0, 1.0, 1.0])],
    )
    paths = plot_report(report, tmp_path / "plots")
    assert [p.name for p in paths] == ["curves.png", "weight_norms.png"]
    for path in paths:
        assert _read_png(path)[..., :3].std() > 0.05
    assert not list((tmp_path / "plots").glob(".*tmp"))  # written atomically
    # Report.plot is a thin wrapper: same files, same pixels
    again = report.plot(tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]


def test_plot_report_without_weight_norms_draws_only_the_curves(tmp_path):
    from regkit.experiments import Report, RunResult
    from regkit.plots import plot_report

    report = Report(variants={"a": "baseline"}, runs=[RunResult.from_history("a", 0, HISTORY)])
    assert [p.name for p in plot_report(report, tmp_path)] == ["curves.png"]


def _seeded_report():
    from regkit.experiments import Report, RunResult

    tests = {
        "baseline": [0.90, 0.91, 0.92],
        "better": [0.95, 0.961, 0.969],
        "same": [0.89, 0.93, 0.91],
    }
    runs = [
        RunResult.from_history(name, seed, HISTORY, test_accuracy=accuracy)
        for name, values in tests.items()
        for seed, accuracy in enumerate(values)
    ]
    return Report(variants={n: "baseline" for n in tests}, runs=runs, seeds=(0, 1, 2))


def test_differences_follow_the_holm_adjusted_verdict_of_the_report():
    from regkit.experiments.report.analysis import difference_rows

    report = _seeded_report()
    rows = {row["variant"]: row for row in report.difference_rows()}
    assert set(rows) == {"better", "same"}  # the reference has no row
    better = rows["better"]
    # paired differences 0.05, 0.051, 0.049: mean 0.05, by hand
    assert better["mean_diff"] == pytest.approx(0.05)
    assert better["lo"] < 0.05 < better["hi"]
    assert better["p_adjusted"] is not None and better["p_adjusted"] >= better["p_value"]
    assert better["verdict"] == "higher"
    assert rows["same"]["verdict"] == "not distinguishable"
    # the verdict follows the adjusted p-value, not the raw one
    alone = {"x": {"mean_diff": -0.02, "ci95": [-0.03, -0.01], "p_value": 0.01, "p_adjusted": 0.2}}
    assert difference_rows(alone)[0]["verdict"] == "not distinguishable"
    alone["x"]["p_adjusted"] = 0.04
    assert difference_rows(alone)[0]["verdict"] == "lower"
    # one rule with report.md's words: each verdict opens the comparison's sentence
    from regkit.experiments.report.stats import comparison_words

    for row, comparison in zip(rows.values(), report.comparisons().values(), strict=False):
        words = comparison_words(
            row["mean_diff"],
            (row["lo"], row["hi"]),
            row["p_value"],
            comparison["seeds"],
            p_adjusted=row["p_adjusted"],
        )
        assert words.startswith(row["verdict"]), (row, words)


def test_plot_report_draws_the_differences_when_seeds_allow(tmp_path):
    from regkit.plots import plot_report

    paths = plot_report(_seeded_report(), tmp_path)
    assert [p.name for p in paths] == ["curves.png", "differences.png"]
    image = _read_png(tmp_path / "differences.png")
    green = (image[..., 1] > 0.45) & (image[..., 0] < 0.3) & (image[..., 2] < 0.3)
    assert green.sum() > 50  # the "higher" row is drawn in green
