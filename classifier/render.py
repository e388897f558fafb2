"""Pictures of a prediction (boxes, labels, heatmaps) as plain RGB arrays for any UI."""

from __future__ import annotations

import cv2
import numpy as np

from .explain import overlay
from .predictor import Prediction

VERDICT_LABELS = {"ai": "AI-generated", "real": "Real", "uncertain": "Uncertain"}
VERDICT_COLOURS = {"ai": (220, 50, 47), "real": (38, 139, 60), "uncertain": (230, 160, 0)}  # RGB


def annotate(rgb: np.ndarray, pred: Prediction, heatmaps: bool = False) -> np.ndarray:
    """A copy of ``rgb`` with each analysed region boxed in its verdict's colour.

    With ``heatmaps`` (and heatmaps computed by ``predict(..., explain=True)``),
    each analysed crop is tinted by its Grad-CAM map.
    """
    out = rgb.copy()
    thick = max(2, round(max(rgb.shape[:2]) / 300))
    for i, face in enumerate(pred.faces, 1):
        x, y, w, h = face.crop
        if heatmaps and face.heatmap is not None:
            out[y : y + h, x : x + w] = overlay(out[y : y + h, x : x + w], face.heatmap)
        colour = VERDICT_COLOURS[face.verdict]
        bx, by, bw, bh = face.box or face.crop
        cv2.rectangle(out, (bx, by), (bx + bw, by + bh), colour, thick)
        label = f"{i}: {VERDICT_LABELS[face.verdict]} {face.p_ai:.0%}"
        scale = max(0.4, max(rgb.shape[:2]) / 1200)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty = max(th + 4, by - 4)
        cv2.rectangle(out, (bx, ty - th - 4), (bx + tw + 4, ty + 2), colour, -1)
        cv2.putText(out, label, (bx + 2, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out
