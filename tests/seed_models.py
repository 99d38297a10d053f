"""The seeds' models written in plain Keras, as the notebooks write them.

These are the references regkit's builders are checked against, layer for layer (tests) and
step time for step time (bench/bench_builders.py). Where a transcript lost lines (seed 002's
depthwise conv, zero padding and residual add), they are filled in as
keras.applications.MobileNetV2 has them, which is the seed's stated reference.
"""

from __future__ import annotations

import keras
from keras import layers


def seed000(reg=None, num_classes: int = 10) -> keras.Model:
    """Seed 000: Conv32(relu) > BN > MaxPool > Flatten > Dense512(relu) > BN > Dropout > softmax."""
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Conv2D(32, (3, 3), activation="relu", kernel_regularizer=reg, padding="same"),
            layers.BatchNormalization(axis=-1),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(512, activation="relu", kernel_regularizer=reg),
            layers.BatchNormalization(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def seed001(input_shape=(160, 160, 3), num_classes: int = 10) -> keras.Model:
    """Seed 001: three blocks of 2x(Conv relu + BN), MaxPool, Dropout 0.25; Dense256 head."""
    stack: list = [keras.Input(input_shape)]
    for width in (32, 64, 128):
        stack += [
            layers.Conv2D(width, (3, 3), activation="relu", padding="same"),
            layers.BatchNormalization(),
            layers.Conv2D(width, (3, 3), activation="relu", padding="same"),
            layers.BatchNormalization(),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.25),
        ]
    stack += [
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
    return keras.Sequential(stack)


def seed003(conv_bias: bool = False) -> keras.Model:
    """Seed 003, functional. The seed's convs carry a bias that the following BatchNorm
    cancels (BN subtracts the batch mean); regkit's "conv-bn-act" omits it, so the
    reference is written with ``use_bias=False`` unless `conv_bias` asks for the original."""
    l2 = keras.regularizers.L2(0.01)
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(32, 3, padding="same", kernel_regularizer=l2, use_bias=conv_bias)(inputs)
    x = layers.BatchNormalization()(x)
    x = keras.activations.relu(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", kernel_regularizer=l2, use_bias=conv_bias)(x)
    x = layers.BatchNormalization()(x)
    x = keras.activations.relu(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(128, 3, padding="same", kernel_regularizer=l2, use_bias=conv_bias)(x)
    x = layers.BatchNormalization()(x)
    x = keras.activations.relu(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu", kernel_regularizer=l2)(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs=inputs, outputs=outputs)


_SEED002_BLOCKS = (
    # (in_ch, out_ch, stride, shortcut) for blocks 1..16, as the seed lists them
    (16, 24, 2, False),
    (24, 24, 1, True),
    (24, 32, 2, False),
    (32, 32, 1, True),
    (32, 32, 1, True),
    (32, 64, 2, False),
    (64, 64, 1, True),
    (64, 64, 1, True),
    (64, 64, 1, True),
    (64, 96, 1, False),
    (96, 96, 1, True),
    (96, 96, 1, True),
    (96, 160, 2, False),
    (160, 160, 1, True),
    (160, 160, 1, True),
    (160, 320, 1, False),
)


def seed002(
    shape=(224, 224, 3), num_classes: int = 10, *, bn: bool = True, regularizer=None
) -> keras.Model:
    """Seed 002's MobileNetV2: `bn` and `regularizer` select its three variants."""
    reg = regularizer

    def conv(x, ch, k=1, strides=1):
        return layers.Conv2D(
            ch,
            k,
            strides,
            use_bias=False,
            padding="same",
            kernel_regularizer=reg,
            bias_regularizer=reg,
        )(x)

    def depthwise(x, strides=1):
        if strides == 2:
            x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
        return layers.DepthwiseConv2D(
            3,
            strides,
            use_bias=False,
            padding="same" if strides == 1 else "valid",
            depthwise_regularizer=reg,
            bias_regularizer=reg,
        )(x)

    def norm(x):
        return layers.BatchNormalization()(x) if bn else x

    def bottleneck(net, filters, out_ch, strides, shortcut):
        shortcut_net = net
        net = layers.ReLU(max_value=6)(norm(conv(net, filters * 6)))
        net = layers.ReLU(max_value=6)(norm(depthwise(net, strides)))
        net = norm(conv(net, out_ch))
        if shortcut:
            net = layers.Add()([net, shortcut_net])
        return net

    input_node = layers.Input(shape=shape)
    net = layers.ReLU(max_value=6)(norm(conv(input_node, 32, 3, 2)))
    net = layers.ReLU(max_value=6)(norm(depthwise(net)))
    net = norm(conv(net, 16))
    for in_ch, out_ch, strides, shortcut in _SEED002_BLOCKS:
        net = bottleneck(net, in_ch, out_ch, strides, shortcut)
    net = layers.ReLU(max_value=6)(norm(conv(net, 1280)))
    net = layers.GlobalAveragePooling2D()(net)
    net = layers.Dense(num_classes, kernel_regularizer=reg, bias_regularizer=reg)(net)
    return keras.Model(inputs=[input_node], outputs=[net])
