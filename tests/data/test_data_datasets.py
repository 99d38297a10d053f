"""`regkit.data.load_dataset` and `from_arrays`: digits for real, CIFAR from files written in
the official python-version format, tfds through `tfds.testing.mock_data`, and every bad
input. Nothing here touches the network."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from regkit.data import DatasetSplits, from_arrays, image_pipeline, load_dataset

# ----------------------------------------------------------------------------------------
# digits (embedded in regkit, for real; compared with scikit-learn's copy where installed)


@pytest.fixture(scope="module")
def digits() -> DatasetSplits:
    return load_dataset("digits")


def test_digits_shapes_counts_and_values(digits):
    load_digits = pytest.importorskip("sklearn.datasets").load_digits

    assert digits.name == "digits"
    assert digits.image_shape == (8, 8, 1)
    assert digits.num_classes == 10
    assert digits.class_names == tuple(str(i) for i in range(10))
    assert dict(digits.num_examples) == {"train": 1149, "validation": 288, "test": 360}
    arrays = digits.arrays
    for split in ("train", "validation", "test"):
        dataset = getattr(digits, split)
        assert int(dataset.cardinality()) == digits.num_examples[split] == len(arrays[split])
        image, label = next(iter(dataset))
        assert image.dtype.name == "uint8" and image.shape == (8, 8, 1)
        assert label.dtype.name == "int64"
    every = np.concatenate([arrays[s].images for s in ("train", "validation", "test")])
    assert every.shape == (1797, 8, 8, 1) and every.dtype == np.uint8
    # scikit-learn's 0..16 scaled to 0..255 and rounded: the sorted values match exactly.
    reference = np.round(load_digits().images * 255 / 16).astype(np.uint8)
    np.testing.assert_array_equal(np.sort(every, axis=None), np.sort(reference, axis=None))
    labels = np.concatenate([arrays[s].labels for s in ("train", "validation", "test")])
    np.testing.assert_array_equal(np.bincount(labels), np.bincount(load_digits().target))
    # The test split is stratified: every class has 20% of its images there (+-1).
    share = np.bincount(arrays["test"].labels) / np.bincount(load_digits().target)
    assert np.all(np.abs(share - 0.2) < 0.01)


def test_digits_validation_is_carved_by_seed_and_test_is_fixed(digits):
    train_test_split = pytest.importorskip("sklearn.model_selection").train_test_split

    again = load_dataset("digits")
    other = load_dataset("digits", seed=1)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(digits.arrays[split].labels, again.arrays[split].labels)
    np.testing.assert_array_equal(digits.arrays["test"].images, other.arrays["test"].images)
    assert not np.array_equal(digits.arrays["validation"].labels, other.arrays["validation"].labels)
    # Seed 000's carve: train_test_split(test_size=0.2, random_state=seed) on the train part.
    seed42 = load_dataset("digits", seed=42)
    whole_x = np.concatenate([seed42.arrays["train"].images, seed42.arrays["validation"].images])
    assert len(whole_x) == 1437
    no_val = load_dataset("digits", validation_split=0.0, seed=42)
    assert no_val.validation is None and no_val.num_examples["validation"] == 0
    x_tr, x_val, y_tr, y_val = train_test_split(
        no_val.arrays["train"].images,
        no_val.arrays["train"].labels,
        test_size=0.2,
        random_state=42,
    )
    np.testing.assert_array_equal(seed42.arrays["train"].images, x_tr)
    np.testing.assert_array_equal(seed42.arrays["validation"].images, x_val)
    np.testing.assert_array_equal(seed42.arrays["train"].labels, y_tr)
    np.testing.assert_array_equal(seed42.arrays["validation"].labels, y_val)


def test_digits_pipeline_knows_its_classes(digits):
    """Splits made by load_dataset carry their arrays and class count to image_pipeline."""
    images, labels = next(iter(image_pipeline(digits.train, batch_size=4, one_hot=True)))
    assert images.shape == (4, 8, 8, 1) and labels.shape == (4, 10)


def test_splits_are_tf_data_that_carry_their_arrays(digits):
    """splits.train is a plain tf.data dataset to a user, and publicly carries its arrays."""
    import tensorflow as tf

    from regkit.data import LabeledDataset
    from regkit.data.source import resolve_source

    train = digits.train
    assert isinstance(train, tf.data.Dataset) and isinstance(train, LabeledDataset)
    assert train.arrays is digits.arrays["train"] and train.num_classes == 10
    assert train.class_names == digits.class_names
    images, labels = next(iter(train.batch(5)))
    np.testing.assert_array_equal(images.numpy(), digits.arrays["train"].images[:5])
    np.testing.assert_array_equal(labels.numpy(), digits.arrays["train"].labels[:5])
    assert int(train.cardinality()) == digits.num_examples["train"]
    # The pipeline gathers from the arrays; a transformed dataset is no longer them.
    assert resolve_source(train, None).arrays is digits.arrays["train"]
    mapped = train.map(lambda image, label: (image // 2, label))
    assert not isinstance(mapped, LabeledDataset)
    assert resolve_source(mapped, None).arrays is None


def test_take_caps_every_split_and_keeps_the_arrays(digits):
    from regkit.data.source import resolve_source

    small = digits.take(50)
    assert small is not digits and digits.num_examples["train"] == 1149  # unchanged
    assert dict(small.num_examples) == {"train": 50, "validation": 50, "test": 50}
    for key in ("train", "validation", "test"):
        part = small.arrays[key]
        assert len(part) == 50
        np.testing.assert_array_equal(part.images, digits.arrays[key].images[:50])
        assert getattr(small, key).arrays is part
        assert len(list(getattr(small, key))) == 50
        assert resolve_source(getattr(small, key), None).arrays is part
    assert digits.take(10**6).num_examples == digits.num_examples
    for bad in (0, -1, 2.5, "3", None, True):
        with pytest.raises(ValueError, match="argument `limit`: expected a positive int"):
            digits.take(bad)


def test_take_by_split_caps_only_the_splits_named(digits):
    small = digits.take({"train": 30, "test": 20})
    assert dict(small.num_examples) == {**digits.num_examples, "train": 30, "test": 20}
    assert small.arrays["validation"] is digits.arrays["validation"]
    np.testing.assert_array_equal(small.arrays["train"].images, digits.arrays["train"].images[:30])
    assert len(list(small.train)) == 30 and len(list(small.test)) == 20
    for bad in ({}, {"val": 3}, {"train": 0}, {"train": 2.5}):
        with pytest.raises(ValueError, match=r"`limit(\['train'\])?`: expected a positive"):
            digits.take(bad)


def test_take_on_streamed_splits_keeps_the_class_count():
    import tensorflow as tf

    from regkit.data import LabeledDataset

    x = np.zeros((9, 4, 4, 3), np.uint8)
    stream = LabeledDataset(
        tf.data.Dataset.from_tensor_slices((x, np.arange(9) % 3)), num_classes=3
    )
    splits = DatasetSplits(
        train=stream,
        validation=tf.data.Dataset.from_tensor_slices((x, np.arange(9) % 3)),
        test=None,
        num_classes=3,
        class_names=("a", "b", "c"),
        image_shape=(4, 4, 3),
        num_examples={"train": 9, "validation": None, "test": 0},
    )
    small = splits.take(4)
    assert dict(small.num_examples) == {"train": 4, "validation": None, "test": 0}
    assert isinstance(small.train, LabeledDataset) and small.train.num_classes == 3
    assert small.test is None and small.arrays is None
    assert len(list(small.validation)) == 4
    _, labels = next(iter(image_pipeline(small.train, batch_size=4, one_hot=True)))
    assert labels.shape == (4, 3)


BAD_LOAD_ARGUMENTS = [
    ({"validation_split": 1.0}, "argument `validation_split`: expected a float in [0, 1)"),
    ({"validation_split": "0.2"}, "argument `validation_split`"),
    ({"seed": "0"}, "argument `seed`: expected an int"),
    ({"download": "yes"}, "argument `download`: expected None, True or False"),
]


def test_bad_arguments():
    for kwargs, message in BAD_LOAD_ARGUMENTS:
        with pytest.raises(ValueError) as info:
            load_dataset("digits", **kwargs)
        assert message in str(info.value)


def test_unknown_name_names_it_and_lists_choices():
    with pytest.raises(ValueError) as info:
        load_dataset("no_such_dataset_xyz")
    text = str(info.value)
    assert "Invalid value for argument `name`" in text
    assert "'digits', 'cifar10', 'cifar100'" in text
    assert "name='no_such_dataset_xyz'" in text


# ----------------------------------------------------------------------------------------
# CIFAR from files in the official python-version format (pickled dicts with bytes keys,
# uint8 rows of 3072 = 3 x 32 x 32 channel-first values).

PER_BATCH = 20


def _cifar_rows(n: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose red, green and blue planes are constant and encode the image index."""
    idx = offset + np.arange(n)
    rows = np.zeros((n, 3, 32, 32), np.uint8)
    rows[:, 0] = (idx % 256)[:, None, None]
    rows[:, 1] = 7
    rows[:, 2] = 200
    rows[:, 0, 0, 1] = 255  # one marker pixel at row 0, column 1 of the red plane
    return rows.reshape(n, 3072), idx


