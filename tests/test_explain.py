"""Heatmaps: the runtime's TensorFlow-free CAM equals Keras' Grad-CAM, points at the evidence, draws cleanly."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.explain import cam_heatmap, overlay, upsample
from classifier.faces import detect_faces, model_input

# Both maps are normalised to [0, 1]; they differ only by float32 rounding in two runtimes.
CAM_TOLERANCE = 1e-3


def test_cam_keeps_the_positive_evidence_only():
    raw = np.array([[2.0, -1.0], [0.5, 0.0]], np.float32)
    np.testing.assert_allclose(cam_heatmap(raw), [[1.0, 0.0], [0.25, 0.0]])


def test_no_evidence_gives_an_all_zero_map_not_nan():
    heat = cam_heatmap(np.full((8, 8), -3.0, np.float32))
    assert np.isfinite(heat).all() and heat.max() == 0.0


def test_runtime_cam_equals_keras_gradcam_on_the_shipped_model(clf, keras_model, astronaut):
    """For GAP + one dense logit, Grad-CAM is CAM: the LiteRT map matches Keras' Grad-CAM to CAM_TOLERANCE."""
    from classifier.training.export import views_of
    from classifier.training.gradcam import make_gradcam_heatmap, make_gradcam_model

    gradcam = make_gradcam_model(keras_model, views=views_of(clf.card))  # Grad-CAM of the verdict the card gives
    face = detect_faces(astronaut)[0]
    rng = np.random.default_rng(1)
    crops = [model_input(astronaut, face, clf.input_size), model_input(astronaut, None, clf.input_size),
             rng.integers(0, 256, (clf.input_size, clf.input_size, 3), dtype=np.uint8)]
    spread = []
    for crop in crops:
        expected = make_gradcam_heatmap(gradcam, crop.astype(np.float32))
        _, cams = clf.probabilities_and_maps(crop)
        got = cam_heatmap(cams[0])
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=CAM_TOLERANCE)
        spread.append(float(expected.std()))
    # A confidently real crop may have no AI evidence anywhere (an all-zero map); at least one map must
    # have structure, so that the agreement means something.
    assert max(spread) > 0.05, spread


def test_keras_gradcam_points_at_the_region_that_drives_the_logit():
    """The reference itself: on a network whose logit is the brightness, the evidence is where pixels are bright."""
    keras = pytest.importorskip("keras")
    from classifier.training.gradcam import make_gradcam_heatmap, make_gradcam_model

    x_in = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones")(x_in)
    feat = keras.layers.ReLU(name="feat")(conv)
    pooled = keras.layers.GlobalAveragePooling2D()(feat)
    logit = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(pooled)
    crop = np.zeros((16, 16, 3), np.float32)
    crop[:8, :8] = 200.0
    heat = make_gradcam_heatmap(make_gradcam_model(keras.Model(x_in, logit), layer="feat"), crop)
    assert heat[:8, :8].min() == pytest.approx(1.0) and heat[8:, :].max() == 0.0 and heat[:, 8:].max() == 0.0


def test_heatmap_through_predict_is_input_sized(clf, astronaut):
    pred = clf.predict(astronaut, explain=True)
    for face in pred.faces:  # the network's input square; overlay() resizes it onto the crop
        assert face.heatmap.shape == (clf.input_size, clf.input_size)
        assert 0.0 <= face.heatmap.min() and face.heatmap.max() <= 1.0


def test_overlay_keeps_the_image_shape_and_type():
    rgb = np.full((40, 60, 3), 100, np.uint8)
    heat = np.zeros((7, 7), np.float32)
    heat[3, 3] = 1.0
    out = overlay(rgb, heat)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert upsample(heat, (40, 60)).shape == (40, 60)
    assert not np.array_equal(out[20, 30], out[0, 0])  # the hot centre is coloured differently from the corner
