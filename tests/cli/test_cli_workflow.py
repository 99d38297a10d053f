"""The study workflow as users meet it on the command line (issue 32): a default study
folder that the same command finds again, an interrupt that says how to continue, a
study file's variants picked by name, --model-kwargs, and `regkit export`."""

from __future__ import annotations

import json
import shlex

import pytest

from regkit.cli import build_parser, main
from regkit.experiments.study.command_line import (
    default_study_folder,
    parse_model_kwargs,
)

QUICK = ["--epochs", "1", "--batch-size", "16", "--limit", "48", "-q", "--no-plots"]
TINY = ["--model-kwargs", "filters=8,16,dense_units=[16]"]


def _exit(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def _planned(monkeypatch):
    """run_comparison replaced: the plan it would run is kept, nothing trains."""
    plans = []

    def keep(plan):
        plans.append(plan)
        raise KeyboardInterrupt  # the study stops before any run: exit 130

    monkeypatch.setattr("regkit.cli.run_comparison", keep)
    return plans


# ------------------------------------------------------------------ --model-kwargs
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("depth=20,width=16", {"depth": 20, "width": 16}),
        ("filters=16,32,dense_units=[64]", {"filters": (16, 32), "dense_units": (64,)}),
        ("filters=[8, 16],pooling=avg", {"filters": (8, 16), "pooling": "avg"}),
        (
            'pooling="max",include_preprocessing=false',
            {"pooling": "max", "include_preprocessing": False},
        ),
        ("alpha=0.35", {"alpha": 0.35}),
    ],
)
def test_model_kwargs_read_toml_values_and_comma_runs(text, expected):
    assert parse_model_kwargs(text) == expected
    assert build_parser().parse_args(["compare", "--model-kwargs", text]).model_kwargs == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("depth", "'depth' comes before any KEY="),
        ("depth=", "'depth=' has no value"),
        ("depth=2,depth=3", "'depth' is given twice"),
        ("2x=1", "'2x' is not a keyword argument name"),
        ("filters=[8,16],32", "'32' follows the array given for 'filters'"),
        ("width=1 6", "'1 6' in 'width=1 6' is not a TOML value"),
    ],
)
def test_bad_model_kwargs_exit_2_naming_the_part(text, needle, capsys):
    code, _, err = _exit(["compare", "--model-kwargs", text], capsys)
    assert code == 2
    assert "argument --model-kwargs: expected KEY=VALUE,..." in err and needle in err


