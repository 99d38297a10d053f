"""Property tests: random valid arguments always build; random invalid ones always raise.

Every public builder (`build_cnn`, `build_mobilenet_v2`, `conv_block`, `inverted_residual`,
`dense_head`), the two value objects they take (`Regularization`, `Augment`) and the data
entry points (`from_arrays`, `image_pipeline`) are driven by hypothesis:

- valid arguments: the call succeeds and the result has the shape (and, for `build_cnn`,
  the parameter count) that an independent calculation in this file predicts;
- invalid arguments (one argument spoiled at a time: negative, zero, float for int, strings,
  None, wrong-length shapes, huge rates, NaN): the call raises ValueError or TypeError whose
  message names the spoiled argument, never another exception from inside TensorFlow.

Each property runs a few examples in the default tier and 200 in the slow tier (its
`*_slow` twin, `make test-slow`). Cases found to misbehave are pinned below as
`xfail(strict=True)` tests with the reason, so a fix turns them into failures to remove.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import pytest
from hypothesis import assume
from hypothesis import strategies as st

from regkit import (
    Regularization,
    build_cnn,
    build_mobilenet_v2,
    conv_block,
    dense_head,
    inverted_residual,
)
from regkit.data import Augment, from_arrays, image_pipeline
from strategies import (
    bad_regs,
    ceil_halve,
    halve,
    not_positive_ints,
    raises_naming,
    reg_of,
    regs,
    regularizations,
    twin,
)

# num_classes=1 is valid; Keras warns that a softmax over one class is always 1.
pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis")


# ----------------------------------------------------------------------------------------
# build_cnn


@st.composite
def cnn_cases(draw):
    blocks = draw(st.integers(1, 3))
    filters = draw(st.lists(st.integers(1, 8), min_size=blocks, max_size=blocks))
    pool = draw(st.one_of(st.booleans(), st.lists(st.booleans(), min_size=blocks, max_size=blocks)))
    pools = blocks * pool if isinstance(pool, bool) else sum(pool)
    pooling = draw(st.sampled_from(["flatten", "avg", "max"]))
    least = 2**pools
    side = st.integers(least, max(least, 40))
    if pooling != "flatten":
        side = st.one_of(side, st.none())
    kwargs = {
        "input_shape": (draw(side), draw(side), draw(st.integers(1, 4))),
        "num_classes": draw(st.one_of(st.integers(1, 10), st.integers(1, 10).map(np.int64))),
        "filters": draw(st.sampled_from([tuple, list, np.array]))(filters),
        "convs_per_block": draw(st.integers(1, 2)),
        "dense_units": tuple(draw(st.lists(st.integers(1, 16), max_size=2))),
        "pooling": pooling,
        "norm_order": draw(st.sampled_from(["conv-act-bn", "conv-bn-act"])),
        "reg": draw(regs),
        "output": draw(st.sampled_from(["softmax", "logits"])),
        "name": draw(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)),
        "pool": tuple(pool) if isinstance(pool, list) else pool,
    }
    return kwargs


def _cnn_param_count(kw):
    """Parameters of `build_cnn(**kw)`, counted from the architecture's definition."""
    reg = reg_of(kw["reg"])
    pools = kw["pool"] if not isinstance(kw["pool"], bool) else (kw["pool"],) * len(kw["filters"])
    h, w, c = kw["input_shape"]
    total = 0
    for width, pool_here in zip(kw["filters"], pools, strict=True):
        for _ in range(kw["convs_per_block"]):
            bias = not (kw["norm_order"] == "conv-bn-act" and reg.batch_norm)
            total += 3 * 3 * c * width + (width if bias else 0)
            total += 4 * width if reg.batch_norm else 0  # gamma, beta, moving mean/var
            c = width
        if pool_here:
            h, w = halve(h, 1), halve(w, 1)
    features = h * w * c if kw["pooling"] == "flatten" else c
    for units in kw["dense_units"]:
        total += features * units + units + (4 * units if reg.head_batch_norm else 0)
        features = units
    return total + features * kw["num_classes"] + kw["num_classes"]


def check_build_cnn_valid(kw):
    """Valid build_cnn arguments build a model of the predicted size that runs."""
    keras.backend.clear_session(free_memory=False)
    model = build_cnn(**kw)
    k = int(kw["num_classes"])
    assert model.output_shape == (None, k)
    assert model.name == kw["name"]
    assert model.count_params() == _cnn_param_count(kw)
    reg = reg_of(kw["reg"])
    assert bool(model.losses) == reg.has_penalty
    head = model.get_layer(f"{kw['name']}_head_predictions")
    assert head.dtype_policy.compute_dtype == "float32"
    h, w, c = kw["input_shape"]
    x = np.random.default_rng(0).uniform(size=(2, h or 8, w or 8, c)).astype("float32")
    out = keras.ops.convert_to_numpy(model(x, training=False))
    assert out.shape == (2, k)
    assert np.isfinite(out).all()
    if kw["output"] == "softmax":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


test_build_cnn_valid, test_build_cnn_valid_slow = twin(cnn_cases(), fast=8)(check_build_cnn_valid)


