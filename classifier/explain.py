"""Heatmaps: which regions of a face crop pushed the network towards "AI-generated".

Grad-CAM (Selvaraju et al., 2017) weights the last feature map ``F`` by the spatial mean of the
logit's gradient and keeps the positive part. Our networks end in global average pooling and one
dense logit ``w . mean(F) + b``, so that gradient is ``w / (h * w)`` at every location and
Grad-CAM reduces to CAM (Zhou et al., 2016): ``relu(F . w)``, up to a constant that the
normalisation removes. The exported LiteRT model computes ``F . w`` as a second output, so the
map costs nothing extra and needs no TensorFlow; a test checks it against Keras' Grad-CAM.
"""

from __future__ import annotations

import cv2
import numpy as np


def cam_heatmap(raw_cam: np.ndarray) -> np.ndarray:
    """A [0, 1] heatmap at feature-map resolution from one raw map ``F . w`` (h, w)."""
    cam = np.maximum(np.asarray(raw_cam, np.float32), 0.0)
    top = float(cam.max())
    return cam / top if top > 0 else np.zeros_like(cam)


def upsample(heatmap: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Smoothly resize a heatmap to ``shape`` (rows, cols)."""
    return cv2.resize(heatmap, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def overlay(rgb: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend a [0, 1] heatmap (any size) over an RGB image as a colour map."""
    heat = upsample(heatmap, rgb.shape[:2])
    colour = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    return (rgb.astype(np.float32) * (1 - alpha) + colour.astype(np.float32) * alpha).clip(0, 255).astype(np.uint8)
