"""Fuzzing the model room's public entry points: no escapes, no hangs.

Each call gets random arguments, most of them valid and small, some of them spoiled with
junk: wrong types, huge or negative numbers, ints beyond int64, NaN/inf, nested lists and
dicts, stray strings. The only outcomes allowed are success, or a ValueError/TypeError
whose message names one of the function's arguments (or a `Regularization` field, for
`reg`). Anything else - an AttributeError, a TensorFlow error, a hang on a size no machine
holds - is an escape and fails the test.

Entry points: `build_cnn`, `build_mobilenet_v2`, `conv_block`, `inverted_residual`,
`dense_head`, `compile_model`, `apply_regularization`, `standard_callbacks`,
`WeightNormLogger`, `RegularizationMonitor`. The default tier makes 150 calls in all
(`CALLS`); each test's slow twin makes 20 times as many (3,000 in all).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import tempfile
from pathlib import Path

import keras
from hypothesis import strategies as st

from regkit import (
    Regularization,
    apply_regularization,
    build_cnn,
    build_mobilenet_v2,
    compile_model,
    conv_block,
    dense_head,
    inverted_residual,
)
from regkit.callbacks import RegularizationMonitor, WeightNormLogger, standard_callbacks
from strategies import regs, twin

#: Default-tier examples per entry point (150 calls in all); the slow twins make 20x.
CALLS = {
    "build_cnn": 20,
    "build_mobilenet_v2": 10,
    "blocks": 30,
    "compile_model": 25,
    "apply_regularization": 15,
    "standard_callbacks": 25,
    "monitors": 25,
}
SLOW_FACTOR = 20
REG_FIELDS = tuple(f.name for f in dataclasses.fields(Regularization))

# ----------------------------------------------------------------------------------------
# Junk: what a confused caller (or a fuzzer) passes.

_SCALARS = st.one_of(
    st.integers(-3, 3),
    st.integers(10**9, 10**12),  # huge sizes
    st.integers(2**63, 2**70),  # beyond int64
    st.integers(max_value=-(2**63)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["softmax", "avg", "flatten", "sgd", "yes", "no", "loud", "auto", "", "\x00"]),
    st.none(),
    st.booleans(),
    st.binary(max_size=3),
)
JUNK = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=2),
    ),
    max_leaves=5,
)


@st.composite
def calls(draw, valid: dict):
    """Keyword arguments: each valid (drawn from `valid`) or, for 0-3 of them, junk."""
    names = sorted(valid)
    spoiled = draw(
        st.lists(st.sampled_from(names), max_size=3, unique=True)
        if draw(st.integers(0, 3))
        else st.just([])
    )
    return {name: draw(JUNK if name in spoiled else valid[name]) for name in names}


def escapes_only_as_named_errors(fn, kwargs: dict, extra_names=()) -> str:
    """Calls `fn(**kwargs)`: success, or ValueError/TypeError naming an argument.

    Returns "ok" or the error's type name (for the counts the tests keep).
    """
    keras.backend.clear_session(free_memory=False)
    names = (*inspect.signature(fn).parameters, *extra_names)
    try:
        fn(**kwargs)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert any(f"`{name}`" in message for name in names), (
            f"{fn.__name__}({kwargs!r}) raised {type(err).__name__} naming none of "
            f"{names}: {message}"
        )
        return type(err).__name__
    return "ok"


def fuzz_test(strategy, calls_key):
    fast = CALLS[calls_key]
    return twin(strategy, fast=fast, slow=fast * SLOW_FACTOR)


# ----------------------------------------------------------------------------------------
# Builders.

_SMALL_CNN = {
    "input_shape": st.sampled_from([(32, 32, 3), (16, 16, 1), (8, 12, 2), (None, None, 3)]),
    "num_classes": st.integers(1, 5),
    "filters": st.lists(st.integers(1, 8), min_size=1, max_size=2).map(tuple),
    "convs_per_block": st.integers(1, 2),
    "dense_units": st.lists(st.integers(1, 8), max_size=2).map(tuple),
    "pooling": st.sampled_from(["flatten", "avg", "max"]),
    "norm_order": st.sampled_from(["conv-act-bn", "conv-bn-act"]),
    "reg": regs,
    "output": st.sampled_from(["softmax", "sigmoid", "logits"]),
    "name": st.sampled_from(["cnn", "net"]),
    "pool": st.booleans(),
    "include_preprocessing": st.booleans(),
}


def check_build_cnn(kwargs):
    """build_cnn: success or a named ValueError/TypeError."""
    escapes_only_as_named_errors(build_cnn, kwargs, REG_FIELDS)


test_fuzz_build_cnn, test_fuzz_build_cnn_slow = fuzz_test(calls(_SMALL_CNN), "build_cnn")(
    check_build_cnn
)

_SMALL_MOBILENET = {
    "input_shape": st.sampled_from([(32, 32, 3), (32, 40, 1), (None, None, 3)]),
    "num_classes": st.integers(2, 5),
    "alpha": st.sampled_from([0.35, 0.25]),
    "include_top": st.booleans(),
    "pooling": st.sampled_from(["avg", "max"]),
    "reg": regs,
    "output": st.sampled_from(["softmax", "sigmoid", "logits"]),
    "name": st.just("mnv2"),
    "include_preprocessing": st.booleans(),
}


def check_build_mobilenet_v2(kwargs):
    """build_mobilenet_v2: success or a named ValueError/TypeError."""
    escapes_only_as_named_errors(build_mobilenet_v2, kwargs, REG_FIELDS)


test_fuzz_build_mobilenet_v2, test_fuzz_build_mobilenet_v2_slow = fuzz_test(
    calls(_SMALL_MOBILENET), "build_mobilenet_v2"
)(check_build_mobilenet_v2)


# ----------------------------------------------------------------------------------------
# Blocks on symbolic inputs.

INPUT_SHAPES = [(8, 8, 3), (5, 7, 2), (4, 4, 16)]
_INPUTS = st.sampled_from(INPUT_SHAPES)
_BLOCKS = {
    conv_block: {
        "x": _INPUTS,
        "filters": st.integers(1, 8),
        "convs": st.integers(1, 2),
        "kernel_size": st.integers(1, 3),
        "reg": regs,
        "norm_order": st.sampled_from(["conv-act-bn", "conv-bn-act"]),
        "pool": st.booleans(),
        "name": st.sampled_from([None, "b"]),
    },
    inverted_residual: {
        "x": _INPUTS,
        "filters": st.integers(1, 8),
        "expansion": st.integers(1, 6),
        "stride": st.sampled_from([1, 2]),
        "reg": regs,
        "name": st.sampled_from([None, "ir"]),
    },
    dense_head: {
        "x": _INPUTS,
        "num_classes": st.integers(2, 5),
        "units": st.lists(st.integers(1, 8), max_size=2).map(tuple),
        "pooling": st.sampled_from(["flatten", "avg", "max"]),
        "reg": regs,
        "output": st.sampled_from(["softmax", "sigmoid", "logits"]),
        "name": st.sampled_from([None, "head"]),
    },
}


@st.composite
def block_calls(draw):
    block = draw(st.sampled_from(list(_BLOCKS)))
    return block, draw(calls(_BLOCKS[block]))


def check_blocks(case):
    """conv_block, inverted_residual, dense_head: success or a named error."""
    block, kwargs = case
    if kwargs["x"] in INPUT_SHAPES:  # a valid shape becomes a symbolic input
        kwargs = {**kwargs, "x": keras.Input(kwargs["x"])}
    escapes_only_as_named_errors(block, kwargs, REG_FIELDS)


test_fuzz_blocks, test_fuzz_blocks_slow = fuzz_test(block_calls(), "blocks")(check_blocks)


# ----------------------------------------------------------------------------------------
# compile_model and apply_regularization on a small built model.


@functools.cache
def _tiny_model() -> keras.Model:
    return build_cnn((8, 8, 1), 3, filters=(2,), dense_units=(4,), reg="bn", name="tiny")


_MODELS = st.sampled_from(["tiny"])
_COMPILE = {
    "model": _MODELS,
    "optimizer": st.sampled_from(["adam", "adamw", "sgd", "rmsprop"]),
    "learning_rate": st.floats(1e-4, 1.0),
    "weight_decay": st.sampled_from([0.0, 1e-4]),
    "label_smoothing": st.just(0.0),
    "labels": st.sampled_from(["sparse", "one_hot"]),
    "from_logits": st.sampled_from([None, True, False]),
    "metrics": st.sampled_from([None, ["accuracy"]]),
    "jit_compile": st.sampled_from(["auto", False]),
    "steps_per_execution": st.integers(1, 4),
    "strategy": st.none(),
}


def _with_model(kwargs):
    return {**kwargs, "model": _tiny_model()} if kwargs.get("model") == "tiny" else kwargs


def check_compile_model(kwargs):
    """compile_model: success or a named ValueError/TypeError."""
    escapes_only_as_named_errors(compile_model, _with_model(kwargs))


test_fuzz_compile_model, test_fuzz_compile_model_slow = fuzz_test(calls(_COMPILE), "compile_model")(
    check_compile_model
)

_APPLY = {"model": _MODELS, "reg": regs, "overwrite": st.booleans()}


def check_apply_regularization(kwargs):
    """apply_regularization: success or a named ValueError/TypeError."""
    escapes_only_as_named_errors(apply_regularization, _with_model(kwargs), REG_FIELDS)


test_fuzz_apply_regularization, test_fuzz_apply_regularization_slow = fuzz_test(
    calls(_APPLY), "apply_regularization"
)(check_apply_regularization)


# ----------------------------------------------------------------------------------------
# Callbacks.

_FOLDER = Path(tempfile.mkdtemp(prefix="regkit-fuzz-"))
_STANDARD = {
    "checkpoint_path": st.sampled_from(["best.keras", "w.weights.h5"]).map(
        lambda n: str(_FOLDER / n)
    ),
    "monitor": st.sampled_from(["val_loss", "val_accuracy"]),
    "mode": st.sampled_from(["auto", "min", "max"]),
    "patience": st.integers(0, 10),
    "reduce_lr_patience": st.integers(0, 5),
    "min_lr": st.floats(0.0, 1e-3),
    "factor": st.floats(0.1, 0.9),
    "backup_dir": st.sampled_from([None, str(_FOLDER / "backup")]),
    "csv_path": st.sampled_from([None, str(_FOLDER / "log.csv")]),
    "verbose": st.sampled_from([0, 1]),
    "weight_norms": st.booleans(),
    "reg_monitor": st.booleans(),
}


def check_standard_callbacks(kwargs):
    """standard_callbacks: success or a named ValueError/TypeError; nothing is written."""
    before = sorted(p.name for p in _FOLDER.iterdir())
    escapes_only_as_named_errors(standard_callbacks, kwargs)
    assert sorted(p.name for p in _FOLDER.iterdir()) == before


test_fuzz_standard_callbacks, test_fuzz_standard_callbacks_slow = fuzz_test(
    calls(_STANDARD), "standard_callbacks"
)(check_standard_callbacks)

_MONITORS = {
    WeightNormLogger: {
        "layers": st.sampled_from([None, "tiny_block1_conv1", ["tiny_head_dense1"]]),
        "print_first": st.integers(0, 3),
        "print_fn": st.just(lambda _line: None),
        "progress_line": st.booleans(),
    },
    RegularizationMonitor: {"effective_lr": st.booleans(), "progress_line": st.booleans()},
}


@st.composite
def monitor_calls(draw):
    cls = draw(st.sampled_from(list(_MONITORS)))
    return cls, draw(calls(_MONITORS[cls]))


def check_monitors(case):
    """WeightNormLogger / RegularizationMonitor: built, then started on a model."""
    cls, kwargs = case

    def start(**kw):
        callback = cls(**kw)
        callback.set_model(_tiny_model())
        callback.on_train_begin()
        callback.on_epoch_end(0, {"loss": 1.0})

    start.__signature__ = inspect.signature(cls)  # name the class's own arguments
    escapes_only_as_named_errors(start, kwargs)


test_fuzz_monitors, test_fuzz_monitors_slow = fuzz_test(monitor_calls(), "monitors")(check_monitors)
