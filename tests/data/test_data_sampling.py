"""`regkit.data.sampling` and the embedded digits: regkit's own splits draw exactly what
scikit-learn's `train_test_split` draws (compared with scikit-learn where the dev extra
installs it), and `load_dataset("digits")` works, unchanged, without scikit-learn."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from regkit.data.digits import digits_train_test, load_digits_arrays
from regkit.data.sampling import held_out_count, shuffle_split, stratified_split

#: sha256 (first 16 hex digits) of load_dataset("digits", seed=s, validation_split=v)'s
#: images and labels, train, validation then test, as regkit 0.3 (scikit-learn) made them.
PINNED = {
    (0, 0.2): "db7a28bd65f25d03",
    (42, 0.2): "2003802e419f8981",
    (7, 0.5): "b0f97a62e13c679e",
}
SIZES = (0.1, 0.2, 0.25, 1 / 3, 0.5, 0.75, 0.9)
SEEDS = (0, 1, 42, 2**32 - 1)


def _fingerprint(splits) -> str:
    digest = hashlib.sha256()
    for key in ("train", "validation", "test"):
        part = splits.arrays[key]
        digest.update(np.ascontiguousarray(part.images).tobytes())
        digest.update(part.labels.astype("<i8").tobytes())
    return digest.hexdigest()[:16]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [2, 7, 50, 1437])
def test_shuffle_split_is_train_test_split(n, seed):
    model_selection = pytest.importorskip("sklearn.model_selection")
    for fraction in SIZES:
        try:
            theirs = model_selection.train_test_split(
                np.arange(n), test_size=fraction, random_state=seed
            )
        except ValueError:  # scikit-learn: the train set would be empty; regkit refuses too
            with pytest.raises(ValueError, match="argument `validation_split`"):
                shuffle_split(n, fraction, seed)
            continue
        kept, held = shuffle_split(n, fraction, seed)
        np.testing.assert_array_equal(kept, theirs[0])
        np.testing.assert_array_equal(held, theirs[1])


@pytest.mark.parametrize("seed", SEEDS)
def test_stratified_split_is_train_test_split_with_stratify(seed):
    model_selection = pytest.importorskip("sklearn.model_selection")
    rng = np.random.default_rng(seed % 1000)
    label_sets = [
        load_digits_arrays()[1],
        rng.integers(0, 3, 40),  # classes of uneven size: ties in the remainders
        np.repeat([5, 9, 2], [7, 7, 7]),  # equal remainders everywhere
        np.array(["b", "a", "b", "a", "c", "c", "a", "b", "c", "a"]),
    ]
    for labels in label_sets:
        for fraction in SIZES:
            index = np.arange(len(labels))
            try:
                theirs = model_selection.train_test_split(
                    index, test_size=fraction, random_state=seed, stratify=labels
                )
            except ValueError:
                with pytest.raises(ValueError, match="argument `validation_split`"):
                    stratified_split(labels, fraction, seed)
                continue
            kept, held = stratified_split(labels, fraction, seed)
            np.testing.assert_array_equal(kept, theirs[0])
            np.testing.assert_array_equal(held, theirs[1])


def test_embedded_digits_are_scikit_learns():
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    bunch = datasets.load_digits()
    images, labels = load_digits_arrays()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, np.round(bunch.images * 255 / 16).astype(np.uint8))
    np.testing.assert_array_equal(labels, bunch.target)
    x_tr, x_te, y_tr, y_te = model_selection.train_test_split(
        images, labels, test_size=0.2, random_state=0, stratify=labels
    )
    (mine_x, mine_y), (mine_xt, mine_yt) = digits_train_test()
    for ours, theirs in ((mine_x, x_tr), (mine_y, y_tr), (mine_xt, x_te), (mine_yt, y_te)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(("seed", "validation_split"), sorted(PINNED))
def test_digits_splits_are_pinned(seed, validation_split):
    from regkit.data import load_dataset

    splits = load_dataset("digits", seed=seed, validation_split=validation_split)
    assert _fingerprint(splits) == PINNED[seed, validation_split]


def test_digits_need_no_scikit_learn():
    """With `import sklearn` failing, digits load and carve exactly as before."""
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import hashlib, numpy as np\n"
        "from regkit.data import load_dataset, DatasetSplits\n"
        "s = load_dataset('digits', seed=42)\n"
        "d = hashlib.sha256()\n"
        "for k in ('train', 'validation', 'test'):\n"
        "    d.update(np.ascontiguousarray(s.arrays[k].images).tobytes())\n"
        "    d.update(s.arrays[k].labels.astype('<i8').tobytes())\n"
        "x = np.zeros((10, 4, 4), np.uint8); y = np.arange(10) % 2\n"
        "t = DatasetSplits.from_arrays(((x, y), (x, y)), validation_split=0.3)\n"
        "print(d.hexdigest()[:16], t.num_examples['validation'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [PINNED[42, 0.2], "3"]


def test_held_out_counts_round_up_and_leave_training_examples():
    assert held_out_count(1437, 0.2) == 288  # ceil(287.4)
    assert held_out_count(10, 0.5) == 5
    with pytest.raises(
        ValueError,
        match=r"argument `validation_split`: expected a fraction "
        r"that leaves training examples: 0\.9999 of 1437 example\(s\) holds out "
        r"1437 \(rounded up\), leaving 0",
    ):
        held_out_count(1437, 0.9999)
    with pytest.raises(ValueError, match=r"argument `seed_split`.*1 example"):
        held_out_count(1, 0.5, arg="seed_split")
    with pytest.raises(ValueError, match=r"at least one example of each of the 2 classes"):
        stratified_split([0, 0, 0, 1], 0.5, 0)
