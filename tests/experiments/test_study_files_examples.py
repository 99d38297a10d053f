"""Every study file in examples/studies/ reads and plans its variants (no training)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from regkit.experiments.run.plan import coerce_variants
from regkit.experiments.study.config import MODELS
from regkit.experiments.study.specs import StudyFile, load_study

STUDIES = sorted((Path(__file__).parents[2] / "examples" / "studies").glob("*.toml"))


def test_there_are_example_studies():
    assert STUDIES


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_example_study_loads(path):
    study = load_study(path)
    assert isinstance(study, StudyFile)
    assert study.settings.get("model", "cnn") in MODELS
    variants = coerce_variants(study.arguments()["variants"])
    assert next(iter(variants)) == "baseline"  # the reference comes first
    # every variant's recipe is what the file says (no key silently ignored)
    for name, variant in variants.items():
        assert variant.label == name


def test_the_league_puts_each_regularizer_in_its_own_row():
    path = next(p for p in STUDIES if p.name == "fashion_mnist_league.toml")
    variants = load_study(path).variants
    assert variants["mixup"].augment["mixup"] == 0.2
    assert variants["cutmix"].augment["cutmix"] == 1.0
    assert variants["random_erasing"].augment["random_erasing"] == 0.5
    assert variants["label_smoothing"].reg.label_smoothing == 0.1
    assert variants["ema"].reg.ema == 0.99
    assert variants["swa"].reg.swa == 0.25
    assert variants["sam"].reg.sam == 0.05
    assert variants["drop_block"].reg.drop_block == 0.1
    modern = variants["modern"]
    assert modern.reg.batch_norm and modern.reg.ema == 0.99 and modern.augment is not None


def test_the_overfitting_league_has_every_regularizer_tuned_or_set():
    """League table 2 (issue 34): every regularizer regkit offers a CNN is in its file,
    each with a strength is tuned over candidates, and drop path is in its ResNet file."""
    from regkit.experiments.study.tuning import coerce_tune

    def fields(name):
        study = load_study(next(p for p in STUDIES if p.name == name))
        arms = coerce_tune(study.arguments().get("tune"))
        tuned = {field for arm in arms.values() for field in arm}
        set_ = set()
        for variant in study.variants.values():
            set_ |= {k for k, v in variant.reg.__dict__.items() if v and k != "bn_momentum"}
            set_ |= {k for k, v in (variant.augment or {}).items() if v}
        return study, arms, tuned, set_

    study, arms, tuned, set_ = fields("fashion_mnist_overfitting.toml")
    assert study.settings["limit"] == {"train": 2000}  # whole validation and test sets
    assert {
        "l2",
        "weight_decay",
        "dropout",
        "spatial_dropout",
        "drop_block",
        "random_erasing",
        "mixup",
        "cutmix",
        "label_smoothing",
        "ema",
        "swa",
        "sam",
    } <= tuned
    grid = [math.prod(len(values) for values in arm.values()) for arm in arms.values()]
    assert min(grid) >= 4  # a range of strengths, not a pair
    assert "batch_norm" in set_  # no strength to tune: a variant of its own
    assert {"classic", "modern"} <= set(study.variants)
    study, arms, tuned, _ = fields("fashion_mnist_overfitting_resnet.toml")
    assert tuned == {"drop_path"} and study.settings["model"] == "resnet"
