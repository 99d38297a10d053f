"""Study folders and reports written by regkit 0.2 stay readable, and their finished runs
are reused: a setting or Regularization field that 0.2 did not record counts as its
default, not as a changed setting."""

from __future__ import annotations

import json

import pytest

from regkit.config import Regularization
from regkit.experiments import Report
from regkit.experiments.run.ledger import RESULT_FILE, SETTINGS_FILE, Study, run_settings
from regkit.experiments.run.plan import plan_comparison

#: The Regularization fields regkit 0.2 had (git show 805ebb4:src/regkit/config.py); its
#: settings.json and report.json recorded these only.
FIELDS_0_2 = (
    "l1", "l2", "regularize_bias", "regularize_depthwise", "regularize_output", "batch_norm",
    "bn_momentum", "bn_epsilon", "dropout", "spatial_dropout", "head_batch_norm",
    "head_dropout", "weight_decay",
)  # fmt: skip
QUICK = {"epochs": 1, "batch_size": 16, "limit": 48, "verbose": 0}


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return plan_comparison(["baseline"], out_dir=tmp_path_factory.mktemp("study"), **QUICK)


def _write_0_2_run(plan, **changes):
    """A run folder as regkit 0.2 wrote it: its settings lack the 0.3 fields."""
    settings = run_settings(plan, "baseline", plan.variants["baseline"], 0)
    settings["regularization"] = {
        k: v for k, v in settings["regularization"].items() if k in FIELDS_0_2
    }
    settings["regularization"].update(changes)
    folder = plan.study.out_dir / "baseline" / "seed0"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS_FILE).write_text(json.dumps(settings))
    result = {"variant": "baseline", "seed": 0, "status": "ok", "test_accuracy": 0.5}
    (folder / RESULT_FILE).write_text(json.dumps(result))


def test_the_0_2_fields_are_the_fields_before_the_0_3_ones():
    # Guards the hand-written folder: every 0.2 field still exists, and some are new.
    assert set(FIELDS_0_2) < set(Regularization().to_dict())


def test_a_0_2_run_folder_is_reused_not_refused(plan):
    _write_0_2_run(plan)
    with Study(plan) as study:
        (slot,) = study.slots()
    assert slot.previous is not None and slot.previous.origin == "reused"
    assert slot.previous.test_accuracy == pytest.approx(0.5)


def test_a_0_2_run_folder_with_another_setting_is_still_refused(plan):
    _write_0_2_run(plan, l2=0.5)
    with pytest.raises(ValueError, match=r"l2"):
        Study(plan).open()


def test_a_0_2_report_without_the_new_fields_reads_back_with_their_defaults(tmp_path):
    report = Report(variants={}, runs=[])
    path = report.to_json(tmp_path / "report.json")
    data = json.loads(path.read_text())
    data["variants"] = {
        "l2": {
            "regularization": {f: Regularization(l2=1e-3).to_dict()[f] for f in FIELDS_0_2},
            "description": "l2=0.001",
            "learning_rate": None,
            "optimizer": None,
            "runs": [],
        }
    }
    path.write_text(json.dumps(data))
    back = Report.from_json(path)
    assert back.variants["l2"].reg == Regularization(l2=1e-3)
