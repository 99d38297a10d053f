"""CIFAR-10/100 read from the official python-version pickles (folder, archive or Keras' cache).

`load_cifar` looks in `data_dir`, then in Keras' cache, and only then asks Keras to download
the archive (unless forbidden). The pickles are read with an unpickler that refuses every
global but NumPy's array reconstruction, so a planted file cannot run code; the archive is
read in place, never extracted.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regkit._io import open_regular, read_regular_bytes
from regkit.data.arrays import ArrayData, from_arrays
from regkit.data.idx import keras_home

__all__ = ["MAX_MEMBER_BYTES", "load_cifar"]

#: The largest CIFAR pickle read (CIFAR-100's `train` is 155 MB); a larger one is refused.
MAX_MEMBER_BYTES = 512 << 20

_SPECS = {
    "cifar10": {
        "title": "CIFAR-10",
        "folder": "cifar-10-batches-py",
        "archive": "cifar-10-python.tar.gz",
        "keras_fname": "cifar-10-batches-py-target",
        "origin": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "sha256": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test": ("test_batch",),
        "meta": "batches.meta",
        "names_key": "label_names",
        "labels_key": "labels",
        "num_classes": 10,
    },
    "cifar100": {
        "title": "CIFAR-100",
        "folder": "cifar-100-python",
        "archive": "cifar-100-python.tar.gz",
        "keras_fname": "cifar-100-python-target",
        "origin": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "sha256": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
        "train": ("train",),
        "test": ("test",),
        "meta": "meta",
        "names_key": "fine_label_names",
        "labels_key": "fine_labels",
        "num_classes": 100,
    },
}


class _CifarUnpickler(pickle.Unpickler):
    """Loads the CIFAR batch dicts and refuses any other global (no code execution)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR batch")


def _unpickle(data: bytes) -> dict[str, Any]:
    raw = _CifarUnpickler(io.BytesIO(data), encoding="bytes").load()
    if not isinstance(raw, dict):
        raise pickle.UnpicklingError("a CIFAR batch must hold a dict")
    return {k.decode() if isinstance(k, bytes) else str(k): v for k, v in raw.items()}


class _Folder:
    """Reads members of an extracted CIFAR folder."""

    def __init__(self, path: Path):
        self.path = path

    def read(self, member: str) -> bytes:
        path = self.path / member
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        return read_regular_bytes(path, max_bytes=MAX_MEMBER_BYTES, what="CIFAR batch")

    def __str__(self) -> str:
        return str(self.path)


class _Archive:
    """Reads members of the official `.tar.gz` in place: nothing is extracted to disk, so
    no archive member can write outside a folder."""

    def __init__(self, path: Path, folder: str):
        self.path = path
        self.folder = folder

    def read(self, member: str) -> bytes:
        with (
            open_regular(self.path, what="CIFAR archive") as handle,
            tarfile.open(fileobj=handle, mode="r:*") as archive,
        ):
            try:
                info = archive.getmember(f"{self.folder}/{member}")
            except KeyError:
                raise FileNotFoundError(
                    f"{self.path} has no member {self.folder}/{member}: it is not the "
                    "official python-version CIFAR archive"
                ) from None
            data = archive.extractfile(info) if info.isfile() else None
            if data is None:
                raise FileNotFoundError(f"{self.path}: {self.folder}/{member} is not a file")
            if info.size > MAX_MEMBER_BYTES:
                raise ValueError(
                    f"{self.path}: {self.folder}/{member} is {info.size:,} bytes, over the "
                    f"limit of {MAX_MEMBER_BYTES:,} bytes for a CIFAR batch"
                )
            return data.read()

    def __str__(self) -> str:
        return str(self.path)


def _find_cifar(spec: Mapping[str, Any], root: Path) -> _Folder | _Archive | None:
    """Looks in `root` for the extracted folder (or `root` being it) or the archive."""
    folder, first = spec["folder"], spec["train"][0]
    for candidate in (root, root / folder, root / spec["keras_fname"] / folder):
        if (candidate / first).is_file():
            return _Folder(candidate)
    for archive in (
        root / spec["archive"],
        root / f"{folder}.tar.gz",
        root / f"{spec['keras_fname']}_archive",
    ):
        if archive.is_file() and tarfile.is_tarfile(archive):
            return _Archive(archive, folder)
    return None


def _read_cifar(spec: Mapping[str, Any], source: _Folder | _Archive) -> tuple[ArrayData, ArrayData]:
    try:
        meta = _unpickle(source.read(spec["meta"]))
        names = tuple(
            n.decode() if isinstance(n, bytes) else str(n) for n in meta[spec["names_key"]]
        )

        def read(members: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            xs, ys = [], []
            for member in members:
                batch = _unpickle(source.read(member))
                data = np.asarray(batch["data"], dtype=np.uint8)
                xs.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                ys.append(np.asarray(batch[spec["labels_key"]], dtype=np.int64))
            return np.concatenate(xs), np.concatenate(ys)

        x_train, y_train = read(spec["train"])
        x_test, y_test = read(spec["test"])
    except (KeyError, ValueError, OSError, pickle.UnpicklingError, EOFError) as error:
        if isinstance(error, FileNotFoundError):
            members = ", ".join((*spec["train"], *spec["test"], spec["meta"]))
            raise FileNotFoundError(
                f"{source} is incomplete ({error}); the official {spec['title']} folder "
                f"{spec['folder']}/ holds {members}"
            ) from error
        raise ValueError(
            f"{source} does not hold {spec['title']} in the official python-version format "
            f"({type(error).__name__}: {error})"
        ) from error
    kwargs = {"num_classes": spec["num_classes"], "class_names": names}
    return from_arrays(x_train, y_train, **kwargs), from_arrays(x_test, y_test, **kwargs)


def load_cifar(
    key: str, data_dir: str | os.PathLike[str] | None, download: bool | None
) -> tuple[ArrayData, ArrayData]:
    """The train and test `ArrayData` of `"cifar10"` or `"cifar100"` (fine labels).

    Raises:
        FileNotFoundError: Not found and not (or not successfully) downloaded.
        ValueError: The files are not the official python-version format.
    """
    spec = _SPECS[key]
    cache = keras_home() / "datasets"
    places = ([Path(data_dir).expanduser()] if data_dir is not None else []) + [cache]
    for place in places:
        source = _find_cifar(spec, place)
        if source is not None:
            return _read_cifar(spec, source)
    where = " or ".join(str(p) for p in places)
    missing = (
        f"{spec['title']} was not found in {where}. Put the official python-version archive "
        f"{spec['archive']} (from {spec['origin']}), or its extracted folder "
        f"{spec['folder']}/, in {places[0]} (or pass data_dir=...)"
    )
    if download is False:
        raise FileNotFoundError(missing + "; download=False forbids downloading it.")
    import socket

    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(60.0)  # a dead network fails within a minute, never hangs
    try:
        path = keras.utils.get_file(
            fname=spec["keras_fname"],
            origin=spec["origin"],
            extract=True,
            file_hash=spec["sha256"],
            cache_dir=str(keras_home()),
        )
    except Exception as error:
        raise FileNotFoundError(
            f"{missing}; downloading it through Keras failed ({error})."
        ) from error
    finally:
        socket.setdefaulttimeout(previous)
    source = _find_cifar(spec, Path(path)) or _find_cifar(spec, cache)
    if source is None:
        raise FileNotFoundError(f"{missing}; Keras downloaded {path} but it holds no batches.")
    return _read_cifar(spec, source)
