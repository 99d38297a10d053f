"""Every study file in examples/studies/ reads and plans its variants (no training)."""

from __future__ import annotations

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
