"""tensorflow-datasets sets as `DatasetSplits` (prepared copies only, unless asked to download)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from regkit.data.catalog import BUILTIN_DATASETS
from regkit.data.splits import SPLIT_KEYS, DatasetSplits

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf

__all__ = ["load_tfds"]


def load_tfds(
    name: str,
    data_dir: str | os.PathLike[str] | None,
    validation_split: float,
    download: bool | None,
) -> DatasetSplits:
    """The splits of a tensorflow-datasets image classification set (see `load_dataset`).

    Raises:
        ValueError: Unknown name, or not an (image, label) classification set.
        FileNotFoundError: Not prepared and `download` is not True.
    """
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))
    except Exception as error:  # DatasetNotFoundError, bad config or version
        choices = ", ".join(map(repr, BUILTIN_DATASETS))
        raise ValueError(
            f"Invalid value for argument `name`: expected one of {choices} or a "
            f"tensorflow-datasets name such as 'imagenette/160px' (see "
            f"tfds.list_builders()), or an existing folder of class subfolders. "
            f"Received: name={name!r} "
            f"({type(error).__name__}: {str(error).splitlines()[0]})"
        ) from None
    if not builder.is_prepared():
        if download is not True:
            version_dir = Path(str(builder.data_dir))
            depth = 2 + (1 if builder.builder_config is not None else 0)
            root = data_dir if data_dir is not None else version_dir.parents[depth - 1]
            raise FileNotFoundError(
                f"The tensorflow-datasets set {name!r} is not prepared in {version_dir}. "
                f"Prepare it with `tfds build {name} --data_dir {root}` (or copy a prepared "
                f"copy there), or pass download=True to let tfds download it now."
            )
        builder.download_and_prepare()

    info = builder.info
    keys = info.supervised_keys
    if not keys or len(keys) != 2:
        raise ValueError(
            f"Invalid value for argument `name`: expected an image classification data set "
            f"with (image, label) supervised keys. Received: name={name!r} "
            f"(supervised_keys={keys})"
        )
    image_key, label_key = keys
    label_feature = info.features[label_key]
    num_classes = int(getattr(label_feature, "num_classes", 0) or 0)
    if num_classes < 1:
        raise ValueError(
            f"Invalid value for argument `name`: expected class labels. Received: "
            f"name={name!r} whose {label_key!r} feature is {label_feature}"
        )
    names = tuple(label_feature.names)
    shape = tuple(info.features[image_key].shape)

    available = dict(info.splits.items()) if info.splits else {}
    test_name = next((s for s in ("test", "validation") if s in available), None)
    if not available:  # split metadata unknown (only happens under tfds' mocks)
        test_name = "test"
    if "train" not in available and available:
        raise ValueError(
            f"Invalid value for argument `name`: expected a data set with a 'train' split. "
            f"Received: name={name!r} with splits {sorted(available)}"
        )
    counts: dict[str, int | None] = dict.fromkeys(SPLIT_KEYS)
    if available:
        n_train = int(available["train"].num_examples)
        n_val = round(n_train * validation_split)
        train_split, val_split = f"train[:{n_train - n_val}]", f"train[{n_train - n_val}:]"
        counts = {
            "train": n_train - n_val,
            "validation": n_val,
            "test": int(available[test_name].num_examples) if test_name else 0,
        }
    else:
        percent = round(100 * validation_split)
        train_split, val_split = f"train[:{100 - percent}%]", f"train[{100 - percent}%:]"

    # Encoded images (JPEG, PNG) are also offered undecoded, in the same order, so that
    # image_pipeline decodes them straight to its size (JPEG with DCT scaling).
    image_feature = info.features[image_key]
    encoded_images = isinstance(image_feature, tfds.features.Image) and shape[-1] in (1, 3)
    jpeg = getattr(image_feature, "encoding_format", None) == "jpeg"

    def make(split: str) -> tf.data.Dataset:
        # Imported here: regkit.data.labeled imports TensorFlow (so does tfds, above).
        from regkit.data.labeled import EncodedImages, LabeledDataset

        dataset = builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)
        encoded = None
        if encoded_images:
            encoded = EncodedImages(
                builder.as_dataset(
                    split=split,
                    as_supervised=True,
                    shuffle_files=False,
                    decoders={image_key: tfds.decode.SkipDecoding()},
                ),
                jpeg=jpeg,
                channels=int(shape[-1]),
            )
        return LabeledDataset(dataset, num_classes=num_classes, class_names=names, encoded=encoded)

    return DatasetSplits(
        train=make(train_split),
        validation=make(val_split) if validation_split > 0 else None,
        test=make(test_name) if test_name else None,
        num_classes=num_classes,
        class_names=names,
        image_shape=shape,  # type: ignore[arg-type]
        num_examples=counts if validation_split > 0 else {**counts, "validation": 0},
        arrays=None,
        name=name,
    )
