"""Readers never escape (issue 22): report.json (`Report.from_json`), run settings
(`settings.json` in a study folder) and study files (`load_study`) given deep nesting, wrong
types, huge and negative numbers end in a ValueError/TypeError naming the file, never a
RecursionError or an unnamed crash. A few seconds by default; thousands in the slow tier."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regkit.experiments import Report
from regkit.experiments.study.records import REPORT_FORMAT

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = ("regkit_report", "variants", "config", "seeds", "complete", "runs", "summary")


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def report_texts(draw):
    kind = draw(st.sampled_from(["deep", "mangled", "values"]))
    if kind == "deep":
        inner = _deep(draw(st.integers(min_value=500, max_value=200_000)))
        return f'{{"regkit_report": {REPORT_FORMAT}, "variants": {inner}}}'
    data = {key: draw(VALUES) for key in draw(st.sets(st.sampled_from(KEYS)))}
    if kind == "values" or draw(st.booleans()):
        data["regkit_report"] = REPORT_FORMAT
    return json.dumps(data)


def _check_report(path, text):
    path.write_text(text)
    try:
        Report.from_json(path)
    except (ValueError, TypeError) as exc:
        assert str(path) in str(exc) or "path" in str(exc), exc


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=report_texts())
def test_fuzz_report_reader(tmp_path, text):
    _check_report(tmp_path / "report.json", text)


@pytest.mark.slow
@settings(
    max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=report_texts())
def test_fuzz_report_reader_slow(tmp_path, text):
    _check_report(tmp_path / "report.json", text)


def test_a_deeply_nested_report_names_the_file(tmp_path):
    path = tmp_path / "report.json"
    path.write_text(f'{{"regkit_report": {REPORT_FORMAT}, "runs": {_deep(100_000)}}}')
    with pytest.raises(ValueError, match=r"report\.json"):
        Report.from_json(path)


def test_deep_or_odd_run_settings_refuse_the_folder_without_escaping(tmp_path, monkeypatch):
    from regkit.experiments import compare
    from regkit.experiments.run import runner

    monkeypatch.setattr(runner, "run_one", lambda *a, **k: pytest.fail("a run was trained"))
    quick = {"epochs": 1, "batch_size": 8, "limit": 16, "verbose": 0}
    for text in (_deep(100_000), '{"seed": ' + _deep(50_000) + "}", '{"epochs": 1e999}', "[1, {"):
        run = tmp_path / "study" / "baseline" / "seed0"
        run.mkdir(parents=True, exist_ok=True)
        (run / "settings.json").write_text(text)
        with pytest.raises(ValueError, match="argument `out_dir`"):
            compare(["baseline"], out_dir=tmp_path / "study", **quick)


def test_a_deeply_nested_study_file_is_a_named_error(tmp_path):
    from regkit.experiments.study.specs import load_study

    path = tmp_path / "study.toml"
    path.write_text("epochs = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises((ValueError, TypeError), match=r"study\.toml"):
        load_study(path)


# ---------------------------------------------------------------------------- special files
def _special(kind, tmp_path):
    """A path that is not a regular file: a FIFO (reading it would block forever), a
    character device that never ends, an empty device, a folder."""
    import os

    if kind == "fifo":
        path = tmp_path / "special"
        os.mkfifo(path)
        return path
    if kind == "folder":
        path = tmp_path / "special"
        path.mkdir()
        return path
    return {"zero": "/dev/zero", "null": "/dev/null"}[kind]


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("kind", ["fifo", "zero", "null", "folder"])
def test_no_reader_blocks_or_reads_forever_on_a_special_file(tmp_path, kind):
    from regkit.experiments.study.specs import load_study

    path = _special(kind, tmp_path)
    with pytest.raises(ValueError, match=r"argument `path`"):
        Report.from_json(path)
    with pytest.raises(ValueError, match=r"argument `config`"):
        load_study(path)


@pytest.mark.timeout(120, func_only=True)
@pytest.mark.parametrize("name", ["settings.json", "result.json", "log.csv", "report.json"])
def test_a_fifo_in_a_study_folder_is_refused_naming_it(tmp_path, monkeypatch, name):
    import os

    from regkit.experiments import compare
    from regkit.experiments.run import runner

    def fail(*args, **kwargs):
        raise RuntimeError("no training here")

    monkeypatch.setattr(runner, "run_one", fail)
    quick = {"epochs": 1, "batch_size": 8, "limit": 16, "verbose": 0, "on_error": "record"}
    study = tmp_path / "study"
    compare(["baseline"], out_dir=study, plots=False, **quick)
    where = study if name == "report.json" else study / "baseline" / "seed0"
    (where / name).unlink(missing_ok=True)
    os.mkfifo(where / name)
    with pytest.raises(ValueError, match=rf"{name.replace('.', '[.]')} is a FIFO"):
        compare(["baseline"], out_dir=study, plots=False, **quick)


# ---------------------------------------------------------------------------- run results
RUN_FIELDS = ("variant", "seed", "status", "params", "test_accuracy", "val_loss", "history")


@st.composite
def damaged_runs(draw):
    from regkit.experiments import RunResult

    run = RunResult.from_history(
        "a", 0, {"loss": [1.0], "val_loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.5]}
    ).to_dict()
    for field in draw(st.sets(st.sampled_from(RUN_FIELDS), min_size=1, max_size=3)):
        run[field] = draw(VALUES)
    return run


def _check_run(data):
    """A damaged run is refused naming a field, or is a run whose report renders."""
    from regkit.experiments import RunResult, Variant

    try:
        run = RunResult.from_dict(data)
    except (TypeError, ValueError) as exc:
        assert "`" in str(exc), exc  # names the argument or field
        return
    report = Report(variants={run.variant: Variant()}, runs=[run])
    str(report)
    report.to_markdown()


@settings(max_examples=40, deadline=None)
@given(data=damaged_runs())
def test_fuzz_damaged_run_results(data):
    _check_run(data)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(data=damaged_runs())
def test_fuzz_damaged_run_results_slow(data):
    _check_run(data)
