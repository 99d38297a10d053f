"""bench/league_table.py, which writes docs/results.md's table, reads every figure from the
study's own report.json: each cell is checked against the report it was made from."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from regkit.experiments import Report, RunResult

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "league_table.py"
HISTORY = {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "accuracy": [0.7, 0.8]}


def _script():
    spec = importlib.util.spec_from_file_location("league_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(tmp_path):
    tests = {
        "baseline": [0.90, 0.91, 0.92],
        "better": [0.95, 0.961, 0.969],
        "same": [0.89, 0.93, 0.91],
    }
    runs = []
    for name, values in tests.items():
        for seed, accuracy in enumerate(values):
            history = dict(HISTORY, val_accuracy=[0.6, accuracy - 0.01])
            run = RunResult.from_history(name, seed, history, test_accuracy=accuracy)
            run.wall_time = {"baseline": 10.0, "better": 20.0, "same": 10.0}[name]
            runs.append(run)
    config = {"model": "cnn", "dataset": "digits", "epochs": 2, "steps_per_epoch": 50}
    report = Report(
        variants={n: "baseline" for n in tests}, runs=runs, seeds=(0, 1, 2), config=config
    )
    return report.to_json(tmp_path / "report.json")


def test_each_cell_comes_from_report_json(tmp_path, capsys):
    path = _report(tmp_path)
    data = json.loads(path.read_text())
    assert _script().main([str(path)]) == 0
    rows = {
        line.split(" | ")[0].strip("| "): line.split(" | ")
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("| ") and not line.startswith("| Variant")
    }
    assert set(rows) == {"baseline", "better", "same"}
    better = data["variants"]["better"]
    lo, hi = better["ci95"]["test_accuracy"]
    assert (
        rows["better"][1] == f"{better['test_accuracy'] * 100:.2f} [{lo * 100:.2f}, {hi * 100:.2f}]"
    )
    versus = better["vs_reference"]
    assert rows["better"][3].startswith(f"{versus['mean_diff'] * 100:+.2f} [")
    p_adjusted = versus["p_adjusted"]
    assert rows["better"][5] == ("< 0.001" if p_adjusted < 0.001 else f"{p_adjusted:.3f}")
    assert rows["baseline"][3] == "reference"
    # cost: 20 s over 2 epochs x 50 steps = 200 ms a step, twice the reference's time
    assert rows["better"][9:11] == ["200", "2.00"]
    assert rows["same"][10] == "1.00"


def test_a_missing_file_is_an_error_not_a_table(tmp_path):
    with pytest.raises(FileNotFoundError):
        _script().main([str(tmp_path / "nothing.json")])
