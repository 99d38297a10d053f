"""Batched, per-image implementations of `Augment`'s transforms.

Images are (B, H, W, C); per-image parameters have shape (B,) and broadcast. Parameters are
drawn outside XLA by `regkit.data.augment` (stateless gamma has no XLA kernel), which
calls the functions here; the pixel work runs inside one
XLA-compiled function per configuration (`compiled_stage`), which fuses the selects,
reversals and arithmetic into a couple of passes over the batch. `Augment.apply` is the
public entry point; this module imports TensorFlow only inside its functions.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    import tensorflow as tf

__all__ = [
    "affine_matrix",
    "beta",
    "channel_means",
    "compiled_stage",
    "dihedral",
    "erase",
    "fill_coordinate",
    "mix",
    "photometric",
    "resize_matrix",
    "warp",
]


def beta(seed: tf.Tensor, batch: tf.Tensor, alpha: float) -> tf.Tensor:
    """Beta(alpha, alpha) per image, as G1 / (G1 + G2) with independent gammas."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, num=2)
    g1 = tf.random.stateless_gamma([batch], seed=seeds[0], alpha=alpha)
    g2 = tf.random.stateless_gamma([batch], seed=seeds[1], alpha=alpha)
    return tf.math.divide_no_nan(g1, g1 + g2)


def affine_matrix(
    params: Mapping[str, tf.Tensor], batch: tf.Tensor, height: tf.Tensor, width: tf.Tensor
) -> tf.Tensor:
    """Per-image (B, 6) maps [a0, a1, a2, b0, b1, b2]: output pixel (x, y) samples the
    input at (a0 x + a1 y + a2, b0 x + b1 y + b2), as `ImageProjectiveTransformV3` reads
    its transforms. Flip, quarter turn, rotation, zoom and shift make one map.
    """
    import tensorflow as tf

    ones, zeros = tf.ones([batch]), tf.zeros([batch])
    # Output pixel p samples input pixel  c + M (p - c - t)  where c is the image centre,
    # t the shift and M = (1 / zoom) * D * R(angle), D the exact flip / quarter turn
    # (entries in {-1, 0, 1}), R a rotation. Angles, shifts and zooms are symmetric around
    # the identity, so inverse and forward parameters have the same distribution.
    turns = params.get("turns", tf.zeros([batch], tf.int32))
    cos_k = tf.gather(tf.constant([1.0, 0.0, -1.0, 0.0]), turns)
    sin_k = tf.gather(tf.constant([0.0, 1.0, 0.0, -1.0]), turns)
    sign = tf.where(params["flip"], -1.0, 1.0) if "flip" in params else ones
    # D = P^k F with P^k = [[c, -s], [s, c]] and F = diag(sign, 1): the inverse of "turn,
    # then mirror", the order `dihedral` uses, so both paths give the same image.
    d00, d01, d10, d11 = sign * cos_k, -sin_k, sign * sin_k, cos_k
    angle = params.get("angle", zeros)
    cos_a, sin_a = tf.cos(angle), tf.sin(angle)
    inv = 1.0 / params.get("zoom", ones)
    m00 = inv * (d00 * cos_a + d01 * sin_a)
    m01 = inv * (-d00 * sin_a + d01 * cos_a)
    m10 = inv * (d10 * cos_a + d11 * sin_a)
    m11 = inv * (-d10 * sin_a + d11 * cos_a)
    shift = params.get("shift", tf.zeros([2, batch]))
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    px, py = cx + shift[0] * width, cy + shift[1] * height
    b0 = cx - (m00 * px + m01 * py)
    b1 = cy - (m10 * px + m11 * py)
    return tf.stack([m00, m01, b0, m10, m11, b1], axis=1)