@st.composite
def cnn_invalid_cases(draw):
    kw = draw(cnn_cases())
    arg = draw(
        st.sampled_from(
            [
                "input_shape",
                "input_shape_small",
                "num_classes",
                "filters",
                "convs_per_block",
                "dense_units",
                "pooling",
                "norm_order",
                "reg",
                "output",
                "name",
                "pool",
            ]
        )
    )
    names: tuple[str, ...] = (arg,)
    if arg == "input_shape":
        kw["input_shape"] = draw(
            st.one_of(
                st.tuples(st.integers(1, 40), st.integers(1, 40)),  # no channels
                st.tuples(*[st.integers(1, 8)] * 4),
                st.tuples(st.integers(max_value=0), st.integers(8, 16), st.integers(1, 3)),
                st.tuples(st.integers(8, 16), st.integers(8, 16), st.integers(max_value=0)),
                st.tuples(st.floats(8, 16), st.integers(8, 16), st.integers(1, 3)),
                st.tuples(st.integers(8, 16), st.integers(8, 16), st.none()),
                st.text(),
                st.none(),
                st.integers(),
            )
        )
    elif arg == "input_shape_small":
        # Too small for the poolings, or unknown spatial size with 'flatten'.
        names = ("input_shape",)
        pools = draw(st.integers(1, 3))
        kw["filters"] = (2,) * pools
        kw["pool"] = True
        too_small = draw(st.integers(1, 2**pools - 1))
        if draw(st.booleans()):
            kw["input_shape"] = (too_small, draw(st.integers(2**pools, 32)), 1)
        else:
            kw["pooling"] = "flatten"
            kw["input_shape"] = (None, 16, 3)
    elif arg == "num_classes":
        kw["num_classes"] = draw(not_positive_ints())
    elif arg in ("filters", "dense_units"):
        bad = st.one_of(
            st.lists(st.integers(max_value=0), min_size=1, max_size=3),
            st.lists(st.floats(0.5, 8.5).filter(lambda f: f != int(f)), min_size=1, max_size=2),
            st.lists(st.text(), min_size=1, max_size=2),
            st.text(),
            st.floats(),
            st.none(),
        )
        if arg == "filters":
            bad = st.one_of(bad, st.just(()))
        kw[arg] = draw(bad)
    elif arg == "convs_per_block":
        kw[arg] = draw(not_positive_ints())
    elif arg in ("pooling", "norm_order", "output"):
        valid = {
            "pooling": ("flatten", "avg", "max"),
            "norm_order": ("conv-act-bn", "conv-bn-act"),
            "output": ("softmax", "logits"),
        }[arg]
        kw[arg] = draw(
            st.one_of(st.text().filter(lambda s: s not in valid), st.none(), st.integers())
        )
    elif arg == "reg":
        kw["reg"], names = draw(bad_regs)
    elif arg == "name":
        kw["name"] = draw(st.one_of(st.just(""), st.none(), st.integers(), st.just("a/b")))
    elif arg == "pool":
        blocks = len(kw["filters"])
        kw["pool"] = draw(
            st.one_of(
                st.lists(st.booleans(), min_size=blocks + 1, max_size=blocks + 3),
                st.lists(st.integers(0, 1), min_size=blocks, max_size=blocks),
                st.text(min_size=1),
                st.none(),
                st.integers(),
            )
        )
    return kw, names


def check_build_cnn_invalid(case):
    """Spoiling one build_cnn argument raises ValueError/TypeError naming it."""
    kw, names = case
    keras.backend.clear_session(free_memory=False)
    raises_naming(lambda: build_cnn(**kw), names)


test_build_cnn_invalid, test_build_cnn_invalid_slow = twin(cnn_invalid_cases(), fast=15)(
    check_build_cnn_invalid
)


# ----------------------------------------------------------------------------------------
# build_mobilenet_v2


