"""Fuzzing `regkit.compare` from Python: junk arguments are refused naming them.

Each example spoils one or two of `compare`'s arguments with junk (None, bools, huge and
negative ints, NaN and infinite floats, strings, bytes, lists, dicts, plain objects) in an
otherwise valid two-variant study on digits. Planning runs for real (every check and the
data loading); only the training loop is replaced by a marker. The property: the call
reaches the marker, or raises `ValueError`/`TypeError` whose message names a spoiled
argument; nothing else. Counts are in docs/reliability.md.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import regkit.experiments
from regkit import compare

FAST, SLOW = 40, 600

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([-(2**63), -1, 0, 2**31, 2**63, 10**30]),
    st.sampled_from([float("nan"), float("inf"), -1.5, 0.0, 1e300]),
    st.text(max_size=8).filter(lambda s: s.lower() not in {"cnn", "digits", "adam", "sgd"}),
    st.binary(max_size=4),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object),
)

VALID = {
    "variants": ["baseline", "l2"],
    "model": "cnn",
    "dataset": "digits",
    "epochs": 1,
    "batch_size": 16,
    "seeds": (0,),
    "augment": None,
    "learning_rate": 1e-3,
    "optimizer": "adam",
    "model_kwargs": {"filters": (8,), "dense_units": (8,)},
    "image_size": None,
    "limit": 40,
    "patience": 2,
    "bn_momentum": "auto",
    "run_eagerly": False,
    "callbacks": None,
    "verbose": 0,
    "on_error": "raise",
    "plots": False,
    "sweep": None,
    "restart": False,
    "jobs": 1,
    "executor": None,
}
# `dataset` junk is never a string: a random name is looked up in tensorflow-datasets.
SPOILABLE = sorted(VALID)


class PlannedError(Exception):
    """Raised where training would start: every argument passed its check."""


@st.composite
def calls(draw):
    chosen = draw(st.lists(st.sampled_from(SPOILABLE), min_size=1, max_size=2, unique=True))
    kwargs = dict(VALID)
    for name in chosen:
        junk = draw(JUNK)
        if name == "dataset" and isinstance(junk, str):
            junk = None
        kwargs[name] = junk
    return kwargs, set(chosen)


@pytest.fixture
def no_training(monkeypatch):
    def planned(plan):
        raise PlannedError

    monkeypatch.setattr(regkit.experiments, "run_comparison", planned)


def check(case, out_dir):
    kwargs, spoiled = case
    variants = kwargs.pop("variants")
    try:
        compare(variants, out_dir=out_dir, **kwargs)
    except PlannedError:
        return "planned"
    except (ValueError, TypeError) as error:
        message = str(error)
        assert any(f"`{name}`" in message for name in spoiled), (
            f"{type(error).__name__} names none of {sorted(spoiled)}: {message}"
        )
        return "refused"
    raise AssertionError("compare returned without planning")


_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=FAST, **_SETTINGS)
@given(case=calls())
def test_fuzz_compare(case, no_training, tmp_path):
    check(case, tmp_path / "study")


@pytest.mark.slow
@settings(max_examples=SLOW, **_SETTINGS)
@given(case=calls())
def test_fuzz_compare_slow(case, no_training, tmp_path):
    check(case, tmp_path / "study")


def test_the_fuzzer_reaches_both_outcomes(no_training, tmp_path):
    assert check((dict(VALID), {"epochs"}), tmp_path / "a") == "planned"
    assert check((dict(VALID, epochs=float("nan")), {"epochs"}), tmp_path / "b") == "refused"


# ---------------------------------------------------------------------------- out folders
NAMES = st.sampled_from(
    [
        "baseline", "l2", "old", "seed0", "seed1", "backup", "tensorboard", "settings.json",
        "result.json", "log.csv", "best.weights.h5", "report.md", "report.json",
        "curves.png", "notes.txt", ".regkit-manifest.json", ".regkit.lock",
    ]
)  # fmt: skip


@st.composite
def foreign_trees(draw):
    """Files of a user's at random paths of up to three parts, with regkit's names among
    them, and whether the study restarts; maybe in a folder regkit made first."""
    paths = draw(st.lists(st.lists(NAMES, min_size=1, max_size=3), min_size=1, max_size=6))
    return [tuple(p) for p in paths], draw(st.booleans()), draw(st.booleans())


def _tree(folder):
    return sorted(
        (str(p.relative_to(folder)), p.is_file() and p.read_bytes()) for p in folder.rglob("*")
    )


def check_foreign(case, folder, monkeypatch):
    from regkit.experiments.run import runner

    def fail(*args, **kwargs):
        raise RuntimeError("no training here")

    monkeypatch.setattr(runner, "run_one", fail)
    paths, restart, made_first = case
    quick = {**VALID, "on_error": "record"}
    variants = quick.pop("variants")
    if made_first:
        compare(variants, out_dir=folder, **quick)
    placed = []
    for parts in paths:
        path = folder.joinpath(*parts)
        if path.exists() or any(p.is_file() for p in path.parents):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"the user's {'/'.join(parts)}")
        placed.append(path)
    before = {str(p): p.read_text() for p in placed}
    try:
        compare(variants, out_dir=folder, **{**quick, "restart": restart})
        outcome = "ran"
    except ValueError as error:
        assert "`out_dir`" in str(error), error
        outcome = "refused"
    assert all(p.is_file() for p in placed), outcome
    assert {str(p): p.read_text() for p in placed} == before, outcome
    return outcome


@settings(max_examples=4, **_SETTINGS)
@given(case=foreign_trees())
def test_fuzz_foreign_files_in_the_out_folder_survive(case, tmp_path_factory, monkeypatch):
    check_foreign(case, tmp_path_factory.mktemp("out"), monkeypatch)


@pytest.mark.slow
@settings(max_examples=200, **_SETTINGS)
@given(case=foreign_trees())
def test_fuzz_foreign_files_in_the_out_folder_survive_slow(case, tmp_path_factory, monkeypatch):
    check_foreign(case, tmp_path_factory.mktemp("out"), monkeypatch)