def test_model_kwargs_reach_the_builder_and_the_report(tmp_path, capsys):
    import regkit

    out = tmp_path / "study"
    assert main(["compare", "--variants", "baseline", *QUICK, *TINY, "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["config"]["model_kwargs"] == {"filters": [8, 16], "dense_units": [16]}
    expected = regkit.build_cnn((8, 8, 1), 10, filters=(8, 16), dense_units=(16,))
    assert data["variants"]["baseline"]["params"] == expected.count_params()


# ------------------------------------------------------------------ the default study folder
def test_the_default_folder_is_named_from_the_settings_that_change_runs():
    settings = {"dataset": "digits", "model": "cnn", "epochs": 15, "seeds": (0,)}
    folder = default_study_folder(settings, "baseline,all")
    assert folder.parent.name == "runs" and folder.name.startswith("digits-cnn-")
    # the same study, however it is spelled, and with other seeds: the same folder
    assert default_study_folder({**settings, "seeds": (0, 1, 2)}, "baseline, all") == folder
    assert default_study_folder({**settings, "verbose": 0, "jobs": 2}, "baseline,all") == folder
    # another study: another folder
    assert default_study_folder({**settings, "epochs": 16}, "baseline,all") != folder
    assert default_study_folder(settings, "baseline,l2") != folder
    assert default_study_folder({**settings, "sweep": {"l2": (0.0, 1e-3)}}, "baseline") != (
        default_study_folder(settings, "baseline")
    )
    assert default_study_folder({**settings, "dataset": "imagenette/160px"}, "bn").name.startswith(
        "imagenette_160px-cnn-"
    )


def test_the_same_command_without_out_finds_its_study_again(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["compare", "--variants", "baseline", *QUICK, *TINY]
    assert main(argv) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("digits-cnn-")
    assert main([*argv, "--seeds", "0,1"]) == 0  # more seeds: the same study, seed 0 reused
    runs = json.loads((folder / "report.json").read_text())["variants"]["baseline"]["runs"]
    assert [(r["seed"], r["origin"]) for r in runs] == [(0, "reused"), (1, "trained")]
    assert main(["compare", "--variants", "baseline", *QUICK[:-2], *TINY, "--epochs", "2"]) == 0
    assert len(list((tmp_path / "runs").iterdir())) == 2  # 2 epochs: another study


def test_an_interrupt_names_the_folder_and_the_command_that_continues(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)

    def interrupted(plan):  # one run finished, then Ctrl-C
        finished = plan.study.out_dir / "baseline" / "seed0"
        finished.mkdir(parents=True)
        (finished / "result.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr("regkit.cli.run_comparison", interrupted)
    argv = ["compare", "--variants", "baseline,l2", "--epochs", "1", "--restart", "-q"]
    assert main(argv) == 130
    err = capsys.readouterr().err
    (folder,) = (tmp_path / "runs").iterdir()
    where = f"runs/{folder.name}"
    assert f"Interrupted: 1 finished run kept in {where}." in err
    assert f"run the same command again (it finds {where} again)" in err
    # the command, as typed, without --restart (which would discard the finished run)
    command = err.strip().splitlines()[-1].strip()
    assert shlex.split(command) == ["regkit", *[a for a in argv if a != "--restart"]]


# ------------------------------------------------------------------ --variants with a study file
LEAGUE = """
epochs = 1
[variants.baseline]
[variants.ema]
ema = 0.9
[variants.wd]
preset = "l2"
"""


def test_variants_pick_a_study_files_variants_by_name(tmp_path, monkeypatch, capsys):
    study = tmp_path / "league.toml"
    study.write_text(LEAGUE)
    plans = _planned(monkeypatch)
    out = ["--out", str(tmp_path / "o"), "--limit", "48"]
    assert main(["compare", "--config", str(study), "--variants", "baseline,ema", *out]) == 130
    assert list(plans[-1].variants) == ["baseline", "ema"]
    assert plans[-1].variants["ema"].reg.ema == 0.9
    # a name that is no file variant is a spec, as without a file
    assert main(["compare", "--config", str(study), "--variants", "wd,bn+l2=1e-4", *out]) == 130
    assert list(plans[-1].variants) == ["wd", "bn+l2=1e-4"]
    assert plans[-1].variants["wd"].reg.l2 == pytest.approx(5e-4)
    # neither: exit 2 listing the file's names
    code, _, err = _exit(["compare", "--config", str(study), "--variants", "baseline,emma"], capsys)
    assert code == 2
    assert "argument --variants: 'emma' is neither a variant of" in err
    assert "(baseline, ema, wd)" in err and "unknown variant 'emma'" in err


# ------------------------------------------------------------------ regkit export
@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "study"
    assert main(["compare", "--variants", "bn", *QUICK, *TINY, "--out", str(out)]) == 0
    return out


def _accuracy(model) -> float:
    from regkit.data import image_pipeline, load_dataset

    split = load_dataset("digits").take(48).test
    test = image_pipeline(split, batch_size=16, training=False, model=model)
    return model.evaluate(test, return_dict=True, verbose=0)["accuracy"]


def test_export_writes_a_keras_file_that_predicts_the_reported_accuracy(
    study, tmp_path, monkeypatch, capsys
):
    import keras

    monkeypatch.chdir(tmp_path)
    assert main(["export", str(study)]) == 0  # one variant, one seed: nothing to choose
    out = capsys.readouterr().out
    assert out.startswith("Wrote bn-seed0.keras (bn seed 0, test accuracy ")
    assert "the model takes the data set's raw 0-255 pixels" in out
    report = json.loads((study / "report.json").read_text())
    reported = report["variants"]["bn"]["runs"][0]["test_accuracy"]
    assert f"test accuracy {100 * reported:.1f}%" in out
    model = keras.saving.load_model(tmp_path / "bn-seed0.keras")
    assert _accuracy(model) == pytest.approx(reported, abs=1e-6)
    assert (tmp_path / "bn-seed0.keras").read_bytes() == (
        study / "bn" / "seed0" / "model.keras"
    ).read_bytes()  # the run's own file


@pytest.fixture
def two_by_two(tmp_path):
    """A study folder's report with variants baseline and bn, seeds 0 and 1 (no training)."""
    from regkit.experiments import Report, RunResult, Variant

    history = {"loss": [1.0], "val_loss": [1.1], "accuracy": [0.6], "val_accuracy": [0.5]}
    runs = [RunResult.from_history(v, s, history) for s in (0, 1) for v in ("baseline", "bn")]
    report = Report({"baseline": Variant("baseline"), "bn": Variant("bn")}, runs, seeds=(0, 1))
    report.to_json(tmp_path / "report.json")
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--seed", "0"],
            "argument --variant: the study has several variants; choose from baseline, bn",
        ),
        (
            ["--variant", "ema"],
            "argument --variant: unknown variant 'ema'; choose from baseline, bn",
        ),
        (["--variant", "bn"], "argument --seed: several seeds; choose from 0, 1"),
        (["--variant", "bn", "--seed", "7"], "'bn' has no run with seed 7; choose from 0, 1"),
        (["--variant", "bn", "--seed", "0", "--format", "onnx"], "invalid choice: 'onnx'"),
    ],
)
def test_export_refuses_an_ambiguous_or_unknown_run_with_exit_2(two_by_two, argv, needle, capsys):
    code, _, err = _exit(["export", str(two_by_two), *argv], capsys)
    assert code == 2 and needle in err


def test_export_without_a_study_or_a_model_exits_2(two_by_two, tmp_path, capsys):
    code, _, err = _exit(["export", str(tmp_path / "nothing")], capsys)
    assert code == 2
    assert "regkit export: error: argument STUDY: cannot read a study's report" in err
    code, _, err = _exit(["export", str(two_by_two), "--variant", "bn", "--seed", "1"], capsys)
    assert code == 2 and "Cannot load 'bn' seed 1: no weights at" in err


@pytest.mark.slow
def test_export_savedmodel_and_tflite_agree_with_the_keras_model(study, tmp_path, capsys):
    import numpy as np
    import tensorflow as tf

    from regkit.data import load_dataset
    from regkit.experiments import Report

    images = np.stack([x for x, _ in load_dataset("digits").take(48).test.as_numpy_iterator()])
    model = Report.from_json(study / "report.json").load_model("bn", seed=0)
    expected = model.predict(images.astype("float32"), verbose=0)  # it rescales itself
    base = ["export", str(study), "--variant", "bn", "--seed", "0"]
    assert main([*base, "--format", "savedmodel", "--out", str(tmp_path / "sm")]) == 0
    served = tf.saved_model.load(str(tmp_path / "sm"))
    out = served.signatures["serving_default"](tf.constant(images))  # uint8 straight in
    np.testing.assert_allclose(next(iter(out.values())).numpy(), expected, atol=1e-5)
    assert main([*base, "--format", "tflite", "--out", str(tmp_path / "bn.tflite")]) == 0
    interpreter = tf.lite.Interpreter(model_path=str(tmp_path / "bn.tflite"))
    (inp,), (outp,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(inp["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], images.astype(inp["dtype"]))
    interpreter.invoke()
    np.testing.assert_allclose(interpreter.get_tensor(outp["index"]), expected, atol=1e-5)
