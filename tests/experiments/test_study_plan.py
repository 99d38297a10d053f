"""compare's plan takes variant specs and sweeps from Python, with BN momentum 'auto' by default."""

from __future__ import annotations

import inspect

import pytest

from regkit.config import Regularization
from regkit.experiments import compare
from regkit.experiments.run.plan import plan_comparison


def test_compare_defaults_to_the_auto_bn_momentum_like_the_cli():
    assert inspect.signature(compare).parameters["bn_momentum"].default == "auto"
    plan = plan_comparison(["baseline", "bn"], limit=400)  # digits: 13 steps per epoch
    assert plan.variants["bn"].reg.bn_momentum == 0.9
    assert plan.variants["baseline"].reg.bn_momentum == 0.99  # no BatchNorm: left alone
    assert "0.99 -> 0.9" in plan.config["bn_momentum"]


def test_python_strings_are_variant_specs():
    plan = plan_comparison("baseline,l2=1e-3,wide:bn+dropout=0.3+learning_rate=3e-4", limit=64)
    assert list(plan.variants) == ["baseline", "l2=1e-3", "wide"]
    assert plan.variants["l2=1e-3"].reg == Regularization(l2=1e-3)
    assert plan.variants["wide"].learning_rate == 3e-4
    plan = plan_comparison({"ref": "baseline", "strong": "bn+l2=1e-3"}, limit=64)
    assert plan.variants["strong"].reg.l2 == 1e-3


def test_a_sweep_crosses_the_variants_and_is_recorded():
    plan = plan_comparison(["bn"], sweep={"l2": [0, 1e-3]}, limit=64, bn_momentum=None)
    assert list(plan.variants) == ["bn-l2=0.0", "bn-l2=0.001"]
    assert plan.variants["bn-l2=0.001"].reg == Regularization.preset("bn").replace(l2=1e-3)
    assert plan.config["sweep"] == {
        "fields": {"l2": [0.0, 1e-3]},
        "variants": {
            "bn-l2=0.0": {"base": "bn", "values": {"l2": 0.0}},
            "bn-l2=0.001": {"base": "bn", "values": {"l2": 1e-3}},
        },
    }
    assert plan_comparison(["bn"], limit=64).config["sweep"] is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variants": "baseline,l3=1"}, r"`variants`: unknown field 'l3'"),
        ({"variants": ["dropout=2"]}, r"`variants`: variant 'dropout=2'.*`dropout`"),
        ({"variants": ["bn"], "sweep": {"l2": ["x"]}}, r"`sweep`: `l2` in sweep\['l2'\]"),
        ({"variants": ["bn"], "sweep": {"nope": [1]}}, r"`sweep`: unknown field 'nope'"),
    ],
)
def test_bad_specs_and_sweeps_fail_before_any_data_is_loaded(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plan_comparison(kwargs.pop("variants"), limit=64, **kwargs)


def test_adaptive_seeds_continue_after_the_given_ones_never_below_them():
    # a confirmation on fresh seeds after a pilot on 0-5 starts at 6: its extra seeds must
    # not fall back to the pilot's
    design = plan_comparison(["baseline", "l2"], limit=64, seeds=(6, 7, 8), max_seeds=6)
    assert design.config["design"]["seeds"] == [6, 7, 8, 9, 10, 11]
    unordered = plan_comparison(["baseline"], limit=64, seeds=(5, 1, 3), max_seeds=5)
    assert unordered.config["design"]["seeds"] == [5, 1, 3, 6, 7]
    usual = plan_comparison(["baseline"], limit=64, seeds=(0, 1, 2), max_seeds=5)
    assert usual.config["design"]["seeds"] == [0, 1, 2, 3, 4]
    assert usual.config["design"]["looks"] == [3, 4, 5]
