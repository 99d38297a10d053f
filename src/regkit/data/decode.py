"""Decoding encoded images (JPEG, PNG, BMP, GIF) straight to the pipeline's size.

JPEG is decoded with DCT scaling: libjpeg can hand out the image at 1/2, 1/4 or 1/8 of
its size for a fraction of the work of a full decode, by dropping high frequencies in the
inverse DCT (which is also a better, area-like downscale than bilinear resizing without
antialiasing), and with libjpeg's fast integer inverse DCT (`dct_method="INTEGER_FAST"`,
as TensorFlow's own ImageNet input pipelines use: pixels within a level or two of the
exact transform, and less decoding time). `decode_resized` picks the largest such ratio
that still leaves the image at least as large as the target on both sides, then resizes
bilinearly to the exact size: never a downscale below the target followed by an upscale.
Other formats are decoded in full by `tf.io.decode_image`.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["JPEG_RATIOS", "decode_resized", "decode_scaled", "jpeg_ratio"]

#: The DCT scaling ratios `tf.io.decode_jpeg` offers.
JPEG_RATIOS = (1, 2, 4, 8)


def jpeg_ratio(height: tf.Tensor, width: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Index into `JPEG_RATIOS` of the largest ratio r with height / r >= target height
    and width / r >= target width (0 when the image is smaller than twice the target)."""
    factor = tf.minimum(height // size[0], width // size[1])
    return (
        tf.cast(factor >= 2, tf.int32)
        + tf.cast(factor >= 4, tf.int32)
        + tf.cast(factor >= 8, tf.int32)
    )


def decode_scaled(
    encoded: tf.Tensor,
    size: tuple[int, int],
    channels: int,
    *,
    jpeg_only: bool = False,
    largest: tuple[int, int] | None = None,
) -> tf.Tensor:
    """One encoded image as uint8 `(height, width, channels)`, a JPEG DCT-scaled down by the
    largest ratio that keeps it at least `size` (other formats at full size).

    Args:
        encoded: Scalar string tensor: the bytes of a JPEG, PNG, BMP or GIF file (the
            first frame of an animated GIF).
        size: `(height, width)` the image is meant for.
        channels: 1 or 3 (images are converted), or 4 for PNG with alpha.
        jpeg_only: The caller knows the image is a JPEG (no format check).
        largest: The largest `(height, width)` the image can have, when known: below twice
            `size`, no DCT scaling can apply and the image is decoded without looking.

    Returns:
        The decoded image, uint8.
    """

    def jpeg() -> tf.Tensor:
        if largest is not None and (largest[0] < 2 * size[0] or largest[1] < 2 * size[1]):
            return tf.io.decode_jpeg(encoded, channels=channels, dct_method="INTEGER_FAST")
        shape = tf.image.extract_jpeg_shape(encoded)
        index = jpeg_ratio(shape[0], shape[1], size)
        branches = [
            lambda ratio=ratio: tf.io.decode_jpeg(
                encoded, channels=channels, ratio=ratio, dct_method="INTEGER_FAST"
            )
            for ratio in JPEG_RATIOS
        ]
        return tf.switch_case(index, branches)

    def other() -> tf.Tensor:
        return tf.io.decode_image(encoded, channels=channels, expand_animations=False)

    if channels not in (1, 3):
        image = other()
    elif jpeg_only:
        image = jpeg()
    else:
        image = tf.cond(tf.io.is_jpeg(encoded), jpeg, other)
    image.set_shape([None, None, channels])
    return image


def decode_resized(
    encoded: tf.Tensor,
    size: tuple[int, int],
    channels: int,
    *,
    jpeg_only: bool = False,
    largest: tuple[int, int] | None = None,
) -> tf.Tensor:
    """One encoded image as float32 `(height, width, channels)` pixels in 0-255 at `size`:
    `decode_scaled`, then a bilinear resize.

    Returns:
        The resized image, float32 in [0, 255].
    """
    image = decode_scaled(encoded, size, channels, jpeg_only=jpeg_only, largest=largest)
    return tf.image.resize(image, size, method="bilinear")