def _round_channels(value):
    """MobileNet's width rule, restated: nearest multiple of 8, >= 8, never 10% below."""
    rounded = max(8, int(value + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * value else rounded


@st.composite
def mobilenet_cases(draw):
    include_top = draw(st.booleans())
    poolings = ["avg", "max"] if include_top else ["avg", "max", None]
    side = st.one_of(st.integers(32, 64), st.none())
    return {
        "input_shape": (draw(side), draw(side), draw(st.integers(1, 3))),
        "num_classes": draw(st.integers(1, 10)),
        "alpha": draw(st.one_of(st.floats(0.1, 1.5), st.sampled_from([0.35, 0.5, 1, 1.3]))),
        "include_top": include_top,
        "pooling": draw(st.sampled_from(poolings)),
        "reg": draw(regs),
        "output": draw(st.sampled_from(["softmax", "logits"])),
    }


def check_build_mobilenet_v2_valid(kw):
    """Valid build_mobilenet_v2 arguments build a model of the predicted output shape."""
    keras.backend.clear_session(free_memory=False)
    model = build_mobilenet_v2(**kw)
    top = _round_channels(1280 * kw["alpha"]) if kw["alpha"] > 1.0 else 1280
    h, w, c = kw["input_shape"]
    if kw["include_top"]:
        expected = (None, kw["num_classes"])
    elif kw["pooling"] is None:
        expected = (None, ceil_halve(h, 5), ceil_halve(w, 5), top)
    else:
        expected = (None, top)
    assert model.output_shape == expected
    assert bool(model.losses) == reg_of(kw["reg"]).has_penalty
    x = np.random.default_rng(0).uniform(size=(1, h or 32, w or 40, c)).astype("float32")
    out = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.isfinite(out).all()
    assert out.shape[-1] == expected[-1]


test_build_mobilenet_v2_valid, test_build_mobilenet_v2_valid_slow = twin(mobilenet_cases(), fast=4)(
    check_build_mobilenet_v2_valid
)


@st.composite
def mobilenet_parity_cases(draw):
    side = st.integers(32, 64)
    include_top = draw(st.booleans())
    return {
        "input_shape": (draw(side), draw(side), 3),
        "num_classes": draw(st.integers(1, 20)),
        "alpha": draw(st.floats(0.1, 1.5)),
        "include_top": include_top,
        "pooling": "avg" if include_top else draw(st.sampled_from(["avg", "max", None])),
    }


def check_mobilenet_v2_parity(kw):
    """With BatchNorm, build_mobilenet_v2 has keras.applications.MobileNetV2's parameter
    count and output shape for any alpha and input size."""
    keras.backend.clear_session(free_memory=False)
    ours = build_mobilenet_v2(**kw, reg=Regularization(batch_norm=True))
    reference = keras.applications.MobileNetV2(
        input_shape=kw["input_shape"],
        alpha=kw["alpha"],
        include_top=kw["include_top"],
        weights=None,
        classes=kw["num_classes"],
        pooling=kw["pooling"],
    )
    assert ours.count_params() == reference.count_params()
    assert ours.output_shape == reference.output_shape


# Two MobileNetV2 builds per example: 100 in the slow tier keep it within the per-test timeout.
test_mobilenet_v2_parity, test_mobilenet_v2_parity_slow = twin(
    mobilenet_parity_cases(), fast=2, slow=100
)(check_mobilenet_v2_parity)


@st.composite
def mobilenet_invalid_cases(draw):
    kw = draw(mobilenet_cases())
    arg = draw(
        st.sampled_from(
            ["input_shape", "num_classes", "alpha", "include_top", "pooling", "reg", "output"]
        )
    )
    names: tuple[str, ...] = (arg,)
    if arg == "input_shape":
        kw["input_shape"] = draw(
            st.one_of(
                st.tuples(st.integers(1, 31), st.integers(32, 64), st.integers(1, 3)),
                st.tuples(st.integers(32, 64), st.integers(max_value=31), st.integers(1, 3)),
                st.tuples(st.integers(32, 64), st.integers(32, 64)),
                st.tuples(st.integers(32, 64), st.integers(32, 64), st.integers(max_value=0)),
                st.text(),
                st.none(),
            )
        )
    elif arg == "num_classes":
        kw["include_top"] = True
        kw["pooling"] = kw["pooling"] or "avg"
        kw["num_classes"] = draw(not_positive_ints())
    elif arg == "alpha":
        # +inf is left out: it is pinned below as a known failure.
        kw["alpha"] = draw(
            st.one_of(
                st.floats(max_value=0.0),
                st.just(float("nan")),
                st.text(),
                st.none(),
                st.booleans(),
            )
        )
    elif arg == "include_top":
        kw["include_top"] = draw(st.one_of(st.integers(), st.text(), st.none()))
    elif arg == "pooling":
        if draw(st.booleans()):
            kw["include_top"], kw["pooling"] = True, None
        else:
            kw["pooling"] = draw(st.one_of(st.text().filter(lambda s: s not in ("avg", "max"))))
    elif arg == "reg":
        kw["reg"], names = draw(bad_regs)
    elif arg == "output":
        kw["output"] = draw(st.one_of(st.text().filter(lambda s: s not in ("softmax", "logits"))))
    return kw, names


def check_build_mobilenet_v2_invalid(case):
    """Spoiling one build_mobilenet_v2 argument raises ValueError/TypeError naming it."""
    kw, names = case
    keras.backend.clear_session(free_memory=False)
    raises_naming(lambda: build_mobilenet_v2(**kw), names)


test_build_mobilenet_v2_invalid, test_build_mobilenet_v2_invalid_slow = twin(
    mobilenet_invalid_cases(), fast=15
)(check_build_mobilenet_v2_invalid)


# ----------------------------------------------------------------------------------------
# Blocks: conv_block, inverted_residual, dense_head on symbolic inputs.


@st.composite
def block_cases(draw):
    block = draw(st.sampled_from(["conv_block", "inverted_residual", "dense_head"]))
    h, w = draw(st.integers(2, 24)), draw(st.integers(2, 24))
    c = draw(st.integers(1, 8))
    reg = draw(regs)
    if block == "conv_block":
        kw = {
            "filters": draw(st.integers(1, 8)),
            "convs": draw(st.integers(1, 3)),
            "kernel_size": draw(st.integers(1, 5)),
            "norm_order": draw(st.sampled_from(["conv-act-bn", "conv-bn-act"])),
            "pool": draw(st.booleans()),
        }
    elif block == "inverted_residual":
        kw = {
            "filters": draw(st.integers(1, 8)),
            "expansion": draw(st.integers(1, 6)),
            "stride": draw(st.sampled_from([1, 2])),
        }
    else:
        kw = {
            "num_classes": draw(st.integers(1, 10)),
            "units": tuple(draw(st.lists(st.integers(1, 16), max_size=2))),
            "pooling": draw(st.sampled_from(["flatten", "avg", "max", None])),
            "output": draw(st.sampled_from(["softmax", "logits"])),
        }
    kw["reg"] = reg
    kw["name"] = draw(st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)))
    return block, (h, w, c), kw


