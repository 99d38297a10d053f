"""Fashion-MNIST and MNIST read offline from their IDX files (or Keras' `mnist.npz`).

`load_idx_arrays` looks, in order, in `data_dir`, in Keras' cache (`$KERAS_HOME/datasets`,
default `~/.keras/datasets`, in the layout `keras.datasets.fashion_mnist` / `mnist` write),
in the folder Debian's package installs (`apt-get install -y dataset-fashion-mnist` puts the
four Fashion-MNIST files in `/usr/share/datasets/fashion-mnist/`; Debian ships no MNIST
package), and only then asks Keras to download the set, unless `download=False`.

The module is a leaf: NumPy and the standard library only; Keras is imported inside the
download branch, so reading files never imports TensorFlow.
"""

from __future__ import annotations

import gzip
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from regkit._checks import check_path, invalid
from regkit._io import open_regular

__all__ = [
    "APT_PACKAGES",
    "CLASS_NAMES",
    "IDX_DATASETS",
    "IDX_FILES",
    "MAX_IDX_BYTES",
    "SYSTEM_DIRS",
    "check_data_dir",
    "load_idx_arrays",
    "read_idx",
]

IDX_DATASETS: tuple[str, ...] = ("fashion_mnist", "mnist")

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "fashion_mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "mnist": tuple(str(digit) for digit in range(10)),
}

#: Where Debian's packages install the files. Debian packages Fashion-MNIST only
#: (`dataset-fashion-mnist`); there is no MNIST package, so MNIST has no entry.
SYSTEM_DIRS: dict[str, Path] = {
    "fashion_mnist": Path("/usr/share/datasets/fashion-mnist"),
}

#: The Debian package that installs a set into `SYSTEM_DIRS`.
APT_PACKAGES: dict[str, str] = {"fashion_mnist": "dataset-fashion-mnist"}

