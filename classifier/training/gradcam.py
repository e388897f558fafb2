"""Keras Grad-CAM: the reference the runtime's TensorFlow-free heatmaps are checked against."""

from __future__ import annotations

import numpy as np


def make_gradcam_model(model, layer: str | None = None, views: int = 1):
    """A traced function: crops (N, H, W, 3) -> Grad-CAM maps (N, h, w) at feature-map resolution.

    ``views=2`` is Grad-CAM of the two-view verdict (the mean logit of a crop and its mirror image):
    each view's gradient-weighted map, the mirror's flipped back, averaged before the ReLU.
    """
    import keras
    import tensorflow as tf

    from .model import LAST_CONV_LAYER

    grad_model = keras.Model(model.inputs, [model.get_layer(layer or LAST_CONV_LAYER).output, model.output])

    @tf.function(reduce_retracing=True)
    def cams(x):
        n = tf.shape(x)[0]
        if views == 2:
            x = tf.concat([x, tf.reverse(x, [2])], 0)
        with tf.GradientTape() as tape:
            features, logit = grad_model(x, training=False)
            score = logit[:, 0] / views
        grads = tape.gradient(score, features)
        weights = tf.reduce_mean(grads, axis=(1, 2))  # one weight per channel
        maps = tf.reduce_sum(features * weights[:, None, None, :], axis=-1)
        if views == 2:
            maps = maps[:n] + tf.reverse(maps[n:], [2])
        return tf.nn.relu(maps)

    return cams


def make_gradcam_heatmap(gradcam, crop: np.ndarray) -> np.ndarray:
    """Heatmap in [0, 1] at feature-map resolution for one crop (H, W, 3); ``gradcam`` from ``make_gradcam_model``."""
    cam = gradcam(np.asarray(crop, np.float32)[None])[0].numpy()
    top = cam.max()
    return (cam / top).astype(np.float32) if top > 0 else np.zeros_like(cam, dtype=np.float32)
