"""Fuzzing the data room's public entry points: random, often wrong-typed or huge arguments.

`load_dataset`, `from_arrays`, `image_pipeline`, `Augment` (and its `preset`, `coerce` and
`apply`) are called with one or two arguments replaced by junk: None, bools, huge and
negative ints (2**31, 2**40, 2**63, 10**30), NaN/inf floats, strings, bytes, lists,
dicts, NumPy scalars and arrays, plain objects. Each call must either succeed (a
successful pipeline is also iterated, one batch, when its batch is small) or raise a
ValueError/TypeError whose message names one of the spoiled arguments. Nothing else may
escape, nothing may hang (a per-call time limit) and the process must not crash (a
shuffle buffer of 2**40 used to segfault it). The only other outcome allowed is
TensorFlow's documented check when a batch is iterated: labels outside `num_classes`, or
pixels outside `value_range`, which the data cannot reveal before it is read.

Default tier: 100 calls in all (25 per entry point); the slow twins: 1,000 each.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regkit.data import Augment, from_arrays, image_pipeline, load_dataset
from regkit.data.augment import AUGMENT_FIELDS, AUGMENT_PRESETS
from regkit.data.datasets import BUILTIN_DATASETS

FAST, SLOW = 25, 1_000
#: A call may take this long (a first XLA compile included) before it counts as a hang.
TIME_LIMIT_S = 30.0

HUGE = st.sampled_from([2**31, 2**40, 2**63, 2**64, 10**30, -(2**63) - 1, -1, 0])
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 0.5]),
    st.text(max_size=6),
    st.binary(max_size=6),
    st.lists(st.integers(-3, 3), max_size=3),
    st.tuples(st.integers(-3, 300), st.integers(-3, 300)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from([object(), np.float32(0.5), np.int64(3), np.array([1, 2]), np.bool_(True)]),
)


@pytest.fixture(autouse=True, scope="module")
def _in_a_scratch_folder(tmp_path_factory):
    """A fuzzed `cache="..."` is a file path: tf.data writes its cache files there."""
    import os

    previous = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("fuzz_cwd"))
    yield
    os.chdir(previous)


def _settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


def _outcome(call, spoiled: set[str]) -> object:
    """Runs `call`; returns its result, or checks that its error names a spoiled argument."""
    start = time.perf_counter()
    try:
        result = call()
    except (ValueError, TypeError) as error:
        message = str(error)
        assert any(f"`{name}`" in message for name in spoiled), (
            f"{type(error).__name__} names none of {sorted(spoiled)}: {message}"
        )
        result = None
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT_S, f"took {elapsed:.0f} s"
    return result


def _spoil(draw, valid: dict, keys: list[str]) -> tuple[dict, set[str]]:
    """`valid` with one or two of `keys` replaced by junk."""
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
    kwargs = dict(valid)
    for key in chosen:
        kwargs[key] = draw(JUNK)
    return kwargs, set(chosen)


# ----------------------------------------------------------------------------------------
# image_pipeline

_X = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
_Y = np.array([0, 1, 2, 0, 1, 2])
_DATA = {
    "tuple": lambda: (_X, _Y),
    "from_arrays": lambda: from_arrays(_X, _Y),
    "split": lambda: from_arrays(_X, _Y).as_dataset(),
    "tf.data": lambda: tf.data.Dataset.from_tensor_slices((_X, _Y)),
}
_PIPELINE_ARGS = [
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
    "value_range",
    "epoch",
    "model",
]


@st.composite
def pipeline_calls(draw):
    valid = {
        "data": _DATA[draw(st.sampled_from(sorted(_DATA)))](),
        "batch_size": draw(st.integers(1, 8)),
        "image_size": draw(st.sampled_from([None, 8, (8, 12)])),
        "augment": draw(st.sampled_from([None, "flip-rotate-shift", "rotate-shift-zoom"])),
        "one_hot": draw(st.booleans()),
        "training": draw(st.booleans()),
        "shuffle": draw(st.sampled_from([None, True, False, 4, 2**40])),
        "cache": False,
        "seed": draw(st.sampled_from([None, 0, 7, 2**63 - 1, -5])),
        "num_classes": 3,
        "drop_remainder": draw(st.booleans()),
        "value_range": None,
        "epoch": None,
        "model": None,
    }
    return _spoil(draw, valid, _PIPELINE_ARGS)


def _output_bytes(kwargs) -> float:
    size = kwargs["image_size"]
    height, width = (8, 8) if size is None else (size, size) if np.ndim(size) == 0 else size
    batch = min(int(kwargs["batch_size"]), 6)
    return float(batch) * float(height) * float(width) * 3 * 4


def check_pipeline(case):
    kwargs, spoiled = case
    data = kwargs.pop("data")
    dataset = _outcome(lambda: image_pipeline(data, **kwargs), spoiled)
    kwargs["data"] = data
    if dataset is None:
        return
    assert isinstance(dataset, tf.data.Dataset)
    if _output_bytes(kwargs) > 2**24:
        return  # built lazily and fine; too large to iterate in a test
    try:
        batch = next(iter(dataset), None)
    except tf.errors.InvalidArgumentError as error:  # the documented checks when read
        assert "num_classes" in str(error) or "value_range" in str(error), str(error)
        return
    if batch is not None:
        images, _ = batch
        assert images.dtype == tf.float32 and images.shape.rank == 4


@_settings(FAST)
@given(pipeline_calls())
def test_fuzz_image_pipeline(case):
    check_pipeline(case)


@pytest.mark.slow
@_settings(SLOW)
@given(pipeline_calls())
def test_fuzz_image_pipeline_slow(case):
    check_pipeline(case)


def test_huge_shuffle_buffer_does_not_allocate():
    """The 24 TiB buffer that crashed the process: capped at the data's size (or refused for
    a stream of unknown size), and 2**63 refused."""
    for data in (_DATA["from_arrays"](), _DATA["tf.data"]()):
        batches = list(image_pipeline(data, batch_size=6, shuffle=2**40, seed=0, num_classes=3))
        assert sorted(batches[0][1].numpy().tolist()) == sorted(_Y.tolist())
    unknown = _DATA["tf.data"]().filter(lambda x, y: True)
    with pytest.raises(ValueError, match="argument `shuffle`: expected a buffer of at most"):
        image_pipeline(unknown, shuffle=2**40, num_classes=3)
    with pytest.raises(ValueError, match="argument `shuffle`: expected None, a bool or"):
        image_pipeline(_DATA["tuple"](), shuffle=2**63)


# ----------------------------------------------------------------------------------------
# from_arrays

_ARRAY_ARGS = ["x", "y", "num_classes", "value_range", "class_names"]


@st.composite
def array_calls(draw):
    num_classes = draw(st.sampled_from([None, 3, 5]))
    names = tuple("abcde"[: num_classes or 3])
    valid = {
        "x": _X,
        "y": _Y,
        "num_classes": num_classes,
        "value_range": draw(st.sampled_from([None, (0, 255)])),
        "class_names": draw(st.sampled_from([None, names])),
    }
    kwargs, spoiled = _spoil(draw, valid, _ARRAY_ARGS)
    if "num_classes" in spoiled or "y" in spoiled:
        spoiled |= {"class_names", "y", "num_classes"}  # they are checked against each other
    if "value_range" in spoiled or "x" in spoiled:
        spoiled |= {"x", "value_range"}
    return kwargs, spoiled


def check_from_arrays(case):
    kwargs, spoiled = case
    data = _outcome(lambda: from_arrays(**kwargs), spoiled)
    if data is not None:
        assert len(data) == len(data.labels) and data.num_classes >= 2


@_settings(FAST)
@given(array_calls())
def test_fuzz_from_arrays(case):
    check_from_arrays(case)


@pytest.mark.slow
@_settings(SLOW)
@given(array_calls())
def test_fuzz_from_arrays_slow(case):
    check_from_arrays(case)


# ----------------------------------------------------------------------------------------
# load_dataset (digits, a folder of PNGs, and names that are no data set)

_LOAD_ARGS = ["name", "data_dir", "validation_split", "seed", "download", "image_size"]
_NOT_SETS = st.sampled_from(["", "no_such_set_xyz", "nope/1.0.0", "~definitely-missing-dir"])


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pngs")
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir()
        for i in range(5):
            image = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            (root / name / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())
    return root


@st.composite
def load_calls(draw, folder):
    valid = {
        "name": draw(st.sampled_from(["digits", str(folder), folder])),
        "data_dir": None,
        "validation_split": draw(st.sampled_from([0.0, 0.2])),
        "seed": draw(st.sampled_from([0, 42])),
        "download": False,
        "image_size": None,
    }
    kwargs, spoiled = _spoil(draw, valid, _LOAD_ARGS)
    if "name" in spoiled and draw(st.booleans()):
        kwargs["name"] = draw(_NOT_SETS)
    if isinstance(kwargs["name"], str) and kwargs["name"].lower().replace("-", "") in (
        BUILTIN_DATASETS
    ):
        kwargs["name"] = "digits"  # never a CIFAR download
    return kwargs, spoiled


def check_load_dataset(case):
    kwargs, spoiled = case
    try:
        splits = _outcome(lambda: load_dataset(**kwargs), spoiled)
    except FileNotFoundError as error:  # a str naming a tfds set that is not prepared
        assert "name" in spoiled and isinstance(kwargs["name"], str), str(error)
        return
    if splits is not None:
        assert splits.num_classes >= 2 and splits.train is not None


@pytest.mark.parametrize("examples", [FAST, pytest.param(SLOW, marks=pytest.mark.slow)])
def test_fuzz_load_dataset(png_folder, examples):
    @_settings(examples)
    @given(load_calls(png_folder))
    def run(case):
        check_load_dataset(case)

    run()


# ----------------------------------------------------------------------------------------
# Augment


@st.composite
def augment_calls(draw):
    what = draw(st.sampled_from(["init", "preset", "coerce", "apply"]))
    if what == "init":
        fields = [f for f in AUGMENT_FIELDS]
        kwargs, spoiled = _spoil(draw, {}, fields)
        return what, kwargs, spoiled
    if what == "preset":
        return what, {"name": draw(st.one_of(JUNK, st.sampled_from(AUGMENT_PRESETS)))}, {"name"}
    if what == "coerce":
        value = draw(st.one_of(JUNK, st.dictionaries(st.sampled_from(AUGMENT_FIELDS), JUNK)))
        return what, {"value": value}, {"augment", *AUGMENT_FIELDS}
    valid = {
        "images": np.zeros((2, 8, 8, 3), np.float32),
        "seed": (1, 2),
        "value_range": (0.0, 1.0),
    }
    kwargs, spoiled = _spoil(draw, valid, ["images", "seed", "value_range"])
    return what, kwargs, spoiled


def check_augment(case):
    what, kwargs, spoiled = case
    if what == "init":
        _outcome(lambda: Augment(**kwargs), spoiled)
    elif what == "preset":
        _outcome(lambda: Augment.preset(kwargs["name"]), spoiled)
    elif what == "coerce":
        _outcome(lambda: Augment.coerce(kwargs["value"]), spoiled)
    else:
        aug = Augment(flip=True, brightness=0.2)
        out = _outcome(lambda: aug.apply(**kwargs), spoiled)
        if out is not None:
            assert out.dtype == tf.float32 and out.shape.rank == 4


@_settings(FAST)
@given(augment_calls())
def test_fuzz_augment(case):
    check_augment(case)


@pytest.mark.slow
@_settings(SLOW)
@given(augment_calls())
def test_fuzz_augment_slow(case):
    check_augment(case)
