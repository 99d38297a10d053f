"""Folders of images, one subfolder per class, as `DatasetSplits`.

`load_folder` (reached through `regkit.data.load_dataset(PATH)`) reads a directory laid
out as Keras' `image_dataset_from_directory` expects::

    my_images/cat/0001.jpg, my_images/dog/0002.png, ...

or, with its own splits, `my_images/train/<class>/...`, `my_images/test/<class>/...` and
optionally `my_images/validation/<class>/...`. Class names are the sorted subfolder
names. Images may be JPEG, PNG, BMP or GIF (the first frame), directly inside their class
folder; other files in a class folder are listed in a `UserWarning` (hidden files, such as
`.DS_Store`, and deeper folders are ignored).

At load time every image is checked: its header is read (format, size, colour) and it is
decoded once, in parallel (a JPEG at 1/8 scale, which still reads all its data), so that a
corrupt, truncated or unreadable file is named at once (or, with `bad_images="skip"`,
left out and counted in `DatasetSplits.skipped`), never met as a TensorFlow error in the
middle of training. The pixels are decoded again when the data is iterated:
`image_pipeline` decodes the files straight to its output size (JPEG with DCT scaling, see
`regkit.data.decode`).
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from regkit._checks import check_choice, check_image_size, invalid
from regkit._io import open_regular
from regkit.data.catalog import BUILTIN_DATASETS
from regkit.data.splits import DatasetSplits

__all__ = [
    "BAD_IMAGES",
    "IMAGE_EXTENSIONS",
    "TEST_FRACTION",
    "ImageHeader",
    "is_builtin_name",
    "is_image_folder",
    "load_folder",
]

#: What `load_dataset(folder, bad_images=...)` does with a file it cannot read as an image.
BAD_IMAGES = ("raise", "skip")

#: File extensions read as images (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
#: Share of each class held out as the test split when the folder has no `test/`.
TEST_FRACTION = 0.2
_SPLIT_FOLDERS = ("train", "validation", "test")
_HEADER_BYTES = 1 << 16


def is_image_folder(name: Any) -> bool:
    """Whether `load_dataset(name)` reads `name` as a folder: a `Path`, or a string naming an
    existing directory that is not the name of a built-in set (`"digits"` is the embedded
    digits even where the working directory holds a `digits/` folder; pass
    `Path("digits")` for the folder)."""
    if isinstance(name, os.PathLike):
        return True
    if not isinstance(name, str) or not name or is_builtin_name(name):
        return False
    return _expand(name).is_dir()


def is_builtin_name(name: Any) -> bool:
    """Whether `name` (a str; case and `-` forgiven as `load_dataset` forgives them) names
    one of `BUILTIN_DATASETS`."""
    if not isinstance(name, str):
        return False
    lowered = name.lower()
    return lowered.replace("-", "") in BUILTIN_DATASETS or (
        lowered.replace("-", "_") in BUILTIN_DATASETS
    )


def _expand(path: str | os.PathLike[str]) -> Path:
    """`path` with `~` expanded where it can be (`~nosuchuser` stays as written)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # no such user's home directory
        return Path(path)


class ImageHeader:
    """Format, size and colour of one image file, read from its first bytes.

    Raises:
        ValueError: The bytes are not a JPEG, PNG, BMP or GIF header.
    """

    def __init__(self, data: bytes) -> None:
        self.format, self.height, self.width, self.grey = _parse(data)

    @classmethod
    def read(cls, path: Path, root: Path) -> ImageHeader:
        """The header of the image at `path` (in the data set folder `root`).

        Raises:
            ValueError: Naming the file, when it cannot be read as an image.
        """
        try:
            with open_regular(path, what="image") as handle:  # never a FIFO or device
                data = handle.read(_HEADER_BYTES)
                try:
                    return cls(data)
                except _NeedMoreError:
                    return cls(data + handle.read())
        except (OSError, ValueError, struct.error, _NeedMoreError) as error:
            raise ValueError(
                f"Invalid value for argument `name`: expected a folder of readable images "
                f"(JPEG, PNG, BMP or GIF). Received: name={str(root)!r}, whose "
                f"file {str(path)!r} cannot be read as an image ({error})"
            ) from None


class _NeedMoreError(Exception):
    """The JPEG's frame header lies beyond the bytes read so far."""

    def __str__(self) -> str:
        return "no JPEG frame header found"


