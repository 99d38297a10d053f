"""bench/league_table.py, which writes docs/results.md's table, reads every figure from the
study's own report.json: each cell is checked against the report it was made from."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from regkit.config import Regularization
from regkit.experiments import Report, RunResult

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "league_table.py"
HISTORY = {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "accuracy": [0.7, 0.8]}


def _script():
    spec = importlib.util.spec_from_file_location("league_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs(tests, seconds):
    """One run per (variant, seed) with the test accuracy given and `seconds[variant]`."""
    runs = []
    for name, values in tests.items():
        for seed, accuracy in enumerate(values):
            history = dict(HISTORY, val_accuracy=[0.6, accuracy - 0.01])
            run = RunResult.from_history(name, seed, history, test_accuracy=accuracy)
            run.wall_time = seconds[name]
            runs.append(run)
    return runs


def _report(tmp_path):
    tests = {
        "baseline": [0.90, 0.91, 0.92],
        "better": [0.95, 0.961, 0.969],
        "same": [0.89, 0.93, 0.91],
    }
    runs = _runs(tests, {"baseline": 10.0, "better": 20.0, "same": 10.0})
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


def _deciding_report(tmp_path):
    """A tuned arm that gains 5 points and a twin of the reference, decided at 3 seeds."""
    tests = {
        "baseline": [0.900, 0.910, 0.920],
        "l2 (tuned=0.001)": [0.950, 0.961, 0.969],
        "same": [0.901, 0.910, 0.919],
    }
    runs = _runs(tests, dict.fromkeys(tests, 30.0))
    trail = {
        "fields": {"l2": [1e-4, 1e-3, 1e-2, 1e-1]},
        "chosen": {"l2": 1e-3},
        "variant": "l2 (tuned=0.001)",
        "selection_seeds": [1000000, 1000001, 1000002],
        "rounds": [
            {
                "round": 0,
                "seeds": 1,
                "candidates": [1e-3, 1e-4, 1e-2, 1e-1],
                "mean_val_accuracy": [0.95, 0.94, 0.90, 0.50],
                "kept": [1e-3, 1e-4],
                "dropped": [1e-2, 1e-1],
            },
            {
                "round": 1,
                "seeds": 3,
                "candidates": [1e-3, 1e-4],
                "mean_val_accuracy": [0.951, 0.942],
                "kept": [1e-3],
                "dropped": [1e-4],
            },
        ],
    }
    design = {"alpha": 0.05, "margin": 0.02, "max_seeds": 3, "looks": [3], "seeds": [0, 1, 2]}
    config = {
        "model": "cnn",
        "dataset": "digits",
        "epochs": 2,
        "steps_per_epoch": 50,
        "design": design,
        "tuning": {"l2": trail},
    }
    variants = {
        "baseline": Regularization(),
        "l2 (tuned=0.001)": Regularization(l2=1e-3),
        "same": Regularization(),
    }
    report = Report(variants=variants, runs=runs, seeds=(0, 1, 2), config=config)
    return report.to_json(tmp_path / "report.json")


def test_a_deciding_study_gets_verdicts_seeds_runs_and_trails(tmp_path, capsys):
    path = _deciding_report(tmp_path)
    data = json.loads(path.read_text())
    script = _script()
    assert script.deciding(data)
    assert script.main([str(path)]) == 0
    out = capsys.readouterr().out
    rows = {
        line.split(" | ")[0].strip("| "): line.split(" | ")
        for line in out.split("Decided:")[0].splitlines()
        if line.startswith("| ") and not line.startswith("| Arm")
    }
    tuned = data["variants"]["l2 (tuned=0.001)"]
    versus = tuned["vs_reference"]
    assert rows["l2"][1] == tuned["description"] == "l2=0.001"  # the chosen strength
    assert rows["l2"][4].startswith(f"{versus['mean_diff'] * 100:+.2f} [")
    assert rows["l2"][5] == f"**{versus['verdict']}**"
    assert rows["same"][5] == f"**{data['variants']['same']['vs_reference']['verdict']}**"
    assert {versus["verdict"], data["variants"]["same"]["vs_reference"]["verdict"]} == {
        "better",
        "equivalent",
    }
    # 4 candidates on 1 seed, then 2 on 2 more: 8 selection runs, then the 3 study runs
    assert rows["l2"][6:9] == ["3", "30", "8 + 3"]
    assert rows["baseline"][5] == "reference"
    assert "Decided: 2 of 2 arms (better 1, equivalent 1; margin ±2 pt)." in out
    assert "Tuning trail of l2" in out and "| 0.001 | 95.00 | 95.10 | **chosen** |" in out
    assert "not tuned" not in out


def test_a_trail_whose_candidates_all_tied_says_the_arm_was_not_tuned(tmp_path, capsys):
    path = _deciding_report(tmp_path)
    data = json.loads(path.read_text())
    data["config"]["tuning"]["l2"]["tied"] = True
    path.write_text(json.dumps(data))
    assert _script().main([str(path)]) == 0
    out = capsys.readouterr().out
    said = "l2: every candidate scored the same: kept by the tie rule, not tuned."
    assert said in out


def test_the_short_training_reports_keep_their_layout(tmp_path):
    data = json.loads(_report(tmp_path).read_text())
    assert not _script().deciding(data)


def test_the_reference_curves_are_drawn_alone(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = _deciding_report(tmp_path)
    png = tmp_path / "img" / "baseline.png"
    assert _script().main([str(path), "--curves", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Decided: 2 of 2" in capsys.readouterr().out
