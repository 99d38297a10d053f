"""`regkit.data.idx`: Fashion-MNIST and MNIST read offline from IDX files (or Keras'
`mnist.npz`) in `data_dir`, Keras' cache or Debian's folder; small files written here in
every layout, every corrupt form, and the real Debian files where installed. Nothing here
touches the network: Keras' download is replaced by a fake wherever it could be reached."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regkit.data import idx
from regkit.data.idx import (
    CLASS_NAMES,
    IDX_DATASETS,
    IDX_FILES,
    SYSTEM_DIRS,
    load_idx_arrays,
    read_idx,
)

INSTALL = "sudo apt-get install -y dataset-fashion-mnist"
_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of `array`, written from the format's definition."""
    array = np.asarray(array)
    header = bytes([0, 0, _CODES[array.dtype.name], array.ndim])
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + dims + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = True) -> Path:
    data = idx_bytes(array)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def small_set(fill: int, n_train: int = 6, n_test: int = 4):
    """Tiny arrays whose pixels all equal `fill`, so a test can tell which copy was read."""
    x_train = np.full((n_train, 28, 28), fill, np.uint8)
    x_test = np.full((n_test, 28, 28), fill, np.uint8)
    y_train = (np.arange(n_train) % 10).astype(np.uint8)
    y_test = (np.arange(n_test)[::-1] % 10).astype(np.uint8)
    return (x_train, y_train), (x_test, y_test)


def write_set(folder: Path, arrays, *, gz: bool = True) -> Path:
    (x_train, y_train), (x_test, y_test) = arrays
    for stem, array in zip(IDX_FILES, (x_train, y_train, x_test, y_test), strict=True):
        write_idx(folder / stem, array, gz=gz)
    return folder


