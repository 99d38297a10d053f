"""Property tests of the model room: random valid arguments build; random invalid ones raise.

The builders (`build_cnn`, `build_mobilenet_v2`), the blocks (`conv_block`,
`inverted_residual`, `dense_head`) and the value object they take (`Regularization`) are
driven by hypothesis:

- valid arguments: the call succeeds and the result has the shape (and, for `build_cnn`,
  the parameter count) that an independent calculation in this file predicts;
- invalid arguments (one argument spoiled at a time: negative, zero, float for int, strings,
  None, wrong-length shapes, huge rates, NaN): the call raises ValueError or TypeError whose
  message names the spoiled argument, never another exception from inside TensorFlow.

Each property runs a few examples in the default tier and 200 in the slow tier (its
`*_slow` twin, `make test-slow`). Cases the properties once found misbehaving are pinned
at the end as plain regression tests.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from hypothesis import strategies as st

from regkit import (
    Regularization,
    build_cnn,
    build_mobilenet_v2,
    conv_block,
    dense_head,
    inverted_residual,
)
from regkit.introspect import input_value_range
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


def _units(kw):
    """Output units: one for a binary sigmoid (num_classes 1 or 2), else num_classes."""
    k = int(kw["num_classes"])
    return 1 if kw["output"] == "sigmoid" and k <= 2 else k


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
    output = draw(st.sampled_from(["softmax", "sigmoid", "logits"]))
    least_classes = 2 if output == "softmax" else 1  # a softmax over one class is refused
    classes = st.integers(least_classes, 10)
    kwargs = {
        "input_shape": (draw(side), draw(side), draw(st.integers(1, 4))),
        "num_classes": draw(st.one_of(classes, classes.map(np.int64))),
        "filters": draw(st.sampled_from([tuple, list, np.array]))(filters),
        "convs_per_block": draw(st.integers(1, 2)),
        "dense_units": tuple(draw(st.lists(st.integers(1, 16), max_size=2))),
        "pooling": pooling,
        "norm_order": draw(st.sampled_from(["conv-act-bn", "conv-bn-act"])),
        "reg": draw(regs),
        "output": output,
        "name": draw(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)),
        "pool": tuple(pool) if isinstance(pool, list) else pool,
        "include_preprocessing": draw(st.booleans()),
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
    return total + features * _units(kw) + _units(kw)


def check_build_cnn_valid(kw):
    """Valid build_cnn arguments build a model of the predicted size that runs."""
    keras.backend.clear_session(free_memory=False)
    model = build_cnn(**kw)
    k = _units(kw)
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
    if kw["output"] == "sigmoid":
        assert ((out >= 0) & (out <= 1)).all()
    scale = 255.0 if kw["include_preprocessing"] else 1.0
    assert input_value_range(model) == (0.0, scale)
    if kw["include_preprocessing"]:
        assert model.layers[1].name == f"{kw['name']}_rescaling"


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
                "include_preprocessing",
                "huge",
                "channels_first",
            ]
        )
    )
    names: tuple[str, ...] = (arg,)
    if arg == "huge":  # sizes no machine holds: refused up front, never a hang
        arg = draw(st.sampled_from(["num_classes", "convs_per_block", "filters", "dense_units"]))
        names = (arg,)
        huge = draw(st.one_of(st.integers(10**9, 10**12), st.integers(2**63, 2**70)))
        kw[arg] = (huge,) if arg in ("filters", "dense_units") else huge
        kw["pooling"] = "flatten" if arg == "dense_units" else kw["pooling"]
        if arg == "dense_units" and None in kw["input_shape"][:2]:
            kw["input_shape"] = (16, 16, kw["input_shape"][2])
            kw["filters"], kw["pool"] = (2,), True
    elif arg == "channels_first":
        names = ("input_shape",)
        kw["input_shape"] = (draw(st.sampled_from([1, 3, 4])), 32, 32)
    elif arg == "include_preprocessing":
        kw[arg] = draw(st.one_of(st.integers(), st.text(), st.none()))
    elif arg == "input_shape":
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
            "output": ("softmax", "sigmoid", "logits"),
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
    output = draw(st.sampled_from(["softmax", "sigmoid", "logits"]))
    return {
        "input_shape": (draw(side), draw(side), draw(st.integers(1, 3))),
        "num_classes": draw(st.integers(2 if output == "softmax" else 1, 10)),
        "alpha": draw(st.one_of(st.floats(0.1, 1.5), st.sampled_from([0.35, 0.5, 1, 1.3]))),
        "include_top": include_top,
        "pooling": draw(st.sampled_from(poolings)),
        "reg": draw(regs),
        "output": output,
        "include_preprocessing": draw(st.booleans()),
    }


def check_build_mobilenet_v2_valid(kw):
    """Valid build_mobilenet_v2 arguments build a model of the predicted output shape."""
    keras.backend.clear_session(free_memory=False)
    model = build_mobilenet_v2(**kw)
    top = _round_channels(1280 * kw["alpha"]) if kw["alpha"] > 1.0 else 1280
    h, w, c = kw["input_shape"]
    if kw["include_top"]:
        expected = (None, _units(kw))
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
        "num_classes": draw(st.integers(2, 20)),
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
        kw["num_classes"] = draw(
            st.one_of(not_positive_ints(), st.integers(10**9, 10**12), st.integers(2**63, 2**70))
        )
    elif arg == "alpha":
        kw["alpha"] = draw(
            st.one_of(
                st.floats(max_value=0.0),
                # Widths no machine holds, up to ones whose square overflows a float.
                st.floats(1e4, 1e300),
                st.just(float("inf")),
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
        valid = ("softmax", "sigmoid", "logits")
        kw["output"] = draw(st.one_of(st.text().filter(lambda s: s not in valid)))
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
            "output": draw(st.sampled_from(["softmax", "sigmoid", "logits"])),
            "units": tuple(draw(st.lists(st.integers(1, 16), max_size=2))),
            "pooling": draw(st.sampled_from(["flatten", "avg", "max", None])),
        }
        kw["num_classes"] = draw(st.integers(2 if kw["output"] == "softmax" else 1, 10))
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
        expected = (None, _units(kw))
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
        kw[arg] = draw(
            st.one_of(not_positive_ints(), st.integers(10**9, 10**12), st.integers(2**63, 2**70))
        )
    elif arg == "units":
        kw[arg] = draw(
            st.one_of(
                st.lists(st.integers(max_value=0), min_size=1, max_size=2),
                st.lists(st.integers(10**9, 2**70), min_size=1, max_size=2),
                st.text(),
                st.none(),
            )
        )
    elif arg == "stride":
        kw[arg] = draw(
            st.one_of(
                st.integers().filter(lambda s: s not in (1, 2)),
                st.text(),
                st.none(),
                st.floats(),
                st.booleans(),
            )
        )
    elif arg in ("norm_order", "pooling", "output"):
        valid = {
            "norm_order": ("conv-act-bn", "conv-bn-act"),
            "pooling": ("flatten", "avg", "max", None),
            "output": ("softmax", "sigmoid", "logits"),
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
# Regularization: the value object builders take. (Augment, from_arrays and image_pipeline:
# tests/data/test_data_properties.py.)

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


# ----------------------------------------------------------------------------------------
# Regressions: cases these properties found misbehaving, fixed since, pinned here.


def test_mobilenet_v2_alpha_inf_names_alpha():
    raises_naming(lambda: build_mobilenet_v2((32, 32, 3), 3, alpha=math.inf), ("alpha",))


def test_mobilenet_v2_astronomical_alpha_names_alpha():
    # Found by test_build_mobilenet_v2_invalid (hypothesis), before any layer is built.
    raises_naming(
        lambda: build_mobilenet_v2(
            (None, None, 1), 2, alpha=1.3407807929942597e154, include_top=False
        ),
        ("alpha",),
    )


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
