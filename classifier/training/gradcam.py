"""Keras Grad-CAM: the reference the runtime's TensorFlow-free heatmaps are checked against."""

from __future__ import annotations

import numpy as np


def make_gradcam_model(model, layer: str | None = None):
    """A traced function: crops (N, H, W, 3) -> Grad-CAM maps (N, h, w) at feature-map resolution."""
    import keras
    import tensorflow as tf

    from .model import LAST_CONV_LAYER

    grad_model = keras.Model(model.inputs, [model.get_layer(layer or LAST_CONV_LAYER).output, model.output])

    @tf.function(reduce_retracing=True)
    def cams(x):
        with tf.GradientTape() as tape:
            features, logit = grad_model(x, training=False)
            score = logit[:, 0]
        grads = tape.gradient(score, features)
        weights = tf.reduce_mean(grads, axis=(1, 2))  # one weight per channel
        return tf.nn.relu(tf.reduce_sum(features * weights[:, None, None, :], axis=-1))

    return cams


def make_gradcam_heatmap(gradcam, crop: np.ndarray) -> np.ndarray:
    """Heatmap in [0, 1] at feature-map resolution for one crop (H, W, 3); ``gradcam`` from ``make_gradcam_model``."""
    cam = gradcam(np.asarray(crop, np.float32)[None])[0].numpy()
    top = cam.max()
    return (cam / top).astype(np.float32) if top > 0 else np.zeros_like(cam, dtype=np.float32)