def _write_cifar10(folder: Path) -> None:
    folder.mkdir(parents=True)
    for b in range(1, 6):
        data, idx = _cifar_rows(PER_BATCH, (b - 1) * PER_BATCH)
        batch = {
            b"batch_label": f"training batch {b} of 5".encode(),
            b"labels": [int(i % 10) for i in idx],
            b"data": data,
            b"filenames": [f"img_{i}.png".encode() for i in idx],
        }
        (folder / f"data_batch_{b}").write_bytes(pickle.dumps(batch, protocol=2))
    data, idx = _cifar_rows(PER_BATCH, 1000)
    test = {b"batch_label": b"testing batch 1 of 1", b"labels": [int(i % 10) for i in idx]}
    test[b"data"] = data
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
    names = [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer")]
    names += [n.encode() for n in ("dog", "frog", "horse", "ship", "truck")]
    meta = {b"num_cases_per_batch": PER_BATCH, b"label_names": names, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def _write_cifar100(folder: Path) -> None:
    folder.mkdir(parents=True)
    for member, n, offset in (("train", 5 * PER_BATCH, 0), ("test", PER_BATCH, 1000)):
        data, idx = _cifar_rows(n, offset)
        batch = {
            b"filenames": [f"f{i}.png".encode() for i in idx],
            b"batch_label": member.encode(),
            b"fine_labels": [int(i % 100) for i in idx],
            b"coarse_labels": [int(i % 20) for i in idx],
            b"data": data,
        }
        (folder / member).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {
        b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
        b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
    }
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))


def _archive(folder: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return target


@pytest.fixture(scope="module")
def cifar_files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    _write_cifar10(root / "extracted" / "cifar-10-batches-py")
    _write_cifar100(root / "extracted100" / "cifar-100-python")
    (root / "archive").mkdir()
    _archive(root / "extracted" / "cifar-10-batches-py", root / "archive/cifar-10-python.tar.gz")
    _archive(root / "extracted100" / "cifar-100-python", root / "archive/cifar-100-python.tar.gz")
    return root


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch) -> Path:
    """An empty Keras cache, and no system copy (Debian's Fashion-MNIST) to fall back on,
    so the tests read what they wrote whatever the machine has installed."""
    from regkit.data import idx

    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(
        idx, "SYSTEM_DIRS", {name: tmp_path / "no-system-copy" for name in idx.SYSTEM_DIRS}
    )
    return home


