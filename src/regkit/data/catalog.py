"""The names of the data sets `load_dataset` reads itself (any tfds name works too)."""

from __future__ import annotations

from regkit.data.idx import IDX_DATASETS

__all__ = ["BUILTIN_DATASETS", "CIFAR_SETS", "IDX_DATASETS"]

#: The CIFAR sets, read by `regkit.data.cifar`.
CIFAR_SETS = ("cifar10", "cifar100")
#: Names `load_dataset` knows without tensorflow-datasets (any tfds name works too): the
#: embedded digits, CIFAR, and Fashion-MNIST / MNIST (read by `regkit.data.idx`).
BUILTIN_DATASETS = ("digits", *CIFAR_SETS, *IDX_DATASETS)
