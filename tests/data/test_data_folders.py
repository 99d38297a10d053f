"""`load_dataset(PATH)`: folders of images in class subfolders (JPEG, PNG, BMP, GIF), their
splits, sizes and errors; and decoding JPEGs straight to size with DCT scaling."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from regkit.data import LabeledDataset, image_pipeline, load_dataset
from regkit.data.decode import decode_resized, jpeg_ratio


def _image(
    rng: np.random.Generator, height: int, width: int, channels: int = 3, detail: int = 4
) -> np.ndarray:
    """A smooth random image (JPEG keeps smooth images close to the original): random
    pixels every `detail` pixels, interpolated."""
    small = rng.integers(0, 256, (max(2, height // detail), max(2, width // detail), channels))
    return tf.cast(tf.image.resize(small, (height, width)), tf.uint8).numpy()


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        data = tf.io.encode_png(image)
    else:
        data = tf.io.encode_jpeg(image, quality=95)
    path.write_bytes(data.numpy())


def _folder(root: Path, counts: dict[str, int], sizes=((12, 12),), seed: int = 0) -> dict:
    """Class folders of alternating PNG and JPEG files; returns {path: image}."""
    rng = np.random.default_rng(seed)
    written = {}
    for name, count in counts.items():
        for i in range(count):
            height, width = sizes[i % len(sizes)]
            path = root / name / f"{i:03d}.{'png' if i % 2 else 'jpg'}"
            written[path] = _image(rng, height, width)
            _write(path, written[path])
    return written


def test_class_folders_give_stratified_splits_and_sorted_names(tmp_path):
    written = _folder(tmp_path, {"dog": 10, "cat": 10, "bird": 5})
    (tmp_path / "notes.txt").write_text("not an image, ignored")
    splits = load_dataset(tmp_path, validation_split=0.25, seed=3)
    assert splits.class_names == ("bird", "cat", "dog") and splits.num_classes == 3
    assert splits.image_shape == (12, 12, 3) and splits.name == str(tmp_path)
    # 20% of each class is the test split (2, 2, 1), a quarter of the rest validation.
    assert dict(splits.num_examples) == {"train": 15, "validation": 5, "test": 5}
    tests = [int(label) for _, label in splits.test]
    assert sorted(tests) == [0, 1, 1, 2, 2]
    assert isinstance(splits.train, LabeledDataset) and splits.train.num_classes == 3
    # Every file lands in exactly one split; PNG pixels come back exactly.
    seen = []
    for key in ("train", "validation", "test"):
        for image, label in getattr(splits, key):
            seen.append((image.numpy(), int(label)))
    assert len(seen) == 25
    pngs = [img for path, img in written.items() if path.suffix == ".png"]
    assert sum(any(np.array_equal(img, s) for s, _ in seen) for img in pngs) == len(pngs)
    # The test split does not depend on the seed; validation does.
    other = load_dataset(tmp_path, validation_split=0.25, seed=4)
    same_test = [img.numpy() for img, _ in other.test]
    np.testing.assert_array_equal(same_test, [img.numpy() for img, _ in splits.test])
    val_a = np.stack([img.numpy() for img, _ in splits.validation])
    val_b = np.stack([img.numpy() for img, _ in other.validation])
    assert not np.array_equal(val_a, val_b)


def test_folder_pipeline_trains(tmp_path):
    import keras

    from regkit import build_cnn, compile_model

    _folder(tmp_path, {"a": 8, "b": 8})
    splits = load_dataset(str(tmp_path), validation_split=0.25)
    train = image_pipeline(splits.train, batch_size=4, augment="flip-rot90-color", seed=0)
    val = image_pipeline(splits.validation, batch_size=4, training=False)
    images, labels = next(iter(train))
    assert images.shape == (4, 12, 12, 3) and images.dtype == tf.float32 and labels.shape == (4,)
    assert float(tf.reduce_min(images)) >= 0.0 and float(tf.reduce_max(images)) <= 1.0
    model = compile_model(build_cnn((12, 12, 3), 2, filters=(4,), dense_units=(8,)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(train, validation_data=val, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"]).all()
    # The pipeline shuffles; fit(shuffle=False) says so, and Keras does not warn.
    assert not [w for w in caught if "shuffle=True" in str(w.message)]
    keras.backend.clear_session()


def test_pipeline_decodes_files_straight_to_its_size(tmp_path):
    written = _folder(tmp_path, {"a": 4, "b": 4}, sizes=((32, 40),))
    splits = load_dataset(tmp_path, validation_split=0.0)
    assert splits.validation is None and splits.train.encoded is not None
    images, _ = next(
        iter(image_pipeline(splits.train, batch_size=6, image_size=16, training=False))
    )
    assert images.shape == (6, 16, 16, 3)
    # Each output is the file resized (the JPEGs by DCT scaling: close, not equal).
    decoded = [img.numpy() for img, _ in splits.train]
    for out, full in zip(images.numpy(), decoded, strict=False):
        reference = tf.image.resize(full.astype(np.float32), (16, 16), antialias=True) / 255.0
        assert float(np.abs(out - reference.numpy()).mean()) < 0.03
    assert len(written) == 8


def test_sizes_that_vary_need_image_size(tmp_path):
    _folder(tmp_path, {"a": 4, "b": 4}, sizes=((12, 12), (16, 20)))
    with pytest.raises(ValueError) as info:
        load_dataset(tmp_path)
    text = str(info.value)
    assert text.startswith("Invalid value for argument `image_size`")
    assert "vary in size (e.g. 12x12 and 16x20)" in text and "image_size=12" in text
    splits = load_dataset(tmp_path, image_size=(10, 14), validation_split=0.0)
    assert splits.image_shape == (10, 14, 3)
    assert {tuple(image.shape) for image, _ in splits.train} == {(10, 14, 3)}
    assert {image.dtype for image, _ in splits.train} == {tf.uint8}


def test_train_validation_test_subfolders_are_used(tmp_path):
    _folder(tmp_path / "train", {"x": 4, "y": 6})
    _folder(tmp_path / "test", {"x": 2, "y": 1}, seed=1)
    splits = load_dataset(tmp_path, validation_split=0.5, seed=0)
    assert splits.class_names == ("x", "y")
    assert dict(splits.num_examples) == {"train": 5, "validation": 5, "test": 3}
    assert sorted(int(label) for _, label in splits.test) == [0, 0, 1]
    _folder(tmp_path / "validation", {"y": 2}, seed=2)
    splits = load_dataset(tmp_path)
    assert dict(splits.num_examples) == {"train": 10, "validation": 2, "test": 3}
    assert [int(label) for _, label in splits.validation] == [1, 1]
    _folder(tmp_path / "test", {"z": 1}, seed=3)
    with pytest.raises(ValueError, match=r"argument `name`: expected the same classes in test/"):
        load_dataset(tmp_path)


def test_grey_pngs_give_one_channel(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("zero", "one"):
        for i in range(3):
            _write(tmp_path / name / f"{i}.png", _image(rng, 8, 8, channels=1))
    splits = load_dataset(tmp_path, validation_split=0.0)
    assert splits.image_shape == (8, 8, 1)
    images, _ = next(iter(image_pipeline(splits.train, batch_size=2, image_size=16)))
    assert images.shape == (2, 16, 16, 1)


def test_folder_errors_name_the_problem(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="argument `name`: expected a folder with at least two"):
        load_dataset(empty)
    single = tmp_path / "single"
    _folder(single, {"only": 3})
    with pytest.raises(ValueError, match=r"at least two class subfolders.*'only'"):
        load_dataset(single)
    hollow = tmp_path / "hollow"
    _folder(hollow, {"a": 2})
    (hollow / "b").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*b' holds none"):
        load_dataset(hollow)
    broken = tmp_path / "broken"
    _folder(broken, {"a": 2, "b": 2})
    (broken / "b" / "bad.jpg").write_bytes(b"this is text, not a JPEG")
    (broken / "b" / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError) as info:
        load_dataset(broken)
    text = str(info.value)
    assert "argument `name`" in text and str(broken / "b" / "bad.jpg") in text
    with pytest.raises(ValueError, match="argument `name`: expected an existing folder"):
        load_dataset(tmp_path / "missing")
    with pytest.raises(ValueError, match="argument `image_size`: expected None for 'digits'"):
        load_dataset("digits", image_size=32)
    with pytest.raises(ValueError, match="argument `image_size`"):
        load_dataset(broken.parent / "single", image_size=0)


def test_dct_ratio_never_goes_below_the_target():
    ratios = [
        int(jpeg_ratio(tf.constant(h), tf.constant(w), (16, 16)))
        for h, w in [(16, 16), (31, 64), (32, 32), (63, 200), (64, 64), (128, 127), (128, 128)]
    ]
    assert ratios == [0, 0, 1, 1, 2, 2, 3]  # indices into (1, 2, 4, 8)


def test_dct_scaled_decode_matches_a_full_decode():
    rng = np.random.default_rng(0)
    image = _image(rng, 96, 128, detail=16)  # smooth at the target's scale
    data = tf.io.encode_jpeg(image, quality=95)
    fast = decode_resized(data, (24, 32), 3).numpy()  # ratio 4
    full = tf.image.resize(tf.io.decode_jpeg(data), (24, 32), antialias=True).numpy()
    assert fast.shape == (24, 32, 3)
    assert float(np.abs(fast - full).mean()) < 3.0  # out of 255
    png = tf.io.encode_png(image)
    exact = decode_resized(png, (96, 128), 3).numpy()
    np.testing.assert_allclose(exact, image, atol=1e-3)


def test_folder_passes_follow_the_epoch_variable(tmp_path):
    """Encoded files decoded inside each pass: the epoch-2 pass equals a fresh pipeline's."""
    _folder(tmp_path, {"a": 5, "b": 5}, sizes=((12, 12), (14, 18)))
    splits = load_dataset(tmp_path, validation_split=0.0, image_size=10)
    kwargs = {"batch_size": 4, "augment": "flip-rot90-color", "seed": 1}
    epoch = tf.Variable(0, dtype=tf.int64)
    dataset = image_pipeline(splits.train, epoch=epoch, **kwargs)
    passes = []
    for value in range(3):
        epoch.assign(value)
        passes.append([(x.numpy(), y.numpy()) for x, y in dataset])
    fresh = image_pipeline(splits.train, epoch=tf.Variable(2, dtype=tf.int64), **kwargs)
    for (x1, y1), (x2, y2) in zip(
        passes[2], [(x.numpy(), y.numpy()) for x, y in fresh], strict=True
    ):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(passes[0], passes[1], strict=True))