def write_npz(path: Path, arrays) -> Path:
    (x_train, y_train), (x_test, y_test) = arrays
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def fill_of(arrays) -> int:
    (x_train, _), (x_test, _) = arrays
    assert int(x_train[0, 0, 0]) == int(x_test[-1, -1, -1])
    return int(x_train[0, 0, 0])


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Keras' cache ($KERAS_HOME) and Debian's folders moved into tmp; download forbidden."""
    keras_home = tmp_path / "keras_home"
    system = tmp_path / "usr-share-datasets" / "fashion-mnist"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setitem(SYSTEM_DIRS, "fashion_mnist", system)

    def no_network(*args, **kwargs):
        raise AssertionError("a test reached Keras' download")

    import keras

    for name in IDX_DATASETS:
        monkeypatch.setattr(getattr(keras.datasets, name), "load_data", no_network)
    return {"data": tmp_path / "data", "cache": keras_home / "datasets", "system": system}


# ----------------------------------------------------------------------------------------
# read_idx


def test_read_idx_decodes_a_file_written_byte_by_byte(tmp_path):
    # magic 00 00 08 02 (uint8, rank 2), dims 2 and 3 big-endian, then six values.
    raw = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 251, 252])
    (tmp_path / "plain").write_bytes(raw)
    (tmp_path / "packed.gz").write_bytes(gzip.compress(raw))
    for name in ("plain", "packed.gz"):
        values = read_idx(tmp_path / name)
        assert values.dtype == np.uint8 and values.shape == (2, 3)
        np.testing.assert_array_equal(values, [[1, 2, 3], [250, 251, 252]])
        assert values.flags.writeable


def test_read_idx_big_endian_int32_and_float32(tmp_path):
    raw = (
        bytes([0, 0, 0x0C, 1, 0, 0, 0, 2])
        + (258).to_bytes(4, "big")
        + (-2).to_bytes(4, "big", signed=True)
    )
    (tmp_path / "ints").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "ints"), [258, -2])
    floats = np.array([[0.5, -1.25]], np.float32)
    got = read_idx(write_idx(tmp_path / "floats", floats, gz=False))
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, floats)


@settings(max_examples=25, deadline=None)
@given(
    dtype=st.sampled_from(sorted(_CODES)),
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
    gz=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_read_idx_round_trips(tmp_path_factory, dtype, shape, gz, seed):
    rng = np.random.default_rng(seed)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    path = write_idx(tmp_path_factory.mktemp("idx") / "a", array, gz=gz)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.shape == tuple(shape)
    np.testing.assert_array_equal(got, array)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "bad magic number (empty)"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "bad magic number 01000801"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "bad magic number 00000701"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header (8 bytes for a rank-3 header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x07", "truncated (shape (3,) of uint8 needs 3"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x07\x07", "longer than its header says"),
        (gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 1, 7]))[:-6], "gzip stream is corrupt"),
    ],
)
def test_read_idx_refuses_corrupt_files_naming_them(tmp_path, content, says):
    path = tmp_path / "broken-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"is not a valid IDX file") as info:
        read_idx(path)
    assert str(path) in str(info.value) and says in str(info.value)


def test_read_idx_argument_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No IDX file at"):
        read_idx(tmp_path / "absent")
    with pytest.raises(TypeError, match=r"Invalid type for argument `path`"):
        read_idx(3)


# ----------------------------------------------------------------------------------------
# load_idx_arrays: where it looks, in order


def test_constants():
    assert IDX_DATASETS == ("fashion_mnist", "mnist")
    assert CLASS_NAMES["fashion_mnist"][0] == "T-shirt/top"
    assert CLASS_NAMES["fashion_mnist"][9] == "Ankle boot"
    assert len(CLASS_NAMES["fashion_mnist"]) == 10
    assert CLASS_NAMES["mnist"] == tuple("0123456789")
    assert idx.SYSTEM_DIRS is SYSTEM_DIRS


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("sub", ["", "fashion-mnist"])
def test_fashion_mnist_from_data_dir(places, gz, sub):
    arrays = small_set(11)
    write_set(places["data"] / sub if sub else places["data"], arrays, gz=gz)
    write_set(places["cache"] / "fashion-mnist", small_set(22))
    (x_train, y_train), (x_test, y_test) = load_idx_arrays(
        "fashion_mnist", data_dir=places["data"], download=False
    )
    assert x_train.shape == (6, 28, 28) and x_test.shape == (4, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(y_train, arrays[0][1])
    np.testing.assert_array_equal(y_test, arrays[1][1])
    assert fill_of(((x_train, y_train), (x_test, y_test))) == 11


def test_keras_cache_in_keras_layout_comes_before_debian(places):
    write_set(places["cache"] / "fashion-mnist", small_set(22))
    write_set(places["system"], small_set(33))
    assert fill_of(load_idx_arrays("fashion_mnist", download=False)) == 22
    # data_dir without the files falls through to the cache
    places["data"].mkdir()
    got = load_idx_arrays("Fashion-MNIST", data_dir=places["data"], download=False)
    assert fill_of(got) == 22


def test_debian_folder_last_before_download(places):
    write_set(places["system"], small_set(33))
    assert fill_of(load_idx_arrays("fashion_mnist", download=False)) == 33


def test_mnist_from_npz_and_idx(places):
    write_npz(places["cache"] / "mnist.npz", small_set(44))
    assert fill_of(load_idx_arrays("mnist", download=False)) == 44
    write_npz(places["data"] / "mnist.npz", small_set(55))
    assert fill_of(load_idx_arrays("mnist", data_dir=places["data"], download=False)) == 55
    write_set(places["data"] / "mnist", small_set(66))  # IDX files win over the npz
    assert fill_of(load_idx_arrays("mnist", data_dir=places["data"], download=False)) == 66


def test_mnist_does_not_read_fashion_mnist_folders(places):
    write_set(places["system"], small_set(33))
    write_set(places["cache"] / "fashion-mnist", small_set(22))
    with pytest.raises(FileNotFoundError, match=r"MNIST was not found"):
        load_idx_arrays("mnist", download=False)


def test_download_false_says_where_to_put_which_files(places):
    places["data"].mkdir()
    with pytest.raises(FileNotFoundError) as info:
        load_idx_arrays("fashion_mnist", data_dir=places["data"], download=False)
    message = str(info.value)
    for needed in (
        "Fashion-MNIST was not found",
        str(places["data"]),
        str(places["cache"] / "fashion-mnist"),
        str(places["system"]),
        *(f"{stem}.gz" for stem in IDX_FILES),
        "apt-get install -y dataset-fashion-mnist",
        "download=False forbids downloading it",
    ):
        assert needed in message, needed
    with pytest.raises(FileNotFoundError, match=r"mnist.npz") as info:
        load_idx_arrays("mnist", download=False)
    assert "apt-get" not in str(info.value)  # Debian has no MNIST package


def test_download_goes_through_keras_and_is_checked(places, monkeypatch):
    import keras

    calls = []

    def fake_load_data():
        calls.append("fashion_mnist")
        return small_set(77)

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", fake_load_data)
    assert fill_of(load_idx_arrays("fashion_mnist")) == 77
    assert fill_of(load_idx_arrays("fashion_mnist", download=True)) == 77
    assert calls == ["fashion_mnist"] * 2

    def offline():
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(FileNotFoundError, match=r"load_data\(\) failed .*no network") as info:
        load_idx_arrays("fashion_mnist")
    assert "apt-get install -y dataset-fashion-mnist" in str(info.value)


# ----------------------------------------------------------------------------------------
# broken copies


def test_incomplete_data_dir_names_the_missing_file(places):
    folder = write_set(places["data"], small_set(11))
    next(folder.glob("t10k-labels*")).unlink()
    write_set(places["system"], small_set(33))  # not silently used instead
    with pytest.raises(FileNotFoundError, match=r"incomplete copy.*lacks t10k-labels-idx1-ubyte"):
        load_idx_arrays("fashion_mnist", data_dir=folder, download=False)


def test_incomplete_cache_is_skipped_and_reported(places):
    folder = write_set(places["cache"] / "fashion-mnist", small_set(22))
    next(folder.glob("train-images*")).unlink()
    write_set(places["system"], small_set(33))
    assert fill_of(load_idx_arrays("fashion_mnist", download=False)) == 33
    SYSTEM_DIRS["fashion_mnist"] = places["data"] / "nowhere"  # undone by monkeypatch
    with pytest.raises(FileNotFoundError, match=r"Incomplete copies: .*lacks train-images-idx3"):
        load_idx_arrays("fashion_mnist", download=False)


def test_mismatched_counts_name_both_files(places):
    (x_train, y_train), test = small_set(11)
    write_set(places["data"], ((x_train, y_train[:5]), test))
    with pytest.raises(ValueError, match=r"6 images but .*train-labels-idx1-ubyte.gz holds 5"):
        load_idx_arrays("fashion_mnist", data_dir=places["data"], download=False)


def test_wrong_image_shape_and_labels_are_refused(places):
    (x_train, y_train), (x_test, y_test) = small_set(11)
    write_set(places["data"], ((x_train[:, :14], y_train), (x_test, y_test)))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz does not hold Fashion-MNIST"):
        load_idx_arrays("fashion_mnist", data_dir=places["data"], download=False)
    y_test = y_test.copy()
    y_test[0] = 10
    write_set(places["data"], ((x_train, y_train), (x_test, y_test)))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz holds labels outside 0..9"):
        load_idx_arrays("fashion_mnist", data_dir=places["data"], download=False)


def test_corrupt_file_in_a_location_names_it(places):
    folder = write_set(places["cache"] / "fashion-mnist", small_set(22))
    images = folder / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz is not a valid IDX file"):
        load_idx_arrays("fashion_mnist", download=False)


def test_corrupt_or_foreign_npz(places):
    npz = places["cache"] / "mnist.npz"
    npz.parent.mkdir(parents=True)
    npz.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=r"mnist.npz is not a valid mnist.npz"):
        load_idx_arrays("mnist", download=False)
    np.savez(npz, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"not Keras' mnist.npz: it lacks y_train, x_test, y_test"):
        load_idx_arrays("mnist", download=False)


# ----------------------------------------------------------------------------------------
# arguments


def test_argument_errors(places, tmp_path):
    with pytest.raises(ValueError, match=r"argument `name`: expected one of 'fashion_mnist', "):
        load_idx_arrays("kmnist")
    with pytest.raises(ValueError, match=r"Received: name=None"):
        load_idx_arrays(None)
    with pytest.raises(ValueError, match=r"argument `download`: expected None, True or False"):
        load_idx_arrays("mnist", download="no")
    with pytest.raises(TypeError, match=r"Invalid type for argument `data_dir`"):
        load_idx_arrays("mnist", data_dir=3)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"argument `data_dir`: expected a folder"):
        load_idx_arrays("mnist", data_dir=tmp_path / "file")


def test_reading_files_imports_neither_keras_nor_tensorflow(tmp_path):
    write_set(tmp_path, small_set(11))
    code = (
        "import sys; from regkit.data.idx import load_idx_arrays; "
        f"load_idx_arrays('fashion_mnist', data_dir={str(tmp_path)!r}, download=False); "
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------
# the real files, where Debian's package is installed


@pytest.mark.skipif(
    not (Path("/usr/share/datasets/fashion-mnist") / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's Fashion-MNIST is not installed ({INSTALL})",
)
def test_real_debian_fashion_mnist(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty cache: Debian's copy is read
    (x_train, y_train), (x_test, y_test) = load_idx_arrays("fashion_mnist", download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and int(x_train.max()) == 255
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert CLASS_NAMES["fashion_mnist"][int(y_train[0])] == "Ankle boot"  # the first image


# ----------------------------------------------------------------------------------------
# Hostile files: headers that lie, decompression bombs, FIFOs and devices (issue 35)


def _header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


def test_a_gzip_whose_header_claims_millions_of_images_is_refused_unread(tmp_path):
    # 5,000,000 28x28 images (3.9 GB) declared by a gzip of a few kilobytes: deflate cannot
    # expand that far, so nothing is decompressed or allocated.
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_header(8, (5_000_000, 28, 28)) + bytes(1 << 20)))
    with pytest.raises(ValueError, match=r"more than a gzip file of [\d,]+ bytes can hold") as info:
        read_idx(path)
    assert str(path) in str(info.value) and "3,920,000,000 data bytes" in str(info.value)


def test_a_header_beyond_max_bytes_is_refused_before_decompressing(tmp_path, monkeypatch):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_header(8, (2_000, 28, 28)) + bytes(2_000 * 784)))
    opened = []
    real = gzip.GzipFile.read
    monkeypatch.setattr(gzip.GzipFile, "read", lambda self, *a: opened.append(a) or real(self, *a))
    with pytest.raises(ValueError, match=r"1,568,000 data bytes, more than the 1,000,000 read"):
        read_idx(path, max_bytes=1_000_000)
    assert sum(a[0] for a in opened) <= 4 + 12  # the header only: no data was decompressed
    assert read_idx(path).shape == (2_000, 28, 28)  # the default bound (4 GiB) reads it


def test_dimensions_that_overflow_int64_name_the_file(tmp_path):
    path = tmp_path / "huge-idx4-ubyte"
    path.write_bytes(_header(0x0E, (2**32 - 1,) * 4) + bytes(8))
    with pytest.raises(ValueError, match=r"is not a valid IDX file, or too large") as info:
        read_idx(path)
    assert str(path) in str(info.value) and "(4294967295, 4294967295" in str(info.value)


def test_a_gzip_stream_longer_than_its_header_is_read_no_further(tmp_path):
    import tracemalloc

    path = tmp_path / "long-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(_header(8, (100,)) + bytes(64 << 20)))  # 64 MiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"longer than its header says \(shape \(100,\)"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # stopped at 101 bytes, never decompressing the 64 MiB


@pytest.mark.timeout(10, func_only=True)  # fixtures (Keras import) not timed
@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs POSIX FIFOs")
def test_a_fifo_or_a_device_is_never_read(tmp_path):
    import os

    fifo = tmp_path / "train-images-idx3-ubyte.gz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=rf"IDX file '{fifo}' is a FIFO, not a regular file"):
        read_idx(fifo)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ValueError, match=r"'/dev/zero' is a character device"):
            read_idx("/dev/zero")
    os.mkfifo(tmp_path / "mnist.npz")  # not a file: looked past, never opened
    with pytest.raises(FileNotFoundError, match=r"MNIST was not found"):
        load_idx_arrays("mnist", data_dir=tmp_path, download=False)


def test_an_explicit_data_dir_that_does_not_exist_is_an_error(places):
    write_set(places["system"], small_set(33))  # Debian's copy must not be read instead
    with pytest.raises(ValueError, match=r"argument `data_dir`: expected an existing folder"):
        load_idx_arrays("fashion_mnist", data_dir=places["data"] / "typo", download=False)