def check_block_valid(case):
    """Each block gives the output shape its definition implies."""
    block, (h, w, c), kw = case
    keras.backend.clear_session(free_memory=False)
    if block == "conv_block":
        out = conv_block(keras.Input((h, w, c)), **kw)
        shrink = 1 if kw["pool"] else 0
        expected = (None, halve(h, shrink), halve(w, shrink), kw["filters"])
    elif block == "inverted_residual":
        out = inverted_residual(keras.Input((h, w, c)), **kw)
        steps = 1 if kw["stride"] == 2 else 0
        expected = (None, ceil_halve(h, steps), ceil_halve(w, steps), kw["filters"])
    else:
        shape = (h * w * c,) if kw["pooling"] is None else (h, w, c)
        out = dense_head(keras.Input(shape), **kw)
        expected = (None, kw["num_classes"])
        assert out.dtype == "float32"
    assert tuple(out.shape) == expected


test_blocks_valid, test_blocks_valid_slow = twin(block_cases(), fast=15)(check_block_valid)


@st.composite
def block_invalid_cases(draw):
    block, (h, w, c), kw = draw(block_cases())
    shape = (h, w, c)
    if block == "dense_head" and kw["pooling"] is None:
        shape = (h * w * c,)
    choices = {
        "conv_block": ["x", "filters", "convs", "kernel_size", "norm_order", "reg", "name"],
        "inverted_residual": ["x", "filters", "expansion", "stride", "reg", "name"],
        "dense_head": ["x", "num_classes", "units", "pooling", "output", "reg", "name"],
    }[block]
    arg = draw(st.sampled_from(choices))
    names: tuple[str, ...] = (arg,)
    x = None
    if arg == "x":
        x = draw(
            st.one_of(
                st.text(),
                st.none(),
                st.integers(),
                st.just("rank"),  # replaced by an input of the wrong rank below
            )
        )
        if x == "rank":
            want = 2 if block == "dense_head" and kw["pooling"] is None else 4
            rank = draw(st.sampled_from([r for r in (1, 2, 3) if r + 1 != want]))
            x = keras.Input((4,) * rank)
    elif arg in ("filters", "convs", "kernel_size", "expansion", "num_classes"):
        kw[arg] = draw(not_positive_ints())
    elif arg == "units":
        kw[arg] = draw(
            st.one_of(
                st.lists(st.integers(max_value=0), min_size=1, max_size=2),
                st.text(),
                st.none(),
            )
        )
    elif arg == "stride":
        # 2.0 and True are left out: both are pinned below as known failures.
        kw[arg] = draw(
            st.one_of(
                st.integers().filter(lambda s: s not in (1, 2)),
                st.text(),
                st.none(),
                st.floats().filter(lambda f: f not in (1.0, 2.0)),
            )
        )
    elif arg in ("norm_order", "pooling", "output"):
        valid = {
            "norm_order": ("conv-act-bn", "conv-bn-act"),
            "pooling": ("flatten", "avg", "max", None),
            "output": ("softmax", "logits"),
        }[arg]
        kw[arg] = draw(st.one_of(st.text().filter(lambda s: s not in valid), st.integers()))
    elif arg == "reg":
        kw["reg"], names = draw(bad_regs)
    elif arg == "name":
        kw["name"] = draw(st.one_of(st.just(""), st.integers(), st.lists(st.text())))
    return block, x if arg == "x" else keras.Input(shape), kw, names


def check_block_invalid(case):
    """Spoiling one block argument raises ValueError/TypeError naming it."""
    block, x, kw, names = case
    fn = {"conv_block": conv_block, "inverted_residual": inverted_residual}.get(block, dense_head)
    raises_naming(lambda: fn(x, **kw), names)


test_blocks_invalid, test_blocks_invalid_slow = twin(block_invalid_cases(), fast=20)(
    check_block_invalid
)


# ----------------------------------------------------------------------------------------
# Regularization and Augment: the value objects builders and pipelines take.

_REG_FIELDS = {
    "l1": "coefficient",
    "l2": "coefficient",
    "weight_decay": "coefficient",
    "dropout": "rate",
    "spatial_dropout": "rate",
    "head_dropout": "rate",
    "bn_momentum": "rate",
    "bn_epsilon": "epsilon",
    "regularize_bias": "bool",
    "regularize_depthwise": "bool",
    "regularize_output": "bool",
    "batch_norm": "bool",
    "head_batch_norm": "bool",
}
_NOT_NUMBERS = st.one_of(st.text(), st.none(), st.booleans(), st.lists(st.floats()))
_BAD_BY_KIND = {
    "coefficient": st.one_of(
        st.floats(max_value=-1e-12), st.sampled_from([math.nan, math.inf]), _NOT_NUMBERS
    ),
    "rate": st.one_of(
        st.floats(max_value=-1e-12),
        st.floats(min_value=1.0),
        st.just(math.nan),
        _NOT_NUMBERS,
    ),
    "epsilon": st.one_of(st.floats(max_value=0.0), st.just(math.nan), _NOT_NUMBERS),
    "bool": st.one_of(st.integers(), st.text(), st.none(), st.floats()),
}


