"""The public `auto` BatchNorm momentum rule, and compare using it by default."""

from __future__ import annotations

import math

import pytest

import regkit
from regkit.config import AUTO_BN_MOMENTUM, Regularization, auto_bn_momentum


def test_the_rule_is_public_at_the_root():
    assert regkit.auto_bn_momentum is auto_bn_momentum
    assert "auto_bn_momentum" in regkit.__all__


@pytest.mark.parametrize(
    ("momentum", "steps", "expected"),
    [
        (0.99, 36, 0.9),  # digits at batch 32: a 100-step average over 36-step epochs
        (0.99, 99, 0.9),
        (0.99, 101, 0.99),  # the average fits in an epoch: kept
        (0.99, 1563, 0.99),  # CIFAR-10 at batch 32
        (0.95, 10, 0.9),  # 20-step average, 10-step epochs
        (0.95, 20, 0.95),  # exactly an epoch: kept
        (0.9, 3, 0.9),  # already at the target: never raised or lowered
        (0.5, 1, 0.5),
        (0.99, None, 0.99),  # unknown epoch length: kept
    ],
)
def test_auto_rule_switches_only_when_the_average_outlasts_an_epoch(momentum, steps, expected):
    assert auto_bn_momentum(momentum, steps) == expected


def test_auto_rule_follows_its_stated_reason():
    """The result never averages over more steps than an epoch unless it is the 0.9 target."""
    for steps in (1, 5, 36, 100, 1000):
        for momentum in (0.0, 0.5, 0.9, 0.95, 0.99, 0.999):
            result = auto_bn_momentum(momentum, steps)
            assert result <= momentum
            if result != AUTO_BN_MOMENTUM:
                assert result == momentum
                assert momentum <= AUTO_BN_MOMENTUM or 1 / (1 - momentum) <= steps + 1e-9
            assert not math.isnan(result)


def test_auto_rule_on_a_preset_as_the_readme_uses_it():
    reg = Regularization.preset("all")
    tuned = reg.replace(bn_momentum=auto_bn_momentum(reg.bn_momentum, steps_per_epoch=36))
    assert tuned.bn_momentum == 0.9
    assert (
        tuned.describe()
        == "l2=0.0005, bn, bn_momentum=0.9, dropout=0.25, head_bn, head_dropout=0.5"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"momentum": 1.0, "steps_per_epoch": 36}, ValueError, "`momentum`: expected a float in"),
        ({"momentum": -0.1, "steps_per_epoch": 36}, ValueError, "`momentum`"),
        ({"momentum": "0.99", "steps_per_epoch": 36}, TypeError, "`momentum`"),
        ({"momentum": 0.99, "steps_per_epoch": 0}, ValueError, "`steps_per_epoch`"),
        ({"momentum": 0.99, "steps_per_epoch": 3.5}, TypeError, "`steps_per_epoch`"),
    ],
)
def test_auto_rule_refuses_bad_arguments_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        auto_bn_momentum(**kwargs)


@pytest.mark.slow  # getting-started.md#2's claim checks the same in the default tier
def test_python_compare_bn_variant_learns_by_default():
    """Issue 12: compare(["baseline", "bn"], epochs=3) left BN at 0.99 and at chance (0.10)."""
    from regkit.experiments import compare

    report = compare(
        ["baseline", "bn"],
        dataset="digits",
        epochs=3,
        verbose=0,
        model_kwargs={"filters": (16, 32), "dense_units": (64,)},
    )
    assert report.variants["bn"].reg.bn_momentum == AUTO_BN_MOMENTUM
    assert report.summary()["bn"]["mean"]["val_accuracy"] > 0.8
    assert "auto: 0.99 -> 0.9 for bn" in report.config["bn_momentum"]


def test_auto_rule_covers_the_resnet_whose_batch_norm_is_always_there():
    """ResNet variants carry BatchNorm whatever `batch_norm` says, so "auto" reaches them too
    (on digits, 0.99 left a ResNet-8 at 0.40 validation accuracy against 0.98 in training)."""
    from regkit.experiments.run.plan import plan_comparison

    plan = plan_comparison("baseline", model="resnet", dataset="digits", limit=64, verbose=0)
    assert plan.variants["baseline"].reg.bn_momentum == AUTO_BN_MOMENTUM
    cnn = plan_comparison("baseline", model="cnn", dataset="digits", limit=64, verbose=0)
    assert cnn.variants["baseline"].reg.bn_momentum == Regularization().bn_momentum
