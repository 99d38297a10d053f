"""The names of the data sets `load_dataset` reads itself (any tfds name works too)."""

from __future__ import annotations

__all__ = ["BUILTIN_DATASETS", "CIFAR_SETS"]

#: Names `load_dataset` knows without tensorflow-datasets (any tfds name works too).
BUILTIN_DATASETS = ("digits", "cifar10", "cifar100")
#: The CIFAR sets, read by `regkit.data.cifar`.
CIFAR_SETS = ("cifar10", "cifar100")
