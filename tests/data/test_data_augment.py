"""`regkit.data.Augment`: validation, presets, and every transform's shape, range, labels,
per-image randomness and determinism, on tiny batches."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf

from regkit.data import Augment
from regkit.data.augment import AUGMENT_FIELDS, AUGMENT_PRESETS, PRESET_ALIASES

B, S = 8, 12  # batch size and side of the test images


def _images(seed: int = 0, batch: int = B, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).random((batch, S, S, channels)).astype(np.float32)


def _same_images(batch: int = B) -> np.ndarray:
    """One asymmetric image repeated: any difference between outputs is the augmentation's."""
    image = np.linspace(0.05, 0.95, S * S * 3, dtype=np.float32).reshape(S, S, 3)
    return np.repeat(image[None], batch, axis=0)


def _dihedral_variants(image: np.ndarray) -> list[np.ndarray]:
    """The 8 flips/quarter-turns of one (H, W, C) image."""
    out = []
    for base in (image, image[:, ::-1]):
        out.extend(np.rot90(base, k, axes=(0, 1)) for k in range(4))
    return out


def _which(image: np.ndarray, variants: list[np.ndarray]) -> int:
    """Index of the variant `image` equals (exactly, up to float rounding); -1 if none."""
    for i, v in enumerate(variants):
        if np.allclose(image, v, atol=1e-6):
            return i
    return -1


# ----------------------------------------------------------------------------------------
# Construction and validation


def test_defaults_apply_nothing():
    aug = Augment()
    assert not aug.active and not aug.geometric and not aug.mixes_labels
    assert aug.describe() == "none"
    assert Augment(**aug.to_dict()) == aug


def test_presets_match_the_seeds():
    assert Augment.seed000() == Augment(flip=True, rotation=15, translate=0.1, fill_mode="nearest")
    assert Augment.seed001() == Augment(flip=True, brightness=0.2, contrast=0.2, rot90=True)
    assert Augment.preset("none") == Augment()
    assert Augment.preset("seed001") == Augment.seed001()
    assert Augment.seed000().describe() == "flip, rotation 15 deg, translate 0.1"
    assert type(Augment.seed000().rotation) is float


def test_descriptive_preset_names_are_the_seeds_recipes():
    """Users can guess the recipes' names; the seeds' names stay as aliases."""
    assert Augment.preset("flip-rotate-shift") == Augment.seed000()
    assert Augment.preset("flip-rot90-color") == Augment.seed001()
    assert Augment.preset("rotate-shift-zoom") == Augment(
        rotation=10, translate=0.1, zoom=0.1, fill_mode="constant"
    )
    assert not Augment.preset("rotate-shift-zoom").flip
    for alias, name in PRESET_ALIASES.items():
        assert Augment.preset(alias) == Augment.preset(name)
        assert Augment.coerce(alias) == Augment.coerce(name)


def test_preset_names_and_fields_are_public_tuples():
    """The CLI builds its --augment choices from these, never from a copied list."""
    assert AUGMENT_PRESETS == (
        "none",
        "flip-rotate-shift",
        "flip-rot90-color",
        "rotate-shift-zoom",
        "mixup",
        "cutmix",
        "random-erasing",
        "seed000",
        "seed001",
    )
    assert Augment.PRESETS == AUGMENT_PRESETS
    assert tuple(f.name for f in dataclasses.fields(Augment)) == AUGMENT_FIELDS
    assert "fill_mode" in AUGMENT_FIELDS and "PRESETS" not in AUGMENT_FIELDS
    for name in AUGMENT_PRESETS:
        assert Augment.coerce(name) == Augment.preset(name)


def test_unknown_preset_lists_choices():
    with pytest.raises(ValueError) as info:
        Augment.preset("x")
    text = str(info.value)
    assert text.startswith("Invalid value for argument `name`: expected one of 'none', ")
    assert text.endswith("'seed000', 'seed001'. Received: name='x'")
    assert all(repr(name) in text for name in AUGMENT_PRESETS)


COERCIONS = [
    (None, None),
    (False, None),
    (True, Augment.seed000()),
    ("seed001", Augment.seed001()),
    ({"flip": True, "zoom": 0.2}, Augment(flip=True, zoom=0.2)),
    (Augment(rot90=True), Augment(rot90=True)),
]


def test_coerce():
    for value, expected in COERCIONS:
        assert Augment.coerce(value) == expected, value