def _check_cifar10(splits: DatasetSplits) -> None:
    assert splits.num_classes == 10 and splits.image_shape == (32, 32, 3)
    assert splits.class_names[:3] == ("airplane", "automobile", "bird")
    assert dict(splits.num_examples) == {"train": 80, "validation": 20, "test": PER_BATCH}
    train = np.concatenate([splits.arrays["train"].images, splits.arrays["validation"].images])
    labels = np.concatenate([splits.arrays["train"].labels, splits.arrays["validation"].labels])
    # Channel-first rows became channel-last images: planes are the last axis.
    index = train[:, 5, 5, 0].astype(int)
    np.testing.assert_array_equal(np.sort(index), np.arange(5 * PER_BATCH))
    np.testing.assert_array_equal(labels, index % 10)
    assert np.all(train[:, :, :, 1] == 7) and np.all(train[:, :, :, 2] == 200)
    assert np.all(train[:, 0, 1, 0] == 255) and np.all(train[:, 1, 0, 0] != 255)
    test_index = splits.arrays["test"].images[:, 5, 5, 0].astype(int)
    np.testing.assert_array_equal(test_index, np.arange(1000, 1000 + PER_BATCH) % 256)


@pytest.mark.parametrize("layout", ["archive", "parent folder", "the folder itself"])
def test_cifar10_from_data_dir(cifar_files, empty_keras_home, layout):
    data_dir = {
        "archive": cifar_files / "archive",
        "parent folder": cifar_files / "extracted",
        "the folder itself": cifar_files / "extracted" / "cifar-10-batches-py",
    }[layout]
    splits = load_dataset("cifar10", data_dir=data_dir, download=False)
    _check_cifar10(splits)
    images, labels = next(iter(image_pipeline(splits.train, batch_size=4, one_hot=True)))
    assert images.shape == (4, 32, 32, 3) and labels.shape == (4, 10)


def test_cifar100_uses_fine_labels(cifar_files, empty_keras_home):
    splits = load_dataset("cifar100", data_dir=cifar_files / "archive", download=False)
    assert splits.num_classes == 100 and splits.class_names[99] == "fine99"
    everything = np.concatenate([splits.arrays["train"].labels, splits.arrays["validation"].labels])
    index = np.concatenate(
        [splits.arrays["train"].images[:, 3, 3, 0], splits.arrays["validation"].images[:, 3, 3, 0]]
    ).astype(int)
    np.testing.assert_array_equal(everything, index % 100)
    assert len(splits.arrays["test"]) == PER_BATCH


@pytest.mark.parametrize(
    "subdir", ["cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py"]
)
def test_cifar10_from_the_keras_cache(cifar_files, empty_keras_home, subdir):
    """Keras 2 extracted to datasets/cifar-10-batches-py, Keras 3 to ...-target/...;
    KERAS_HOME is honoured."""
    import shutil

    target = empty_keras_home / "datasets" / subdir
    shutil.copytree(cifar_files / "extracted" / "cifar-10-batches-py", target)
    _check_cifar10(load_dataset("cifar10", download=False))


def test_cifar_missing_offline_says_what_and_where(tmp_path, empty_keras_home):
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert time.perf_counter() - start < 5
    text = str(info.value)
    assert "CIFAR-10 was not found in" in text
    assert str(tmp_path) in text and str(empty_keras_home / "datasets") in text
    assert "cifar-10-python.tar.gz" in text and "cifar-10-batches-py/" in text
    assert "download=False" in text


