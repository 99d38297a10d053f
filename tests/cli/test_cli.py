"""Tests for the `regkit` command, run in-process through `regkit.cli.main`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import regkit
from regkit.cli import build_parser, main


def _exit_code(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_version_in_process(capsys):
    code, out, _ = _exit_code(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"regkit {regkit.__version__}"


def test_version_answers_without_importing_tensorflow():
    # A fresh interpreter: the test process has TensorFlow loaded already. The parser reads
    # its choices from regkit.data.augment, which is light; the loaders must stay unloaded.
    code = (
        "import sys\n"
        "from regkit.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'tensorflow_datasets', 'matplotlib',"
        " 'sklearn', 'regkit.data.datasets', 'regkit.data.pipeline') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert f"regkit {regkit.__version__}" in done.stdout
    assert "HEAVY []" in done.stdout
    # `python -m regkit` is the same command
    done = subprocess.run(
        [sys.executable, "-m", "regkit", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == f"regkit {regkit.__version__}"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["compare", "--epochs", "0"], "argument --epochs: invalid positive int value: '0'"),
        (["compare", "--epochs", "ten"], "'ten'"),
        (["compare", "--batch-size", "-4"], "argument --batch-size"),
        (["compare", "--seeds", "0,x"], "invalid seeds '0,x'"),
        (["compare", "--seeds", "1,1"], "a seed is repeated"),
        (["compare", "--variants", "baseline,wat"], "unknown variant 'wat'"),
        (["compare", "--model", "vgg"], "invalid choice: 'vgg'"),
        (["compare", "--augment", "spin=3"], "unknown augmentation 'spin'"),
        (["compare", "--augment", "rotation"], "augmentation 'rotation' needs a value"),
        (["compare", "--learning-rate", "0"], "invalid positive float value: '0'"),
        (["compare", "--limit", "train=0"], "invalid positive int value: '0'"),
        (["compare", "--limit", "tran=40"], "invalid limit 'tran=40': expected N or SPLIT=N"),
        (["compare", "--limit", "train=4,train=5"], "each once"),
        (["compare", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_bad_flags_exit_2_and_name_the_value(argv, needle, capsys):
    code, _, err = _exit_code(argv, capsys)
    assert code == 2
    assert "usage: regkit" in err
    assert needle in err


def test_bad_optimizer_is_reported_before_training(capsys, tmp_path):
    code, out, err = _exit_code(
        ["compare", "--optimizer", "adagrad-ish", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2
    assert "unknown optimizer 'adagrad-ish'" in err
    assert "Epoch" not in out


def test_unknown_dataset_names_itself_and_exits_2(capsys, tmp_path):
    code, _, err = _exit_code(
        ["compare", "--dataset", "no_such_set_xyz", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2
    assert "regkit compare: error:" in err
    assert "no_such_set_xyz" in err


def test_bn_momentum_flag(capsys):
    parse = build_parser().parse_args
    assert parse(["compare"]).bn_momentum == "auto"
    assert parse(["compare", "--bn-momentum", "keep"]).bn_momentum is None
    assert parse(["compare", "--bn-momentum", "0.9"]).bn_momentum == 0.9
    code, _, err = _exit_code(["compare", "--bn-momentum", "1.5"], capsys)
    assert code == 2 and "invalid BN momentum '1.5'" in err


def test_limit_flag_caps_every_split_or_the_splits_named():
    parse = build_parser().parse_args
    assert parse(["compare", "--limit", "48"]).limit == 48
    assert parse(["compare", "--limit", "train=2000"]).limit == {"train": 2000}
    args = parse(["compare", "--limit", "train=2000, validation=500"])
    assert args.limit == {"train": 2000, "validation": 500}


def test_no_command_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    assert "compare" in capsys.readouterr().err


def test_parser_defaults_are_the_demo():
    args = build_parser().parse_args(["compare"])
    assert args.variants == "baseline,all"  # variant specs, parsed by compare's plan
    assert args.dataset == "digits"
    assert args.model == "cnn"
    assert args.seeds == (0,)
    assert args.augment is None
    args = build_parser().parse_args(["compare", "--augment", "--seeds", "0,1,2"])
    assert args.augment is True
    assert args.seeds == (0, 1, 2)
    args = build_parser().parse_args(["compare", "--augment", "flip,rotation=15,zoom=0.1"])
    assert args.augment == {"flip": True, "rotation": 15.0, "zoom": 0.1}


def test_info_prints_versions_and_devices(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"regkit {regkit.__version__}" in out
    assert "TensorFlow " in out
    assert "CPU" in out
    from regkit.device import versions

    found = versions()
    assert out.count(f"platform: {found['platform']}") == 1  # one collector, printed once
    for package in ("tensorflow-datasets", "scikit-learn"):
        if package in found:
            assert out.count(f"{package} {found[package]}") == 1


def test_model_and_augment_choices_come_from_their_modules(capsys):
    from regkit.data.augment import AUGMENT_FIELDS, AUGMENT_PRESETS
    from regkit.experiments.run.plan import MODELS

    parser = build_parser()
    for model in MODELS:
        assert parser.parse_args(["compare", "--model", model]).model == model
    for preset in AUGMENT_PRESETS:
        assert parser.parse_args(["compare", "--augment", preset]).augment == preset
    code, _, err = _exit_code(["compare", "--augment", "sparkle=1"], capsys)
    assert code == 2
    for field in AUGMENT_FIELDS:
        assert field in err  # the message lists the valid keys


def test_compare_in_process_writes_the_report(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    argv = ["compare", "--variants", "baseline,dropout", "--epochs", "1", "--batch-size", "16"]
    argv += ["--limit", "48", "--seeds", "3", "--out", str(out_dir), "--run-eagerly"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "[1/2] variant 'baseline' seed 3" in out
    assert "[2/2] variant 'dropout' seed 3" in out
    lines = out.splitlines()
    for name in ("baseline", "dropout"):  # the terminal table; the markdown one is in report.md
        assert any(line.startswith(f"{name} ") for line in lines)
        assert f"| {name}" in (out_dir / "report.md").read_text()
    assert f"Report: {out_dir / 'report.md'}" in out
    data = json.loads((out_dir / "report.json").read_text())
    assert data["seeds"] == [3]
    assert data["config"]["limit"] == 48
    for name in ("baseline", "dropout"):
        entry = data["variants"][name]
        assert entry["status"] == "ok"
        assert entry["epochs_run"] == 1
        assert 0.0 <= entry["val_accuracy"] <= 1.0
    assert (out_dir / "curves.png").exists()
    assert (out_dir / "baseline" / "seed3").is_dir()
    assert os.path.getsize(out_dir / "report.md") > 0


def test_a_normal_run_prints_no_tensorflow_noise_and_names_each_run(tmp_path):
    import subprocess
    import sys

    argv = ["compare", "--variants", "baseline", "--epochs", "1", "--limit", "32"]
    argv += ["--batch-size", "16", "--no-plots", "--out", str(tmp_path / "o")]
    proc = subprocess.run(
        [sys.executable, "-m", "regkit", *argv], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = proc.stdout + proc.stderr
    for noise in ("absl::InitializeLog", "cuInit", "cuda drivers", "oneDNN", "I0000", "E0000"):
        assert noise not in printed, printed
    assert "variant 'baseline' seed 0" in printed