def test_coerce_rejects_bad_values():
    with pytest.raises(ValueError, match=r"argument `augment`: expected fields among .*'dropout'"):
        Augment.coerce({"dropout": 0.5})
    with pytest.raises(ValueError, match="argument `augment`: expected a preset name"):
        Augment.coerce("strong")
    with pytest.raises(TypeError, match="argument `augment`"):
        Augment.coerce(3)


INVALID = [
    ("rotation", -1.0, "a float in [0, 180] (degrees)"),
    ("rotation", 181.0, "a float in [0, 180] (degrees)"),
    ("translate", 1.0, "a float in [0, 1)"),
    ("zoom", -0.1, "a float in [0, 1)"),
    ("brightness", 1.5, "a float in [0, 1]"),
    ("contrast", 1.0, "a float in [0, 1)"),
    ("mixup", -0.2, "a Beta concentration >= 0 (0 disables)"),
    ("cutmix", math.inf, "a finite float"),
    ("fill_mode", "mirror", "one of 'reflect', 'nearest', 'constant', 'wrap'"),
]


def test_invalid_values_name_the_field():
    for field, value, expected in INVALID:
        with pytest.raises(ValueError) as info:
            Augment(**{field: value})
        assert str(info.value) == (
            f"Invalid value for argument `{field}`: expected {expected}. "
            f"Received: {field}={value!r}"
        )


def test_invalid_types_name_the_field():
    for field, value in [("flip", 1), ("rot90", "yes"), ("randaugment", None), ("zoom", "0.1")]:
        with pytest.raises(TypeError, match=f"Invalid type for argument `{field}`"):
            Augment(**{field: value})


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Augment().flip = True  # type: ignore[misc]


# ----------------------------------------------------------------------------------------
# Every option: shape, dtype, range, labels untouched, determinism.

