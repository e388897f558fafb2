"""Network definitions: pure builder functions, no file I/O.

Two candidates are compared on the validation split (see the model card):
- ``make_model``: MobileNetV2 laid out exactly like torchvision's, so ImageNet
  weights from ``backbone.py`` load one-to-one, with a one-logit head;
- ``make_small_cnn``: a compact CNN trained from scratch, the baseline.

Both take RGB pixels in [0, 255] and normalise inside the graph, so every caller
(app, CLI, training) feeds the same thing and cannot forget a step.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from .backbone import block_plan

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-5  # torchvision's BatchNorm epsilon
LAST_CONV_LAYER = "head_relu"  # Grad-CAM target: last spatial feature map


def _normalise(x):
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    return layers.Normalization(
        mean=list(IMAGENET_MEAN),
        variance=[s * s for s in IMAGENET_STD],
        name="imagenet_norm",
    )(x)


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, bn_name: str, relu: bool):
    if stride == 2 and kernel == 3:
        # torch pads 1 on every side; Keras "same" would pad asymmetrically.
        x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(epsilon=BN_EPS, momentum=0.9, name=bn_name)(x)
    if relu:
        x = layers.ReLU(6.0, name=f"{name}_relu")(x)
    return x


def _depthwise_bn(x, stride: int, name: str):
    if stride == 2:
        x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    x = layers.DepthwiseConv2D(
        3, strides=stride, padding="valid" if stride == 2 else "same", use_bias=False, name=name
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPS, momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def mobilenet_v2_features(inputs, style_mixer: Callable | None = None):
    """torchvision's ``mobilenet_v2().features`` as Keras layers; returns the 1280-d map.

    ``style_mixer(x, name)``, if given, is called after each block with the name of the block's last layer
    and returns what the next block reads (``mixstyle.style_mixer``: training-time layers, no weights)."""
    x = _normalise(inputs)
    x = _conv_bn(x, 32, 3, 2, "stem_conv", "stem_bn", relu=True)
    channels = 32
    for idx, t, c, s in block_plan():
        p = f"block{idx}"
        h = x
        if t != 1:
            h = _conv_bn(h, channels * t, 1, 1, f"{p}_expand", f"{p}_expand_bn", relu=True)
        h = _depthwise_bn(h, s, f"{p}_dw")
        h = _conv_bn(h, c, 1, 1, f"{p}_project", f"{p}_project_bn", relu=False)
        if s == 1 and channels == c:
            h = layers.Add(name=f"{p}_add")([x, h])
        if style_mixer is not None:
            h = style_mixer(h, f"{p}_add" if s == 1 and channels == c else f"{p}_project_bn")
        x, channels = h, c
    x = layers.Conv2D(1280, 1, use_bias=False, name="head_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPS, momentum=0.9, name="head_bn")(x)
    return layers.ReLU(6.0, name=LAST_CONV_LAYER)(x)


def make_imagenet_classifier(input_size: int = 224) -> keras.Model:
    """The full ImageNet network, used only to check the weight port."""
    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    x = layers.GlobalAveragePooling2D(name="pool")(mobilenet_v2_features(inputs))
    outputs = layers.Dense(1000, name="imagenet_logits")(x)
    return keras.Model(inputs, outputs, name="mobilenet_v2_imagenet")


def make_model(input_size: int = 224, dropout: float = 0.2, style_mixer: Callable | None = None) -> keras.Model:
    """MobileNetV2 features + a single logit (AI-generated vs real); ``style_mixer``: see
    ``mobilenet_v2_features``."""
    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    x = layers.GlobalAveragePooling2D(name="pool")(mobilenet_v2_features(inputs, style_mixer))
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name="ai_vs_real_mobilenetv2")


def make_small_cnn(input_size: int = 224, width: int = 16, dropout: float = 0.3) -> keras.Model:
    """Baseline trained from scratch: five conv stages, global pooling, one logit."""
    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    x = _normalise(inputs)
    for i, mult in enumerate((1, 2, 4, 4, 8)):
        x = layers.Conv2D(width * mult, 3, padding="same", use_bias=False, name=f"conv{i}a")(x)
        x = layers.BatchNormalization(name=f"bn{i}a")(x)
        x = layers.ReLU(name=f"relu{i}a")(x)
        x = layers.Conv2D(width * mult, 3, padding="same", use_bias=False, name=f"conv{i}b")(x)
        x = layers.BatchNormalization(name=f"bn{i}b")(x)
        x = layers.ReLU(name=LAST_CONV_LAYER if i == 4 else f"relu{i}b")(x)
        if i < 4:
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name="ai_vs_real_small_cnn")


def freeze_through(model: keras.Model, last_layer: str | None) -> int:
    """Freeze every layer up to and including ``last_layer``; return how many.

    Why: the first blocks hold generic edge and colour filters. Keeping them at
    their ImageNet values leaves fewer weights to memorise the few hundred images
    of a small source, and skipping their gradients makes a step ~40% cheaper on
    CPU, so the same time buys more steps. Frozen BatchNorm layers run in
    inference mode (Keras does that for ``trainable=False``).
    """
    if last_layer is None:
        return 0
    names = [layer.name for layer in model.layers]
    if last_layer not in names:
        raise ValueError(f"no layer named {last_layer!r} to freeze through")
    k = names.index(last_layer) + 1
    for layer in model.layers[:k]:
        layer.trainable = False
    return k


def load_imagenet_weights(model: keras.Model, weights: dict) -> int:
    """Copy ported ImageNet weights into every layer of ``model`` that has a match."""
    n = 0
    for layer in model.layers:
        if layer.name in weights:
            layer.set_weights(weights[layer.name])
            n += 1
    return n


def copy_weights_by_name(src: keras.Model, dst: keras.Model) -> int:
    """Copy every weighted layer of ``src`` into the layer of the same name in ``dst`` (a graph rebuilt with
    training-time layers or at another input size); return how many.

    Raises if a weighted layer of either model has no partner, so a renamed layer cannot be left at its
    initial values without anyone noticing."""
    weights = {layer.name: layer.get_weights() for layer in src.layers if layer.weights}
    missing = sorted({layer.name for layer in dst.layers if layer.weights} ^ set(weights))
    if missing:
        raise ValueError(f"layers without a partner: {missing[:5]}")
    return load_imagenet_weights(dst, weights)
