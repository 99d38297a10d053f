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