OPTIONS = {
    "flip": Augment(flip=True),
    "rot90": Augment(rot90=True),
    "rotation": Augment(rotation=30),
    "translate": Augment(translate=0.2),
    "zoom": Augment(zoom=0.3),
    "brightness": Augment(brightness=0.5),
    "contrast": Augment(contrast=0.5),
    "mixup": Augment(mixup=0.4),
    "cutmix": Augment(cutmix=1.0),
    "random_erasing": Augment(random_erasing=0.9),
    "everything": Augment(
        flip=True,
        rot90=True,
        rotation=20,
        translate=0.1,
        zoom=0.2,
        brightness=0.3,
        contrast=0.3,
        mixup=0.2,
        cutmix=1.0,
        fill_mode="wrap",
        random_erasing=0.5,
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_every_option_keeps_shape_range_and_is_deterministic(name):
    aug = OPTIONS[name]
    x = _images()
    y = tf.one_hot(np.arange(B) % 4, 4)
    out, labels = aug.apply(x, y, seed=(3, 4))
    again, labels_again = aug.apply(x, y, seed=(3, 4))
    other, _ = aug.apply(x, y, seed=(3, 5))
    out = out.numpy()
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, again.numpy())
    np.testing.assert_array_equal(labels.numpy(), labels_again.numpy())
    assert not np.array_equal(out, other.numpy()), "another seed must give another batch"
    np.testing.assert_allclose(labels.numpy().sum(axis=1), 1.0, rtol=1e-6)
    if not aug.mixes_labels:
        np.testing.assert_array_equal(labels.numpy(), y.numpy())
        assert aug.apply(x, seed=(3, 4)).shape == x.shape  # labels are optional then


def test_uint8_input_is_scaled_by_value_range():
    x = (np.arange(B * S * S * 3) % 256).astype(np.uint8).reshape(B, S, S, 3)
    out = Augment(flip=True).apply(x, seed=(0, 0), value_range=(0, 255)).numpy()
    # Flips move pixels but keep each image's values: compare sorted pixels.
    np.testing.assert_allclose(
        np.sort(out.reshape(B, -1), axis=1), np.sort(x.reshape(B, -1) / 255.0, axis=1), atol=1e-6
    )


# ----------------------------------------------------------------------------------------
# Per-image randomness: in ONE batch, different images get different parameters.


def test_flip_is_per_image_and_exact():
    x = _same_images(16)
    out = Augment(flip=True).apply(x, seed=(1, 1)).numpy()
    kinds = [_which(o, [x[0], x[0][:, ::-1]]) for o in out]
    assert -1 not in kinds, "every output is the image or its mirror, exactly"
    assert set(kinds) == {0, 1}, "some images flipped, some not, in the same batch"


def test_rot90_is_per_image_and_exact():
    x = _same_images(16)
    out = Augment(rot90=True).apply(x, seed=(2, 2)).numpy()
    variants = _dihedral_variants(x[0])[:4]
    kinds = [_which(o, variants) for o in out]
    assert -1 not in kinds
    assert len(set(kinds)) >= 3


def test_flip_and_rot90_cover_the_dihedral_group():
    x = _same_images(32)
    out = Augment(flip=True, rot90=True).apply(x, seed=(5, 5)).numpy()
    kinds = [_which(o, _dihedral_variants(x[0])) for o in out]
    assert -1 not in kinds
    assert len(set(kinds)) >= 6


def test_resampled_path_agrees_with_the_exact_flip_and_turn():
    """With rotation/translation/zoom on, flips and turns are folded into the affine matrix;
    with a negligible shift that matrix must reproduce the exact pixel permutation."""
    x = _same_images(16)
    exact = Augment(flip=True, rot90=True).apply(x, seed=(9, 9)).numpy()
    resampled = Augment(flip=True, rot90=True, translate=1e-7).apply(x, seed=(9, 9)).numpy()
    np.testing.assert_allclose(resampled, exact, atol=1e-4)


def test_resampling_matches_tensorflows_projective_transform():
    """The XLA gather resampler samples exactly as ImageProjectiveTransformV3 (bilinear)
    for random affine maps, in each fill mode the two share."""
    from regkit.data.transforms import warp

    rng = np.random.default_rng(0)
    x = rng.random((6, 9, 7, 2)).astype(np.float32)
    maps = np.tile(np.float32([1, 0, 0, 0, 1, 0]), (6, 1)) + rng.normal(0, 0.4, (6, 6))
    maps[:, [2, 5]] *= 8
    maps = maps.astype(np.float32)
    for mode in ("reflect", "nearest", "constant"):
        mine = tf.function(lambda a, m, mode=mode: warp(a, m, mode), jit_compile=True)
        reference = tf.raw_ops.ImageProjectiveTransformV3(
            images=x,
            transforms=np.concatenate([maps, np.zeros((6, 2), np.float32)], axis=1),
            output_shape=[9, 7],
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode=mode.upper(),
        )
        np.testing.assert_allclose(mine(x, maps).numpy(), reference.numpy(), atol=1e-5)


def test_wrap_fill_rolls_integer_shifts():
    from regkit.data.transforms import warp

    x = np.random.default_rng(1).random((1, 5, 8, 1)).astype(np.float32)
    shift = np.float32([[1, 0, 3, 0, 1, -2]])  # sample (x + 3, y - 2)
    out = warp(tf.constant(x), tf.constant(shift), "wrap").numpy()
    np.testing.assert_allclose(out, np.roll(np.roll(x, -3, axis=2), 2, axis=1), atol=1e-6)


def test_brightness_draws_one_delta_per_image():
    x = np.full((B, S, S, 3), 0.5, np.float32)
    out = Augment(brightness=0.3).apply(x, seed=(7, 7)).numpy()
    deltas = out.reshape(B, -1).mean(axis=1) - 0.5
    np.testing.assert_allclose(out.reshape(B, -1).std(axis=1), 0.0, atol=1e-6)
    assert np.all(np.abs(deltas) <= 0.3 + 1e-6)
    assert len(np.unique(np.round(deltas, 5))) == B, "each image its own brightness delta"


def test_contrast_draws_one_factor_per_image():
    x = _same_images()
    x = 0.4 + 0.2 * (x - x.mean()) / (x.max() - x.min())  # narrow range: no clipping
    out = Augment(contrast=0.4).apply(x, seed=(8, 8)).numpy()
    mean_in = x.mean(axis=(1, 2), keepdims=True)
    factors = ((out - mean_in) / (x - mean_in)).reshape(B, -1)
    factors = factors[:, np.abs((x - mean_in).reshape(B, -1)[0]) > 1e-3]
    np.testing.assert_allclose(factors.std(axis=1), 0.0, atol=1e-3)  # one factor per image
    per_image = factors.mean(axis=1)
    assert np.all((per_image >= 0.6 - 1e-4) & (per_image <= 1.4 + 1e-4))
    assert len(np.unique(np.round(per_image, 4))) == B
    np.testing.assert_allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-5)


@pytest.mark.parametrize("field", ["rotation", "translate", "zoom"])
def test_geometric_parameters_differ_within_a_batch(field):
    x = _same_images()
    value = {"rotation": 40.0, "translate": 0.3, "zoom": 0.4}[field]
    out = Augment(**{field: value}).apply(x, seed=(4, 4)).numpy()
    distinct = {out[i].round(4).tobytes() for i in range(B)}
    assert len(distinct) == B