@st.composite
def regularization_invalid_cases(draw):
    base = draw(regularizations).to_dict()
    field = draw(st.sampled_from(sorted(_REG_FIELDS)))
    base[field] = draw(_BAD_BY_KIND[_REG_FIELDS[field]])
    return base, field


def check_regularization_invalid(case):
    """A Regularization with one spoiled field raises naming that field (also via `reg=`)."""
    fields, field = case
    raises_naming(lambda: Regularization(**fields), (field,))
    raises_naming(lambda: Regularization.coerce(fields), (field,))


test_regularization_invalid, test_regularization_invalid_slow = twin(
    regularization_invalid_cases(), fast=25
)(check_regularization_invalid)


augments = st.builds(
    Augment,
    flip=st.booleans(),
    rotation=st.one_of(st.just(0.0), st.floats(0.0, 180.0)),
    translate=st.one_of(st.just(0.0), st.floats(0.0, 0.5)),
    zoom=st.one_of(st.just(0.0), st.floats(0.0, 0.5)),
    brightness=st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
    contrast=st.one_of(st.just(0.0), st.floats(0.0, 0.9)),
    rot90=st.booleans(),
    randaugment=st.just(False),
    mixup=st.one_of(st.just(0.0), st.floats(0.05, 2.0)),
    cutmix=st.one_of(st.just(0.0), st.floats(0.05, 2.0)),
    fill_mode=st.sampled_from(["reflect", "nearest", "constant", "wrap"]),
)

_AUG_FIELDS = {
    "flip": st.one_of(st.integers(), st.text(), st.none()),
    "rot90": st.one_of(st.integers(), st.text(), st.none()),
    "randaugment": st.one_of(st.integers(), st.text(), st.none()),
    "rotation": st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=180.001), _NOT_NUMBERS),
    "translate": st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.0), _NOT_NUMBERS),
    "zoom": st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.0), _NOT_NUMBERS),
    "brightness": st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.001), _NOT_NUMBERS),
    "contrast": st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.0), _NOT_NUMBERS),
    "mixup": st.one_of(st.floats(max_value=-1e-9), st.just(math.inf), _NOT_NUMBERS),
    "cutmix": st.one_of(st.floats(max_value=-1e-9), st.just(math.nan), _NOT_NUMBERS),
    "fill_mode": st.one_of(
        st.text().filter(lambda s: s not in ("reflect", "nearest", "constant", "wrap")),
        st.none(),
    ),
}


@st.composite
def augment_invalid_cases(draw):
    base = draw(augments).to_dict()
    field = draw(st.sampled_from(sorted(_AUG_FIELDS)))
    base[field] = draw(_AUG_FIELDS[field])
    return base, field


def check_augment_invalid(case):
    """An Augment with one spoiled field raises naming that field."""
    fields, field = case
    raises_naming(lambda: Augment(**fields), (field,))


test_augment_invalid, test_augment_invalid_slow = twin(augment_invalid_cases(), fast=25)(
    check_augment_invalid
)


# ----------------------------------------------------------------------------------------
# from_arrays


@st.composite
def array_cases(draw):
    n = draw(st.integers(1, 12))
    shape = (n, draw(st.integers(1, 10)), draw(st.integers(1, 10)), draw(st.integers(1, 4)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["uint8", "unit_float", "byte_float", "int16", "unit_float64"]))
    if kind == "uint8":
        x = rng.integers(0, 256, shape, dtype=np.uint8)
    elif kind == "int16":
        x = rng.integers(0, 256, shape).astype(np.int16)
    elif kind == "byte_float":
        x = rng.uniform(0, 255, shape).astype(np.float32)
        x.flat[0] = 200.0  # surely above 1: read as 0-255
    elif kind == "unit_float64":
        x = rng.uniform(0, 1, shape)
    else:
        x = rng.uniform(0, 1, shape).astype(np.float32)
    k = draw(st.integers(1, 6))
    y = rng.integers(0, k, n)
    y_form = draw(st.sampled_from(["flat", "column", "float", "uint8", "list"]))
    y_in = {
        "flat": y,
        "column": y[:, None],
        "float": y.astype(np.float64),
        "uint8": y.astype(np.uint8),
        "list": y.tolist(),
    }[y_form]
    num_classes = draw(st.one_of(st.none(), st.integers(int(y.max()) + 1, 8)))
    return x, y_in, y, num_classes, kind