_TITLES = {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST"}
_FOLDERS = {"fashion_mnist": "fashion-mnist", "mnist": "mnist"}
#: The four IDX files, in the order (train images, train labels, test images, test labels).
IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_NPZ = "mnist.npz"
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IMAGE_SIDE = 28
_NUM_CLASSES = 10

# IDX type codes (the third byte of the magic number) and their big-endian NumPy dtypes.
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

#: The most data one IDX file may declare (and `read_idx` allocate) by default: 4 GiB, 90
#: times MNIST's training images. A header that claims more is refused before any of the
#: data is read or decompressed.
MAX_IDX_BYTES = 4 << 30
#: Deflate cannot expand data more than 1032-fold: a gzip file whose header claims more
#: than that (plus the gzip headers' slack) is corrupt or forged, refused unread.
_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20


def check_data_dir(
    data_dir: str | os.PathLike[str] | None, *, may_be_created: bool = False
) -> Path | None:
    """`data_dir` as a `Path` (`~` expanded), or None; an explicit folder is never skipped.

    Args:
        data_dir: The folder the caller named, or None.
        may_be_created: Allow a folder that does not exist yet (tfds downloads into it).

    Raises:
        TypeError: Not a str or os.PathLike.
        ValueError: Naming `data_dir`: a file, or a folder that does not exist (a typo
            would otherwise fall through to another copy of the data unnoticed).
    """
    if data_dir is None:
        return None
    root = Path(check_path("data_dir", data_dir)).expanduser()
    if root.exists() and not root.is_dir():
        raise invalid("data_dir", "a folder (not a file)", os.fspath(data_dir))
    if not root.exists() and not may_be_created:
        raise invalid(
            "data_dir",
            "an existing folder (it does not exist; an explicit data_dir is never skipped "
            "for another copy of the data, so check the path)",
            os.fspath(data_dir),
        )
    return root


def keras_home() -> Path:
    """Keras' cache root, as Keras computes it: `$KERAS_HOME`, else `~/.keras` (or
    `/tmp/.keras` when the home directory is not writable). Tests set `KERAS_HOME`."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    home = Path.home()
    if not os.access(home, os.W_OK):
        home = Path("/tmp")
    return home / ".keras"


def read_idx(path: str | os.PathLike[str], *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Reads one IDX file (gzip-compressed or plain) into a NumPy array.

    The IDX format (LeCun's MNIST files) is a 4-byte magic number (two zero bytes, a type
    code, the number of dimensions), one big-endian uint32 per dimension, then the values in
    big-endian C order. Compression is recognised from the file's first bytes, not its name.

    The header is checked before the data is read: the size it declares must fit
    `max_bytes`, match the file's size (plain files) or be one deflate can produce from
    the file (gzip: at most 1032 times its size), and the data is decompressed in chunks
    into an array of the declared size, so a forged header or a decompression bomb is
    refused without ever allocating more than the header declares. Only regular files are
    read (a FIFO or device is refused, never waited on).

    Args:
        path: The file, e.g. `".../train-images-idx3-ubyte.gz"`.
        max_bytes: The most data bytes the header may declare (`MAX_IDX_BYTES`, 4 GiB).

    Returns:
        An array of the file's shape in native byte order (`uint8` for the MNIST files),
        owned and writeable.

    Raises:
        TypeError: `path` is not a str or os.PathLike.
        FileNotFoundError: `path` does not exist.
        ValueError: `path` is not a valid IDX file: a bad magic number, unknown type code,
            a header declaring more than `max_bytes` (or than the file can hold), truncated
            data, trailing bytes, a corrupt gzip stream; or not a regular file. The
            message names the file.

    Example:
        >>> images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
        ... # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (10000, 28, 28)
    """
    file = Path(check_path("path", path))
    if not file.exists():
        raise FileNotFoundError(f"No IDX file at {file}")
    with open_regular(file, what="IDX file") as handle:
        size = os.fstat(handle.fileno()).st_size
        packed = handle.read(2) == b"\x1f\x8b"
        handle.seek(0)
        if not packed:
            return _read_idx_stream(file, handle, max_bytes, size, None)
        stream = gzip.GzipFile(fileobj=handle, mode="rb")
        try:
            return _read_idx_stream(file, stream, max_bytes, _DEFLATE_RATIO * size + 1024, size)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(
                f"{file} is not a valid IDX file: its gzip stream is corrupt or truncated "
                f"({type(error).__name__}: {error})"
            ) from error


def _read_idx_stream(
    file: Path, stream: Any, max_bytes: int, limit: int, packed: int | None
) -> np.ndarray:
    """The array of an IDX stream of at most `limit` bytes (header included), checked
    before the data is read; `packed` is the gzip file's size (None: a plain file)."""
    magic = _read_exactly(stream, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{file} is not a valid IDX file: bad magic number {magic.hex() or '(empty)'} "
            "(expected 00 00, a type code among 08 09 0b 0c 0d 0e, and the rank)"
        )
    dtype, rank = _IDX_DTYPES[magic[2]], magic[3]
    header = 4 + 4 * rank
    dims = _read_exactly(stream, 4 * rank)
    if len(dims) < 4 * rank:
        raise ValueError(
            f"{file} is not a valid IDX file: truncated header ({4 + len(dims)} bytes for a "
            f"rank-{rank} header of {header})"
        )
    shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, 4 * rank, 4))
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no int64 overflow
    if expected > max_bytes:
        raise ValueError(
            f"{file} is not a valid IDX file, or too large to read: its header declares shape "
            f"{shape} of {dtype.name}, {expected:,} data bytes, more than the {max_bytes:,} "
            "read at most (read_idx's max_bytes)"
        )
    if header + expected > limit and packed is None:
        raise ValueError(
            f"{file} is not a valid IDX file: truncated (shape {shape} of {dtype.name} needs "
            f"{expected} data bytes, found {limit - header})"
        )
    if header + expected > limit:
        raise ValueError(
            f"{file} is not a valid IDX file: its header declares shape {shape} of "
            f"{dtype.name}, {expected:,} data bytes, more than a gzip file of {packed:,} "
            f"bytes can hold (deflate expands at most {_DEFLATE_RATIO}-fold): truncated, or "
            "a forged header"
        )
    values = np.empty(expected, dtype=np.uint8)
    filled = 0
    while filled < expected:
        chunk = stream.read(min(_CHUNK, expected - filled))
        if not chunk:
            break
        values[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        filled += len(chunk)
    extra = stream.read(1) if filled == expected else b""
    if filled != expected or extra:
        state = "truncated" if filled < expected else "longer than its header says"
        found = f"{filled}" if filled < expected else f"more than {expected}"
        raise ValueError(
            f"{file} is not a valid IDX file: {state} (shape {shape} of {dtype.name} needs "
            f"{expected} data bytes, found {found})"
        )
    return values.view(dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def _read_exactly(stream: Any, count: int) -> bytes:
    """Up to `count` bytes (fewer only at the end of the stream)."""
    data = b""
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _canonical(name: Any) -> str:
    key = name.lower().replace("-", "_") if isinstance(name, str) else None
    if key not in IDX_DATASETS:
        raise invalid("name", f"one of {', '.join(map(repr, IDX_DATASETS))}", name)
    return key


def _idx_set(folder: Path) -> tuple[list[Path], list[str]]:
    """The four IDX files in `folder` (`.gz` preferred, plain accepted) and the missing names."""
    found, missing = [], []
    for stem in IDX_FILES:
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                found.append(candidate)
                break
        else:
            missing.append(stem)
    return found, missing


def _check_arrays(source: str, key: str, arrays: Arrays, files: list[str]) -> Arrays:
    """Validates shapes, dtypes, counts and label range; errors name the offending file."""
    (x_train, y_train), (x_test, y_test) = arrays
    for (x, y), (x_file, y_file) in (
        ((x_train, y_train), (files[0], files[1])),
        ((x_test, y_test), (files[2], files[3])),
    ):
        if x.ndim != 3 or x.shape[1:] != (_IMAGE_SIDE, _IMAGE_SIDE) or x.dtype != np.uint8:
            raise ValueError(
                f"{x_file} does not hold {_TITLES[key]} images: expected uint8 of shape "
                f"(N, 28, 28), found {x.dtype.name} of shape {x.shape}"
            )
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"{y_file} does not hold {_TITLES[key]} labels: expected integers of shape "
                f"(N,), found {y.dtype.name} of shape {y.shape}"
            )
        if len(x) != len(y):
            raise ValueError(
                f"{x_file} holds {len(x)} images but {y_file} holds {len(y)} labels; "
                f"the {source} copy of {_TITLES[key]} is inconsistent"
            )
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= _NUM_CLASSES):
            raise ValueError(
                f"{y_file} holds labels outside 0..{_NUM_CLASSES - 1} "
                f"(min {int(y.min())}, max {int(y.max())})"
            )
    return arrays


