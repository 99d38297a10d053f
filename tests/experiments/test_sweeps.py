"""Sweeps: every base variant crossed with each value of a swept field."""

from __future__ import annotations

import pytest

from regkit.config import Regularization
from regkit.experiments.study.specs import coerce_sweep, expand_sweep, parse_sweep, parse_variants


def test_a_sweep_crosses_every_base_with_each_value():
    specs = expand_sweep(parse_variants("baseline,bn"), {"l2": [0.0, 1e-4, 1e-3]})
    assert list(specs) == [
        "baseline-l2=0.0",
        "baseline-l2=0.0001",
        "baseline-l2=0.001",
        "bn-l2=0.0",
        "bn-l2=0.0001",
        "bn-l2=0.001",
    ]
    strong = specs["bn-l2=0.001"]
    assert strong.reg == Regularization(l2=1e-3, batch_norm=True, head_batch_norm=True)
    assert strong.base == "bn"
    assert strong.swept == (("l2", 1e-3),)


def test_the_swept_value_overrides_the_bases_own():
    specs = expand_sweep(parse_variants("all"), {"l2": [1e-5]})
    assert specs["all-l2=1e-05"].reg == Regularization.preset("all").replace(l2=1e-5)


def test_two_swept_fields_make_a_grid():
    specs = expand_sweep(parse_variants("bn"), {"l2": [1e-4, 1e-3], "dropout": [0.1, 0.3]})
    assert len(specs) == 4
    assert specs["bn-l2=0.001-dropout=0.3"].swept == (("l2", 1e-3), ("dropout", 0.3))


def test_training_overrides_sweep_too():
    specs = expand_sweep(parse_variants("baseline"), {"learning_rate": ["1e-3", "1e-2"]})
    assert [s.learning_rate for s in specs.values()] == [1e-3, 1e-2]
    assert list(specs) == ["baseline-learning_rate=0.001", "baseline-learning_rate=0.01"]
    opt = expand_sweep(parse_variants("lr:learning_rate=0.01"), {"optimizer": ["sgd", "adam"]})
    assert [(s.optimizer, s.learning_rate) for s in opt.values()] == [("sgd", 0.01), ("adam", 0.01)]


def test_no_sweep_keeps_the_bases():
    bases = parse_variants("baseline,bn")
    assert expand_sweep(bases, None) == bases
    assert expand_sweep(bases, {}) == bases


def test_the_command_line_form():
    assert parse_sweep("l2=0,1e-4,1e-3") == ("l2", (0.0, 1e-4, 1e-3))
    assert parse_sweep("batch_norm=true,false") == ("batch_norm", (True, False))
    assert parse_sweep("DROPOUT=0.1, 0.2") == ("dropout", (0.1, 0.2))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("l2", r"expected FIELD=V1,V2"),
        ("=1,2", r"expected FIELD=V1,V2"),
        ("l3=1,2", r"unknown field 'l3'"),
        ("l2=", r"at least one value for 'l2'"),
        ("l2=1e-3,abc", r"`l2` in sweep\['l2'\] expects a finite number. Received: l2='abc'"),
        ("l2=1e-3,0.001", r"a value for 'l2' is repeated"),
    ],
)
def test_bad_command_line_sweeps_name_the_problem(text, match):
    with pytest.raises(ValueError, match=match) as info:
        parse_sweep(text)
    assert str(info.value).startswith("Invalid value for argument `sweep`")


def test_a_value_out_of_range_names_the_variant_and_field():
    with pytest.raises(
        ValueError, match=r"variant 'bn-dropout=1.0'.*`dropout`: expected a float in"
    ):
        expand_sweep(parse_variants("bn"), {"dropout": [0.5, 1.0]})


def test_a_sweep_must_be_a_mapping_of_lists():
    with pytest.raises(TypeError, match="`sweep`: expected a mapping"):
        coerce_sweep([("l2", [1e-3])])
    assert coerce_sweep({"l2": 1e-3}) == {"l2": (1e-3,)}  # one value is a list of one