def test_cifar_download_goes_through_keras_and_fails_clearly(
    tmp_path, empty_keras_home, monkeypatch
):
    import keras

    calls = []

    def offline(**kwargs):
        calls.append(kwargs)
        raise Exception("URL fetch failure on https://www.cs.toronto.edu: -2 -- no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("cifar100", data_dir=tmp_path)
    assert calls and calls[0]["origin"].endswith("cifar-100-python.tar.gz")
    assert calls[0]["cache_dir"] == str(empty_keras_home) and calls[0]["extract"] is True
    assert "downloading it through Keras failed (URL fetch failure" in str(info.value)
    assert "cifar-100-python.tar.gz" in str(info.value)


def test_cifar_incomplete_folder_names_the_missing_file(cifar_files, tmp_path, empty_keras_home):
    import shutil

    folder = tmp_path / "cifar-10-batches-py"
    shutil.copytree(cifar_files / "extracted" / "cifar-10-batches-py", folder)
    os.remove(folder / "data_batch_3")
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_cifar_pickles_cannot_run_code(tmp_path, empty_keras_home):
    """The official format is pickle; only the globals a CIFAR batch needs are loaded."""
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar10(folder)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": Evil()}))
    with pytest.raises(ValueError, match="does not hold CIFAR-10 in the official"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert not (tmp_path / "pwned").exists()


def test_cifar_archive_is_read_in_place(tmp_path, empty_keras_home):
    """Members are read from the archive; a hostile path inside it is never written."""
    folder = tmp_path / "src" / "cifar-10-batches-py"
    _write_cifar10(folder)
    archive = tmp_path / "data" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
        payload = b"owned"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    _check_cifar10(load_dataset("cifar10", data_dir=archive.parent, download=False))
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


# ----------------------------------------------------------------------------------------
# tensorflow-datasets through tfds.testing.mock_data (never the network)


def _prepared_metadata(data_dir: Path, name: str, counts: dict[str, int]) -> None:
    """Writes the metadata a prepared tfds set has (dataset_info.json, features, labels)
    so that the builder reports it prepared, with real split sizes."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=str(data_dir))
    os.makedirs(builder.data_dir)
    template = tfds.core.ShardedFileTemplate(
        data_dir=builder.data_dir,
        template="{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}",
        dataset_name=builder.name,
        split="train",
        filetype_suffix="tfrecord",
    )
    splits = [
        tfds.core.SplitInfo(
            name=s, shard_lengths=[n], num_bytes=0, filename_template=template.replace(split=s)
        )
        for s, n in counts.items()
    ]
    builder.info.set_splits(tfds.core.SplitDict(splits))
    builder.info.write_to_directory(builder.data_dir)


def test_tfds_imagenette_with_mock_data(tmp_path):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    _prepared_metadata(tmp_path, "imagenette/160px", {"train": 40, "validation": 10})
    with tfds.testing.mock_data(
        num_examples=6, policy=tfds.testing.MockPolicy.USE_FILES, data_dir=str(tmp_path)
    ):
        splits = load_dataset("imagenette/160px", data_dir=tmp_path, validation_split=0.25)
        assert splits.num_classes == 10 and len(splits.class_names) == 10
        assert splits.class_names[0].startswith("n0")  # WordNet ids, as tfds names them
        assert splits.image_shape == (None, None, 3)
        assert dict(splits.num_examples) == {"train": 30, "validation": 10, "test": 10}
        assert splits.arrays is None and splits.train.arrays is None
        assert splits.train.num_classes == 10  # so one_hot needs no num_classes below
        # The JPEG bytes are offered undecoded too (tfds' SkipDecoding), for the pipeline.
        encoded = splits.train.encoded
        assert encoded is not None and encoded.jpeg and encoded.channels == 3
        data, _ = next(iter(encoded.dataset))
        assert data.dtype == tf.string and bytes(data.numpy()[:2]) == b"\xff\xd8"
        sizes = {tuple(image.shape) for image, _ in splits.train}
        assert len(sizes) > 1, "mock images come in random sizes"
        with pytest.raises(ValueError, match="argument `image_size`: expected an output size"):
            image_pipeline(splits.train, batch_size=4)
        pipeline = image_pipeline(
            splits.train, batch_size=4, image_size=16, augment="seed001", one_hot=True, seed=0
        )
        images, labels = next(iter(pipeline))
    assert images.shape == (4, 16, 16, 3) and labels.shape == (4, 10)
    assert float(np.min(images)) >= 0.0 and float(np.max(images)) <= 1.0


def test_tfds_split_metadata_unknown_under_plain_mock():
    """Plain `mock_data()` knows no split sizes: counts are None, splits still load."""
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=5):
        splits = load_dataset("imagenette/160px", download=True)
        assert dict(splits.num_examples) == {"train": None, "validation": None, "test": None}
        images, labels = next(iter(image_pipeline(splits.test, batch_size=5, image_size=8)))
    assert images.shape == (5, 8, 8, 3) and labels.dtype.name == "int32"


def test_tfds_not_prepared_fails_fast_with_the_build_command(tmp_path):
    start = time.perf_counter()
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("imagenette/160px", data_dir=tmp_path)
    assert time.perf_counter() - start < 10, "must not try to download"
    text = str(info.value)
    assert "'imagenette/160px' is not prepared in" in text
    assert str(tmp_path / "imagenette" / "160px") in text
    assert f"tfds build imagenette/160px --data_dir {tmp_path}" in text
    assert "download=True" in text


# ----------------------------------------------------------------------------------------
# from_arrays


def test_from_arrays_accepts_what_users_have():
    x = np.random.default_rng(0).integers(0, 256, (6, 4, 5, 3), dtype=np.uint8)
    data = from_arrays(x, np.array([[0], [1], [2], [1], [0], [2]]))
    assert data.num_classes == 3 and data.labels.shape == (6,) and data.labels.dtype == np.int64
    assert data.value_range == (0.0, 255.0) and data.images is x
    assert data.image_shape == (4, 5, 3) and len(data) == 6
    unit = from_arrays(x / 255.0, np.arange(6), num_classes=8)
    assert unit.value_range == (0.0, 1.0) and unit.images.dtype == np.float32
    assert unit.num_classes == 8
    byte_floats = from_arrays(x.astype(np.float32), np.arange(6), value_range=(0, 255))
    assert byte_floats.value_range == (0.0, 255.0)
    ints = from_arrays(x.astype(np.int32), [0, 1, 0, 1, 0, 1], value_range=(0, 255))
    assert ints.images.dtype == np.uint8
    np.testing.assert_array_equal(ints.images, x)
    float_labels = from_arrays(x, np.array([0.0, 1.0, 2.0, 1.0, 0.0, 1.0]))
    assert float_labels.labels.dtype == np.int64
    named = from_arrays(x, np.arange(6) % 2, class_names=["cat", "dog"])
    assert named.class_names == ("cat", "dog")
    custom = from_arrays(x.astype(np.float32) - 128, np.arange(6), value_range=(-128, 127))
    assert custom.value_range == (-128.0, 127.0)


X = np.zeros((4, 6, 6, 3), np.uint8)
Y = np.array([0, 1, 2, 1])


def _nan_images():
    bad = X.astype(np.float32)
    bad[0, 0, 0, 0] = np.nan
    return bad


BAD_INPUTS = [
    ({"x": X[..., 0]}, "x", "(add a channel axis, e.g. x[..., None])"),
    ({"x": X[None]}, "x", "shaped (n, height, width, channels)"),
    ({"x": X[:0], "y": Y[:0]}, "x", "at least one non-empty image"),
    ({"x": _nan_images()}, "x", "finite pixel values (no NaN or inf)"),
    ({"x": np.full((4, 6, 6, 3), np.inf, np.float32)}, "x", "finite pixel values"),
    ({"x": X.astype(bool)}, "x", "uint8 or float images"),
    ({"x": X.astype(np.complex64)}, "x", "uint8 or float images"),
    ({"x": X.astype(np.float32) - 1}, "value_range", "pass value_range=(low, high)"),
    ({"x": X.astype(np.float32) - 1, "value_range": (0, 1)}, "x", "(the `value_range`;"),
    ({"x": np.zeros((4, 3, 6, 6), np.uint8)}, "x", "looks channels-first"),
    ({"y": np.zeros(4, np.int64)}, "y", "labels of at least two classes"),
    ({"y": np.zeros(4, np.int64), "num_classes": 1}, "num_classes", "at least 2 classes"),
    ({"x": [np.zeros((6, 6, 3)), np.zeros((4, 4, 3))], "y": [0, 1]}, "x", "a rectangular array"),
    ({"y": np.eye(3)[Y]}, "y", "for one-hot labels pass y.argmax(-1)"),
    ({"y": Y + 0.5}, "y", "integer class labels"),
    ({"y": np.array([0.0, np.nan, 1.0, 2.0])}, "y", "no NaN or inf"),
    ({"y": np.array(["a", "b", "c", "d"])}, "y", "integer class labels"),
    ({"y": np.array([0, -1, 1, 2])}, "y", "labels in [0, 3)"),
    ({"y": Y, "num_classes": 2}, "y", "labels in [0, 2) (`num_classes`=2)"),
    ({"y": Y[:3]}, "x` and `y", "len(x)=4, len(y)=3"),
    ({"num_classes": 0}, "num_classes", "a positive int"),
    ({"num_classes": 2.5}, "num_classes", "a positive int"),
    ({"num_classes": True}, "num_classes", "a positive int"),
    ({"value_range": (1, 0)}, "value_range", "low < high"),
    ({"value_range": (0, np.inf)}, "value_range", "finite"),
    ({"value_range": "ab"}, "value_range", "a pair of finite floats"),
    ({"class_names": ["a", "b"]}, "class_names", "3 names (one per class)"),
]


def test_from_arrays_bad_inputs_raise_naming_the_argument():
    for overrides, argument, detail in BAD_INPUTS:
        kwargs = {"x": X, "y": Y, **overrides}
        with pytest.raises(ValueError) as info:
            from_arrays(**kwargs)
        text = str(info.value)
        assert text.startswith(f"Invalid value for argument{'s' if '`' in argument else ''} `"), (
            text
        )
        assert f"`{argument}`" in text and detail in text, (overrides, text)
    with pytest.raises(TypeError, match="argument `class_names`"):
        from_arrays(X, Y, class_names=3)


# ----------------------------------------------------------------------------------------
# Pixel scales are never guessed where they are ambiguous (issue 14).


def test_float_images_a_hair_above_one_are_not_divided_by_255():
    """[0, 1] images with one pixel at 1.0001 used to be read as 0-255 (mean 0.495 ->
    0.0019); now the ambiguity is an error that says how to resolve it."""
    x = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 3)).astype(np.float32)
    x[0, 0, 0, 0] = 1.0001
    with pytest.raises(ValueError) as info:
        from_arrays(x, [0, 1, 0, 1])
    text = str(info.value)
    assert text.startswith("Invalid value for argument `value_range`")
    assert "value_range=(0, 255)" in text and "np.clip(x, 0, 1)" in text
    # The user's fix: clip, then the [0, 1] images pass through unchanged.
    data = from_arrays(np.clip(x, 0, 1), [0, 1, 0, 1])
    images, _ = next(iter(image_pipeline(data, batch_size=4, training=False)))
    np.testing.assert_allclose(images.numpy(), np.clip(x, 0, 1), atol=1e-6)


def test_float_0_255_images_are_scaled_with_value_range():
    x = np.random.default_rng(1).uniform(0, 255, (4, 8, 8, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="argument `value_range`"):
        from_arrays(x, [0, 1, 0, 1])
    data = from_arrays(x, [0, 1, 0, 1], value_range=(0, 255))
    images, _ = next(iter(image_pipeline(data, batch_size=4, training=False)))
    np.testing.assert_allclose(images.numpy(), x / 255.0, atol=1e-5)
    # The same through image_pipeline's own argument, with an (x, y) tuple.
    images, _ = next(
        iter(image_pipeline((x, [0, 1, 0, 1]), batch_size=4, training=False, value_range=(0, 255)))
    )
    np.testing.assert_allclose(images.numpy(), x / 255.0, atol=1e-5)


def test_float_tf_data_source_needs_value_range():
    """keras.utils.image_dataset_from_directory(...).unbatch() gives float 0-255 images: a
    pipeline over them used to stay unscaled (batches up to 255)."""
    import tensorflow as tf

    x = np.random.default_rng(2).uniform(0, 255, (6, 8, 8, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    stream = tf.data.Dataset.from_tensor_slices((x, y)).batch(3).unbatch()  # Keras' style
    with pytest.raises(ValueError) as info:
        image_pipeline(stream, batch_size=6, num_classes=3)
    text = str(info.value)
    assert text.startswith("Invalid value for argument `value_range`")
    assert "value_range=(0, 255)" in text and "image_dataset_from_directory" in text
    images, _ = next(
        iter(image_pipeline(stream, batch_size=6, training=False, value_range=(0, 255)))
    )
    np.testing.assert_allclose(images.numpy(), x / 255.0, atol=1e-5)
    assert float(images.numpy().max()) <= 1.0
    unit = tf.data.Dataset.from_tensor_slices((x / 255.0, y))
    images, _ = next(iter(image_pipeline(unit, batch_size=6, training=False, value_range=(0, 1))))
    np.testing.assert_allclose(images.numpy(), x / 255.0, atol=1e-5)


def test_value_range_contradicting_from_arrays_names_it():
    data = from_arrays(np.zeros((2, 4, 4, 3), np.uint8), [0, 1])
    with pytest.raises(ValueError, match=r"argument `value_range`: expected .*from_arrays"):
        image_pipeline(data, value_range=(0, 1))


def test_channels_first_arrays_and_datasets_say_so():
    import tensorflow as tf

    x = np.zeros((4, 3, 32, 32), np.uint8)
    with pytest.raises(ValueError) as info:
        from_arrays(x, [0, 1, 0, 1])
    assert "looks channels-first" in str(info.value)
    assert "x.transpose(0, 2, 3, 1)" in str(info.value)
    with pytest.raises(ValueError, match=r"argument `x`: .*channels-first"):
        image_pipeline((x, np.array([0, 1, 0, 1])))
    stream = tf.data.Dataset.from_tensor_slices((x, np.array([0, 1, 0, 1])))
    with pytest.raises(ValueError, match=r"argument `data`: .*tf\.transpose\(image, \[1, 2, 0\]\)"):
        image_pipeline(stream, num_classes=2)
    # Channels-last images that happen to be 3 or 4 high are not mistaken for it.
    assert from_arrays(np.zeros((2, 3, 3, 3), np.uint8), [0, 1]).image_shape == (3, 3, 3)


def test_single_class_labels_name_the_labels():
    x = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="argument `y`: expected labels of at least two classes"):
        from_arrays(x, [0, 0, 0, 0])
    with pytest.raises(ValueError, match="argument `y`: expected labels of at least two"):
        image_pipeline((x, np.array([2, 2, 2, 2])))
    with pytest.raises(ValueError, match="argument `num_classes`: expected at least 2 classes"):
        from_arrays(x, [0, 0, 0, 0], num_classes=1)
    # A part of a larger set may hold one class when the class count is given.
    assert from_arrays(x, [3, 3, 3, 3], num_classes=10).num_classes == 10


# ----------------------------------------------------------------------------------------
# Fashion-MNIST and MNIST through regkit.data.idx (issue 24), from small IDX files

FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat")
IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _write_idx_set(folder: Path, n_train: int = 20, n_test: int = 6) -> tuple:
    """The four IDX files (gzipped, uint8) of a tiny set whose image i has pixel (0, 0) = i,
    so a test can follow each image; labels 0-4 only (the class count must still be 10)."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    x_train = np.zeros((n_train, 28, 28), np.uint8)
    x_train[:, 0, 0] = np.arange(n_train)
    x_train[:, 27, 27] = 255
    x_test = np.full((n_test, 28, 28), 9, np.uint8)
    x_test[:, 0, 0] = 200 + np.arange(n_test)
    y_train = (np.arange(n_train) % 5).astype(np.uint8)
    y_test = (np.arange(n_test) % 5).astype(np.uint8)
    for stem, array in zip(IDX_STEMS, (x_train, y_train, x_test, y_test), strict=True):
        header = bytes([0, 0, 0x08, array.ndim])
        dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        (folder / f"{stem}.gz").write_bytes(gzip.compress(header + dims + array.tobytes()))
    return (x_train, y_train), (x_test, y_test)


@pytest.mark.parametrize("name", ["fashion_mnist", "Fashion-MNIST", "mnist"])
def test_fashion_mnist_and_mnist_load_like_the_other_sets(tmp_path, empty_keras_home, name):
    (_, y_train), (x_test, _) = _write_idx_set(tmp_path / "idx")
    splits = load_dataset(name, data_dir=tmp_path / "idx", download=False, seed=1)
    key = name.lower().replace("-", "_")
    assert splits.name == key and splits.image_shape == (28, 28, 1) and splits.num_classes == 10
    assert splits.class_names[:5] == (FASHION_NAMES if key == "fashion_mnist" else tuple("01234"))
    assert dict(splits.num_examples) == {"train": 16, "validation": 4, "test": 6}
    arrays = splits.arrays
    assert arrays["train"].images.dtype == np.uint8 and arrays["train"].value_range == (0, 255)
    # Validation carved from train with the seed, as for digits and CIFAR; test is t10k.
    carved = np.concatenate([arrays["train"].images, arrays["validation"].images])[:, 0, 0, 0]
    np.testing.assert_array_equal(np.sort(carved), np.arange(20))
    labels = np.concatenate([arrays["train"].labels, arrays["validation"].labels])
    np.testing.assert_array_equal(labels, y_train[carved])
    np.testing.assert_array_equal(arrays["test"].images[:, 0, 0, 0], x_test[:, 0, 0])
    other = load_dataset(name, data_dir=tmp_path / "idx", download=False, seed=2)
    assert not np.array_equal(other.arrays["validation"].images, arrays["validation"].images)
    images, _ = next(iter(image_pipeline(splits.train, batch_size=16, training=False)))
    assert images.shape == (16, 28, 28, 1) and float(images.numpy().max()) == 1.0


def test_fashion_mnist_missing_offline_says_where(tmp_path, empty_keras_home, monkeypatch):
    from regkit.data import idx

    monkeypatch.setitem(idx.SYSTEM_DIRS, "fashion_mnist", tmp_path / "no-debian-copy")
    with pytest.raises(FileNotFoundError) as info:
        load_dataset("fashion_mnist", data_dir=tmp_path, download=False)
    assert "train-images-idx3-ubyte" in str(info.value)
    with pytest.raises(ValueError, match=r"'cifar100', 'fashion_mnist', 'mnist'"):
        load_dataset("no_such_set_xyz")


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)",
)
def test_real_fashion_mnist_from_debians_files(empty_keras_home):
    splits = load_dataset("fashion_mnist", download=False)
    assert dict(splits.num_examples) == {"train": 48000, "validation": 12000, "test": 10000}
    assert splits.class_names[9] == "Ankle boot" and splits.image_shape == (28, 28, 1)
    test_labels = splits.arrays["test"].labels
    np.testing.assert_array_equal(np.bincount(test_labels), [1000] * 10)