def _read_idx_folder(key: str, files: list[Path]) -> Arrays:
    x_train, y_train, x_test, y_test = (read_idx(f) for f in files)
    arrays = ((x_train, y_train), (x_test, y_test))
    return _check_arrays(str(files[0].parent), key, arrays, [str(f) for f in files])


def _read_npz(key: str, path: Path) -> Arrays:
    try:
        with (
            open_regular(path, what="mnist.npz") as handle,
            np.load(handle, allow_pickle=False) as data,
        ):
            lacking = [k for k in _NPZ_KEYS if k not in data.files]
            if lacking:
                raise ValueError(
                    f"{path} is not Keras' mnist.npz: it lacks {', '.join(lacking)} (expected "
                    f"arrays {', '.join(_NPZ_KEYS)})"
                )
            x_train, y_train, x_test, y_test = (np.array(data[k]) for k in _NPZ_KEYS)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(
            f"{path} is not a valid mnist.npz: it is corrupt or truncated "
            f"({type(error).__name__}: {error})"
        ) from error
    names = [f"{path} [{k}]" for k in _NPZ_KEYS]
    return _check_arrays(str(path), key, ((x_train, y_train), (x_test, y_test)), names)


def _look(key: str, root: Path, *, subfolders: bool, npz: bool) -> tuple[Arrays | None, str]:
    """Reads the set from `root` when it holds it; else (None, a note on partial sets)."""
    folders = [root] + ([root / _FOLDERS[key]] if subfolders else [])
    notes = []
    for folder in folders:
        found, missing = _idx_set(folder)
        if not missing:
            return _read_idx_folder(key, found), ""
        if found:
            notes.append(f"{folder} lacks {', '.join(missing)}")
    if npz and (root / _NPZ).is_file():
        return _read_npz(key, root / _NPZ), ""
    return None, "; ".join(notes)


def _missing_message(key: str, places: list[Path], notes: list[str]) -> str:
    files = ", ".join(f"{stem}.gz" for stem in IDX_FILES)
    where = ", ".join(str(p) for p in places)
    cache = keras_home() / "datasets"
    text = (
        f"{_TITLES[key]} was not found (looked in {where}). Put its four IDX files ({files}; "
        "plain or .gz) in a folder and pass data_dir=that folder"
    )
    if key == "fashion_mnist":
        text += f", or put them in {cache / _FOLDERS[key]} (Keras' cache)"
    else:
        text += f", or put Keras' {_NPZ} in data_dir or in {cache} (Keras' cache)"
    if key in APT_PACKAGES:
        text += (
            f"; on Debian or Ubuntu, `sudo apt-get install -y {APT_PACKAGES[key]}` installs "
            f"them in {SYSTEM_DIRS[key]}"
        )
    if notes:
        text += f". Incomplete copies: {'; '.join(notes)}"
    return text


