"""`regkit.data`: data sets, tf.data pipelines and batched per-image augmentation.

`load_dataset` gives train / validation / test splits of `(uint8 image, label)` (tf.data
datasets that carry their class count and, in memory, their arrays: `LabeledDataset`),
`load_data` gives a built-in set as NumPy arrays shaped as Keras' loaders give them,
`from_arrays` validates your own arrays, `image_pipeline` scales, resizes, augments and
batches them, and `Augment` says which transforms to apply (named recipes such as
`Augment.preset("flip-rotate-shift")`). Names are imported on first
use, so `import regkit.data` loads neither TensorFlow nor tensorflow_datasets.

Example:
    >>> from regkit.data import Augment, image_pipeline, load_dataset
    >>> splits = load_dataset("digits")
    >>> train = image_pipeline(splits.train, batch_size=32, image_size=32,
    ...                        augment=Augment.seed000(), one_hot=True, seed=0)
    >>> val = image_pipeline(splits.validation, batch_size=32, image_size=32,
    ...                      one_hot=True, training=False)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY_ATTRS: dict[str, str] = {
    "Augment": "regkit.data.augment",
    "ArrayData": "regkit.data.arrays",
    "BUILTIN_DATASETS": "regkit.data.catalog",
    "DatasetSplits": "regkit.data.splits",
    "from_arrays": "regkit.data.arrays",
    "load_data": "regkit.data.datasets",
    "load_dataset": "regkit.data.datasets",
    "LabeledDataset": "regkit.data.labeled",
    "image_pipeline": "regkit.data.pipeline",
}

__all__ = [
    "BUILTIN_DATASETS",
    "ArrayData",
    "Augment",
    "DatasetSplits",
    "LabeledDataset",
    "from_arrays",
    "image_pipeline",
    "load_data",
    "load_dataset",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from regkit.data.arrays import ArrayData, from_arrays
    from regkit.data.augment import Augment
    from regkit.data.catalog import BUILTIN_DATASETS
    from regkit.data.datasets import load_data, load_dataset
    from regkit.data.labeled import LabeledDataset
    from regkit.data.pipeline import image_pipeline
    from regkit.data.splits import DatasetSplits


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'regkit.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
