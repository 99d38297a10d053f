"""Property tests of the data room: random valid arguments always work; random invalid ones
always raise naming the argument.

`Augment`, `from_arrays` and `image_pipeline` are driven by hypothesis:

- valid arguments: the call succeeds and the result has the shapes, dtypes, ranges and
  labels that an independent calculation here predicts (every image and label kept, in
  order when not shuffled; identical batches under a seed);
- invalid arguments (one argument spoiled at a time: negative, zero, float for int,
  strings, None, wrong shapes, huge values, NaN): the call raises ValueError or TypeError
  whose message names the spoiled argument, never another exception from inside
  TensorFlow.

Each property runs a few examples in the default tier and 200 in its `*_slow` twin
(`make test-slow`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from regkit.data import Augment, from_arrays, image_pipeline
from strategies import not_positive_ints, raises_naming, twin

_NOT_NUMBERS = st.one_of(st.text(), st.none(), st.booleans(), st.lists(st.floats()))

# ----------------------------------------------------------------------------------------
# Augment: the value object pipelines take.


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
        x.flat[0] = 200.0  # surely above 1: ambiguous without value_range
    elif kind == "unit_float64":
        x = rng.uniform(0, 1, shape)
    else:
        x = rng.uniform(0, 1, shape).astype(np.float32)
    k = draw(st.integers(2, 6))
    y = rng.integers(0, k, n)
    y[: min(n, 2)] = [0, 1][: min(n, 2)]  # two classes at least, unless n == 1
    y_form = draw(st.sampled_from(["flat", "column", "float", "uint8", "list"]))
    y_in = {
        "flat": y,
        "column": y[:, None],
        "float": y.astype(np.float64),
        "uint8": y.astype(np.uint8),
        "list": y.tolist(),
    }[y_form]
    smallest = max(int(y.max()) + 1, 2)
    if n == 1:  # one label is one class: the class count must be given
        num_classes = draw(st.integers(smallest, 8))
    else:
        num_classes = draw(st.one_of(st.none(), st.integers(smallest, 8)))
    # Only uint8 and float [0, 1] scales are told from the images; others are given.
    value_range = (0.0, 255.0) if kind in ("byte_float", "int16") else None
    return x, y_in, y, num_classes, kind, value_range


def check_from_arrays_valid(case):
    """from_arrays keeps every image and label, in order, and infers what it documents."""
    x, y_in, y, num_classes, kind, value_range = case
    data = from_arrays(x, y_in, num_classes=num_classes, value_range=value_range)
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
    x, y_in, y, num_classes, _, value_range = draw(array_cases())
    n = x.shape[0]
    kw = {"x": x, "y": y_in, "num_classes": num_classes, "value_range": value_range}
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
        # Outside the given range names x; with no range the scale is ambiguous.
        bad = x.astype(np.float32)
        bad.flat[0] = draw(st.one_of(st.floats(-1e6, -0.01), st.floats(255.01, 1e6)))
        kw["x"] = bad
        names = ("x", "value_range")
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
    k = draw(st.integers(2, 5))
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