def load_idx_arrays(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
) -> Arrays:
    """Fashion-MNIST or MNIST as NumPy arrays, read offline where the files are.

    Looks, in order:

    1. In `data_dir`: the four files `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`,
       directly or in a `fashion-mnist/` (or `mnist/`) subfolder, or, for MNIST, Keras'
       `mnist.npz`.
    2. In Keras' cache, `$KERAS_HOME/datasets` (default `~/.keras/datasets`), where
       `keras.datasets.fashion_mnist.load_data()` keeps `fashion-mnist/*.gz` and
       `keras.datasets.mnist.load_data()` keeps `mnist.npz`.
    3. In the folder Debian's package installs: `apt-get install -y dataset-fashion-mnist`
       puts Fashion-MNIST in `/usr/share/datasets/fashion-mnist/` (see `SYSTEM_DIRS`; Debian
       has no MNIST package).
    4. Through `keras.datasets.<name>.load_data()`, which downloads into Keras' cache; never
       when `download=False`.

    A folder holding only some of the four files in `data_dir` is an error, not skipped.

    Args:
        name: `"fashion_mnist"` or `"mnist"` (see `IDX_DATASETS`; case and `-` are forgiven).
        data_dir: A folder to look in first, or `None`.
        download: `None` or `True`: let Keras download the set when no copy is found.
            `False`: never download; raise instead.

    Returns:
        `((x_train, y_train), (x_test, y_test))` as `keras.datasets.*.load_data()` returns
        them: uint8 images of shape (60000, 28, 28) and (10000, 28, 28) in 0-255, uint8
        labels 0-9 (meanings in `CLASS_NAMES[name]`).

    Raises:
        TypeError: `data_dir` is not a str or os.PathLike.
        ValueError: An unknown `name`, an invalid `data_dir` or `download`, or files that
            are corrupt, truncated or inconsistent (the message names the file).
        FileNotFoundError: No copy was found and downloading was forbidden or failed, or
            `data_dir` holds an incomplete set; the message says which files to put where.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_idx_arrays(
        ...     "fashion_mnist", download=False)  # doctest: +SKIP
        >>> x_train.shape, CLASS_NAMES["fashion_mnist"][int(y_train[0])]  # doctest: +SKIP
        ((60000, 28, 28), 'Ankle boot')
    """
    key = _canonical(name)
    if download is not None and not isinstance(download, bool):
        raise invalid("download", "None, True or False", download)
    places: list[Path] = []
    notes: list[str] = []
    root = check_data_dir(data_dir)
    if root is not None:
        places.append(root)
        arrays, note = _look(key, root, subfolders=True, npz=key == "mnist")
        if arrays is not None:
            return arrays
        if note:
            raise FileNotFoundError(
                f"data_dir holds an incomplete copy of {_TITLES[key]}: {note}. "
                f"It needs all of {', '.join(IDX_FILES)} (plain or .gz)."
            )
    cache = keras_home() / "datasets"
    if key == "fashion_mnist":  # keras.datasets.fashion_mnist: datasets/fashion-mnist/*.gz
        places.append(cache / _FOLDERS[key])
        arrays, note = _look(key, cache / _FOLDERS[key], subfolders=False, npz=False)
        if note:
            notes.append(note)
    else:  # keras.datasets.mnist: datasets/mnist.npz
        places.append(cache / _NPZ)
        arrays = _read_npz(key, cache / _NPZ) if (cache / _NPZ).is_file() else None
    if arrays is not None:
        return arrays
    system = SYSTEM_DIRS.get(key)
    if system is not None:
        places.append(system)
        arrays, note = _look(key, system, subfolders=False, npz=False)
        if arrays is not None:
            return arrays
        if note:
            notes.append(note)
    message = _missing_message(key, places, notes)
    if download is False:
        raise FileNotFoundError(f"{message}. download=False forbids downloading it.")
    # Keras is imported only here: reading local files must not import TensorFlow, and
    # Keras' loader (get_file) is what knows the download URLs, hashes and cache layout.
    import keras

    loader = getattr(keras.datasets, key)
    try:
        arrays = loader.load_data()
    except Exception as error:
        raise FileNotFoundError(
            f"{message}. Downloading it through keras.datasets.{key}.load_data() failed "
            f"({type(error).__name__}: {error})."
        ) from error
    (x_train, y_train), (x_test, y_test) = arrays
    arrays = ((np.asarray(x_train), np.asarray(y_train)), (np.asarray(x_test), np.asarray(y_test)))
    return _check_arrays("downloaded", key, arrays, [f"Keras' download ({key})"] * 4)
