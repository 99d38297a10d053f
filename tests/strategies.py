"""Shared hypothesis strategies and helpers for the property tests in every room.

Each room's `test_*_properties.py` imports what it needs from here: `twin` makes a
default-tier test and its slow-tier twin, `raises_naming` checks that a call raises a
ValueError/TypeError naming the spoiled argument.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regkit import (
    Regularization,
)
from regkit.config import PRESETS

SLOW_EXAMPLES = 200
_COMMON = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
    "print_blob": True,
}


def twin(strategy, *, fast: int, slow: int = SLOW_EXAMPLES):
    """Makes a default-tier test (`fast` examples) and a slow-tier twin (`slow`, 200)."""

    def make(check):
        def fast_test(case):
            check(case)

        def slow_test(case):
            check(case)

        fast_test.__doc__ = slow_test.__doc__ = check.__doc__
        fast_test = settings(max_examples=fast, **_COMMON)(given(strategy)(fast_test))
        slow_test = settings(max_examples=slow, **_COMMON)(given(strategy)(slow_test))
        return fast_test, pytest.mark.slow(slow_test)

    return make


def raises_naming(call, names):
    """Calls `call`; it must raise ValueError/TypeError whose message names one of `names`."""
    try:
        call()
    except (ValueError, TypeError) as err:
        message = str(err)
        assert any(f"`{n}`" in message for n in names), (
            f"{type(err).__name__} does not name any of {names}: {message}"
        )
        return err
    raise AssertionError(f"no error raised; expected one naming {names}")


# ----------------------------------------------------------------------------------------
# Shared strategies.

rates = st.floats(0.0, 0.9, allow_nan=False)
coefficients = st.one_of(st.just(0.0), st.floats(1e-6, 1e-1))

regularizations = st.builds(
    Regularization,
    l1=coefficients,
    l2=coefficients,
    regularize_bias=st.booleans(),
    regularize_depthwise=st.booleans(),
    regularize_output=st.booleans(),
    batch_norm=st.booleans(),
    bn_momentum=st.floats(0.0, 0.999),
    bn_epsilon=st.floats(1e-6, 1e-1),
    dropout=rates,
    spatial_dropout=rates,
    head_batch_norm=st.booleans(),
    head_dropout=rates,
    weight_decay=coefficients,
)
#: Everything `reg=` accepts: None, a preset name, an instance, a dict of fields.
regs = st.one_of(
    st.none(),
    st.sampled_from(sorted(PRESETS)),
    regularizations,
    regularizations.map(lambda r: {k: v for k, v in r.to_dict().items() if v != 0}),
)
#: Spoiled values for `reg=` and the names an error may use for them.
bad_regs = st.one_of(
    st.tuples(
        st.text(min_size=1).filter(lambda s: s.strip().lower() not in PRESETS), st.just(("reg",))
    ),
    st.tuples(st.one_of(st.integers(), st.floats(), st.lists(st.integers())), st.just(("reg",))),
    st.sampled_from(
        [
            ({"dropout": 1.5}, ("reg", "dropout")),
            ({"head_dropout": -0.1}, ("reg", "head_dropout")),
            ({"l2": -1e-3}, ("reg", "l2")),
            ({"l1": float("nan")}, ("reg", "l1")),
            ({"l2": float("inf")}, ("reg", "l2")),
            ({"l2": "0.01"}, ("reg", "l2")),
            ({"batch_norm": "yes"}, ("reg", "batch_norm")),
            ({"bn_momentum": 1.0}, ("reg", "bn_momentum")),
            ({"bn_epsilon": 0.0}, ("reg", "bn_epsilon")),
            ({"spatial_dropout": 1.0}, ("reg", "spatial_dropout")),
        ]
    ),
)


def reg_of(reg):
    return Regularization.coerce(reg)


def halve(size, times):
    """Spatial size after `times` 2x2 'valid' max poolings (None stays None)."""
    for _ in range(times):
        size = None if size is None else size // 2
    return size


def ceil_halve(size, times):
    """Spatial size after `times` stride-2 'same'-style convolutions."""
    for _ in range(times):
        size = None if size is None else -(-size // 2)
    return size


def not_positive_ints():
    return st.one_of(
        st.integers(max_value=0),
        st.floats(allow_nan=True),
        st.text(),
        st.none(),
        st.booleans(),
        st.lists(st.integers(1, 4), min_size=1, max_size=2),
    )
