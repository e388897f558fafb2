"""Synthetic group photos of real faces: how often does one false face condemn a whole real photo?

An image's verdict is its most AI-like face's, so a photo of k real people is called AI whenever any one
of them is: with a per-face false-AI rate f, about 1 - (1 - f) ** k. Our data holds single portraits,
so group photos are composed from real test photos: 2 to 4 of them side by side (a row, or a 2x2 grid),
each shrunk to a random size, on a plain background, then saved as a JPEG as a camera would. The faces
are real and the composite adds no generator traces, so every one should come back *Real*.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..predictor import Classifier, Prediction
from .augment import jpeg_roundtrip

GROUP_SIZES = (2, 3, 4)


def compose(faces: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """2-4 photos in a row (or a 2x2 grid for four), each 160-256 px, 8-24 px apart, on a flat background."""
    side = int(rng.integers(160, 257))
    gap = int(rng.integers(8, 25))
    tiles = [cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in faces]
    cols = 2 if len(tiles) == 4 and rng.random() < 0.5 else len(tiles)
    rows = -(-len(tiles) // cols)
    canvas = np.empty((rows * side + (rows + 1) * gap, cols * side + (cols + 1) * gap, 3), np.uint8)
    canvas[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = gap + r * (side + gap), gap + c * (side + gap)
        canvas[y:y + side, x:x + side] = tile
    return jpeg_roundtrip(canvas, int(rng.integers(80, 96)))


def group_photos(real: list[np.ndarray], n: int, seed: int = 0) -> tuple[list[np.ndarray], list[int]]:
    """``n`` composites of distinct real photos (sizes cycling through GROUP_SIZES), and each one's face count."""
    rng = np.random.default_rng([seed, 5150])
    images, sizes = [], []
    for k in range(n):
        size = GROUP_SIZES[k % len(GROUP_SIZES)]
        pick = rng.choice(len(real), size=size, replace=False)
        images.append(compose([real[i] for i in pick], rng))
        sizes.append(size)
    return images, sizes


def group_photo_report(clf: Classifier, real: list[np.ndarray], n: int = 300, seed: int = 0,
                       batch: int = 16) -> dict:
    """The image verdicts on ``n`` synthetic group photos of real test faces, overall and by group size."""
    images, sizes = group_photos(real, n, seed)
    preds: list[Prediction] = []
    for s in range(0, len(images), batch):
        preds += [p for p in clf.predict_batch(images[s:s + batch], raise_errors=True)]  # type: ignore[misc]
    verdicts = np.array([p.verdict for p in preds])
    found = np.array([len([f for f in p.faces if f.box is not None]) for p in preds])
    sizes_a = np.array(sizes)
    by_size = {str(k): {"n": int((sizes_a == k).sum()),
                        "called_ai": float(np.mean(verdicts[sizes_a == k] == "ai")),
                        "called_real": float(np.mean(verdicts[sizes_a == k] == "real"))} for k in GROUP_SIZES}
    return {
        "n": len(preds), "seed": seed,
        "called_ai": float(np.mean(verdicts == "ai")),
        "called_real": float(np.mean(verdicts == "real")),
        "uncertain": float(np.mean(verdicts == "uncertain")),
        "faces_found_share": float(np.mean(found >= sizes_a)),
        "by_size": by_size,
        "how": "2-4 real test photos side by side (a row or a 2x2 grid), 160-256 px each, on a flat "
               "background, saved as JPEG quality 80-95; the image verdict is its most AI-like face's",
    }
