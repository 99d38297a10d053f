"""`regkit compare` with variant specs, sweeps and study files, from the user's side."""

from __future__ import annotations

import json

import pytest

from regkit.cli import main

TINY = ["--epochs", "1", "--batch-size", "16", "--limit", "48", "--run-eagerly", "-q"]


def _exit_code(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--variants", "baseline,l3=1e-3"], "argument --variants: unknown field 'l3'"),
        (
            ["--variants", "dropout=1.5"],
            "`dropout`: expected a float in [0, 1). Received: dropout=1.5",
        ),
        (["--variants", "l2=abc"], "`l2` in 'l2=abc' expects a finite number"),
        (["--variants", "bn+wat"], "unknown variant 'wat' in 'bn+wat'"),
        (["--variants", "a/b:bn"], "a name usable as a folder"),
        (["--variants", "bn,bn"], "unique variant names"),
        (["--sweep", "l2"], "argument --sweep: expected FIELD=V1,V2,..."),
        (["--sweep", "l9=1,2"], "argument --sweep: unknown field 'l9'"),
        (["--sweep", "l2=1,x"], "`l2` in sweep['l2'] expects a finite number. Received: l2='x'"),
        (["--sweep", "l2=1", "--sweep", "l2=2"], "argument --sweep: 'l2' is given twice"),
        (["--variants", "bn", "--sweep", "dropout=0.5,1.0"], "`dropout`: expected a float in"),
    ],
)
def test_bad_specs_and_sweeps_exit_2_naming_them(argv, needle, capsys, tmp_path):
    code, out, err = _exit_code(["compare", *argv, "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "usage: regkit" in err
    assert needle in err
    assert "Epoch" not in out


def test_variant_specs_and_a_sweep_run_and_plot(tmp_path, capsys):
    out_dir = tmp_path / "sweep"
    argv = ["compare", "--variants", "ref:baseline,bn", "--sweep", "l2=0,1e-3", "--seeds", "0,1"]
    assert main([*argv, *TINY, "--out", str(out_dir)]) == 0
    printed = capsys.readouterr().out
    data = json.loads((out_dir / "report.json").read_text())
    names = ["ref-l2=0.0", "ref-l2=0.001", "bn-l2=0.0", "bn-l2=0.001"]
    assert list(data["variants"]) == names
    assert data["variants"]["bn-l2=0.001"]["regularization"]["l2"] == 1e-3
    assert data["config"]["sweep"]["fields"] == {"l2": [0.0, 1e-3]}
    for name in names:
        entry = data["variants"][name]
        assert len(entry["runs"]) == 2
        assert set(entry["ci95"]) >= {"val_accuracy", "test_accuracy", "generalization_gap"}
        assert all(isinstance(run["warnings"], list) for run in entry["runs"])
    assert "vs_reference" not in data["variants"]["ref-l2=0.0"]  # the reference itself
    paired = data["variants"]["bn-l2=0.001"]["vs_reference"]
    assert paired["metric"] == "test_accuracy"
    assert paired["reference"] == "ref-l2=0.0"
    assert (out_dir / "sweep.png").stat().st_size > 10_000
    markdown = (out_dir / "report.md").read_text()
    assert "## Sweep over l2" in markdown
    assert "## Statistics over seeds" in markdown
    table = [line for line in printed.splitlines() if not line.startswith("Report: ")]
    assert max(len(line) for line in table) <= 120  # reads in a terminal


STUDY = """\
epochs = 3
seeds = [0]
batch_size = 16
limit = 48
run_eagerly = true
verbose = 0

[variants.plain]
preset = "baseline"

[variants.strong]
preset = "bn"
l2 = 1e-3
"""


def test_a_study_file_with_a_command_line_override(tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(STUDY, encoding="utf-8")
    out_dir = tmp_path / "study"
    assert (
        main(["compare", "--config", str(study), "--epochs", "1", "-q", "--out", str(out_dir)]) == 0
    )
    data = json.loads((out_dir / "report.json").read_text())
    assert data["config"]["epochs"] == 1  # the command line wins over the file's 3
    assert data["config"]["batch_size"] == 16  # the file's
    assert list(data["variants"]) == ["plain", "strong"]
    assert data["variants"]["strong"]["regularization"]["l2"] == 1e-3
    assert data["variants"]["strong"]["regularization"]["batch_norm"] is True
    assert data["config"]["study_file"] == {"path": str(study), "text": STUDY}
    assert "one seed" in (out_dir / "report.md").read_text().lower()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("epoch = 3\n", "has an unknown key 'epoch'"),
        ("epochs = [\n", "is not valid TOML"),
        ("[variants.x]\nl3 = 1\n", "[variants.x]: unknown key 'l3'"),
        ("epochs = 0\nlimit = 48\n", "`epochs`: expected an int >= 1"),
        ("bn_momentum = 'fast'\n", "bn_momentum: invalid BN momentum 'fast'"),
    ],
)
def test_a_bad_study_file_exits_2_naming_the_file_and_key(text, needle, tmp_path, capsys):
    study = tmp_path / "bad.toml"
    study.write_text(text, encoding="utf-8")
    code, _, err = _exit_code(
        ["compare", "--config", str(study), "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2
    assert needle in err
    assert str(study) in err


def test_a_missing_study_file_exits_2(tmp_path, capsys):
    code, _, err = _exit_code(["compare", "--config", str(tmp_path / "nope.toml")], capsys)
    assert code == 2
    assert "nope.toml" in err


def test_a_deeply_nested_study_file_exits_2_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text("epochs = " + "[" * 50_000 + "]" * 50_000 + "\n")
    code, _, err = _exit_code(["compare", "--config", str(path)], capsys)
    assert code == 2
    assert "Traceback" not in err and "argument --config" in err
