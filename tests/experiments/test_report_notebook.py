"""A report at home in a notebook (issue 23): a one-line repr, an HTML table with the
intervals and the main figure inline, a pandas DataFrame of the runs and of a sweep's
points, and the example notebook executed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from regkit.experiments.report.results import Report, RunResult
from regkit.experiments.study.records import METRICS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOK = EXAMPLES / "report_in_a_notebook.ipynb"


def _run(variant, seed, val, test):
    history = {
        "loss": [1.0, 0.6, 0.4],
        "val_loss": [1.1, 0.7, 0.5],
        "accuracy": [val - 0.1, val - 0.02, val + 0.02],
        "val_accuracy": [val - 0.1, val - 0.05, val],
        "cnn_dense_kernel_norm": [3.0, 3.2, 3.3],
    }
    return RunResult.from_history(
        variant, seed, history, params=1234, test_accuracy=test, weight_norm=3.3, wall_time=2.0
    )


def _report(sweep=False):
    runs = []
    for seed in (0, 1):
        runs.append(_run("baseline", seed, 0.90 + 0.01 * seed, 0.91 + 0.01 * seed))
        runs.append(_run("l2", seed, 0.92 + 0.01 * seed, 0.95 + 0.005 * seed))
    failed = RunResult.failed("l2", 2, ValueError("boom"), wall_time=0.5)
    config = {"model": "cnn", "dataset": "digits", "num_classes": 10, "epochs": 3}
    if sweep:
        config["sweep"] = {
            "fields": ["l2"],
            "variants": {
                "baseline": {"base": "cnn", "values": {"l2": 0.0}},
                "l2": {"base": "cnn", "values": {"l2": 1e-3}},
            },
        }
    return Report(
        variants={"baseline": "baseline", "l2": "l2"},
        runs=[*runs, failed],
        seeds=(0, 1, 2),
        config=config,
    )


def test_repr_is_one_short_line_with_study_variants_seeds_and_best():
    text = repr(_report())
    assert "\n" not in text and len(text) <= 120
    assert text == (
        "<Report cnn on digits: 2 variants (baseline, l2), seeds 0,1,2; best l2 (test acc 95.2%)>"
    )
    assert repr(Report(variants={"a": "baseline"})).endswith("; no runs yet>")


def test_html_shows_the_table_with_intervals_and_the_main_figure_inline():
    pytest.importorskip("matplotlib")
    page = _report()._repr_html_()
    assert page.count("<tr>") == 3  # header + one row per variant
    assert "<th>Test acc %</th>" in page and "Test acc vs baseline, points (paired)" in page
    assert re.search(r"95\.25 \[\d\d\.\d\d, \d\d\.\d\d\]", page)  # mean [95 % CI], in %
    assert "in %" in page and "with its 95 % CI in brackets" in page  # said once
    assert "p = " in page and "reference" in page
    assert "failed (1/3 seeds)" in page  # the status column
    png = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert png and len(png.group(1)) > 1000


def test_html_without_matplotlib_is_the_table_alone(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name == "matplotlib" else real(name, *a, **k),
    )
    page = _report()._repr_html_()
    assert "<table>" in page and "<img" not in page


def test_to_frame_has_one_row_per_run_with_every_metric():
    pd = pytest.importorskip("pandas")
    frame = _report().to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 5
    assert list(frame.columns[:4]) == ["variant", "seed", "status", "origin"]
    assert set(METRICS) <= set(frame.columns)
    row = frame[(frame.variant == "l2") & (frame.seed == 1)].iloc[0]
    assert row.test_accuracy == pytest.approx(95.5) and row.status == "ok"  # in %
    assert row.origin == "trained"
    failed = frame[frame.status == "failed"].iloc[0]
    assert failed.error == "ValueError: boom" and pd.isna(failed.test_accuracy)
    assert frame.groupby("variant")["test_accuracy"].mean()["baseline"] == pytest.approx(91.5)
    assert "in %" in frame.attrs["units"] and frame.attrs["reference"] == "baseline"
    verdict = (_report().comparisons()["l2"] or {}).get("verdict")  # None before verdicts
    assert set(frame[frame.variant == "baseline"].verdict) == {"reference"}
    assert set(frame[frame.variant == "l2"].verdict) == {verdict}


def test_sweep_frame_has_one_row_per_point_with_its_interval():
    pytest.importorskip("pandas")
    frame = _report(sweep=True).sweep_frame()
    assert list(frame.variant) == ["baseline", "l2"]
    assert list(frame.l2) == [0.0, 1e-3]
    point = frame.iloc[1]
    assert point.test_accuracy == pytest.approx(95.25)  # in %, as every table
    assert 0 < point.test_accuracy_lo < point.test_accuracy < point.test_accuracy_hi < 100
    assert (point.ok, point.failed, point.collapsed) == (2, 1, 0)
    assert _report().sweep_frame().empty


def test_without_pandas_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    report = _report()
    for method in (report.to_frame, report.sweep_frame):
        with pytest.raises(ImportError, match=re.escape('pip install "regkit-keras[pandas]"')):
            method()


def _exec_cells(path: Path) -> list:
    """The notebook's code cells, in order, in this process (TensorFlow already loaded);
    returns the value of each cell's last expression, as Jupyter would display it."""
    import ast

    import nbformat

    nb = nbformat.read(path, as_version=4)
    namespace: dict = {"__name__": "__main__"}
    shown = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, str(path), "exec"), namespace)
        if last is not None:
            shown.append(eval(compile(ast.Expression(last.value), str(path), "eval"), namespace))
    return shown


@pytest.mark.slow
def test_the_example_notebook_shows_the_html_report_and_a_dataframe(tmp_path, monkeypatch):
    """The notebook's cells in this process (a fresh kernel would import TensorFlow again);
    what a notebook would display is checked as Jupyter renders it. Slow tier: its four
    tiny runs take about 15 s on this CPU (the report's HTML and DataFrame are checked in
    the default tier above, on hand-made runs)."""
    pytest.importorskip("nbformat")
    pd = pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    shown = _exec_cells(NOTEBOOK)
    reports = [v for v in shown if isinstance(v, Report)]
    frames = [v for v in shown if isinstance(v, pd.DataFrame)]
    assert reports and frames
    page = reports[0]._repr_html_()
    assert "<table>" in page and "baseline" in page
    assert len(frames[0]) == len(reports[0].runs) and "test_accuracy" in frames[0]


@pytest.mark.slow
def test_the_example_notebook_executes_on_a_kernel(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any(
        "text/html" in o.get("data", {}) and "<table" in o["data"]["text/html"] for o in outputs
    )
