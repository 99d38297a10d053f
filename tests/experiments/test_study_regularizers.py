"""Every regularizer as a variant of a study: compare() trains, reports and evaluates it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from regkit import Regularization
from regkit.experiments import Report, Variant
from regkit.experiments.study.specs import expand_sweep, parse_spec, parse_variants

TINY = {"filters": (8, 16), "dense_units": (16,)}  # 8x8 digits -> 4 -> 2
QUICK = {"epochs": 2, "batch_size": 16, "limit": 48, "verbose": 0, "model_kwargs": TINY}


# ---------------------------------------------------------------------------- grammar
def test_augment_and_its_fields_are_variant_fields():
    specs = parse_variants(
        "baseline,mix:augment=mixup,re:random_erasing=0.5,ls:label_smoothing=0.1"
    )
    assert specs["baseline"].augment is None  # the study's augmentation
    assert specs["mix"].augment["mixup"] == 0.2 and specs["mix"].augment["flip"] is False
    assert specs["re"].augment == {"random_erasing": 0.5}  # over the study's augmentation
    assert specs["ls"].reg == Regularization(label_smoothing=0.1)
    assert specs["mix"].describe() == "none, augment=MixUp alpha 0.2"
    with pytest.raises(ValueError, match=r"variant 'bad'.*augment"):
        parse_spec("bad:augment=nonsense")
    with pytest.raises(ValueError, match="random_erasing"):
        parse_spec("random_erasing=2")


def test_a_variants_augment_replaces_or_extends_the_studys():
    from regkit.data import Augment

    study = Augment(rotation=10.0)
    assert Variant().augment_for(study) == study
    assert Variant(augment="mixup").augment_for(study) == Augment(mixup=0.2)
    assert Variant(augment={"mixup": 0.2}).augment_for(study) == Augment(rotation=10.0, mixup=0.2)
    assert Variant(augment="none").augment_for(study) is None
    # report.json form: the variant's own fields next to its regularization, read back
    entry = Variant("l2", augment="random-erasing").to_dict()
    assert entry["augment"]["random_erasing"] == 0.5
    assert Variant.from_dict(json.loads(json.dumps(entry))) == Variant(
        "l2", augment="random-erasing"
    )
    assert Variant.from_dict({"regularization": {}}).augment is None  # a 0.2 report


def test_sweeps_of_training_and_augment_fields():
    bases = parse_variants("baseline")
    swept = expand_sweep(bases, {"label_smoothing": [0, 0.1]})
    assert [v.reg.label_smoothing for v in swept.values()] == [0.0, 0.1]
    swept = expand_sweep(parse_variants("mix:augment=mixup"), {"random_erasing": [0, 0.5]})
    erased = swept["mix-random_erasing=0.5"]
    assert erased.augment["mixup"] == 0.2 and erased.augment["random_erasing"] == 0.5
    assert erased.base == "mix" and erased.swept == (("random_erasing", 0.5),)


# ---------------------------------------------------------------------------- studies
@pytest.fixture(scope="module")
def league(tmp_path_factory):
    """One small study of the training-loop regularizers side by side."""
    from regkit import compare

    out = tmp_path_factory.mktemp("league")
    variants = (
        "baseline,mix:augment=mixup,ls:label_smoothing=0.1,ema:ema=0.9,swa:swa=0.5,"
        "sam:sam=0.05,re:random_erasing=0.5,db:drop_block=0.1+drop_block_size=3"
    )
    report = compare(variants, out_dir=out, plots=False, run_eagerly=True, **{**QUICK, "epochs": 1})
    return report, out


def test_each_regularizer_trains_and_is_reported(league):
    report, out = league
    names = ["baseline", "mix", "ls", "ema", "swa", "sam", "re", "db"]
    assert [r.variant for r in report.runs] == names
    assert all(r.status == "ok" and r.test_accuracy is not None for r in report.runs)
    data = json.loads((out / "report.json").read_text())["variants"]
    assert data["mix"]["augment"]["mixup"] == 0.2
    assert data["ls"]["regularization"]["label_smoothing"] == 0.1
    assert data["sam"]["regularization"]["sam"] == 0.05
    markdown = (out / "report.md").read_text()
    for name in names:
        assert report.variants[name].describe() in markdown
    back = Report.from_json(out / "report.json")
    assert back.variants["mix"] == report.variants["mix"]


@pytest.mark.parametrize("name", ["ema", "swa"])
def test_the_averaged_weights_are_what_is_tested_and_saved(league, name):
    """The checkpoint holds the averages, and the test figure comes from them."""
    from regkit.data import load_dataset
    from regkit.data.pipeline import image_pipeline

    report, _ = league
    run = report.runs_for(name)[0]
    model = report.load_model(name, seed=0)
    test = load_dataset("digits").take(48).test
    data = image_pipeline(test, batch_size=16, training=False, model=model)
    accuracy = model.evaluate(data, return_dict=True, verbose=0)["accuracy"]
    assert accuracy == pytest.approx(run.test_accuracy)


def test_drop_path_on_a_small_resnet():
    from regkit import compare

    report = compare(
        "baseline,dp:drop_path=0.2",
        model="resnet",
        run_eagerly=True,  # two steps: tracing would cost more than training
        **{**QUICK, "epochs": 1, "model_kwargs": {"depth": 8, "width": 4}},
    )
    assert [r.status for r in report.runs] == ["ok", "ok"]
    assert report.config["model"] == "resnet"


def test_dataset_as_arrays():
    from regkit import compare

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    y = rng.integers(0, 3, size=40)
    report = compare("baseline", dataset=((x[:32], y[:32]), (x[32:], y[32:])), **QUICK)
    assert report.config["dataset"] == "arrays" and report.config["num_classes"] == 3
    assert report.runs[0].status == "ok"


def test_tensorboard_logs_each_run_with_the_weight_norms(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from regkit import compare

    compare("baseline", out_dir=tmp_path, tensorboard=True, plots=False, **QUICK)
    logs = tmp_path / "baseline" / "seed0" / "tensorboard" / "train"
    events = EventAccumulator(str(logs), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()["tensors"] + events.Tags()["scalars"]
    assert any(tag.endswith("_kernel_norm") for tag in tags), tags


def test_tensorboard_is_checked_before_training(monkeypatch):
    import keras

    from regkit.callbacks import tensorboard
    from regkit.experiments.run.plan import plan_comparison

    monkeypatch.setattr(tensorboard, "tensorboard_installed", lambda: False)
    with pytest.raises(ModuleNotFoundError, match="pip install"):
        plan_comparison("baseline", tensorboard=True, **QUICK)
    with pytest.raises(ModuleNotFoundError, match="pip install"):  # a user's own callback
        plan_comparison("baseline", callbacks=[keras.callbacks.TensorBoard()], **QUICK)
    plan_comparison("baseline", callbacks=[keras.callbacks.EarlyStopping()], **QUICK)


def test_bad_images_is_a_study_setting(tmp_path):
    import tensorflow as tf

    from regkit.experiments.run.plan import plan_comparison

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        for i in range(8):
            pixels = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
            (tmp_path / label / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    (tmp_path / "a" / "broken.png").write_text("not a PNG")
    with pytest.raises(ValueError, match=r"broken\.png"):
        plan_comparison("baseline", dataset=tmp_path, image_size=8)
    plan = plan_comparison("baseline", dataset=tmp_path, image_size=8, bad_images="skip")
    assert plan.config["bad_images"] == "skip"
    assert [p.rsplit("/", 1)[-1] for p in plan.config["skipped_images"]] == ["broken.png"]
    with pytest.raises(ValueError, match="bad_images"):
        plan_comparison("baseline", bad_images="ignore")


def test_a_study_model_takes_the_data_sets_own_images(league):
    """The rescaling is inside the model: raw uint8 digits give the study's test figure."""
    from regkit.data import load_dataset

    report, _ = league
    assert report.config["model_input"] == {
        "dtype": "uint8",
        "value_range": [0, 255],
        "rescaling": True,
    }
    model = report.load_model("baseline", seed=0)
    images, labels = zip(*load_dataset("digits").take(48).test.as_numpy_iterator(), strict=True)
    x, y = np.stack(images), np.asarray(labels)
    assert x.dtype == np.uint8
    accuracy = float(np.mean(model.predict(x, verbose=0).argmax(-1) == y))
    assert accuracy == pytest.approx(report.runs_for("baseline")[0].test_accuracy)


