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

from regkit._checks import check_choice, check_fraction, check_path, check_seed, invalid
from regkit.data.arrays import MAX_CLASSES, ArrayData, from_arrays
from regkit.data.catalog import BUILTIN_DATASETS, CIFAR_SETS, IDX_DATASETS
from regkit.data.cifar import load_cifar
from regkit.data.digits import digits_train_test
from regkit.data.folders import BAD_IMAGES, is_image_folder, load_folder
from regkit.data.idx import CLASS_NAMES, load_idx_arrays
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
      existing directory): JPEG, PNG, BMP or GIF files; `class_names` are the sorted
      subfolder names. `train/`, `validation/` and `test/` subfolders (each holding class
      subfolders) are used when present; otherwise a stratified 20% of each class is the
      test split (fixed) and `validation_split` of the rest, drawn with `seed`, the
      validation split. Images of varying size need `image_size`. Every image is checked
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
        data_dir: Where the data lies (see above).
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
            `validation_split` or `seed`; for folders, naming `name`: an empty folder, a
            single class, a file that is not a readable image (named, unless
            `bad_images="skip"`); naming `image_size`: images of varying size without it
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
    if data_dir is not None:
        check_path("data_dir", data_dir)
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


# --------------------------------------------------------------------------------------
# digits


def _digits() -> tuple[ArrayData, ArrayData]:
    (x_tr, y_tr), (x_te, y_te) = digits_train_test()
    names = tuple(str(n) for n in range(10))
    return (
        from_arrays(x_tr[..., None], y_tr, num_classes=10, class_names=names),
        from_arrays(x_te[..., None], y_te, num_classes=10, class_names=names),
    )