# ----------------------------------------------------------------------------------------
# DatasetSplits.from_arrays: arrays as keras.datasets.*.load_data() hands them out


def _keras_like(n_train: int = 30, n_test: int = 10, shape=(8, 8, 3), classes: int = 3):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (n_train, *shape), dtype=np.uint8)
    x_test = rng.integers(0, 256, (n_test, *shape), dtype=np.uint8)
    y_train = (np.arange(n_train) % classes).astype(np.uint8)[:, None]  # CIFAR's (n, 1)
    y_test = (np.arange(n_test) % classes).astype(np.uint8)[:, None]
    return (x_train, y_train), (x_test, y_test)


def test_from_arrays_carves_validation_as_the_built_in_sets():
    train_test_split = pytest.importorskip("sklearn.model_selection").train_test_split

    data = _keras_like()
    splits = DatasetSplits.from_arrays(data, validation_split=0.3, seed=5, name="mine")
    assert splits.name == "mine" and splits.image_shape == (8, 8, 3) and splits.num_classes == 3
    assert dict(splits.num_examples) == {"train": 21, "validation": 9, "test": 10}
    x_tr, x_val, _, _ = train_test_split(data[0][0], data[0][1], test_size=0.3, random_state=5)
    np.testing.assert_array_equal(splits.arrays["validation"].images, x_val)
    np.testing.assert_array_equal(splits.arrays["train"].images, x_tr)
    np.testing.assert_array_equal(splits.arrays["test"].labels, data[1][1][:, 0])
    assert splits.class_names == ("0", "1", "2") and splits.validation is not None
    none = DatasetSplits.from_arrays(data, validation_split=0)
    assert none.validation is None and none.num_examples["train"] == 30
    # Grey (n, 28, 28) images, MNIST's shape, get a channel axis; names and ranges pass on.
    (x, y), (xt, yt) = _keras_like(shape=(6, 6), classes=2)
    grey = DatasetSplits.from_arrays(
        ((x / 255.0, y[:, 0]), (xt / 255.0, yt[:, 0])), class_names=["no", "yes"]
    )
    assert grey.image_shape == (6, 6, 1) and grey.class_names == ("no", "yes")
    assert grey.arrays["test"].value_range == (0.0, 1.0)
    # The test split may lack a class; the count comes from both splits.
    assert DatasetSplits.from_arrays(((x, y % 2), (xt, yt * 0 + 2))).num_classes == 3