def _parse(data: bytes) -> tuple[str, int, int, bool]:
    if data[:2] == b"\xff\xd8":
        return _parse_jpeg(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "png", height, width, data[25] in (0, 4)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", data[6:10])
        return "gif", height, width, False
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return "bmp", abs(height), width, False
    if not data:
        raise ValueError("the file is empty")
    raise ValueError("not a JPEG, PNG, BMP or GIF file")


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _parse_jpeg(data: bytes) -> tuple[str, int, int, bool]:
    i = 2
    while True:
        while i < len(data) and data[i] != 0xFF:
            i += 1
        while i < len(data) and data[i] == 0xFF:
            i += 1
        if i + 8 >= len(data):
            raise _NeedMoreError()
        marker = data[i]
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", data[i + 4 : i + 8])
            return "jpeg", height, width, data[i + 8] == 1
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 1
            continue
        (length,) = struct.unpack(">H", data[i + 1 : i + 3])
        i += 1 + length


def _images_in(folder: Path, others: list[Path]) -> list[Path]:
    """The image files directly inside `folder` (not in its subfolders); its other visible
    files are appended to `others`."""
    images: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        (images if path.suffix.lower() in IMAGE_EXTENSIONS else others).append(path)
    return images


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan(
    folder: Path, root: Path, classes: Sequence[str] | None, others: list[Path]
) -> tuple[list[Path], list[int]]:
    """The image files and labels of a folder of class subfolders (files that are not
    images are appended to `others`)."""
    found = _class_folders(folder)
    names = [p.name for p in found] if classes is None else list(classes)
    if classes is not None:
        unknown = sorted({p.name for p in found} - set(classes))
        if unknown:
            raise invalid(
                "name",
                f"the same classes in {folder.name}/ as in train/ ({', '.join(names)})",
                f"{str(root)!r} whose {folder.name}/ also has {', '.join(unknown)}",
            )
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(names):
        images = _images_in(folder / name, others) if (folder / name).is_dir() else []
        if not images and classes is None:
            raise invalid(
                "name",
                "a folder whose class subfolders each hold images (jpg, jpeg, png, bmp, gif)",
                f"{str(root)!r}, whose class folder {str(folder / name)!r} holds none",
            )
        files += images
        labels += [label] * len(images)
    return files, labels


def _stratified(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices kept and held out: `fraction` of each class (rounded, at least one kept)."""
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = min(round(len(members) * fraction), len(members) - 1)
        held.append(members[:count])
        keep.append(members[count:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))


def load_folder(
    path: str | os.PathLike[str],
    *,
    validation_split: float,
    seed: int,
    image_size: Any = None,
    bad_images: str = "raise",
) -> DatasetSplits:
    """A folder of class subfolders as `DatasetSplits` (see `regkit.data.load_dataset`).

    Without `train/` and `test/` subfolders, a stratified `TEST_FRACTION` (20%) of each class
    is the test split (fixed, whatever `seed`) and `validation_split` of the rest, drawn
    with `seed`, the validation split. With them, `validation/` is used when present, else
    carved from `train/` the same way. Every image is checked first (header, then one
    decode); with `bad_images="skip"` the files that fail are left out before the splits
    are drawn and listed in the result's `skipped`.

    Raises:
        ValueError: Naming `name`: a missing or empty folder, a single class, a file that is
            not a readable image (named; unless `bad_images="skip"`), a class left without
            readable images, classes too small to leave a test split (every class under 3
            images, without `test/`); naming `validation_split`: one that holds out no
            image; naming `image_size`: images of varying size without it; naming
            `bad_images`: a value other than `"raise"` or `"skip"`.
    """
    size = check_image_size("image_size", image_size)
    check_choice("bad_images", bad_images, BAD_IMAGES)
    root = _expand(path)
    if not root.is_dir():
        raise invalid("name", "an existing folder of class subfolders", str(root))
    parts: dict[str, tuple[list[Path], list[int]]] = {}
    others: list[Path] = []
    if (root / "train").is_dir():
        train_files, train_labels = _scan(root / "train", root, None, others)
        classes = [p.name for p in _class_folders(root / "train")]
        for split in ("validation", "test"):
            if (root / split).is_dir():
                parts[split] = _scan(root / split, root, classes, others)
    else:
        train_files, train_labels = _scan(root, root, None, others)
        classes = [p.name for p in _class_folders(root)]
    if len(classes) < 2:
        raise invalid(
            "name",
            "a folder with at least two class subfolders (a classifier of one class learns "
            "nothing)",
            f"{str(root)!r} with {'only ' + repr(classes[0]) if classes else 'no class folders'}",
        )
    _warn_about(others, root)
    parts["train"] = (train_files, train_labels)
    headers, skipped = _check_images(
        [p for files, _ in parts.values() for p in files], root, bad_images
    )
    if skipped:
        bad = set(skipped)
        for key, (files, labels) in parts.items():
            kept = [(f, label) for f, label in zip(files, labels, strict=True) if f not in bad]
            parts[key] = ([f for f, _ in kept], [label for _, label in kept])
        base = root / "train" if (root / "train").is_dir() else root
        empty = sorted(set(range(len(classes))) - set(parts["train"][1]))
        if empty:
            raise invalid(
                "name",
                "a folder whose class subfolders each hold readable images",
                f"{str(root)!r}, whose class folder {str(base / classes[empty[0]])!r} holds "
                f"none once its {len(skipped)} unreadable file(s) are skipped",
            )
    pool = np.array(parts["train"][0], dtype=object)
    pool_labels = np.array(parts["train"][1], dtype=np.int64)
    if "test" not in parts and not (root / "train").is_dir():
        keep, held = _stratified(pool_labels, TEST_FRACTION, 0)
        if not len(held):
            raise invalid(
                "name",
                f"a folder with a class of at least 3 images, so that {TEST_FRACTION:.0%} of "
                "each class (rounded) leaves a test split, or train/ and test/ subfolders",
                f"{str(root)!r}, whose largest class holds {_largest_class(pool_labels)} "
                "image(s): no test split",
            )
        parts["test"] = (list(pool[held]), list(pool_labels[held]))
        pool, pool_labels = pool[keep], pool_labels[keep]
    if "validation" not in parts and validation_split > 0:
        keep, held = _stratified(pool_labels, validation_split, seed)
        if not len(held):
            raise invalid(
                "validation_split",
                f"a fraction that holds out at least one image for validation: "
                f"{validation_split:g} of {str(root)!r}'s training classes of at most "
                f"{_largest_class(pool_labels)} image(s) rounds to none (use a larger "
                "validation_split, more images, a validation/ subfolder, or "
                "validation_split=0 for none)",
                validation_split,
            )
        parts["validation"] = (list(pool[held]), list(pool_labels[held]))
        pool, pool_labels = pool[keep], pool_labels[keep]
    parts["train"] = (list(pool), list(pool_labels))
    return _splits(root, classes, parts, size, headers, tuple(str(p) for p in skipped))


def _largest_class(labels: np.ndarray) -> int:
    return int(np.bincount(labels).max()) if len(labels) else 0


#: At most this many file names are listed in a warning or an error.
_LISTED = 10


def _listing(paths: Sequence[Path]) -> str:
    names = ", ".join(repr(str(p)) for p in paths[:_LISTED])
    return names + (f" and {len(paths) - _LISTED} more" if len(paths) > _LISTED else "")


def _warn_about(others: Sequence[Path], root: Path) -> None:
    """A `UserWarning` listing the files in class folders that are not images."""
    if not others:
        return
    warnings.warn(
        f"{len(others)} file(s) in the class folders of {str(root)!r} are not images "
        f"({', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)}) and are not used: "
        f"{_listing(others)}",
        UserWarning,
        stacklevel=4,
    )


def _check_images(
    files: Sequence[Path], root: Path, bad_images: str
) -> tuple[dict[Path, ImageHeader], list[Path]]:
    """Each file's header, and the files that cannot be read as images: their header does
    not parse, or they do not decode. With `bad_images="raise"` the first such file (in
    folder order) raises; with `"skip"` they are returned.

    Raises:
        ValueError: Naming the folder and the file, with the reason.
    """
    headers: dict[Path, ImageHeader] = {}
    bad: dict[Path, str] = {}
    for path in files:
        try:
            headers[path] = ImageHeader.read(path, root)
        except ValueError as error:
            if bad_images == "raise":
                raise ValueError(f"{error}; pass bad_images='skip' to skip such files") from None
            bad[path] = str(error)
    readable = [p for p in files if p in headers]
    for path in _undecodable(readable):
        if bad_images == "raise":
            raise ValueError(
                f"Invalid value for argument `name`: expected a folder of readable images "
                f"(JPEG, PNG, BMP or GIF). Received: name={str(root)!r}, whose file "
                f"{str(path)!r} does not decode ({_decode_error(path)}); pass "
                "bad_images='skip' to skip such files"
            )
        bad[path] = "does not decode"
        del headers[path]
    return headers, [p for p in files if p in bad]


def _undecodable(files: Sequence[Path]) -> list[Path]:
    """The files TensorFlow fails to decode, in their order: one parallel tf.data pass
    (JPEGs at 1/8 scale: the whole file is still read and entropy-decoded)."""
    if not files:
        return []
    # Imported here: TensorFlow, which reading the folder's names and headers needs not.
    import tensorflow as tf

    def decode(index: tf.Tensor, path: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        data = tf.io.read_file(path)
        shape = tf.cond(
            tf.io.is_jpeg(data),
            lambda: tf.shape(tf.io.decode_jpeg(data, ratio=8)),
            lambda: tf.shape(tf.io.decode_image(data, expand_animations=False)),
        )
        # The shape is an output: a decode only depended on would be optimised away.
        return index, shape

    indices = tf.range(len(files), dtype=tf.int64)
    paths = tf.constant([str(p) for p in files], dtype=tf.string)
    dataset = tf.data.Dataset.from_tensor_slices((indices, paths))
    dataset = dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    decoded = {int(i) for i, _ in dataset.as_numpy_iterator()}
    return [path for i, path in enumerate(files) if i not in decoded]


def _decode_error(path: Path) -> str:
    """TensorFlow's reason for not decoding `path`, without its op prefix."""
    import tensorflow as tf

    try:
        tf.io.decode_image(tf.io.read_file(str(path)), expand_animations=False)
    except (tf.errors.OpError, ValueError) as error:
        message = getattr(error, "message", str(error))
        return message.split("}}")[-1].strip().splitlines()[0]
    return "it fails inside a tf.data pipeline"


def _splits(
    root: Path,
    classes: Sequence[str],
    parts: dict[str, tuple[list[Path], list[int]]],
    size: tuple[int, int] | None,
    headers: dict[Path, ImageHeader],
    skipped: tuple[str, ...],
) -> DatasetSplits:
    every = [headers[p] for files, _ in parts.values() for p in files]
    shapes = sorted({(h.height, h.width) for h in every})
    if size is None and len(shapes) > 1:
        raise invalid(
            "image_size",
            f"an output size because the images in {str(root)!r} vary in size (e.g. "
            f"{shapes[0][0]}x{shapes[0][1]} and {shapes[-1][0]}x{shapes[-1][1]}); pass "
            f"image_size={shapes[0][0]} or image_size=(height, width)",
            None,
        )
    channels = 1 if all(h.grey for h in every) else 3
    height, width = size if size is not None else shapes[0]
    jpeg = all(h.format == "jpeg" for h in every)
    largest = (max(h.height for h in every), max(h.width for h in every))
    datasets = {
        key: _labeled(
            files, labels, classes, (height, width), channels, size is not None, jpeg, largest
        )
        for key, (files, labels) in parts.items()
    }
    return DatasetSplits(
        train=datasets["train"],
        validation=datasets.get("validation"),
        test=datasets.get("test"),
        num_classes=len(classes),
        class_names=tuple(classes),
        image_shape=(height, width, channels),
        num_examples={key: len(parts[key][0]) if key in parts else 0 for key in _SPLIT_FOLDERS},
        arrays=None,
        name=str(root),
        skipped=skipped,
    )


def _labeled(
    files: Sequence[Path],
    labels: Sequence[int],
    classes: Sequence[str],
    size: tuple[int, int],
    channels: int,
    resize: bool,
    jpeg: bool,
    largest: tuple[int, int],
) -> Any:
    # Imported here: these import TensorFlow, which reading a folder's headers needs not.
    import tensorflow as tf

    from regkit.data.decode import decode_resized
    from regkit.data.labeled import EncodedImages, LabeledDataset

    paths = tf.constant([str(p) for p in files], dtype=tf.string)
    label_tensor = tf.constant(np.asarray(labels, dtype=np.int64), dtype=tf.int64)
    encoded = EncodedImages(
        tf.data.Dataset.from_tensor_slices((paths, label_tensor)),
        paths=True,
        jpeg=jpeg,
        channels=channels,
        largest=largest,
    )

    def decode(path: tf.Tensor) -> tf.Tensor:
        data = tf.io.read_file(path)
        if resize:
            image = decode_resized(data, size, channels, jpeg_only=jpeg, largest=largest)
            return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)
        image = tf.io.decode_image(data, channels=channels, expand_animations=False)
        return tf.ensure_shape(image, (*size, channels))

    decoded = encoded.dataset.map(
        lambda path, label: (decode(path), label), num_parallel_calls=tf.data.AUTOTUNE
    )
    return LabeledDataset(decoded, num_classes=len(classes), class_names=classes, encoded=encoded)