def test_translate_moves_a_dot_within_the_range():
    x = np.zeros((16, 21, 21, 1), np.float32)
    x[:, 10, 10, 0] = 1.0
    out = Augment(translate=0.2, fill_mode="constant").apply(x, seed=(0, 3)).numpy()[..., 0]
    rows, cols = np.meshgrid(np.arange(21), np.arange(21), indexing="ij")
    mass = out.sum(axis=(1, 2))
    np.testing.assert_allclose(mass, 1.0, atol=1e-5)  # bilinear keeps the dot's mass
    dy = (out * rows).sum(axis=(1, 2)) / mass - 10
    dx = (out * cols).sum(axis=(1, 2)) / mass - 10
    assert np.all(np.abs(dy) <= 0.2 * 21 + 1e-3) and np.all(np.abs(dx) <= 0.2 * 21 + 1e-3)
    assert np.ptp(dx) > 2 and np.ptp(dy) > 2


def test_rotation_keeps_the_centre_and_zoom_scales_about_it():
    x = np.zeros((8, 21, 21, 1), np.float32)
    x[:, 10, 10, 0] = 1.0  # the centre pixel stays put under rotation and zoom
    for aug in (Augment(rotation=90), Augment(zoom=0.5)):
        out = aug.apply(x, seed=(1, 2)).numpy()
        np.testing.assert_allclose(out[:, 10, 10, 0], 1.0, atol=1e-5)


# ----------------------------------------------------------------------------------------
# MixUp / CutMix: labels mixed by exactly what the pixels got.


def _flat_images_and_labels(batch: int = 16):
    """Image i is constant v_i and alone in class i, so any mix is readable from pixels."""
    values = np.linspace(0.1, 0.9, batch, dtype=np.float32)
    x = np.broadcast_to(values[:, None, None, None], (batch, S, S, 3)).copy()
    return x, values, tf.one_hot(np.arange(batch), batch)


@pytest.mark.parametrize(
    "aug", [Augment(mixup=0.4), Augment(cutmix=1.0), Augment(mixup=1, cutmix=1)]
)
def test_mixing_labels_match_the_pixels(aug):
    x, values, y = _flat_images_and_labels()
    out, labels = aug.apply(x, y, seed=(6, 6))
    out, labels = out.numpy(), labels.numpy()
    np.testing.assert_allclose(labels.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all((labels > 0).sum(axis=1) <= 2)  # own class and one partner
    # Each image's mean pixel is the label-weighted mean of the source values: exact for
    # MixUp's blend and for CutMix's pasted pixel share.
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), labels @ values, atol=1e-5)
    own = labels[np.arange(len(values)), np.arange(len(values))]
    assert len(np.unique(np.round(own, 4))) > len(values) // 2, "weights drawn per image"


def test_cutmix_pastes_one_box_from_one_partner():
    x, values, y = _flat_images_and_labels()
    out, labels = Augment(cutmix=1.0).apply(x, y, seed=(2, 9))
    out, labels = out.numpy()[..., 0], labels.numpy()
    for i in range(len(values)):
        pasted = ~np.isclose(out[i], values[i])
        np.testing.assert_allclose(pasted.mean(), 1.0 - labels[i, i], atol=1e-6)
        if pasted.any():
            r, c = np.nonzero(pasted)
            box = pasted[r.min() : r.max() + 1, c.min() : c.max() + 1]
            assert box.all(), "the pasted region is one rectangle"


def test_mixing_needs_one_hot_labels():
    x, _, _ = _flat_images_and_labels()
    with pytest.raises(ValueError, match="argument `one_hot`"):
        Augment(mixup=0.2).apply(x, np.arange(16), seed=(0, 0))
    with pytest.raises(ValueError, match="argument `labels`"):
        Augment(cutmix=1.0).apply(x, seed=(0, 0))


def test_rot90_needs_square_images():
    with pytest.raises(ValueError, match="argument `image_size`: `Augment\\(rot90=True\\)` needs"):
        Augment(rot90=True).apply(np.zeros((2, 8, 6, 3), np.float32), seed=(0, 0))


def test_apply_needs_a_batch():
    with pytest.raises(ValueError, match="argument `images`: expected a 4-D batch"):
        Augment(flip=True).apply(np.zeros((8, 8, 3), np.float32), seed=(0, 0))


def test_randaugment_layer_is_keras_with_unit_range():
    import keras

    layer = Augment(randaugment=True).randaugment_layer(seed=1)
    assert isinstance(layer, keras.layers.RandAugment)
    assert tuple(layer.value_range) == (0, 1)
    out = layer(_images()[0], training=True)
    assert out.shape == (S, S, 3)