def test_from_arrays_errors_name_data_and_the_array():
    (x, y), (xt, yt) = _keras_like()
    bad_float = xt.astype(np.float32) / 255.0
    bad_float[0, 0, 0, 0] = np.nan
    cases = [
        ((x, y), "argument `data`: expected ((x_train, y_train), (x_test, y_test))"),
        (((x, y), (xt, yt), (xt, yt)), "Received: data='tuple of 3 item(s)'"),
        ("digits", "Received: data='str'"),
        (((x, y[:-1]), (xt, yt)), "argument `data` (x_train and y_train): expected the same"),
        (((x[:, 0, 0], y), (xt, yt)), "argument `data` (x_train): expected an array of images"),
        (((x, y), (bad_float, yt)), "argument `data` (x_test): expected finite pixel values"),
        (((x, y), (xt * 0 + 300.0, yt)), "argument `data` (x_test): expected pixel values in"),
        (((x, y), (xt[:, :4], yt)), "argument `data`: expected train and test images of one"),
        (((x, y.astype(float) + 0.5), (xt, yt)), "argument `data` (y_train): expected integer"),
    ]
    for data, message in cases:
        with pytest.raises(ValueError) as info:
            DatasetSplits.from_arrays(data)
        assert message in str(info.value), (message, str(info.value))
    good = _keras_like()
    for kwargs, message in [
        ({"validation_split": 1.0}, "argument `validation_split`: expected a float in [0, 1)"),
        ({"seed": -1}, "argument `seed`"),
        ({"class_names": ["a", "b"]}, "argument `class_names`: expected 3 names"),
        ({"value_range": (0, 1)}, "argument `data` (x_train): expected pixel values in [0, 1]"),
    ]:
        with pytest.raises(ValueError) as info:
            DatasetSplits.from_arrays(good, **kwargs)
        assert message in str(info.value), (message, str(info.value))
    with pytest.raises(TypeError, match="argument `class_names`"):
        DatasetSplits.from_arrays(good, class_names="abc")
    with pytest.raises(
        ValueError, match=r"argument `data` \(y_test\): expected labels in \[0, 3\)"
    ):
        DatasetSplits.from_arrays(((x, y), (xt, yt + 7)), num_classes=3)