def check_from_arrays_valid(case):
    """from_arrays keeps every image and label, in order, and infers what it documents."""
    x, y_in, y, num_classes, kind = case
    data = from_arrays(x, y_in, num_classes=num_classes)
    assert len(data) == x.shape[0]
    assert data.image_shape == x.shape[1:]
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.labels, y)
    assert data.num_classes == (num_classes if num_classes is not None else int(y.max()) + 1)
    unit = kind in ("unit_float", "unit_float64")
    assert data.value_range == ((0.0, 1.0) if unit else (0.0, 255.0))
    assert data.images.dtype in (np.uint8, np.float32)
    np.testing.assert_allclose(data.images.astype(np.float64), x.astype(np.float64), rtol=1e-6)


test_from_arrays_valid, test_from_arrays_valid_slow = twin(array_cases(), fast=20)(
    check_from_arrays_valid
)


@st.composite
def array_invalid_cases(draw):
    x, y_in, y, num_classes, _ = draw(array_cases())
    n = x.shape[0]
    kw = {"x": x, "y": y_in, "num_classes": num_classes}
    spoil = draw(
        st.sampled_from(
            [
                "x_rank",
                "x_ragged",
                "x_empty",
                "x_nan",
                "x_dtype",
                "x_range",
                "y_rank",
                "y_fraction",
                "y_negative",
                "y_dtype",
                "y_nan",
                "length",
                "num_classes",
                "num_classes_small",
                "value_range",
                "class_names",
            ]
        )
    )
    names: tuple[str, ...] = (spoil[0],) if spoil[:2] in ("x_", "y_") else (spoil,)
    if spoil == "x_rank":
        kw["x"] = x.reshape(draw(st.sampled_from([(n, -1), (-1,), (n, 1, *x.shape[1:])])))
    elif spoil == "x_ragged":
        kw["x"] = [x[0], x[0, : max(1, x.shape[1] - 1)]] if x.shape[1] > 1 else [x[0], x[0, 0]]
        kw["y"] = [0, 0]
    elif spoil == "x_empty":
        kw["x"] = x[:0]
        kw["y"] = np.zeros(0, np.int64)
    elif spoil == "x_nan":
        bad = x.astype(np.float32)
        bad.flat[draw(st.integers(0, bad.size - 1))] = draw(
            st.sampled_from([np.nan, np.inf, -np.inf])
        )
        kw["x"] = bad
    elif spoil == "x_dtype":
        kw["x"] = x.astype(draw(st.sampled_from([np.bool_, np.complex64, np.str_, object])))
    elif spoil == "x_range":
        bad = x.astype(np.float32)
        bad.flat[0] = draw(st.one_of(st.floats(-1e6, -0.01), st.floats(255.01, 1e6)))
        kw["x"] = bad
    elif spoil == "y_rank":
        kw["y"] = np.zeros((n, draw(st.integers(2, 4))), np.int64)
    elif spoil == "y_fraction":
        bad = np.asarray(y, np.float64)
        bad[draw(st.integers(0, n - 1))] += draw(st.floats(0.01, 0.99))
        kw["y"] = bad
    elif spoil == "y_negative":
        bad = np.array(y)
        bad[draw(st.integers(0, n - 1))] = draw(st.integers(-100, -1))
        kw["y"] = bad
    elif spoil == "y_dtype":
        kw["y"] = np.array(y).astype(
            draw(st.sampled_from([np.str_, np.bool_, object, np.complex64]))
        )
        if kw["y"].dtype == object:
            kw["y"] = np.array([str(v) for v in y], dtype=object)
    elif spoil == "y_nan":
        bad = np.asarray(y, np.float64)
        bad[draw(st.integers(0, n - 1))] = np.nan
        kw["y"] = bad
    elif spoil == "length":
        names = ("x", "y")
        extra = draw(st.integers(1, 3))
        kw["y"] = np.concatenate([np.asarray(y), np.zeros(extra, np.int64)])
        if draw(st.booleans()):
            kw["y"] = np.asarray(y)[: n - 1] if n > 1 else np.zeros(2, np.int64)
    elif spoil == "num_classes":
        kw["num_classes"] = draw(
            st.one_of(st.integers(max_value=0), st.floats(), st.text(), st.booleans())
        )
    elif spoil == "num_classes_small":
        kw["num_classes"] = int(y.max())
        assume(kw["num_classes"] >= 1)
        names = ("y", "num_classes")
    elif spoil == "value_range":
        # A range that does not contain the pixels, an inverted or empty one, or junk.
        kw["value_range"] = draw(
            st.one_of(
                st.tuples(st.floats(1.0, 10.0), st.floats(0.0, 1.0)),
                st.tuples(st.floats(0, 255), st.floats(0, 255)).filter(lambda p: p[0] >= p[1]),
                st.just("ab"),
                st.just((1.0,)),
                st.just((0.0, 255.0, 7.0)),
                st.just((0.0, math.inf)),
                st.just((-math.inf, 255.0)),
                st.just((math.nan, 1.0)),
            )
        )
        names = ("value_range", "x")
    elif spoil == "class_names":
        k = num_classes if num_classes is not None else int(y.max()) + 1
        size = draw(st.integers(0, 8).filter(lambda s: s != k))
        kw["class_names"] = draw(
            st.one_of(
                st.just([f"c{i}" for i in range(size)]),
                st.integers(),
                st.just("".join(f"{i % 10}" for i in range(k))),  # a str is not a list of names
            )
        )
    return kw, names


