"""The 1,797 8x8 handwritten digits embedded in regkit (no download, no scikit-learn).

`digits.csv.gz`, beside this module, is scikit-learn's copy of the test set of the UCI
"Optical Recognition of Handwritten Digits" data (Alpaydin and Kaynak, 1998), byte for byte
(see `DIGITS_LICENSE.txt` there for its source and licence): one row per image, 64 pixel
counts in 0..16 then the label. `load_digits_arrays` reads it as
`sklearn.datasets.load_digits` does and scales the pixels to uint8 0-255, and
`digits_train_test` makes the fixed stratified 80/20 train / test split that
`load_dataset("digits")` and `load_data("digits")` share.

NumPy and the standard library only.
"""

from __future__ import annotations

import gzip
import io
from importlib import resources

import numpy as np

from regkit.data.sampling import stratified_split

__all__ = ["DIGITS_FILE", "DIGITS_TEST_FRACTION", "digits_train_test", "load_digits_arrays"]

#: The embedded file, a resource of `regkit.data`.
DIGITS_FILE = "digits.csv.gz"
#: Share of each class in the fixed test split (drawn with seed 0, whatever the caller's).
DIGITS_TEST_FRACTION = 0.2
_COUNT, _SIDE, _LEVELS = 1797, 8, 16


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits: uint8 images `(1797, 8, 8)` in 0-255 and int64 labels `(1797,)`.

    The pixel counts 0..16 are scaled by 255 / 16 and rounded, in the order of the file
    (scikit-learn's `load_digits().images` and `.target`).

    Raises:
        RuntimeError: The embedded file is missing or damaged (a broken installation).
    """
    try:
        raw = resources.files("regkit.data").joinpath(DIGITS_FILE).read_bytes()
        table = np.loadtxt(io.BytesIO(gzip.decompress(raw)), delimiter=",")
    except (OSError, EOFError, ValueError) as error:
        raise RuntimeError(
            f"regkit's embedded {DIGITS_FILE} cannot be read ({type(error).__name__}: "
            f"{error}); reinstall regkit"
        ) from error
    if table.shape != (_COUNT, _SIDE * _SIDE + 1):
        raise RuntimeError(
            f"regkit's embedded {DIGITS_FILE} holds a table of shape {table.shape}, not "
            f"({_COUNT}, {_SIDE * _SIDE + 1}); reinstall regkit"
        )
    images = table[:, :-1].reshape(-1, _SIDE, _SIDE)
    scaled = np.round(images * (255.0 / _LEVELS)).astype(np.uint8)
    return scaled, table[:, -1].astype(np.int64)


def digits_train_test() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`((x_train, y_train), (x_test, y_test))`: 1,437 and 360 digits, the test split a
    stratified 20% drawn with seed 0 (scikit-learn's `train_test_split(test_size=0.2,
    random_state=0, stratify=labels)`, which regkit used before; the same images in the
    same order). Images uint8 `(n, 8, 8)` in 0-255, labels int64 `(n,)`."""
    images, labels = load_digits_arrays()
    train, test = stratified_split(labels, DIGITS_TEST_FRACTION, 0, arg="test_fraction")
    return (images[train], labels[train]), (images[test], labels[test])