# ----------------------------------------------------------------------------------------
# load_data: the built-in sets as Keras' loaders give them


def test_load_data_digits_are_load_datasets_digits_as_keras_arrays(digits):
    from regkit.data import load_data

    (x_train, y_train), (x_test, y_test) = load_data("digits")
    assert (x_train.shape, x_train.dtype, y_train.shape, y_train.dtype) == (
        (1437, 8, 8),
        np.uint8,
        (1437,),
        np.uint8,
    )
    assert (x_test.shape, y_test.shape, y_test.dtype) == ((360, 8, 8), (360,), np.uint8)
    np.testing.assert_array_equal(x_test, digits.arrays["test"].images[..., 0])
    np.testing.assert_array_equal(y_test, digits.arrays["test"].labels)
    # load_dataset's train and validation are these training arrays, carved by the seed.
    again = DatasetSplits.from_arrays(load_data("digits"), validation_split=0.2, seed=0)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(again.arrays[split].images, digits.arrays[split].images)


@pytest.mark.parametrize("name", ["fashion_mnist", "Fashion-MNIST", "mnist"])
def test_load_data_idx_sets_from_data_dir(tmp_path, empty_keras_home, name):
    from regkit.data import load_data

    (x_train, y_train), (x_test, y_test) = _write_idx_set(tmp_path / "idx")
    (a, b), (c, d) = load_data(name, data_dir=tmp_path / "idx", download=False)
    for got, written in ((a, x_train), (b, y_train), (c, x_test), (d, y_test)):
        assert got.dtype == np.uint8 and got.shape == written.shape
        np.testing.assert_array_equal(got, written)


