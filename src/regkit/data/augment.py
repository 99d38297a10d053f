"""`Augment`: one frozen, validated description of the image augmentation a pipeline applies.

Every random parameter is drawn **per image** and the transforms run on **whole batches**:

* flips, 90-degree turns, rotation, translation and zoom become one affine map per
  image, and one XLA-compiled bilinear resampling (four batched gathers) applies them to
  the whole batch; when only flips and 90-degree turns are asked for, exact pixel
  permutations picked per image with `tf.where` are used instead (no resampling);
* brightness and contrast use per-image factors broadcast over the batch (unlike
  `tf.image.random_brightness` / `random_contrast`, which draw one value per call, that is
  one value per batch when called on a batch);
* random erasing (Zhong et al. 2017) picks, per image, whether to erase and one
  rectangle, and fills it with uniform noise;
* MixUp and CutMix draw a Beta-distributed weight per image and mix one-hot labels by
  exactly the share of pixels each image contributes.

Randomness is stateless: each batch gets a seed (see `regkit.data.image_pipeline`), so a
pipeline built twice with the same seed yields identical batches, in parallel or not.

RandAugment is Keras' own layer. MixUp and CutMix are written here rather than taken
from `keras.layers.MixUp` / `CutMix`: those draw from a stateful seed generator, so in a
parallel tf.data map they are not reproducible under a seed, and Keras' CutMix weights
the labels by its box's continuous area, which differs from the share of pixels actually
pasted (by up to 6% at 32x32, more on 8x8 digits). Random erasing is written here too:
Keras' `RandomErasing` is another transform (a float `factor=f` erases about f/2 of the
images, draws the area per side with no aspect control, fills with clipped normal noise).

This module imports TensorFlow only when a transform runs, so building an `Augment` (for
example from command-line flags) is cheap.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from regkit._checks import (
    check_bool,
    check_choice,
    check_finite_float,
    check_value_range,
    invalid,
)
from regkit.data.transforms import beta, compiled_stage

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import keras
    import tensorflow as tf

__all__ = [
    "AUGMENT_FIELDS",
    "AUGMENT_PRESETS",
    "AUGMENT_RECIPES",
    "ERASE_AREA",
    "ERASE_ASPECT",
    "ERASE_ATTEMPTS",
    "FILL_MODES",
    "PRESET_ALIASES",
    "Augment",
]

FILL_MODES = ("reflect", "nearest", "constant", "wrap")

#: The named recipes `Augment.preset` knows, by descriptive name: the `Augment` fields each
#: one sets (the others keep their defaults).
AUGMENT_RECIPES: Mapping[str, Mapping[str, Any]] = types.MappingProxyType(
    {
        # Nothing.
        "none": types.MappingProxyType({}),
        # Seed 000's ImageDataGenerator(rotation_range=15, horizontal_flip=True,
        # width_shift_range=0.1, height_shift_range=0.1), with its "nearest" fill.
        "flip-rotate-shift": types.MappingProxyType(
            {"flip": True, "rotation": 15.0, "translate": 0.1, "fill_mode": "nearest"}
        ),
        # Seed 001's tf.image recipe: flip, brightness +-0.2, contrast 0.8-1.2, quarter turns.
        "flip-rot90-color": types.MappingProxyType(
            {"flip": True, "brightness": 0.2, "contrast": 0.2, "rot90": True}
        ),
        # For images that a mirror would change the meaning of (digits, text): small
        # rotations, shifts and zooms, filling with zeros (the background).
        "rotate-shift-zoom": types.MappingProxyType(
            {"rotation": 10.0, "translate": 0.1, "zoom": 0.1, "fill_mode": "constant"}
        ),
        # MixUp alone, Beta(0.2, 0.2): Zhang et al. 2018's ImageNet setting (they report
        # alpha in [0.1, 0.4] working best there; 1.0 on CIFAR).
        "mixup": types.MappingProxyType({"mixup": 0.2}),
        # CutMix alone, Beta(1, 1): Yun et al. 2019's setting on CIFAR and ImageNet.
        "cutmix": types.MappingProxyType({"cutmix": 1.0}),
        # Random erasing alone, p = 0.5: Zhong et al. 2017's setting (area 0.02-0.4 of the
        # image, aspect ratio 0.3-3.33, random fill).
        "random-erasing": types.MappingProxyType({"random_erasing": 0.5}),
    }
)

#: The seeds' names for their recipes, kept for the seed reproductions (`--augment seed000`).
PRESET_ALIASES: Mapping[str, str] = types.MappingProxyType(
    {"seed000": "flip-rotate-shift", "seed001": "flip-rot90-color"}
)

#: Every name `Augment.preset` (and `image_pipeline(augment=...)`, `--augment NAME`) accepts.
AUGMENT_PRESETS: tuple[str, ...] = (*AUGMENT_RECIPES, *PRESET_ALIASES)


@dataclasses.dataclass(frozen=True)
class Augment:
    """Which random transforms a training pipeline applies, and how strongly.

    The defaults apply nothing. Each field is independent; `image_pipeline` applies the
    active ones in this order: RandAugment (per image, before batching), then on whole
    batches: flip / 90-degree turn / rotation / zoom / translation (one resampling),
    brightness, contrast, and finally MixUp / CutMix. Values stay in [0, 1] throughout.

    Args:
        flip: Mirror each image left-right with probability 1/2.
        rotation: Maximum rotation in degrees; each image is rotated by an angle drawn
            uniformly from [-rotation, rotation] (as `ImageDataGenerator(rotation_range=)`).
        translate: Maximum shift as a fraction of the width and of the height; each image
            is shifted by independent uniform draws in [-translate, translate] on each axis
            (as `width_shift_range` and `height_shift_range`).
        zoom: Maximum relative zoom; each image is scaled by a factor drawn uniformly from
            [1 - zoom, 1 + zoom] (above 1 zooms in).
        brightness: Maximum brightness change, as a fraction of the value range; each image
            gets `delta` drawn uniformly from [-brightness, brightness] added to it
            (as `tf.image.random_brightness`, but per image).
        contrast: Maximum contrast change; each image's deviations from its per-channel mean
            are scaled by a factor drawn uniformly from [1 - contrast, 1 + contrast]
            (as `tf.image.random_contrast(1 - contrast, 1 + contrast)`, but per image).
        rot90: Turn each image by 0, 90, 180 or 270 degrees, chosen uniformly. Needs square
            images (pass a square `image_size` to the pipeline).
        randaugment: Apply `keras.layers.RandAugment` (2 operations, magnitude 0.5) to each
            image before batching. Keras' layer picks its operations once per call, so it is
            called per image to give every image its own operations.
        mixup: MixUp's Beta(alpha, alpha) concentration (0 disables; 0.2 is usual). Each
            image is blended with a partner from the same batch and the one-hot labels with
            the same weight. Needs one-hot labels.
        cutmix: CutMix's Beta(alpha, alpha) concentration (0 disables; 1.0 is usual). A box
            from a partner image is pasted into each image; the labels are mixed by the exact
            share of pixels pasted. Needs one-hot labels. When both `mixup` and `cutmix` are
            set, each image gets one of the two, chosen with probability 1/2.
        random_erasing: Random erasing's probability p (0 disables; 0.5 is usual), as Zhong
            et al. 2017 define it: each image is erased with probability p, its rectangle
            drawn as in the paper with area uniform in [0.02, 0.4] of the image and aspect
            ratio (height / width) uniform in [0.3, 1 / 0.3] (not log-uniform), sides
            rounded to whole pixels, top-left corner uniform; a rectangle that does not fit
            inside the image (or whose rounded area or aspect falls outside those bounds)
            is redrawn, never clipped, up to `ERASE_ATTEMPTS` (64) times. At least one of
            64 draws fits unless the image is very elongated (at 8x64 about 1 image in 100
            is then left unerased; square images: fewer than 1 in 10**8). The rectangle is
            filled with independent uniform noise over the value range, per pixel and
            channel. It runs after the photometric transforms and before MixUp / CutMix.
        fill_mode: How pixels that come from outside the image are filled after rotation,
            translation or zoom: one of `"reflect"` (Keras' layers' default), `"nearest"`
            (`ImageDataGenerator`'s default), `"constant"` (zeros) or `"wrap"`.

    Raises:
        ValueError: A strength is out of range, or `fill_mode` is unknown.
        TypeError: A field has the wrong type.

    Example:
        >>> aug = Augment(flip=True, rotation=15, translate=0.1)
        >>> aug.active
        True
        >>> Augment.seed001().rot90
        True
        >>> Augment.preset("flip-rot90-color") == Augment.seed001()
        True
        >>> images = aug.apply(tf.zeros((2, 32, 32, 3)), seed=(0, 1))  # doctest: +SKIP
    """

    flip: bool = False
    rotation: float = 0.0
    translate: float = 0.0
    zoom: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    rot90: bool = False
    randaugment: bool = False
    mixup: float = 0.0
    cutmix: float = 0.0
    fill_mode: str = "reflect"
    random_erasing: float = 0.0

    #: Every preset name (the same as the module's `AUGMENT_PRESETS`).
    PRESETS: ClassVar[tuple[str, ...]] = AUGMENT_PRESETS

    def __post_init__(self) -> None:
        for name in ("flip", "rot90", "randaugment"):
            object.__setattr__(self, name, check_bool(name, getattr(self, name)))
        limits = {
            "rotation": (180.0, "a float in [0, 180] (degrees)", False),
            "translate": (1.0, "a float in [0, 1)", True),
            "zoom": (1.0, "a float in [0, 1)", True),
            "brightness": (1.0, "a float in [0, 1]", False),
            "contrast": (1.0, "a float in [0, 1)", True),
        }
        for name, (upper, expected, open_upper) in limits.items():
            value = check_finite_float(name, getattr(self, name))
            too_big = value >= upper if open_upper else value > upper
            if value < 0 or too_big:
                raise invalid(name, expected, getattr(self, name))
            object.__setattr__(self, name, value)
        for name in ("mixup", "cutmix"):
            value = check_finite_float(name, getattr(self, name))
            if value < 0:
                raise invalid(name, "a Beta concentration >= 0 (0 disables)", value)
            object.__setattr__(self, name, value)
        check_choice("fill_mode", self.fill_mode, FILL_MODES)  # NumPy arrays included
        value = check_finite_float("random_erasing", self.random_erasing)
        if not 0.0 <= value <= 1.0:
            raise invalid("random_erasing", "a probability in [0, 1]", self.random_erasing)
        object.__setattr__(self, "random_erasing", value)

    # ----------------------------------------------------------------------------------
    # Presets and coercion.

    @classmethod
    def seed000(cls) -> Augment:
        """Seed 000's `ImageDataGenerator(rotation_range=15, horizontal_flip=True,
        width_shift_range=0.1, height_shift_range=0.1)`, per image on whole batches
        (with `ImageDataGenerator`'s `fill_mode="nearest"`): the `"flip-rotate-shift"`
        preset."""
        return cls.preset("flip-rotate-shift")

    @classmethod
    def seed001(cls) -> Augment:
        """Seed 001's per-example `tf.image` augmentation: left-right flip, brightness
        +-0.2, contrast 0.8-1.2 and a random multiple of 90 degrees, here per image on
        whole batches: the `"flip-rot90-color"` preset."""
        return cls.preset("flip-rot90-color")

    @classmethod
    def preset(cls, name: str) -> Augment:
        """Returns a named recipe.

        * `"none"`: nothing.
        * `"flip-rotate-shift"` (alias `"seed000"`): left-right flip, rotation up to 15
          degrees, shifts up to 10% of each side, nearest fill (seed 000's
          `ImageDataGenerator`).
        * `"flip-rot90-color"` (alias `"seed001"`): left-right flip, a random quarter turn,
          brightness +-0.2 and contrast 0.8-1.2 (seed 001's `tf.image` recipe).
        * `"rotate-shift-zoom"`: rotation up to 10 degrees, shifts and zoom up to 10%,
          zero fill; no flip, for images a mirror would change (digits, text).
        * `"mixup"`: MixUp alone with alpha 0.2 (Zhang et al. 2018, ImageNet).
        * `"cutmix"`: CutMix alone with alpha 1.0 (Yun et al. 2019).
        * `"random-erasing"`: random erasing alone with p = 0.5 (Zhong et al. 2017).

        Args:
            name: One of `AUGMENT_PRESETS`.

        Returns:
            The `Augment`.

        Raises:
            ValueError: Unknown name (the message lists the valid ones).

        Example:
            >>> Augment.preset("flip-rotate-shift") == Augment.seed000()
            True
        """
        recipe = (
            AUGMENT_RECIPES.get(PRESET_ALIASES.get(name, name)) if isinstance(name, str) else None
        )
        if recipe is None:
            raise invalid("name", f"one of {', '.join(map(repr, AUGMENT_PRESETS))}", name)
        return cls(**recipe)

    @classmethod
    def coerce(cls, value: Augment | str | Mapping[str, Any] | bool | None) -> Augment | None:
        """Turns `None`/`False`, `True` (seed 000's preset), a preset name, a dict of fields
        or an `Augment` into an `Augment` (or `None` for no augmentation).

        Raises:
            ValueError: Unknown preset name or field.
            TypeError: Any other type.
        """
        if value is None or value is False:
            return None
        if value is True:
            return cls.seed000()
        if isinstance(value, Augment):
            return value
        if isinstance(value, str):
            if value not in AUGMENT_PRESETS:
                choices = ", ".join(map(repr, AUGMENT_PRESETS))
                raise invalid("augment", f"a preset name among {choices}", value)
            return cls.preset(value)
        if isinstance(value, Mapping):
            fields = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(value) - fields)
            if unknown:
                raise invalid("augment", f"fields among {sorted(fields)}", unknown)
            return cls(**value)
        raise TypeError(
            "Invalid type for argument `augment`: expected an Augment, a preset name, a dict "
            f"or None. Received: augment={value!r} of type {type(value).__name__}"
        )

    # ----------------------------------------------------------------------------------
    # Introspection.

    @property
    def active(self) -> bool:
        """Whether any transform is enabled."""
        return self != Augment(fill_mode=self.fill_mode)

    @property
    def geometric(self) -> bool:
        """Whether a geometric transform (flip, rot90, rotation, translate, zoom) is on."""
        return bool(self.flip or self.rot90 or self.rotation or self.translate or self.zoom)

    @property
    def mixes_labels(self) -> bool:
        """Whether MixUp or CutMix is on (both need one-hot labels)."""
        return self.mixup > 0 or self.cutmix > 0

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-friendly).

        `random_erasing` (new in 0.3) is left out while it is 0, so the settings that a
        0.2 study folder recorded still match; `Augment(**d)` restores it either way.
        """
        fields = dataclasses.asdict(self)
        if not self.random_erasing:
            del fields["random_erasing"]
        return fields

    def describe(self) -> str:
        """A short human-readable summary, e.g. `"flip, rotation 15 deg, translate 0.1"`."""
        parts = []
        if self.flip:
            parts.append("flip")
        if self.rot90:
            parts.append("rot90")
        if self.rotation:
            parts.append(f"rotation {self.rotation:g} deg")
        if self.translate:
            parts.append(f"translate {self.translate:g}")
        if self.zoom:
            parts.append(f"zoom {self.zoom:g}")
        if self.brightness:
            parts.append(f"brightness {self.brightness:g}")
        if self.contrast:
            parts.append(f"contrast {self.contrast:g}")
        if self.randaugment:
            parts.append("RandAugment")
        if self.mixup:
            parts.append(f"MixUp alpha {self.mixup:g}")
        if self.random_erasing:
            parts.append(f"random erasing p {self.random_erasing:g}")
        if self.cutmix:
            parts.append(f"CutMix alpha {self.cutmix:g}")
        return ", ".join(parts) if parts else "none"

    # ----------------------------------------------------------------------------------
    # Transforms (TensorFlow is imported here, not at module import).

    def randaugment_layer(self, seed: int | None = None) -> keras.layers.Layer:
        """The `keras.layers.RandAugment` this spec uses, for images in [0, 1].

        Keras' layer draws its operations once per call, so call it on single images (as
        `image_pipeline` does) for per-image operations. It keeps a stateful seed
        generator: it is deterministic given `seed` only when called sequentially.
        """
        import keras

        return keras.layers.RandAugment(value_range=(0, 1), seed=seed, dtype="float32")

    def check_image_shape(self, height: int | None, width: int | None) -> None:
        """Raises ValueError when `rot90` is on and the images are not square."""
        if self.rot90 and (height is None or width is None or height != width):
            raise ValueError(
                "Invalid value for argument `image_size`: `Augment(rot90=True)` needs square "
                f"images (a turn by 90 degrees swaps height and width). Received: images of "
                f"height {height} and width {width}; pass a square image_size, e.g. "
                f"image_size={max(height or 0, width or 0) or 160}"
            )

    def apply(
        self,
        images: tf.Tensor,
        labels: tf.Tensor | None = None,
        *,
        seed: Any,
        value_range: tuple[float, float] = (0.0, 1.0),
        sizes: tf.Tensor | None = None,
        out_size: tuple[int, int] | None = None,
    ) -> tf.Tensor | tuple[tf.Tensor, tf.Tensor]:
        """Augments one batch: every transform but RandAugment, parameters drawn per image.

        Random parameters are drawn with stateless ops from `seed`; the pixel work is at most
        two XLA-compiled passes: one resampling (rotation / translation / zoom, with flips
        and turns folded into the same map) or exact flips / turns, then brightness,
        contrast and mixing.

        Args:
            images: Batch `(batch, height, width, channels)`, any real dtype, with values in
                `value_range`.
            labels: Optional one-hot float labels `(batch, num_classes)`; needed (and mixed)
                when `mixup` or `cutmix` is on, returned unchanged otherwise.
            seed: Stateless seed: a pair of ints or an int tensor of shape (2,).
            value_range: `(low, high)` of the input pixels, mapped to [0, 1].
            sizes: For a batch of images of varying size padded into one canvas: each
                image's `(height, width)` (an int tensor `(batch, 2)`; the image is the
                top-left of its canvas). They are resized to `out_size` (bilinear, as
                `tf.image.resize`) in the same resampling pass as the geometric
                transforms.
            out_size: `(height, width)` of the output, with `sizes`.

        Returns:
            The augmented images, float32 in [0, 1] and of the same shape (or
            `out_size`), or `(images, labels)` when labels were given.

        Raises:
            ValueError: Not a 4-D batch, `rot90` with non-square images, or
                `mixup` / `cutmix` without one-hot labels.

        Example:
            >>> import tensorflow as tf
            >>> aug = Augment(flip=True, brightness=0.2)
            >>> out = aug.apply(tf.zeros((4, 32, 32, 3), tf.uint8), seed=(1, 2),
            ...                 value_range=(0, 255))
            >>> out.shape, out.dtype
            (TensorShape([4, 32, 32, 3]), tf.float32)
        """
        import tensorflow as tf

        images = _as_tensor("images", images, "a 4-D batch (batch, height, width, channels)")
        if not (images.dtype.is_integer or images.dtype.is_floating) or images.dtype == tf.bool:
            raise invalid("images", "a batch of integer or float pixels", images.dtype.name)
        if images.shape.rank != 4:
            raise invalid("images", "a 4-D batch (batch, height, width, channels)", images.shape)
        if (sizes is None) != (out_size is None):
            raise invalid("out_size", "an output size exactly when `sizes` is given", out_size)
        if self.rot90:
            shape = out_size if out_size is not None else images.shape[1:3]
            self.check_image_shape(shape[0], shape[1])
        if self.mixes_labels:
            if labels is None:
                raise invalid("labels", "one-hot labels when mixup or cutmix is on", labels)
            labels = tf.convert_to_tensor(labels)
            if labels.shape.rank != 2 or not labels.dtype.is_floating:
                raise ValueError(
                    "Invalid value for argument `one_hot`: MixUp and CutMix mix labels, so they "
                    "need one-hot float labels of shape (batch, num_classes). Received: labels "
                    f"of shape {labels.shape} and dtype {labels.dtype.name}; pass one_hot=True"
                )
        low, high = check_value_range("value_range", value_range)
        seed = _as_tensor("seed", seed, "a pair of ints or an int tensor of shape (2,)")
        if not seed.dtype.is_integer or seed.shape.as_list() not in ([2], [None]):
            raise invalid("seed", "a pair of ints or an int tensor of shape (2,)", seed)
        seed = tf.reshape(tf.cast(seed, tf.int64), [2])
        if out_size is not None:
            size = (tf.constant(out_size[0]), tf.constant(out_size[1]))
        else:
            size = (tf.shape(images)[1], tf.shape(images)[2])
        params = draw_parameters(self, images, seed, size)
        scale = 1.0 / (high - low)
        if sizes is not None and out_size is not None:  # resized with the geometry
            fill = self.fill_mode if self._resamples else "nearest"
            stage = compiled_stage("resample", low, scale, fill, tuple(out_size))
            images = stage(images, sizes, params)
            low, scale = 0.0, 1.0
        elif self._resamples:
            images = compiled_stage("warp", low, scale, self.fill_mode)(images, params)
            low, scale = 0.0, 1.0
        elif self.flip or self.rot90:
            images = compiled_stage("dihedral", low, scale)(images, params)
            low, scale = 0.0, 1.0
        pixels = self.brightness or self.contrast or self.random_erasing or self.mixes_labels
        if pixels or (low, scale) != (0.0, 1.0) or images.dtype != tf.float32:
            step = compiled_stage("pixels", low, scale)
            if labels is not None:
                return step(images, params, labels)
            return step(images, params)
        return images if labels is None else (images, labels)

    @property
    def _resamples(self) -> bool:
        """Whether pixels must be resampled (rotation, translation or zoom)."""
        return bool(self.rotation or self.translate or self.zoom)


def draw_parameters(
    aug: Augment, images: tf.Tensor, seed: tf.Tensor, size: tuple[Any, Any]
) -> dict[str, tf.Tensor]:
    """Every random parameter of one batch, drawn per image from `seed` (`size`: the
    output's height and width)."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(seed, num=12)

    def uniform(i: int, low: float, high: float, shape: Any = None) -> tf.Tensor:
        return tf.random.stateless_uniform(
            [batch] if shape is None else shape, seed=seeds[i], minval=low, maxval=high
        )

    params: dict[str, tf.Tensor] = {}
    if aug.flip:
        params["flip"] = uniform(0, 0.0, 1.0) < 0.5
    if aug.rot90:
        params["turns"] = tf.random.stateless_uniform(
            [batch], seed=seeds[1], maxval=4, dtype=tf.int32
        )
    if aug.rotation:
        params["angle"] = uniform(2, -aug.rotation, aug.rotation) * (math.pi / 180.0)
    if aug.zoom:
        params["zoom"] = uniform(3, 1.0 - aug.zoom, 1.0 + aug.zoom)
    if aug.translate:
        params["shift"] = uniform(4, -aug.translate, aug.translate, [2, batch])
    if aug.brightness:
        params["delta"] = uniform(5, -aug.brightness, aug.brightness)
    if aug.contrast:
        params["factor"] = uniform(6, 1.0 - aug.contrast, 1.0 + aug.contrast)
    if aug.mixes_labels:
        params["perm"] = tf.argsort(uniform(7, 0.0, 1.0))
        if aug.mixup:
            params["mix_weight"] = beta(seeds[8], batch, aug.mixup)
        if aug.cutmix:
            params["cut_weight"] = beta(seeds[9], batch, aug.cutmix)
            params["cut_centre"] = uniform(10, 0.0, 1.0, [2, batch])
        if aug.mixup and aug.cutmix:
            params["use_cutmix"] = uniform(11, 0.0, 1.0) < 0.5
    if aug.random_erasing:
        # Its own stream, folded in, so that the other transforms keep their draws.
        erase_seed = tf.random.experimental.stateless_fold_in(seed, 12)
        params.update(erasing(erase_seed, batch, size[0], size[1], aug.random_erasing))
    return params


#: Rectangles random erasing draws per image, keeping the first that fits (the paper
#: redraws until one does).
ERASE_ATTEMPTS = 64
#: Random erasing's area (fraction of the image) and aspect-ratio (height / width) bounds,
#: Zhong et al. 2017's s_l, s_h and r_1.
ERASE_AREA = (0.02, 0.4)
ERASE_ASPECT = 0.3


def erasing(
    seed: tf.Tensor, batch: tf.Tensor, height: tf.Tensor, width: tf.Tensor, probability: float
) -> dict[str, tf.Tensor]:
    """Random erasing's per-image draws: `erase` (bool, (B,)), `erase_box` (int32 (4, B):
    top, left, height, width) and `erase_seed` (the fill's stateless seed).

    `ERASE_ATTEMPTS` candidate rectangles per image (area U(0.02, 0.4) of the image, aspect
    U(0.3, 1/0.3), sides rounded, top-left corner uniform over the image) are drawn at
    once; the first that lies inside the image with its rounded area and aspect within
    the bounds is kept: the paper's redraw loop, vectorised.
    """
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, num=6)
    shape = [batch, ERASE_ATTEMPTS]
    h_img, w_img = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    total = h_img * w_img

    def uniform(i: int, low: float, high: float, size: Any = shape) -> tf.Tensor:
        return tf.random.stateless_uniform(size, seed=seeds[i], minval=low, maxval=high)

    area = uniform(0, ERASE_AREA[0], ERASE_AREA[1]) * total
    aspect = uniform(1, ERASE_ASPECT, 1.0 / ERASE_ASPECT)
    h = tf.round(tf.sqrt(area * aspect))
    w = tf.round(tf.sqrt(area / aspect))
    top = tf.floor(uniform(2, 0.0, 1.0) * h_img)
    left = tf.floor(uniform(3, 0.0, 1.0) * w_img)
    pixels = h * w
    fits = (
        (h >= 1.0)
        & (w >= 1.0)
        & (top + h <= h_img)
        & (left + w <= w_img)
        & (pixels >= ERASE_AREA[0] * total)
        & (pixels <= ERASE_AREA[1] * total)
        & (h >= ERASE_ASPECT * w)
        & (w >= ERASE_ASPECT * h)
    )
    first = tf.argmax(tf.cast(fits, tf.int32), axis=1, output_type=tf.int32)
    box = tf.stack([tf.gather(t, first, axis=1, batch_dims=1) for t in (top, left, h, w)])
    chosen = uniform(4, 0.0, 1.0, [batch]) < probability
    return {
        "erase": chosen & tf.reduce_any(fits, axis=1),
        "erase_box": tf.cast(box, tf.int32),
        "erase_seed": seeds[5],
    }


def _as_tensor(arg: str, value: Any, expected: str) -> tf.Tensor:
    """`value` as a tensor; a ValueError naming `arg` when TensorFlow cannot convert it."""
    import tensorflow as tf

    try:
        return tf.convert_to_tensor(value)
    except (TypeError, ValueError, OverflowError):
        raise invalid(arg, expected, value) from None


#: `Augment`'s field names, in order (what `--augment flip,rotation=15` may name).
AUGMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Augment))
