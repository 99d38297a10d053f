"""Tests for regkit.experiments.run.plan: every argument check, before any training."""

from __future__ import annotations

import re

import pytest

from regkit.config import Regularization
from regkit.experiments.report.results import Variant
from regkit.experiments.run.plan import coerce_variants, plan_comparison

TINY = {"filters": (8, 16), "dense_units": (16,)}  # 8x8 digits -> 4 -> 2
QUICK = {"epochs": 1, "batch_size": 16, "limit": 48, "verbose": 0, "model_kwargs": TINY}


# ---------------------------------------------------------------------------- variants
def test_variants_from_sequence_and_mapping():
    got = coerce_variants(["baseline", "all"])
    assert list(got) == ["baseline", "all"]
    assert got["all"].reg == Regularization.preset("all")
    got = coerce_variants({"mine": Regularization(l2=1e-3), "hot": Variant(learning_rate=5.0)})
    assert got["mine"].reg.l2 == pytest.approx(1e-3)
    assert got["hot"].learning_rate == 5.0
    assert coerce_variants("baseline, l2") == coerce_variants(["baseline", "l2"])


def test_variants_errors_name_the_problem():
    with pytest.raises(ValueError, match="expected at least one variant"):
        coerce_variants([])
    with pytest.raises(ValueError, match=r"unknown variant 'nope'.*baseline, l2, bn"):
        coerce_variants(["baseline", "nope"])
    with pytest.raises(ValueError, match="unique variant names"):
        coerce_variants(["l2", "l2"])
    with pytest.raises(ValueError, match="differ after replacing odd characters"):
        coerce_variants({"a b": "l2", "a_b": "bn"})
    with pytest.raises(ValueError, match="Received: learning_rate=-1"):
        Variant(learning_rate=-1)


BAD_ARGUMENTS = [
    ({"variants": []}, "expected at least one variant"),
    ({"variants": ["baseline", "bogus"]}, "unknown variant 'bogus'"),
    ({"epochs": 0}, "Received: epochs=0"),
    ({"batch_size": -1}, "Received: batch_size=-1"),
    ({"seeds": ()}, "Received: seeds=()"),
    ({"seeds": (1, 1)}, "distinct seeds"),
    ({"model": "vgg16"}, "unknown model 'vgg16'"),
    ({"optimizer": "adagrad"}, "unknown optimizer 'adagrad'"),
    ({"dataset": "no_such_dataset_xyz"}, "no_such_dataset_xyz"),
    ({"learning_rate": 0.0}, "Received: learning_rate=0.0"),
    ({"bn_momentum": 1.5}, "Received: bn_momentum=1.5"),
    ({"image_size": (0, 8)}, "Received: image_size=(0, 8)"),
    ({"on_error": "ignore"}, "Received: on_error='ignore'"),
]


def test_compare_rejects_bad_arguments_before_training(monkeypatch):
    from regkit import compare
    from regkit.experiments.run import runner

    def no_training(*args, **kw):
        raise AssertionError("training started")

    monkeypatch.setattr(runner, "run_one", no_training)
    for kwargs, message in BAD_ARGUMENTS:  # one test: each test pays a Keras session reset
        kwargs = {"variants": ["baseline"], **kwargs}
        with pytest.raises(ValueError, match=re.escape(message)):
            compare(kwargs.pop("variants"), **kwargs)


def test_out_dir_must_be_a_writable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="a directory"):
        plan_comparison(["baseline"], out_dir=blocker)
    plan = plan_comparison(["baseline"], out_dir=tmp_path / "new" / "dir")
    assert plan.study.out_dir.is_dir()


def test_plan_resizes_digits_for_mobilenet_and_sets_bn_momentum():
    plan = plan_comparison(["baseline", "bn"], model="mobilenet_v2", bn_momentum="auto")
    assert plan.input_shape == (32, 32, 1)
    assert plan.study.image_size == (32, 32)
    # 1,149 training digits / 32 = 36 steps < 1 / (1 - 0.99) = 100 steps
    assert plan.config["steps_per_epoch"] == 36
    assert plan.variants["bn"].reg.bn_momentum == pytest.approx(0.9)
    assert plan.variants["baseline"].reg == Regularization()
    assert "0.99 -> 0.9" in plan.config["bn_momentum"]
    big = plan_comparison(["bn"], batch_size=4, bn_momentum="auto")  # 288 steps per epoch
    assert big.variants["bn"].reg.bn_momentum == pytest.approx(0.99)
    fixed = plan_comparison(["bn", "l2"], bn_momentum=0.5)
    assert fixed.variants["bn"].reg.bn_momentum == 0.5
    assert fixed.variants["l2"].reg.bn_momentum == 0.99  # no BatchNorm: left alone


