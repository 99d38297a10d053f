"""Data sets as tf.data: the embedded digits, CIFAR-10/100, Fashion-MNIST, MNIST, folders of
images and any tensorflow-datasets name.

`load_dataset` returns a `DatasetSplits` whose `train`, `validation` and `test` are
`tf.data.Dataset`s of unbatched `(uint8 image (H, W, C), int64 label)` pairs; feed them to
`regkit.data.image_pipeline` to resize, scale, augment and batch. `from_arrays` validates
user arrays and wraps them the same way.

The loaders live beside this module (`regkit.data.cifar`, `regkit.data.folders`,
`regkit.data.tfds_sets`); the arrays and splits below it (`regkit.data.arrays`,
`regkit.data.splits`).
Nothing is downloaded silently where it could hang: CIFAR is read from `data_dir` or Keras'
cache before Keras is asked to download it, and a tensorflow-datasets set that is not
prepared raises at once (naming the directory and the `tfds build` command) unless
`download=True`. TensorFlow and tensorflow_datasets are imported inside the functions that
need them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from regkit._checks import check_choice, check_fraction, check_seed, invalid
from regkit.data.arrays import MAX_CLASSES, ArrayData, from_arrays
from regkit.data.catalog import BUILTIN_DATASETS, CIFAR_SETS, IDX_DATASETS
from regkit.data.cifar import load_cifar
from regkit.data.digits import digits_train_test
from regkit.data.folders import BAD_IMAGES, is_builtin_name, is_image_folder, load_folder
from regkit.data.idx import CLASS_NAMES, check_data_dir, load_idx_arrays
from regkit.data.splits import SPLIT_KEYS, DatasetSplits, carve_splits
from regkit.data.tfds_sets import load_tfds

__all__ = [
    "BUILTIN_DATASETS",
    "CIFAR_SETS",
    "MAX_CLASSES",
    "SPLIT_KEYS",
    "ArrayData",
    "DatasetSplits",
    "from_arrays",
    "load_data",
    "load_dataset",
]


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    validation_split: float = 0.2,
    seed: int = 0,
    download: bool | None = None,
    image_size: int | tuple[int, int] | None = None,
    bad_images: str = "raise",
) -> DatasetSplits:
    """Loads a classification data set as train / validation / test tf.data splits.

    * `"digits"`: the 1,797 8x8 grey digits embedded in regkit (UCI's optdigits test set,
      as scikit-learn ships it; offline, no scikit-learn needed), scaled to uint8 0-255
      with shape (8, 8, 1). A fixed stratified 20% (360 images) is the test split,
      whatever `seed`.
    * `"cifar10"`, `"cifar100"` (fine labels): read from `data_dir` when it holds the
      official python-version archive (`cifar-10-python.tar.gz`) or its extracted folder
      (`cifar-10-batches-py/`; for CIFAR-100 `cifar-100-python`), else from Keras' cache
      (`$KERAS_HOME/datasets`, default `~/.keras/datasets`), else downloaded there by
      `keras.utils.get_file` (unless `download=False`).
    * `"fashion_mnist"`, `"mnist"`: 60,000 + 10,000 grey 28x28 images, as uint8 0-255
      with shape (28, 28, 1) (Fashion-MNIST's ten class names in `class_names`), read by
      `regkit.data.idx` from `data_dir` when it holds the four IDX files (or, for MNIST,
      Keras' `mnist.npz`), else from Keras' cache, else from the folder Debian's
      `dataset-fashion-mnist` package installs (`/usr/share/datasets/fashion-mnist/`),
      else downloaded by Keras (unless `download=False`). These names no longer reach
      tensorflow-datasets.
    * Any tensorflow-datasets name, e.g. `"imagenette/160px"`, from its prepared copy in
      `data_dir` (tfds' default when `None`). Its `test` split is the set's `"test"` split,
      or its `"validation"` split when it has no test split (as seed 001 evaluates).
    * A folder of images, one subfolder per class (a `pathlib.Path`, or a string naming an
      existing directory; a string that is one of the names above always means the
      built-in set, so pass `Path("digits")` for a folder called `digits`): JPEG, PNG,
      BMP or GIF files; `class_names` are the sorted
      subfolder names. `train/`, `validation/` and `test/` subfolders (each holding class
      subfolders) are used when present; otherwise a stratified 20% of each class is the
      test split (fixed) and `validation_split` of the rest, drawn with `seed`, the
      validation split (classes too small to leave a test or validation split are an
      error, not an empty split). Images of varying size need `image_size`. Every image is checked
      here (header and one decode), so a corrupt or truncated file is named at load, and
      files in class folders that are not images are listed in a `UserWarning`;
      `image_pipeline` decodes the files straight to its size (see
      `regkit.data.folders`).

    The validation split is carved from the training data: for in-memory sets exactly as
    `sklearn.model_selection.train_test_split(test_size=validation_split,
    random_state=seed)` on the training arrays carves it, drawn by regkit itself (seed
    000's 80/20 split: `seed=42` reproduces it exactly); for tfds sets as the last
    `validation_split` of the (already shuffled at preparation) train split,
    `train[n - k:]`, which does not depend on `seed`.

    Args:
        name: `"digits"`, `"cifar10"`, `"cifar100"`, `"fashion_mnist"`, `"mnist"`, a
            tensorflow-datasets name or a folder (see above).
        data_dir: Where the data lies (see above). A folder named here must exist: it is
            never skipped for another copy (only a tfds set with `download=True` may name
            a folder it is to create).
        validation_split: Fraction of the training data held out for validation, in
            [0, 1); 0 gives `validation=None`.
        seed: Random state of the validation carve for in-memory sets.
        download: `None` (default): download CIFAR, Fashion-MNIST and MNIST through Keras
            when they are absent, never tfds sets. `True`: also download and prepare tfds
            sets (this can take long and needs the network). `False`: never download.
        image_size: For folders only: `(height, width)` (or one int for square) the images
            are resized to, needed when their sizes vary.
        bad_images: For folders: `"raise"` (default) raises a ValueError naming the first
            file that cannot be read as an image (corrupt, truncated, not an image);
            `"skip"` leaves such files out and lists them in the result's `skipped`
            (`num_skipped` counts them). Other data sets have no such files.

    Returns:
        A `DatasetSplits`.

    Raises:
        ValueError: Unknown `name` (the message lists the built-in names), bad
            `validation_split` (also one that leaves no training or no validation
            example) or `seed`; naming `data_dir`: a file or a folder that does not exist;
            for folders, naming `name`: an empty folder, a single class, a file that is
            not a readable image (named, unless `bad_images="skip"`), classes too small
            for a test split; naming `image_size`: images of varying size without it
            (or `image_size` for a data set that is not a folder); naming `bad_images`: a
            value other than `"raise"` or `"skip"`.
        FileNotFoundError: The data is not where it should be and may not (or could not)
            be downloaded; the message names the missing files, where to put them and,
            for tfds, the `tfds build` command (for Fashion-MNIST, the apt package).

    Example:
        >>> splits = load_dataset("digits", validation_split=0.2, seed=0)
        >>> splits.num_examples
        {'train': 1149, 'validation': 288, 'test': 360}
    """
    folder = is_image_folder(name)
    if not folder and (not isinstance(name, str) or not name):
        raise invalid(
            "name",
            f"one of {', '.join(map(repr, BUILTIN_DATASETS))}, a tfds name or a folder",
            name,
        )
    validation_split = check_fraction("validation_split", validation_split)
    seed = check_seed("seed", seed)
    if download is not None and not isinstance(download, bool):
        raise invalid("download", "None, True or False", download)
    if not folder and is_builtin_name(name):
        _warn_if_shadowing(name)
    tfds_name = not folder and not is_builtin_name(name)
    check_data_dir(data_dir, may_be_created=tfds_name and download is True)
    check_choice("bad_images", bad_images, BAD_IMAGES)
    if folder:
        if not 0 <= seed < 2**32:
            raise invalid("seed", "an int in [0, 2**32) (NumPy's random state)", seed)
        return load_folder(
            name,
            validation_split=validation_split,
            seed=seed,
            image_size=image_size,
            bad_images=bad_images,
        )
    if image_size is not None:
        raise invalid(
            "image_size",
            f"None for {name!r}, which is not a folder (image_size is for folders of images; "
            "pass it to image_pipeline to resize)",
            image_size,
        )
    if not 0 <= seed < 2**32:
        raise invalid("seed", "an int in [0, 2**32) (NumPy's random state)", seed)
    key = name.lower().replace("-", "")
    if key == "digits":
        train, test = _digits()
        return carve_splits("digits", train, test, validation_split, seed)
    if key in CIFAR_SETS:
        train, test = load_cifar(key, data_dir, download)
        return carve_splits(key, train, test, validation_split, seed)
    idx_key = name.lower().replace("-", "_")
    if idx_key in IDX_DATASETS:
        names = CLASS_NAMES[idx_key]
        return DatasetSplits.from_arrays(
            load_idx_arrays(idx_key, data_dir=data_dir, download=download),
            validation_split=validation_split,
            seed=seed,
            class_names=names,
            num_classes=len(names),
            name=idx_key,
        )
    return load_tfds(name, data_dir, validation_split, download)


def _warn_if_shadowing(name: str) -> None:
    """A `UserWarning` when a folder of images shares a built-in set's name: the built-in
    set is read, and the folder needs a `Path`."""
    try:
        entries = any(Path(name).iterdir()) if Path(name).is_dir() else False
    except OSError:
        return
    if entries:
        warnings.warn(
            f"load_dataset({name!r}) reads the built-in {name!r} data set, not the folder "
            f"{name!r} in {os.getcwd()}; pass pathlib.Path({name!r}) to read the folder",
            UserWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------------------
# digits


def _digits() -> tuple[ArrayData, ArrayData]:
    (x_tr, y_tr), (x_te, y_te) = digits_train_test()
    names = tuple(str(n) for n in range(10))
    return (
        from_arrays(x_tr[..., None], y_tr, num_classes=10, class_names=names),
        from_arrays(x_te[..., None], y_te, num_classes=10, class_names=names),
    )


# --------------------------------------------------------------------------------------
# Keras-style arrays


def load_data(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A built-in data set as NumPy arrays, shaped as `keras.datasets.<name>.load_data()`.

    The arrays come from the same offline sources as `load_dataset` (the embedded digits;
    `data_dir`, Keras' cache, Debian's `/usr/share/datasets/fashion-mnist/`; Keras'
    download last, unless `download=False`), and have the shapes and dtypes of Keras'
    loaders, so code written for `keras.datasets` runs unchanged:

    | name | x_train, x_test | y_train, y_test |
    |---|---|---|
    | `"fashion_mnist"`, `"mnist"` | uint8 (60000, 28, 28), (10000, 28, 28) | uint8 (n,) |
    | `"cifar10"` | uint8 (50000, 32, 32, 3), (10000, 32, 32, 3) | uint8 (n, 1) |
    | `"cifar100"` (fine labels) | uint8 (50000, 32, 32, 3), (10000, 32, 32, 3) | int64 (n, 1) |
    | `"digits"` (regkit's own) | uint8 (1437, 8, 8), (360, 8, 8) in 0-255 | uint8 (n,) |

    The digits' test split is `load_dataset("digits")`'s (a fixed stratified 20%). No
    validation split is carved: `DatasetSplits.from_arrays(load_data(name))` carves one
    as `load_dataset` does.

    Args:
        name: One of `BUILTIN_DATASETS`: `"digits"`, `"cifar10"`, `"cifar100"`,
            `"fashion_mnist"`, `"mnist"` (case and `-` forgiven). tfds names and folders
            are for `load_dataset`.
        data_dir: A folder holding the files (see `load_dataset`); it must exist.
        download: `None` (default): let Keras download CIFAR, Fashion-MNIST or MNIST
            when no copy is found. `False`: never download; raise instead.

    Returns:
        `((x_train, y_train), (x_test, y_test))`, as in the table above.

    Raises:
        ValueError: Naming `name` (not a built-in set; the message lists them),
            `data_dir` (a file, or a folder that does not exist) or `download`; or files
            that are corrupt (the message names the file).
        FileNotFoundError: The data is not where it should be and may not (or could not)
            be downloaded; the message says which files to put where.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data("digits")
        >>> x_train.shape, x_train.dtype, y_test.shape, y_test.dtype
        ((1437, 8, 8), dtype('uint8'), (360,), dtype('uint8'))
    """
    if not is_builtin_name(name):
        raise invalid(
            "name",
            f"one of {', '.join(map(repr, BUILTIN_DATASETS))} (load_data reads the built-in "
            "sets; load_dataset reads tfds names and folders too)",
            name,
        )
    if download is not None and not isinstance(download, bool):
        raise invalid("download", "None, True or False", download)
    check_data_dir(data_dir)
    key = name.lower().replace("-", "")
    if key == "digits":
        (x_train, y_train), (x_test, y_test) = digits_train_test()
        return (x_train, y_train.astype(np.uint8)), (x_test, y_test.astype(np.uint8))
    if key in CIFAR_SETS:
        train, test = load_cifar(key, data_dir, download)
        dtype = np.uint8 if key == "cifar10" else np.int64  # as keras.datasets gives them
        y_train, y_test = (part.labels.astype(dtype).reshape(-1, 1) for part in (train, test))
        return (train.images, y_train), (test.images, y_test)
    return load_idx_arrays(name.lower().replace("-", "_"), data_dir=data_dir, download=download)