# ----------------------------------------------------------------------------------------
# Random erasing (Zhong et al. 2017), measured against its definition


def test_new_presets_are_each_technique_alone_at_its_papers_strength():
    assert Augment.preset("mixup") == Augment(mixup=0.2)
    assert Augment.preset("cutmix") == Augment(cutmix=1.0)
    assert Augment.preset("random-erasing") == Augment(random_erasing=0.5)
    assert "random_erasing" in AUGMENT_FIELDS
    assert Augment(random_erasing=0.25).describe() == "random erasing p 0.25"
    assert Augment.coerce({"random_erasing": 0.5}) == Augment.preset("random-erasing")


def test_random_erasing_is_validated_and_kept_out_of_old_settings():
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"argument `random_erasing`: expected a"):
            Augment(random_erasing=bad)
    with pytest.raises(TypeError, match="random_erasing"):
        Augment(random_erasing="half")
    assert not Augment(random_erasing=0.0).active
    # A 0.2 study folder recorded Augment.to_dict() without the field: it still matches.
    assert "random_erasing" not in Augment(flip=True).to_dict()
    aug = Augment(flip=True, random_erasing=0.5)
    assert aug.to_dict()["random_erasing"] == 0.5 and Augment(**aug.to_dict()) == aug


def _erased_boxes(out: np.ndarray) -> list[tuple[int, int, int]]:
    """(height, width, pixels erased) of each erased image of a batch of all-ones images:
    a fill drawn from [0, 1) never equals 1, so a pixel below 1 was erased."""
    boxes = []
    for image in out:
        erased = (image < 1.0).any(axis=-1)
        if not erased.any():
            continue
        rows, cols = np.flatnonzero(erased.any(axis=1)), np.flatnonzero(erased.any(axis=0))
        height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        boxes.append((int(height), int(width), int(erased.sum())))
    return boxes


@pytest.mark.parametrize(("p", "shape"), [(0.3, (16, 16)), (0.7, (12, 20))])
def test_random_erasing_matches_the_papers_definition(p, shape):
    """Over 2,000 images: the share erased is p; each erased region is one solid rectangle
    of 0.02-0.4 of the image with height / width in [0.3, 1 / 0.3], both spread over their
    range; the fill is uniform over the value range."""
    n, (height, width) = 2000, shape
    images = np.ones((n, height, width, 2), np.float32)
    out = Augment(random_erasing=p).apply(images, seed=(7, 11)).numpy()
    boxes = _erased_boxes(out)
    share = len(boxes) / n
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n), share
    box_h, box_w, erased = (np.array(v, dtype=float) for v in zip(*boxes, strict=True))
    np.testing.assert_array_equal(erased, box_h * box_w)  # a solid rectangle
    area, aspect = erased / (height * width), box_h / box_w
    assert area.min() >= 0.02 and area.max() <= 0.4
    assert aspect.min() >= 0.3 and aspect.max() <= 1 / 0.3
    assert area.min() < 0.05 and area.max() > 0.35  # the whole range is drawn
    assert aspect.min() < 0.45 and aspect.max() > 2.5
    fill = out[out < 1.0]
    assert fill.min() >= 0.0 and fill.max() < 1.0
    # Uniform: each tenth of [0, 1) holds a tenth of the fill (minus the rare exact ones).
    counts = np.histogram(fill, bins=10, range=(0.0, 1.0))[0] / fill.size
    np.testing.assert_allclose(counts, 0.1, atol=0.01)
    assert abs(fill.mean() - 0.5) < 0.01 and abs(fill.var() - 1 / 12) < 0.005


def test_random_erasing_fills_in_the_value_range_and_is_seeded():
    images = np.full((64, 12, 12, 3), 255, np.uint8)
    aug = Augment(random_erasing=1.0)
    out = aug.apply(images, seed=(1, 2), value_range=(0, 255)).numpy()
    assert len(_erased_boxes(out)) == 64 and out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, aug.apply(images, seed=(1, 2), value_range=(0, 255)))
    assert not np.array_equal(out, aug.apply(images, seed=(1, 3), value_range=(0, 255)))
    # Its own random stream: the other transforms draw what they drew without it.
    flip = Augment(flip=True).apply(_images(batch=64), seed=(1, 2)).numpy()
    both = Augment(flip=True, random_erasing=1.0).apply(_images(batch=64), seed=(1, 2)).numpy()
    same = np.isclose(flip, both).all(axis=-1)
    assert same.mean() > 0.6 and (~same).any(axis=(1, 2)).all()
