"""StudyConfig is the one list of study settings: compare, study files and the CLI agree."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from regkit.cli import build_parser
from regkit.experiments import compare
from regkit.experiments.study.config import StudyConfig
from regkit.experiments.study.specs import STUDY_KEYS, parse_spec, parse_sweep


def test_compare_signature_is_the_configuration():
    parameters = inspect.signature(compare).parameters
    assert list(parameters)[1:] == list(StudyConfig.names())
    for field in dataclasses.fields(StudyConfig):
        assert parameters[field.name].default == field.default, field.name
        assert parameters[field.name].kind is inspect.Parameter.KEYWORD_ONLY


def test_every_setting_has_help_and_metadata():
    for field in dataclasses.fields(StudyConfig):
        assert field.metadata["help"].strip(), field.name
        assert set(field.metadata) == {
            "help",
            "flag",
            "in_file",
            "invalidates",
            "check",
            "worker",
            "cli",
            "absent",
            "file_types",
            "resolved",
        }


def test_study_file_keys_come_from_the_configuration():
    assert ("variants", *StudyConfig.file_keys()) == STUDY_KEYS
    assert "callbacks" not in STUDY_KEYS and "epochs" in STUDY_KEYS


def test_every_flag_is_a_command_line_option():
    options = {
        o
        for action in build_parser()._subparsers._group_actions
        for sub in action.choices.values()
        for a in sub._actions
        for o in a.option_strings
    }
    missing = sorted(set(StudyConfig.flags().values()) - options)
    assert not missing


def test_settings_that_change_figures_invalidate_runs():
    assert {"epochs", "batch_size", "learning_rate", "augment"} <= set(StudyConfig.invalidating())
    assert not {"verbose", "plots", "out_dir", "jobs"} & set(StudyConfig.invalidating())


def test_checked_applies_the_fields_own_check():
    assert StudyConfig(epochs=3).checked("epochs") == 3
    with pytest.raises(ValueError, match="epochs"):
        StudyConfig(epochs=0).checked("epochs")
    assert StudyConfig().checked("limit") is None


def test_the_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        StudyConfig().epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize("field", ["drop_path", "drop_block", "label_smoothing", "l2_sp"])
def test_new_regularization_fields_flow_through_specs_and_sweeps(field):
    spec = parse_spec(f"{field}=0.1")
    assert getattr(spec.reg, field) == pytest.approx(0.1)
    assert parse_sweep(f"{field}=0,0.05") == (field, (0.0, 0.05))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 10**9}, r"`epochs`: expected an int <= 100000"),
        ({"patience": 10**9}, r"`patience`: expected an int <= 100000"),
        ({"batch_size": 2**40}, r"`batch_size`: expected an int <= 16777216"),
        ({"seeds": range(10_001)}, r"`seeds`: expected at most 10,000 seeds"),
        ({"seeds": (0, 2**40)}, r"`seeds`: expected ints in \[0, 4294967295\]"),
    ],
)
def test_limits_no_real_study_reaches_are_refused_up_front(kwargs, match):
    from regkit.experiments.run.plan import plan_comparison

    with pytest.raises(ValueError, match=match):
        plan_comparison("baseline", **kwargs)


def test_a_setting_name_stands_in_the_configuration_compare_and_where_it_acts():
    """Issue 28: a study setting's name is declared once (StudyConfig), accepted by
    compare's signature, and read where it acts; nothing else in the runner or the CLI
    spells it (the ledger, workers, study files and the CLI derive it from metadata)."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "regkit"
    files = [*(src / "experiments").rglob("*.py"), src / "cli.py"]
    for name in ("patience", "run_eagerly", "on_error", "image_size", "bad_images"):
        word = re.compile(rf"\b{name}\b")
        found = sorted(str(f.relative_to(src)) for f in files if word.search(f.read_text()))
        assert len(found) <= 3, (name, found)