def test_no_matplotlib_means_no_plots_and_a_warning_before_training(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a),
    )
    with pytest.warns(UserWarning, match="matplotlib is not installed"):
        plan = plan_comparison(["baseline"], out_dir=tmp_path)
    assert plan.study.plots is False


def test_compare_and_settings_share_one_argument_list():
    import inspect

    from regkit import compare
    from regkit.experiments.study.config import StudyConfig as Settings

    parameters = inspect.signature(compare).parameters
    assert list(parameters)[1:] == list(Settings.names())
    for field in Settings.names():
        assert parameters[field].default == getattr(Settings(), field), field


def test_plan_rejects_unknown_settings_by_name():
    with pytest.raises(TypeError, match="unexpected keyword arguments: epoch, seed"):
        plan_comparison(["baseline"], epoch=3, seed=1)


def test_validation_and_test_passes_use_larger_batches():
    """Evaluation batches are four training batches, at most 512, never fewer than one:
    the same figures at half the cost of a validation pass (docs/benchmarks.md)."""
    import tensorflow as tf

    from regkit import build_cnn
    from regkit.experiments.run.runner import _pipelines

    sizes = {
        b: plan_comparison(["baseline"], batch_size=b, limit=40).eval_batch_size
        for b in (1, 32, 64, 200, 1024)
    }
    assert sizes == {1: 4, 32: 128, 64: 256, 200: 512, 1024: 1024}
    plan = plan_comparison(["baseline"], batch_size=8, limit={"train": 40})
    model = build_cnn((8, 8, 1), 10, filters=(4,), dense_units=(8,))
    train, validation, test, steps = _pipelines(plan, 0, tf.Variable(0, dtype=tf.int64), model)
    assert steps == 5 and next(iter(train))[0].shape[0] == 8
    first = [len(x) for x, _ in validation.take(2)]
    assert first == [32, 32]
    assert next(iter(test))[0].shape[0] == 32


def test_limit_caps_every_split():
    plan = plan_comparison(["baseline"], limit=40)
    assert plan.splits.num_examples == {"train": 40, "validation": 40, "test": 40}
    assert sum(1 for _ in plan.splits.test) == 40
    assert plan.config["limit"] == 40


def test_a_limit_by_split_caps_only_the_splits_it_names(tmp_path):
    """The overfitting regime: a small training set, whole validation and test sets."""
    from regkit.experiments.study.specs import load_study

    whole = plan_comparison(["baseline"]).splits.num_examples
    plan = plan_comparison(["baseline"], limit={"train": 40})
    assert plan.splits.num_examples == {**whole, "train": 40}
    assert sum(1 for _ in plan.splits.train) == 40
    assert sum(1 for _ in plan.splits.validation) == whole["validation"]
    assert plan.config["limit"] == {"train": 40}
    for bad, message in [
        ({"training": 40}, "limit`: expected a positive int or a mapping of train, valid"),
        ({"train": 0}, "limit['train']`: expected a positive int. Received: limit['train']=0"),
        ({}, "Received: limit={}"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            plan_comparison(["baseline"], limit=bad)
    path = tmp_path / "s.toml"
    path.write_text("limit = { train = 40, test = 100 }\n", encoding="utf-8")
    assert load_study(path).settings == {"limit": {"train": 40, "test": 100}}
    path.write_text('limit = "40"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="key 'limit': expected an integer or a table"):
        load_study(path)


def test_a_dataset_given_as_splits_is_recorded_by_name_not_copied():
    """The report's config records a DatasetSplits by its name: copying it (tf.data inside)
    failed with 'cannot pickle Graph'."""
    from regkit.data import load_dataset
    from regkit.experiments.run.plan import plan_comparison

    splits = load_dataset("digits").take(32)
    plan = plan_comparison(["baseline"], dataset=splits, epochs=1, verbose=0)
    assert isinstance(plan.config["dataset"], str)