def warp(
    images: tf.Tensor,
    matrix: tf.Tensor,
    fill_mode: str,
    out_size: tuple[int, int] | None = None,
    sizes: tf.Tensor | None = None,
) -> tf.Tensor:
    """Bilinear resampling of each image by its own affine map, as four batched gathers.

    Same sampling as `ImageProjectiveTransformV3(interpolation="BILINEAR")` for the
    `reflect`, `nearest` and `constant` fill modes (a coordinate outside the image is
    first mapped inside by the fill mode, then neighbours outside read 0); `wrap` wraps
    the neighbours too, so the seam interpolates across. Inside XLA this measured about
    3x faster than that kernel, which recomputes the coordinates for every channel.

    With `sizes` (`(batch, 2)` ints), image i is the top-left `sizes[i]` of its padded
    canvas; with `out_size`, the output has that size instead of the input's.
    """
    import tensorflow as tf

    batch, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    channels = images.shape[3] if images.shape[3] is not None else tf.shape(images)[3]
    stride = width  # of the flattened canvas
    if sizes is not None:
        sizes = tf.cast(sizes, tf.int32)
        height, width = sizes[:, 0, None, None], sizes[:, 1, None, None]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    out_h, out_w = out_size if out_size is not None else (tf.shape(images)[1], tf.shape(images)[2])
    rows, cols = tf.meshgrid(
        tf.range(out_h, dtype=tf.float32), tf.range(out_w, dtype=tf.float32), indexing="ij"
    )
    a = [matrix[:, i, None, None] for i in range(6)]
    src_x = a[0] * cols + a[1] * rows + a[2]
    src_y = a[3] * cols + a[4] * rows + a[5]
    src_x, src_y = fill_coordinate(src_x, w, fill_mode), fill_coordinate(src_y, h, fill_mode)
    x0, y0 = tf.floor(src_x), tf.floor(src_y)
    fx, fy = src_x - x0, src_y - y0
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1, y1 = x0 + 1, y0 + 1
    if fill_mode == "wrap":
        x1, y1 = tf.math.floormod(x1, width), tf.math.floormod(y1, height)
    flat = tf.reshape(images, [batch, -1, channels])

    def tap(y: tf.Tensor, x: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        index = tf.clip_by_value(y, 0, height - 1) * stride + tf.clip_by_value(x, 0, width - 1)
        values = tf.gather(flat, tf.reshape(index, [batch, -1]), batch_dims=1)
        weight = tf.where(inside, weight, 0.0)
        return tf.cast(values, tf.float32) * tf.reshape(weight, [batch, -1, 1])

    out = (
        tap(y0, x0, (1.0 - fy) * (1.0 - fx))
        + tap(y0, x1, (1.0 - fy) * fx)
        + tap(y1, x0, fy * (1.0 - fx))
        + tap(y1, x1, fy * fx)
    )
    if out_size is None:
        out = tf.reshape(out, tf.shape(images))
        out.set_shape(images.shape)
        return out
    return tf.reshape(out, [batch, out_size[0], out_size[1], channels])


def resize_matrix(matrix: tf.Tensor, sizes: tf.Tensor, out_size: tuple[int, int]) -> tf.Tensor:
    """Per-image maps `matrix` (`(batch, 6)`, in output pixels) followed by the bilinear
    resize (half-pixel centres, as `tf.image.resize`) from each image's `sizes[i]` to
    `out_size`: input = S (A p + a) + s with S = size / out_size, s = S / 2 - 1/2."""
    import tensorflow as tf

    sizes = tf.cast(sizes, tf.float32)
    sy, sx = sizes[:, 0] / float(out_size[0]), sizes[:, 1] / float(out_size[1])
    m = [matrix[:, i] for i in range(6)]
    return tf.stack(
        [
            sx * m[0],
            sx * m[1],
            sx * (m[2] + 0.5) - 0.5,
            sy * m[3],
            sy * m[4],
            sy * (m[5] + 0.5) - 0.5,
        ],
        axis=1,
    )


def fill_coordinate(coord: tf.Tensor, length: tf.Tensor, fill_mode: str) -> tf.Tensor:
    """Maps sampling coordinates that fall outside [0, length - 1] back inside."""
    import tensorflow as tf

    if fill_mode == "constant":
        return coord  # neighbours outside the image read 0
    if fill_mode == "wrap":
        return tf.math.floormod(coord, length)
    if fill_mode == "reflect":  # half-sample symmetric: (d c b a | a b c d | d c b a)
        coord = tf.math.floormod(coord, 2.0 * length)
        coord = tf.where(coord >= length, 2.0 * length - 1.0 - coord, coord)
    return tf.clip_by_value(coord, 0.0, length - 1.0)


@functools.lru_cache(maxsize=32)
def compiled_stage(
    stage: str,
    low: float,
    scale: float,
    fill_mode: str = "reflect",
    out_size: tuple[int, int] | None = None,
) -> Any:
    """One XLA-compiled stage of `Augment.apply` (retraced per parameter set and shape).

    `"warp"` scales to [0, 1] and resamples (rotation, shift, zoom, with flips and turns
    folded into the same map); `"resample"` does the same from padded canvases of images
    of varying size (`sizes`) to `out_size`, the resize folded into the map;
    `"dihedral"` scales and flips / turns exactly; `"pixels"` scales (unless done), then
    brightness, contrast, random erasing and mixing. They are separate compiled functions:
    fused together, XLA recomputes the first stage inside every consumer of its result (the
    contrast mean and the output), which measured 2-7x slower than materialising it once.
    """
    import tensorflow as tf

    def to_unit(images: tf.Tensor) -> tf.Tensor:
        images = tf.cast(images, tf.float32)
        if low:
            images = images - low
        return images * scale if scale != 1.0 else images

    def warp_stage(images: tf.Tensor, params: dict[str, tf.Tensor]) -> tf.Tensor:
        shape = tf.shape(images)
        height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
        matrix = affine_matrix(params, shape[0], height, width)
        return warp(to_unit(images), matrix, fill_mode)

    def resample_stage(
        images: tf.Tensor, sizes: tf.Tensor, params: dict[str, tf.Tensor]
    ) -> tf.Tensor:
        if out_size is None:  # pragma: no cover - the caller always gives it
            raise ValueError("the resample stage needs out_size")
        batch = tf.shape(images)[0]
        matrix = affine_matrix(params, batch, float(out_size[0]), float(out_size[1]))
        matrix = resize_matrix(matrix, sizes, out_size)
        if low or fill_mode == "constant":  # zeros filled in must be zeros in [0, 1]
            return warp(to_unit(images), matrix, fill_mode, out_size=out_size, sizes=sizes)
        # Scaling commutes with the bilinear weights: done after, on the output's pixels.
        return to_unit(warp(images, matrix, fill_mode, out_size=out_size, sizes=sizes))

    def dihedral_stage(images: tf.Tensor, params: dict[str, tf.Tensor]) -> tf.Tensor:
        return dihedral(to_unit(images), params.get("flip"), params.get("turns"))

    def pixels_stage(images: tf.Tensor, params: dict[str, tf.Tensor], labels: Any = None) -> Any:
        images = photometric(to_unit(images), params)
        if "erase" in params:
            images = erase(images, params)
        if labels is not None and "perm" in params:
            images, labels = mix(images, labels, params)
        return images if labels is None else (images, labels)

    stages = {
        "warp": warp_stage,
        "resample": resample_stage,
        "dihedral": dihedral_stage,
        "pixels": pixels_stage,
    }
    # reduce_retracing: batches padded to varying canvases share one generalized trace
    # (XLA still compiles once per concrete shape) instead of a retrace warning per shape.
    return tf.function(stages[stage], jit_compile=True, reduce_retracing=True)


def dihedral(images: tf.Tensor, flip: tf.Tensor | None, turns: tf.Tensor | None) -> tf.Tensor:
    """Exact per-image left-right flips and quarter turns, chosen with `tf.where`.

    A counter-clockwise turn by k quarters is: k=1 transpose then flip up-down, k=2 flip
    both ways, k=3 transpose then flip left-right. A left-right flip toggles the final
    left-right flip, so three selects cover all eight combinations (one without turns).
    """
    import tensorflow as tf

    def pick(mask: tf.Tensor, yes: tf.Tensor, no: tf.Tensor) -> tf.Tensor:
        return tf.where(mask[:, None, None, None], yes, no)

    flip_lr = flip
    if turns is not None:
        odd = tf.equal(turns % 2, 1)
        flip_ud = (turns == 1) | (turns == 2)
        half = (turns == 2) | (turns == 3)
        flip_lr = half if flip is None else tf.not_equal(half, flip)
        images = pick(odd, tf.transpose(images, [0, 2, 1, 3]), images)
        images = pick(flip_ud, tf.reverse(images, [1]), images)
    return pick(flip_lr, tf.reverse(images, [2]), images)


def photometric(images: tf.Tensor, params: Mapping[str, tf.Tensor]) -> tf.Tensor:
    """Per-image brightness shift, then per-image contrast, clipped to [0, 1] after each
    (as the seed's uint8 `tf.image` calls saturate after each)."""
    import tensorflow as tf

    if "delta" in params:
        images = tf.clip_by_value(images + params["delta"][:, None, None, None], 0.0, 1.0)
    if "factor" in params:
        mean = channel_means(images)
        factor = params["factor"][:, None, None, None]
        images = tf.clip_by_value((images - mean) * factor + mean, 0.0, 1.0)
    return images


def erase(images: tf.Tensor, params: Mapping[str, tf.Tensor]) -> tf.Tensor:
    """Random erasing: each image whose `erase` is set gets its `erase_box` (top, left,
    height, width) filled with uniform noise in [0, 1), per pixel and channel."""
    import tensorflow as tf

    top, left, height, width = (params["erase_box"][i][:, None, None, None] for i in range(4))
    rows = tf.range(tf.shape(images)[1])[None, :, None, None]
    cols = tf.range(tf.shape(images)[2])[None, None, :, None]
    inside = (
        params["erase"][:, None, None, None]
        & (rows >= top)
        & (rows < top + height)
        & (cols >= left)
        & (cols < left + width)
    )
    noise = tf.random.stateless_uniform(tf.shape(images), seed=params["erase_seed"])
    return tf.where(inside, noise, images)


def channel_means(images: tf.Tensor) -> tf.Tensor:
    """Per-image, per-channel means, shape (B, 1, 1, C), as `tf.image.adjust_contrast`.

    A plain `reduce_mean` over height and width keeps a 3-wide innermost axis, which XLA
    and Eigen reduce slowly on CPU (about 3x a streaming pass). When the pixel count allows,
    sum over rows of 16 pixels (a contiguous, vectorisable inner axis) first.
    """
    import tensorflow as tf

    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    if None in (height, width, channels):
        return tf.reduce_mean(images, axis=[1, 2], keepdims=True)
    group = next(g for g in (16, 8, 4, 2, 1) if (height * width) % g == 0)
    batch = tf.shape(images)[0]
    partial = tf.reduce_sum(tf.reshape(images, [batch, -1, group * channels]), axis=1)
    sums = tf.reduce_sum(tf.reshape(partial, [batch, group, channels]), axis=1)
    return tf.reshape(sums / float(height * width), [batch, 1, 1, channels])


def mix(
    images: tf.Tensor, labels: tf.Tensor, params: Mapping[str, tf.Tensor]
) -> tuple[tf.Tensor, tf.Tensor]:
    """MixUp and/or CutMix with a partner from a random permutation of the batch.

    Image i keeps weight w_i of its own label and gives 1 - w_i to its partner's: w_i is
    MixUp's blend weight, or for CutMix the exact share of image i's pixels left in place
    by the (integer, clipped) pasted box.
    """
    import tensorflow as tf

    perm = params["perm"]
    partner = tf.gather(images, perm)
    mixed, weight = [], []
    if "mix_weight" in params:
        lam = params["mix_weight"]
        lam4 = lam[:, None, None, None]
        mixed.append(lam4 * images + (1.0 - lam4) * partner)
        weight.append(lam)
    if "cut_weight" in params:
        height, width = tf.shape(images)[1], tf.shape(images)[2]
        h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
        ratio = tf.sqrt(1.0 - params["cut_weight"])
        cy, cx = params["cut_centre"][0] * h, params["cut_centre"][1] * w

        def bounds(c: tf.Tensor, size: tf.Tensor, length: tf.Tensor) -> tuple[Any, Any]:
            lo = tf.clip_by_value(tf.round(c - size / 2.0), 0.0, length)
            hi = tf.clip_by_value(tf.round(c + size / 2.0), 0.0, length)
            return tf.cast(lo, tf.int32), tf.cast(hi, tf.int32)

        y0, y1 = bounds(cy, ratio * h, h)
        x0, x1 = bounds(cx, ratio * w, w)
        rows = tf.range(height)[None, :, None, None]
        cols = tf.range(width)[None, None, :, None]
        inside = (
            (rows >= y0[:, None, None, None])
            & (rows < y1[:, None, None, None])
            & (cols >= x0[:, None, None, None])
            & (cols < x1[:, None, None, None])
        )
        mixed.append(tf.where(inside, partner, images))
        area = tf.cast((y1 - y0) * (x1 - x0), tf.float32)
        weight.append(1.0 - area / (h * w))
    if len(mixed) == 2:
        use_cutmix = params["use_cutmix"]
        out = tf.where(use_cutmix[:, None, None, None], mixed[1], mixed[0])
        own = tf.where(use_cutmix, weight[1], weight[0])
    else:
        out, own = mixed[0], weight[0]
    own = tf.cast(own, labels.dtype)[:, None]
    labels = own * labels + (1.0 - own) * tf.gather(labels, perm)
    # XLA's fused arithmetic can leave a share a rounding error below 0 (-1.5e-8 was seen).
    labels = tf.clip_by_value(labels, 0.0, 1.0)
    return out, labels
