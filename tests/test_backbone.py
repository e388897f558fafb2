"""The ImageNet ports: each backbone's checkpoint fills every layer of our Keras graph, and the ported
network still names the classes in two well-known photos. A wrong transpose, padding or normalisation
breaks the second check long before it would show in a training run."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from classifier.training.model import (  # noqa: E402
    ARCHES,
    BACKBONES,
    imagenet_weights,
    load_imagenet_weights,
    make_imagenet_classifier,
    make_model,
)

CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE_CLASSES = {967, 968}  # espresso, cup


def _weights_or_skip(arch: str) -> dict:
    try:
        return imagenet_weights(arch)
    except RuntimeError as exc:  # the weights extra is missing (make test installs it)
        pytest.skip(str(exc))


@pytest.mark.parametrize("arch", BACKBONES)
def test_the_checkpoint_fills_every_weighted_layer_with_matching_shapes(arch: str) -> None:
    weights = _weights_or_skip(arch)
    model = make_imagenet_classifier(64, arch)
    weighted = {layer.name: layer for layer in model.layers if layer.weights}
    assert set(weighted) == set(weights)
    for name, layer in weighted.items():
        assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights[name]], name


@pytest.mark.parametrize("arch", BACKBONES)
def test_the_ported_network_recognises_a_cat_and_a_coffee(arch: str) -> None:
    from PIL import Image
    from skimage import data

    model = make_imagenet_classifier(224, arch)
    load_imagenet_weights(model, _weights_or_skip(arch))
    photos = np.stack([np.asarray(Image.fromarray(im).resize((224, 224)), np.float32)
                       for im in (data.chelsea(), data.coffee())])
    top3 = np.argsort(-model.predict(photos, verbose=0), axis=1)[:, :3]
    assert top3[0, 0] in CAT_CLASSES and top3[1, 0] in COFFEE_CLASSES, top3


def test_both_backbones_end_in_the_layer_grad_cam_and_the_export_read() -> None:
    from classifier.training.model import LAST_CONV_LAYER

    for arch in ARCHES:
        model = make_model(64, arch=arch)
        assert model.get_layer(LAST_CONV_LAYER).output.shape[-1] == (256 if "_local" in arch else 1280)
        assert model.get_layer("block3_add")  # the default freeze point exists in every one


def test_the_local_variant_is_lite0_cut_at_stride_8_with_its_own_head() -> None:
    """What makes it local: no block past the 40-channel stage, a patch map at 1/8 of the input, ImageNet
    weights in every block it keeps and none in its fresh head; its logit is the mean of per-patch logits."""
    from classifier.training.model import LAST_CONV_LAYER, LOCAL_LAST_BLOCK

    weights = _weights_or_skip("efficientnet_lite0_local")
    model = make_model(64, arch="efficientnet_lite0_local")
    names = {layer.name for layer in model.layers}
    assert f"block{LOCAL_LAST_BLOCK}_add" in names and f"block{LOCAL_LAST_BLOCK + 1}_expand" not in names
    assert "head_conv" not in names and "local_conv" in names
    assert model.get_layer(LAST_CONV_LAYER).output.shape[1:3] == (8, 8)
    kept = {layer.name for layer in model.layers if layer.weights} - {"local_conv", "local_bn", "logit"}
    assert kept and kept <= set(weights)
    assert load_imagenet_weights(model, weights) == len(kept)

    import keras

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    patch_map = keras.Model(model.input, model.get_layer(LAST_CONV_LAYER).output)(x).numpy()
    kernel, bias = model.get_layer("logit").get_weights()
    per_patch = patch_map @ kernel[:, 0] + bias[0]
    np.testing.assert_allclose(per_patch.mean(axis=(1, 2)), model(x, training=False).numpy()[:, 0], atol=1e-4)


def test_an_unknown_backbone_or_mixstyle_on_lite0_is_refused() -> None:
    from classifier.training.mixstyle import style_mixer

    with pytest.raises(ValueError, match="unknown backbone"):
        make_model(64, arch="resnet")
    with pytest.raises(ValueError, match="MixStyle"):
        make_model(64, arch="efficientnet_lite0", style_mixer=style_mixer(1.0, seed=0))
