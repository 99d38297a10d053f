"""Fuzzing the `regkit` command: random command lines never escape as a traceback.

Each example is a `regkit compare` command line built from the real options with values
drawn from valid ones and junk (empty, negative, huge, NaN, 2**63, unicode, path tricks,
malformed specs). Planning runs for real: every argument check and the data loading. The
training loop is replaced by a marker so that a command line that passes every check ends
there instead of training; the property is that `main` either reaches it or exits 2 with
an argparse-style message, and nothing else (no other exception, no exit 1 or 0 without a
plan). Counts are in docs/reliability.md.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regkit import cli
from regkit.experiments.study.specs import STUDY_KEYS

FAST, SLOW = 60, 1000

JUNK = st.sampled_from(
    [
        "",
        " ",
        "-1",
        "0",
        "1e400",
        "nan",
        "inf",
        "abc",
        "9223372036854775808",
        "1,2,,3",
        "..",
        "a/b",
        "x:y:z",
        "l2=abc",
        "nosuchfield=1",
        "bn+",
        "+",
        "é字",
        "\x00",
        "1" * 40,
    ]
)

# option -> strategy of its value (None: a flag without value)
OPTIONS = {
    "--dataset": st.one_of(st.just("digits"), st.sampled_from(["zz_no_such_set", "/no/such/dir"])),
    "--model": st.sampled_from(["cnn", "mobilenet_v2", "resnet"]),
    "--variants": st.one_of(
        st.sampled_from(["baseline", "baseline,all", "l2=1e-3", "bn+l2=1e-4", "w:bn+dropout=0.3"]),
        JUNK,
    ),
    "--sweep": st.one_of(st.sampled_from(["l2=0,1e-4", "dropout=0.1,0.3", "l2="]), JUNK),
    "--epochs": st.one_of(st.sampled_from(["1", "2"]), JUNK),
    "--batch-size": st.one_of(st.sampled_from(["8", "32"]), JUNK),
    "--seeds": st.one_of(st.sampled_from(["0", "0,1", "1,1"]), JUNK),
    "--augment": st.one_of(
        st.sampled_from(["none", "seed000", "flip-rotate-shift", "flip,rotation=10"]), JUNK
    ),
    "--learning-rate": st.one_of(st.sampled_from(["1e-3", "0.1"]), JUNK),
    "--optimizer": st.one_of(st.sampled_from(["adam", "sgd", "adamw"]), JUNK),
    "--limit": st.one_of(st.sampled_from(["40", "100"]), JUNK),
    "--patience": st.one_of(st.sampled_from(["1", "3"]), JUNK),
    "--bn-momentum": st.one_of(st.sampled_from(["auto", "none", "0.9"]), JUNK),
    "--image-size": st.one_of(st.sampled_from(["8", "16"]), JUNK),
    "--jobs": st.one_of(st.sampled_from(["1", "2"]), JUNK),
    "--verbose": st.one_of(st.sampled_from(["0", "1", "2"]), JUNK),
    "--config": st.sampled_from(["/no/such/study.toml", ""]),
    "--no-plots": st.none(),
    "--quiet": st.none(),
    "--restart": st.none(),
    "--run-eagerly": st.none(),
}


class PlannedError(Exception):
    """Raised where training would start: the command line passed every check."""


@st.composite
def command_lines(draw):
    chosen = draw(st.lists(st.sampled_from(sorted(OPTIONS)), max_size=5, unique=True))
    argv = ["compare"]
    for option in chosen:
        argv.append(option)
        if OPTIONS[option] is not None:
            value = draw(OPTIONS[option])
            if value is not None:
                argv.append(value)
    return argv


@pytest.fixture
def no_training(monkeypatch, tmp_path):
    def planned(plan):
        raise PlannedError

    monkeypatch.setattr("regkit.cli.run_comparison", planned)
    monkeypatch.chdir(tmp_path)  # a default --out lands in the scratch folder


def check(argv, capsys, out_dir):
    argv = [*argv, "--out", str(out_dir)]
    try:
        code = cli.main(argv)
    except PlannedError:
        return "planned"
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    assert code == 2, f"{argv}: exit {code}\n{captured.err[-2000:]}"
    lines = captured.err.strip().splitlines()
    assert lines and lines[-1].startswith("regkit compare: error:"), (argv, captured.err)
    assert "Traceback" not in captured.err
    return "refused"


_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=FAST, **_SETTINGS)
@given(argv=command_lines())
def test_fuzz_cli_compare(argv, capsys, no_training, tmp_path):
    check(argv, capsys, tmp_path / "study")


@pytest.mark.slow
@settings(max_examples=SLOW, **_SETTINGS)
@given(argv=command_lines())
def test_fuzz_cli_compare_slow(argv, capsys, no_training, tmp_path):
    check(argv, capsys, tmp_path / "study")


def test_the_fuzzer_reaches_both_outcomes(capsys, no_training, tmp_path):
    """The property is not vacuous: a good line reaches planning, a bad one is refused."""
    good = ["compare", "--variants", "baseline,l2=1e-3", "--epochs", "1", "--limit", "40"]
    assert check(good, capsys, tmp_path / "a") == "planned"
    assert check(["compare", "--epochs", "nan"], capsys, tmp_path / "b") == "refused"


# ---------------------------------------------------------------------------- study files
#: TOML values of every type, each as TOML text.
TOML_VALUES = st.one_of(
    st.sampled_from(['"3"', '""', '"a/b"', '"nan"', '"keep"', '"seed000"', '"tls://x:1"']),
    st.sampled_from(["3", "0", "-1", "9223372036854775807", "1.5", "nan", "inf", "1e300"]),
    st.sampled_from(["true", "false", "[]", "[1, 2]", '["a"]', "{}", "{ a = 1 }"]),
    st.sampled_from(["[[1]]", "1979-05-27", '{ filters = "x" }', "[0, 0]"]),
)
FILE_KEYS = sorted({*STUDY_KEYS, "out"} - {"variants", "sweep", "dataset"})


@st.composite
def study_files(draw):
    """A study file of one to four settings with values of any TOML type, and a valid
    variant (`dataset` stays digits: a random name would be looked up in tfds)."""
    keys = draw(st.lists(st.sampled_from(FILE_KEYS), min_size=1, max_size=4, unique=True))
    lines = [f"{key} = {draw(TOML_VALUES)}" for key in keys]
    return "\n".join([*lines, 'variants = "baseline"', "limit = 40", ""]).replace(
        "limit = 40\n", "" if "limit" in keys else "limit = 40\n"
    )


def check_study_file(text, capsys, tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return check(["compare", "--config", str(path)], capsys, tmp_path / "study")


@settings(max_examples=20, **_SETTINGS)
@given(text=study_files())
def test_fuzz_study_files(text, capsys, no_training, tmp_path):
    check_study_file(text, capsys, tmp_path)


@pytest.mark.slow
@settings(max_examples=700, **_SETTINGS)
@given(text=study_files())
def test_fuzz_study_files_slow(text, capsys, no_training, tmp_path):
    check_study_file(text, capsys, tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        'epochs = "3"',
        "out = 3",
        "model = {}",
        "tensorboard = [1, 2]",
        "model_kwargs = [1, 2]",
        "seeds = 1.5",
    ],
)
def test_the_issues_wrong_typed_study_files_exit_2_in_one_line(text, capsys, no_training, tmp_path):
    assert check_study_file(f'{text}\nvariants = "baseline"\n', capsys, tmp_path) == "refused"