def test_batches_of_files_are_resized_whole_as_tf_image_resize_would(tmp_path):
    """Decoded files are padded into one canvas per batch and resized (with flips and
    quarter turns) in one resampling pass: the same pixels as resizing each image."""
    from regkit.data import Augment
    from regkit.data.options import check_options
    from regkit.data.source import resolve_source
    from regkit.data.stage_plan import plan_stages

    rng = np.random.default_rng(3)
    originals = []
    for name in ("a", "b"):
        for i in range(3):
            image = rng.integers(0, 256, (10 + 3 * i, 14 + 2 * i, 3), dtype=np.uint8)
            _write(tmp_path / name / f"{i}.png", image)
            originals.append(image)
    splits = load_dataset(tmp_path, image_size=8, validation_split=0.0, seed=0)
    kwargs = {
        "batch_size": 6,
        "image_size": 8,
        "augment": None,
        "one_hot": False,
        "training": False,
        "shuffle": False,
        "cache": False,
        "seed": 0,
        "num_classes": None,
        "drop_remainder": False,
    }
    plan = plan_stages(resolve_source(splits.train, None), check_options(**kwargs))
    assert plan.canvas == (16, 18)  # the largest file's height and width
    images, _ = next(iter(image_pipeline(splits.train, batch_size=6, image_size=8, training=False)))
    files = sorted(tmp_path.glob("*/*.png"))
    expected = [
        tf.image.resize(tf.io.decode_png(f.read_bytes()), (8, 8)).numpy() / 255.0 for f in files
    ]
    assert images.shape == (splits.num_examples["train"], 8, 8, 3) and len(originals) == 6
    for out in images.numpy():
        assert min(np.abs(out - e).max() for e in expected) < 1e-5
    # With flips and quarter turns: the same as resizing first, then turning.
    aug = Augment(flip=True, rot90=True, brightness=0.1)
    sizes = np.array([[10, 14], [13, 16], [8, 8]])
    canvas = np.zeros((3, 13, 16, 3), np.uint8)
    small = []
    for i, (h, w) in enumerate(sizes):
        canvas[i, :h, :w] = rng.integers(0, 256, (h, w, 3))
        small.append(tf.image.resize(canvas[i, :h, :w], (8, 8)))
    direct = aug.apply(canvas, seed=(4, 5), value_range=(0, 255), sizes=sizes, out_size=(8, 8))
    reference = aug.apply(tf.stack(small), seed=(4, 5), value_range=(0, 255))
    np.testing.assert_allclose(direct.numpy(), reference.numpy(), atol=1e-5)


