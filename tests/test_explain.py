"""Grad-CAM: points at the evidence, matches the textbook computation, and draws cleanly."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from classifier.explain import make_gradcam_heatmap, make_gradcam_model, overlay, upsample  # noqa: E402
from classifier.faces import detect_faces, model_input  # noqa: E402
from classifier.model import LAST_CONV_LAYER  # noqa: E402


def brightness_model(size: int = 16) -> keras.Model:
    """A network whose AI logit is the mean brightness: the evidence sits exactly where the pixels are bright."""
    x_in = keras.Input((size, size, 3))
    conv = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones")(x_in)
    feat = keras.layers.ReLU(name=LAST_CONV_LAYER)(conv)
    pooled = keras.layers.GlobalAveragePooling2D()(feat)
    logit = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(pooled)
    return keras.Model(x_in, logit)


def test_heatmap_points_at_the_region_that_drives_the_logit():
    crop = np.zeros((16, 16, 3), np.float32)
    crop[:8, :8] = 200.0  # only the top-left quarter raises the logit
    heat = make_gradcam_heatmap(make_gradcam_model(brightness_model()), crop)
    assert heat.shape == (16, 16) and heat.max() == pytest.approx(1.0)
    assert heat[:8, :8].min() == pytest.approx(1.0) and heat[8:, :].max() == 0.0 and heat[:, 8:].max() == 0.0


def test_no_evidence_gives_an_all_zero_map_not_nan():
    heat = make_gradcam_heatmap(make_gradcam_model(brightness_model()), np.zeros((16, 16, 3), np.float32))
    assert np.isfinite(heat).all() and heat.max() == 0.0


def test_traced_gradcam_equals_the_eager_textbook_version(clf, astronaut):
    """The traced function computes Selvaraju et al.'s map: checked against an eager tape on the shipped model."""
    crop = model_input(astronaut, detect_faces(astronaut)[0], clf.input_size).astype(np.float32)
    grad_model = keras.Model(clf.model.inputs, [clf.model.get_layer(LAST_CONV_LAYER).output, clf.model.output])
    x = tf.convert_to_tensor(crop[None])
    with tf.GradientTape() as tape:
        features, logit = grad_model(x, training=False)
        score = logit[:, 0]
    grads = tape.gradient(score, features)
    cam = np.maximum((features[0] * tf.reduce_mean(grads, axis=(1, 2))[0]).numpy().sum(-1), 0)
    expected = cam / cam.max()

    heat = clf.heatmap(crop)
    assert heat.shape == crop.shape[:2] and 0.0 <= heat.min() and heat.max() <= 1.0
    np.testing.assert_allclose(make_gradcam_heatmap(make_gradcam_model(clf.model), crop), expected, atol=1e-4)
    assert expected.std() > 0.05  # the map has structure, so agreement means something


def test_overlay_keeps_the_image_shape_and_type():
    rgb = np.full((40, 60, 3), 100, np.uint8)
    heat = np.zeros((7, 7), np.float32)
    heat[3, 3] = 1.0
    out = overlay(rgb, heat)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert upsample(heat, (40, 60)).shape == (40, 60)
    assert not np.array_equal(out[20, 30], out[0, 0])  # the hot centre is coloured differently from the corner