def check_from_arrays_invalid(case):
    """Spoiled images, labels or options raise ValueError/TypeError naming the argument."""
    kw, names = case
    raises_naming(lambda: from_arrays(**kw), names)


test_from_arrays_invalid, test_from_arrays_invalid_slow = twin(array_invalid_cases(), fast=25)(
    check_from_arrays_invalid
)


# ----------------------------------------------------------------------------------------
# image_pipeline


@st.composite
def pipeline_cases(draw):
    n = draw(st.integers(1, 12))
    h, w, c = draw(st.integers(2, 12)), draw(st.integers(2, 12)), draw(st.sampled_from([1, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, 256, (n, h, w, c), dtype=np.uint8)
    k = draw(st.integers(1, 5))
    y = rng.integers(0, k, n)
    form = draw(st.sampled_from(["tuple", "from_arrays", "tf.data"]))
    image_size = draw(
        st.one_of(
            st.none(),
            st.integers(2, 12),
            st.tuples(st.integers(2, 12), st.integers(2, 12)),
        )
    )
    out_h, out_w = (
        (h, w)
        if image_size is None
        else (image_size, image_size)
        if isinstance(image_size, int)
        else image_size
    )
    training = draw(st.booleans())
    one_hot = draw(st.booleans())
    augment = draw(st.one_of(st.none(), augments))
    if augment is not None:
        if augment.rot90 and out_h != out_w:
            augment = dataclasses.replace(augment, rot90=False)
        if augment.mixes_labels and not one_hot:
            one_hot = True
    return {
        "x": x,
        "y": y,
        "k": k,
        "form": form,
        "out": (out_h, out_w, c),
        "kwargs": {
            "batch_size": draw(st.integers(1, 8)),
            "image_size": image_size,
            "augment": augment,
            "one_hot": one_hot,
            "training": training,
            "shuffle": draw(st.one_of(st.none(), st.booleans(), st.integers(1, 16))),
            "seed": draw(st.one_of(st.none(), st.integers(0, 2**31 - 1))),
            "drop_remainder": draw(st.booleans()),
        },
    }


def _pipeline_data(case):
    import tensorflow as tf

    x, y, k = case["x"], case["y"], case["k"]
    if case["form"] == "tuple":
        return (x, y), k
    if case["form"] == "from_arrays":
        return from_arrays(x, y, num_classes=k), None
    return tf.data.Dataset.from_tensor_slices((x, y)), k


def _batches(case):
    data, num_classes = _pipeline_data(case)
    kwargs = dict(case["kwargs"])
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    dataset = image_pipeline(data, **kwargs)
    return [(images.numpy(), labels.numpy()) for images, labels in dataset]


def check_image_pipeline_valid(case):
    """Every batch has the promised shape, dtype and range; nothing is lost or invented;
    with a seed, building the pipeline twice gives identical batches."""
    kw = case["kwargs"]
    n, k, b = len(case["y"]), case["k"], kw["batch_size"]
    batches = _batches(case)
    expected = n // b if kw["drop_remainder"] else -(-n // b)
    assert len(batches) == expected
    seen = []
    for images, labels in batches:
        assert images.dtype == np.float32
        assert images.shape[1:] == case["out"]
        assert images.shape[0] == labels.shape[0] <= b
        assert images.min() >= 0.0 and images.max() <= 1.0 + 1e-6
        if kw["one_hot"]:
            assert labels.dtype == np.float32 and labels.shape[1:] == (k,)
            np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-5)
            assert labels.min() >= 0.0
        else:
            assert labels.dtype == np.int32 and labels.ndim == 1
            seen.extend(labels.tolist())
    if not kw["one_hot"]:
        assert all(0 <= v < k for v in seen)
        augment = kw["augment"]
        if not (augment is not None and augment.mixes_labels and kw["training"]):
            if not kw["drop_remainder"]:
                assert sorted(seen) == sorted(case["y"].tolist())
            shuffled = kw["shuffle"] if kw["shuffle"] is not None else kw["training"]
            if not shuffled:
                assert seen == case["y"].tolist()[: len(seen)]
    if kw["seed"] is not None:
        again = _batches(case)
        for (im1, lab1), (im2, lab2) in zip(batches, again, strict=True):
            np.testing.assert_array_equal(im1, im2)
            np.testing.assert_array_equal(lab1, lab2)


test_image_pipeline_valid, test_image_pipeline_valid_slow = twin(pipeline_cases(), fast=6)(
    check_image_pipeline_valid
)


@st.composite
def pipeline_invalid_cases(draw):
    import tensorflow as tf

    case = draw(pipeline_cases())
    data, num_classes = _pipeline_data(case)
    kwargs = dict(case["kwargs"])
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    arg = draw(
        st.sampled_from(
            [
                "data",
                "batch_size",
                "image_size",
                "augment",
                "one_hot",
                "training",
                "shuffle",
                "cache",
                "seed",
                "num_classes",
                "drop_remainder",
                "mixing_without_one_hot",
                "rot90_not_square",
                "one_hot_without_classes",
            ]
        )
    )
    names: tuple[str, ...] = (arg,)
    if arg == "data":
        x, y = case["x"], case["y"]
        data = draw(
            st.sampled_from(
                [
                    "text",
                    None,
                    42,
                    "batched",
                    "float_labels",
                    "one_hot_labels",
                    "flat_images",
                    "triples",
                ]
            )
        )
        if data == "batched":
            data = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
        elif data == "float_labels":
            data = tf.data.Dataset.from_tensor_slices((x, y.astype(np.float32)))
        elif data == "one_hot_labels":
            data = tf.data.Dataset.from_tensor_slices((x, np.eye(case["k"])[y]))
        elif data == "flat_images":
            data = tf.data.Dataset.from_tensor_slices((x.reshape(len(x), -1), y))
        elif data == "triples":
            data = tf.data.Dataset.from_tensor_slices((x, y, y))
    elif arg == "batch_size":
        kwargs[arg] = draw(not_positive_ints())
    elif arg == "image_size":
        kwargs[arg] = draw(
            st.one_of(
                st.integers(max_value=0),
                st.tuples(st.integers(max_value=0), st.integers(1, 8)),
                st.tuples(st.integers(1, 8)),
                st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 3)),
                st.floats(),
                st.text(),
            )
        )
    elif arg == "augment":
        kwargs[arg] = draw(
            st.one_of(
                st.text().filter(lambda s: s not in Augment.PRESETS),
                st.integers(),
                st.just({"dropout": 0.5}),
                st.just({"flip": "yes"}),
                st.just({"rotation": -5.0}),
            )
        )
        kwargs["training"] = True
        names = ("augment", "flip", "rotation")
    elif arg in ("one_hot", "training"):
        kwargs[arg] = draw(st.one_of(st.integers(), st.text(), st.none()))
    elif arg == "shuffle":
        kwargs[arg] = draw(
            st.one_of(st.integers(max_value=0), st.floats(0.5, 10.5), st.text(min_size=1))
        )
    elif arg == "cache":
        kwargs[arg] = draw(st.one_of(st.integers(), st.floats(), st.lists(st.integers())))
    elif arg == "seed":
        kwargs[arg] = draw(st.one_of(st.floats(), st.text(), st.booleans()))
    elif arg == "num_classes":
        kwargs[arg] = draw(
            st.one_of(st.integers(max_value=0), st.floats(), st.text(min_size=1), st.booleans())
        )
    elif arg == "drop_remainder":
        kwargs[arg] = draw(st.one_of(st.text(), st.none(), st.integers(), st.floats()))
    elif arg == "mixing_without_one_hot":
        names = ("one_hot",)
        kwargs["augment"] = draw(st.sampled_from([Augment(mixup=0.2), Augment(cutmix=1.0)]))
        kwargs["training"], kwargs["one_hot"] = True, False
    elif arg == "rot90_not_square":
        names = ("image_size",)
        kwargs["augment"] = Augment(rot90=True)
        kwargs["training"] = True
        h = draw(st.integers(2, 12))
        kwargs["image_size"] = (h, draw(st.integers(2, 12).filter(lambda v: v != h)))
    elif arg == "one_hot_without_classes":
        names = ("num_classes",)
        data = tf.data.Dataset.from_tensor_slices((case["x"], case["y"]))
        kwargs["one_hot"] = True
        kwargs.pop("num_classes", None)
    return data, kwargs, names


