"""bench/seed_plan.py replays a study's own decision rule over simulated studies built from a
finished one: checked against cases worked by hand (NumPy only)."""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path

import pytest

from regkit.experiments.report.sequential import SequentialDesign

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "seed_plan.py"


def _script():
    spec = importlib.util.spec_from_file_location("seed_plan", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report():
    def runs(accs, seconds, failed=()):
        return [
            {"status": "failed" if i in failed else "ok", "test_accuracy": a, "wall_time": seconds}
            for i, a in enumerate(accs)
        ]

    vs = {"reference": "baseline", "verdict": "undecided"}
    return {
        "config": {"design": {"looks": [3, 4, 5], "alpha": 0.05, "margin": 0.005}},
        "variants": {
            "baseline": {"runs": runs([0.80, 0.82, 0.81], 30.0)},
            "mixup": {"runs": runs([0.85, 0.86, 0.84, 0.0], 40.0, failed=(3,)), "vs_reference": vs},
            "lonely": {"runs": runs([0.9], 10.0), "vs_reference": vs},  # one seed: no spread
        },
    }


def test_the_pilot_is_each_arms_mean_spread_and_time_over_its_measured_runs():
    data = _script().pilot(_report())
    assert data["reference"] == "baseline"
    assert set(data["arms"]) == {"baseline", "mixup"}  # "lonely" has no spread to plan from
    mixup = data["arms"]["mixup"]  # the failed run is not measured
    assert mixup["mean"] == pytest.approx(0.85)
    assert mixup["sd"] == pytest.approx(statistics.stdev([0.85, 0.86, 0.84]))
    assert (mixup["seconds"], mixup["seeds"]) == (40.0, 3)


def test_a_clear_effect_is_decided_at_the_first_look_and_costs_one_look():
    seed_plan = _script()
    arms = {
        "baseline": {"mean": 0.80, "sd": 0.001, "seconds": 60.0},
        "big": {"mean": 0.85, "sd": 0.001, "seconds": 120.0},
    }
    design = SequentialDesign((3, 6), margin=0.005)
    out = seed_plan.simulate(arms, "baseline", design, studies=200, jobs=2)
    assert out["decided"] == 1.0 and out["share"] == 1.0 and out["per_arm"] == {"big": 1.0}
    assert out["minutes"] == pytest.approx(3 * (60 + 120) / 2 / 60)  # three seeds, two at once


def test_an_open_arm_pays_for_its_own_and_the_references_later_seeds():
    seed_plan = _script()
    arms = {
        "baseline": {"mean": 0.80, "sd": 0.001, "seconds": 60.0},
        "big": {"mean": 0.85, "sd": 0.001, "seconds": 120.0},
        "noisy": {"mean": 0.80, "sd": 0.05, "seconds": 30.0},  # no effect, spread 100x margin
    }
    design = SequentialDesign((3, 5), margin=0.005)
    out = seed_plan.simulate(arms, "baseline", design, studies=400)
    first = 3 * (60 + 120 + 30) / 60
    later = 2 * (60 + 30) / 60  # "big" stopped; "noisy" and the reference run two more
    assert out["minutes_p90"] == pytest.approx(first + later)
    assert out["per_arm"]["big"] == 1.0
    # "noisy" is decided only by a false "better"/"worse" (alpha 0.05 bounds it)
    assert out["per_arm"]["noisy"] < 0.1
    assert out["share"] == pytest.approx(out["per_arm"]["noisy"])  # 2 of 2 needs "noisy"


def test_without_an_effect_the_replayed_rule_keeps_its_error_rate():
    seed_plan = _script()
    arms = {"baseline": {"mean": 0.8, "sd": 0.01, "seconds": 1.0}}
    arms |= {f"null{i}": {"mean": 0.8, "sd": 0.01, "seconds": 1.0} for i in range(5)}
    design = SequentialDesign((3, 4, 5, 6), alpha=0.05)  # no margin: only better/worse
    out = seed_plan.simulate(arms, "baseline", design, studies=4000, seed=1)
    # a false verdict on any of five null arms, over four looks: at most alpha (+ 3 SE)
    assert 1 - out["none"] <= 0.05 + 3 * (0.05 * 0.95 / 4000) ** 0.5
    assert 1 - out["none"] > 0.005  # and the rule is not vacuous: it does spend its alpha


def test_the_command_prints_a_plan_per_most_seeds(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(_report()))
    _script().main([str(path), "--max-seeds", "3", "5", "--studies", "50", "--jobs", "2"])
    out = capsys.readouterr().out
    assert "1 arms against 'baseline'" in out and "margin 0.005" in out
    assert "| mixup | +4.00 |" in out  # 0.85 - 0.81, in points
    rows = [line for line in out.splitlines() if line.startswith(("| 3 |", "| 5 |"))]
    assert len(rows) == 2
