"""Regularization: validation, presets, conversions. No TensorFlow needed."""

from __future__ import annotations

import dataclasses
import math

import pytest

from regkit.config import PRESETS, Regularization


def test_defaults_regularize_nothing():
    reg = Regularization()
    assert not reg.active
    assert not reg.has_penalty
    assert reg.describe() == "none"


@pytest.mark.parametrize("name", ["baseline", "l2", "bn", "bn+l2", "dropout", "all"])
def test_presets_exist_and_differ(name):
    reg = Regularization.preset(name)
    assert reg is PRESETS[name]
    assert reg.active == (name != "baseline")


def test_preset_contents():
    assert Regularization.preset("l2").l2 > 0 and not Regularization.preset("l2").batch_norm
    assert Regularization.preset("bn").batch_norm and Regularization.preset("bn").l2 == 0
    assert Regularization.preset("bn+l2").batch_norm and Regularization.preset("bn+l2").l2 > 0
    dropout = Regularization.preset("dropout")
    assert (dropout.dropout, dropout.head_dropout) == (0.25, 0.5)
    everything = Regularization.preset("all")
    assert everything.l2 > 0 and everything.batch_norm and everything.dropout > 0
    assert Regularization.preset(" BN+L2 ") == Regularization.preset("bn+l2")


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ValueError) as err:
        Regularization.preset("l3")
    message = str(err.value)
    assert "'l3'" in message
    for name in PRESETS:
        assert name in message


def test_dropout_error_matches_house_style():
    with pytest.raises(ValueError) as err:
        Regularization(dropout=1.5)
    assert str(err.value) == (
        "Invalid value for argument `dropout`: expected a float in [0, 1). Received: dropout=1.5"
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("l2", -0.1, "a float >= 0"),
        ("l1", -1, "a float >= 0"),
        ("weight_decay", -1e-4, "a float >= 0"),
        ("l2", math.nan, "a finite float"),
        ("l2", math.inf, "a finite float"),
        ("head_dropout", 1.0, "a float in [0, 1)"),
        ("spatial_dropout", -0.1, "a float in [0, 1)"),
        ("bn_momentum", 1.0, "a float in [0, 1)"),
        ("bn_epsilon", 0.0, "a float > 0"),
    ],
)
def test_bad_values_name_the_field(field, value, expected):
    with pytest.raises(ValueError) as err:
        Regularization(**{field: value})
    assert f"argument `{field}`" in str(err.value)
    assert expected in str(err.value)
    assert f"Received: {field}=" in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"), [("batch_norm", 1), ("regularize_bias", "yes"), ("l2", "0.01")]
)
def test_wrong_types_raise_type_error(field, value):
    with pytest.raises(TypeError, match=f"`{field}`"):
        Regularization(**{field: value})


def test_frozen_and_hashable():
    reg = Regularization(l2=1e-4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reg.l2 = 0.1  # type: ignore[misc]
    assert {reg: 1}[Regularization(l2=1e-4)] == 1


def test_ints_are_stored_as_floats():
    reg = Regularization(l2=1, dropout=0)
    assert type(reg.l2) is float and type(reg.dropout) is float


def test_dict_round_trip_and_unknown_field():
    reg = Regularization(l2=1e-3, batch_norm=True, head_dropout=0.5)
    assert Regularization.from_dict(reg.to_dict()) == reg
    with pytest.raises(ValueError, match="unknown Regularization field"):
        Regularization.from_dict({"l2": 0.1, "dropuot": 0.5})


def test_replace_validates_again():
    reg = Regularization(l2=1e-3)
    assert reg.replace(batch_norm=True).batch_norm
    with pytest.raises(ValueError, match="dropout"):
        reg.replace(dropout=2.0)


def test_coerce_accepts_the_builder_forms():
    assert Regularization.coerce(None) == Regularization()
    assert Regularization.coerce("bn") == PRESETS["bn"]
    assert Regularization.coerce({"l2": 0.5}).l2 == 0.5
    with pytest.raises(TypeError, match="argument `reg`"):
        Regularization.coerce(0.01)  # type: ignore[arg-type]


def test_describe_is_readable():
    text = Regularization.preset("all").describe()
    assert "l2=0.0005" in text and "bn" in text and "dropout=0.25" in text
    assert "bn_momentum" not in text
    assert "bn_momentum=0.9" in Regularization.preset("all").replace(bn_momentum=0.9).describe()


# ----------------------------------------------------------------------------------------
# Numbers beyond float range and wrong containers are refused by name (issue 35).


@pytest.mark.parametrize("field", ["l1", "l2", "weight_decay", "dropout", "bn_momentum", "swa"])
def test_numbers_beyond_float_range_name_the_field(field):
    with pytest.raises(ValueError, match=rf"argument `{field}`: expected a finite float"):
        Regularization(**{field: 10**400})  # float(10**400) raises OverflowError
    with pytest.raises(ValueError, match=rf"Received: {field}=<an int of 16610 bits>"):
        Regularization(**{field: 10**5000})  # an int too long even to print


def test_drop_block_size_beyond_any_int_names_itself():
    with pytest.raises(ValueError, match=r"argument `drop_block_size`: expected an int in"):
        Regularization(drop_block_size=10**400)


@pytest.mark.parametrize("config", [None, 3, "l2", ["l2", 0.1], ("l2",)])
def test_from_dict_needs_a_mapping(config):
    with pytest.raises(
        TypeError, match=r"Invalid type for argument `config`: expected a dict of Regularization"
    ):
        Regularization.from_dict(config)  # type: ignore[arg-type]


def test_from_dict_with_keys_that_are_not_names_says_unknown_field():
    with pytest.raises(ValueError, match=r"unknown Regularization field\(s\) \['1'\]"):
        Regularization.from_dict({1: 0.1})  # type: ignore[dict-item]


def test_the_shared_validators_refuse_absurd_sizes_and_wrong_containers():
    from regkit._checks import (
        MAX_ITEMS,
        check_fraction,
        check_int_sequence,
        check_optional_list,
        check_positive_float,
        shown,
    )

    with pytest.raises(ValueError, match=r"argument `rate`: expected a float in \[0, 1\)"):
        check_fraction("rate", 10**400)
    with pytest.raises(ValueError, match=r"argument `lr`: expected a finite float > 0"):
        check_positive_float("lr", -(10**400))
    with pytest.raises(ValueError, match=rf"at most {MAX_ITEMS:,} ints. Received: filters=range"):
        check_int_sequence("filters", range(10**12))  # refused before it is read
    endless = iter(int, 1)  # yields 0 forever: only MAX_ITEMS + 1 are read
    with pytest.raises(ValueError, match=r"argument `units`: expected a sequence of at most"):
        check_int_sequence("units", endless)
    for container in ({32, 64}, {"a": 32}, frozenset({8})):
        with pytest.raises(TypeError, match=r"argument `filters`: expected a sequence of ints"):
            check_int_sequence("filters", container)
    assert check_int_sequence("filters", [32, 64]) == (32, 64)
    with pytest.raises(ValueError, match=r"argument `metrics`: expected None or a list of at"):
        check_optional_list("metrics", [0] * (MAX_ITEMS + 1), of="metrics")
    long = shown(list(range(10_000)))
    assert len(long) < 300 and long.endswith(f"... ({len(repr(list(range(10_000)))):,} characters)")