def test_a_changed_variant_augment_refuses_the_finished_runs(tmp_path):
    from regkit.experiments import compare

    quick = {**QUICK, "epochs": 1, "limit": 32, "plots": False}
    compare("mix:augment=mixup", out_dir=tmp_path, **quick)
    again = compare("mix:augment=mixup", out_dir=tmp_path, **quick)
    assert [run.origin for run in again.runs] == ["reused"]
    with pytest.raises(ValueError, match=r"out_dir.*augment"):
        compare("mix:augment=cutmix", out_dir=tmp_path, **quick)


def test_the_report_notes_say_how_many_images_were_skipped():
    from types import SimpleNamespace

    from regkit.experiments.report.tables import report_notes

    def notes(skipped):
        config = {"skipped_images": skipped} if skipped is not None else {}
        return report_notes(SimpleNamespace(seeds=(0,), complete=True, runs=[], config=config))

    assert not any("skipped" in n for n in notes(None) + notes([]))
    (one,) = [n for n in notes(["a/broken.png"]) if "skipped" in n]
    assert one == "1 unreadable image skipped (bad_images='skip'): a/broken.png."
    (five,) = [n for n in notes([f"x/{i}.jpg" for i in range(5)]) if "skipped" in n]
    assert five.startswith("5 unreadable images skipped") and five.endswith("and 2 more.")