@pytest.mark.parametrize(("name", "label_dtype"), [("cifar10", np.uint8), ("cifar100", np.int64)])
def test_load_data_cifar_has_keras_shapes_and_dtypes(
    cifar_files, empty_keras_home, name, label_dtype
):
    from regkit.data import load_data

    folder = "extracted" if name == "cifar10" else "extracted100"
    (x_train, y_train), (x_test, y_test) = load_data(name, data_dir=cifar_files / folder)
    splits = load_dataset(name, data_dir=cifar_files / folder, validation_split=0)
    assert x_train.dtype == np.uint8 and x_train.shape[1:] == (32, 32, 3)
    assert y_train.dtype == label_dtype and y_train.shape == (len(x_train), 1)  # as Keras
    assert y_test.dtype == label_dtype and y_test.shape == (len(x_test), 1)
    np.testing.assert_array_equal(x_train, splits.arrays["train"].images)
    np.testing.assert_array_equal(y_test[:, 0], splits.arrays["test"].labels)


def test_load_data_refuses_what_it_does_not_read(tmp_path, empty_keras_home):
    from regkit.data import load_data

    with pytest.raises(ValueError, match=r"argument `name`: expected one of 'digits', 'cifar10'"):
        load_data("imagenette/160px")
    with pytest.raises(ValueError, match=r"Received: name=None"):
        load_data(None)
    with pytest.raises(ValueError, match=r"argument `download`: expected None, True or False"):
        load_data("digits", download="yes")
    with pytest.raises(ValueError, match=r"argument `data_dir`: expected an existing folder"):
        load_data("fashion_mnist", data_dir=tmp_path / "typo", download=False)
    with pytest.raises(FileNotFoundError, match=r"Fashion-MNIST was not found"):
        load_data("fashion_mnist", data_dir=tmp_path, download=False)


# ----------------------------------------------------------------------------------------
# Hardening (issue 35): arguments and folders that used to slip through


def test_an_explicit_data_dir_that_does_not_exist_is_an_error(tmp_path, empty_keras_home):
    # Before: a typo fell through to Keras' cache or Debian's copy without a word.
    _write_idx_set(empty_keras_home / "datasets" / "fashion-mnist")
    assert load_dataset("fashion_mnist", download=False).num_examples["test"] == 6
    for name in ("fashion_mnist", "mnist", "cifar10", "digits", "imagenette/160px"):
        with pytest.raises(ValueError, match=r"argument `data_dir`: expected an existing folder"):
            load_dataset(name, data_dir=tmp_path / "nonexistent" / "typo", download=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"argument `data_dir`: expected a folder \(not a file"):
        load_dataset("cifar10", data_dir=tmp_path / "file")


@pytest.mark.parametrize("value", [10**400, -(10**400), 0.9999, 1.0, float("nan"), "0.2"])
def test_validation_split_out_of_reach_names_the_argument(value):
    with pytest.raises(ValueError, match=r"Invalid value for argument `validation_split`"):
        load_dataset("digits", validation_split=value)
    (x, y), _ = _keras_like()
    with pytest.raises(ValueError, match=r"Invalid value for argument `validation_split`"):
        DatasetSplits.from_arrays(((x, y), (x, y)), validation_split=value)


def test_validation_split_that_leaves_no_training_example_says_so():
    with pytest.raises(
        ValueError,
        match=r"argument `validation_split`: expected a fraction that "
        r"leaves training examples: 0\.9999 of 1437 example\(s\) holds out 1437",
    ):
        load_dataset("digits", validation_split=0.9999)


def test_train_and_test_on_different_pixel_scales_are_refused_naming_both():
    (x, y), (xt, yt) = _keras_like()
    with pytest.raises(ValueError) as info:
        DatasetSplits.from_arrays(((x, y), (xt / 255.0, yt)))  # the test images reached the
    message = str(info.value)  # model black: scaled as 0-255 although they were [0, 1]
    assert message.startswith("Invalid value for argument `data`: expected train and test")
    assert "x_train of uint8 in [0, 255] (pixel scale 0-255)" in message
    assert "x_test of float64 in [0, 1] (pixel scale 0-1)" in message
    with pytest.raises(ValueError, match=r"x_train of float64 in \[0, 1\] \(pixel scale 0-1\)"):
        DatasetSplits.from_arrays(((x / 255.0, y), (xt, yt)))
    # One scale, said or told: accepted.
    same = DatasetSplits.from_arrays(((x / 255.0, y), (xt / 255.0, yt)))
    assert same.arrays["test"].value_range == (0.0, 1.0)
    told = DatasetSplits.from_arrays(((x * 1.0, y), (xt * 1.0, yt)), value_range=(0, 255))
    assert told.arrays["test"].value_range == (0.0, 255.0)
    ambiguous = DatasetSplits.from_arrays(((x, y), (xt * 1.0, yt)))  # float 0-255: train's
    assert ambiguous.arrays["test"].value_range == (0.0, 255.0)


def test_a_digits_folder_in_the_working_directory_does_not_shadow_the_digits(tmp_path, monkeypatch):
    import warnings

    from regkit.data.folders import is_image_folder

    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits").mkdir()  # empty: before, "a folder with at least two classes"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_dataset("digits").num_examples["test"] == 360
    assert not is_image_folder("digits") and is_image_folder(tmp_path / "digits")
    (tmp_path / "digits" / "a").mkdir()
    with pytest.warns(UserWarning, match=r"pass pathlib\.Path\('digits'\) to read the folder"):
        assert load_dataset("digits").name == "digits"
    with pytest.raises(ValueError, match=r"class folder .*digits/a' holds none"):
        load_dataset(tmp_path / "digits")  # a Path is always the folder