# ----------------------------------------------------------------------------------------
# Bad files (issue 22): named at load, or skipped and counted; non-images listed


def _with_bad_files(root: Path) -> dict[str, Path]:
    """Two classes of six good images, plus a truncated JPEG, a PNG whose image data is
    corrupt (its header is intact), a text file named .jpg and a plain text file."""
    _folder(root, {"a": 6, "b": 6})
    good_jpeg = (root / "a" / "000.jpg").read_bytes()
    good_png = (root / "b" / "001.png").read_bytes()
    bad = {
        "truncated": root / "a" / "truncated.jpg",
        "corrupt": root / "b" / "corrupt.png",
        "text_jpg": root / "b" / "words.jpg",
    }
    bad["truncated"].write_bytes(good_jpeg[: len(good_jpeg) // 2])
    damaged = bytearray(good_png)
    damaged[60:90] = bytes(30)  # inside the IDAT chunk, after the 33-byte header
    bad["corrupt"].write_bytes(bytes(damaged))
    bad["text_jpg"].write_text("this is text, not a JPEG")
    (root / "a" / "notes.txt").write_text("not an image")
    return bad


def test_a_corrupt_or_truncated_image_is_named_at_load(tmp_path):
    bad = _with_bad_files(tmp_path)
    bad["text_jpg"].unlink()
    with pytest.warns(UserWarning), pytest.raises(ValueError) as info:
        load_dataset(tmp_path)
    text = str(info.value)
    assert text.startswith("Invalid value for argument `name`: expected a folder of readable")
    assert repr(str(bad["truncated"])) in text and "bad_images='skip'" in text
    assert "{{function_node" not in text
    bad["truncated"].unlink()
    with (
        pytest.warns(UserWarning),
        pytest.raises(ValueError, match=r"corrupt\.png' does not decode"),
    ):
        load_dataset(tmp_path)


def test_bad_images_skip_counts_them_and_warns_about_other_files(tmp_path):
    bad = _with_bad_files(tmp_path)
    with pytest.warns(UserWarning) as caught:
        splits = load_dataset(tmp_path, bad_images="skip", validation_split=0.25)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1 and repr(str(tmp_path / "a" / "notes.txt")) in messages[0]
    assert "1 file(s)" in messages[0] and "not images" in messages[0]
    assert splits.skipped == tuple(str(bad[k]) for k in ("truncated", "corrupt", "text_jpg"))
    assert splits.num_skipped == 3 and "skipped=3" in repr(splits)
    assert sum(splits.num_examples.values()) == 12
    assert splits.take(2).skipped == splits.skipped
    # Nothing left in the splits fails to decode, as plain tf.data or in the pipeline.
    for key in ("train", "validation", "test"):
        assert len(list(getattr(splits, key))) == splits.num_examples[key]
    batches = image_pipeline(splits.train, batch_size=12, training=False)
    assert sum(int(images.shape[0]) for images, _ in batches) == splits.num_examples["train"]


def test_bad_images_is_validated_and_a_class_of_only_bad_files_is_named(tmp_path):
    _folder(tmp_path / "ok", {"a": 2, "b": 2})
    for value in ("ignore", None, True, ["skip"]):
        with pytest.raises(ValueError, match=r"argument `bad_images`: expected one of 'raise'"):
            load_dataset(tmp_path / "ok", bad_images=value)
    with pytest.raises(ValueError, match="argument `bad_images`"):
        load_dataset("digits", bad_images="nope")
    assert load_dataset("digits", bad_images="skip").skipped == ()
    hollow = tmp_path / "hollow"
    _folder(hollow, {"a": 3})
    (hollow / "b").mkdir()
    (hollow / "b" / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match=r"class folder .*b' holds none once its 1 unreadable"):
        load_dataset(hollow, bad_images="skip")


def test_classes_too_small_for_a_test_or_validation_split_are_refused(tmp_path):
    # 2 classes x 2 images: 20% of 2 rounds to 0, so there was no test split, and compare
    # reported "ok" with accuracy None. Now the data side says why.
    _folder(tmp_path / "tiny", {"a": 2, "b": 2})
    with pytest.raises(ValueError) as info:
        load_dataset(tmp_path / "tiny")
    message = str(info.value)
    assert message.startswith("Invalid value for argument `name`: expected a folder with a class")
    assert "whose largest class holds 2 image(s): no test split" in message
    # 3 images in a class leave one test image; 0.2 of the 2 left over rounds to none.
    _folder(tmp_path / "small", {"a": 3, "b": 3})
    with pytest.raises(
        ValueError,
        match=r"argument `validation_split`: expected a fraction that "
        r"holds out at least one image for validation: 0\.2 of .* at most 2",
    ):
        load_dataset(tmp_path / "small")
    splits = load_dataset(tmp_path / "small", validation_split=0.5)
    assert dict(splits.num_examples) == {"train": 2, "validation": 2, "test": 2}
    assert load_dataset(tmp_path / "small", validation_split=0).validation is None
    # With train/ and test/ subfolders nothing is carved for the test, so small is fine.
    _folder(tmp_path / "own" / "train", {"a": 2, "b": 2})
    _folder(tmp_path / "own" / "test", {"a": 1, "b": 1}, seed=1)
    own = load_dataset(tmp_path / "own", validation_split=0.5)
    assert dict(own.num_examples) == {"train": 2, "validation": 2, "test": 2}