def check_image_pipeline_invalid(case):
    """Spoiling one image_pipeline argument raises ValueError/TypeError naming it."""
    data, kwargs, names = case
    raises_naming(lambda: image_pipeline(data, **kwargs), names)


test_image_pipeline_invalid, test_image_pipeline_invalid_slow = twin(
    pipeline_invalid_cases(), fast=20
)(check_image_pipeline_invalid)


# ----------------------------------------------------------------------------------------
# Regressions: cases these properties found misbehaving, fixed since, pinned here.


def test_mobilenet_v2_alpha_inf_names_alpha():
    raises_naming(lambda: build_mobilenet_v2((32, 32, 3), 3, alpha=math.inf), ("alpha",))


def test_mobilenet_v2_accepts_numpy_float_alpha():
    model = build_mobilenet_v2((32, 32, 3), 3, alpha=np.float32(0.5))
    assert model.output_shape == (None, 3)


def test_inverted_residual_float_stride_names_stride():
    raises_naming(lambda: inverted_residual(keras.Input((8, 8, 4)), 4, stride=2.0), ("stride",))


def test_inverted_residual_bool_stride_names_stride():
    raises_naming(lambda: inverted_residual(keras.Input((8, 8, 4)), 4, stride=True), ("stride",))


def test_choice_argument_given_an_array_names_it():
    raises_naming(
        lambda: build_cnn((8, 8, 1), 2, filters=(2,), pooling=np.array(["avg", "max"])),
        ("pooling",),
    )


def test_unknown_reg_field_names_reg():
    raises_naming(lambda: build_cnn((8, 8, 1), 2, filters=(2,), reg={"foo": 1}), ("reg",))


def test_conv_block_too_small_names_x():
    raises_naming(lambda: conv_block(keras.Input((1, 1, 4)), 4), ("x",))


def test_conv_block_non_bool_pool_names_pool():
    raises_naming(lambda: conv_block(keras.Input((4, 4, 4)), 4, pool="no"), ("pool",))
