"""Evaluation entry point: ``python -m classifier evaluate`` (or ``make evaluate``).

Scores the shipped model on the untouched test split through the same
pipeline the app uses (decode, face detection, crop, network, calibration), and
writes ``models/evaluation.json`` for the Insights page, the README and the
Takeaways page: overall and per-source/per-generator metrics, ROC and
reliability points, and robustness to common degradations.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .. import calibration as cal
from ..card import CARD_FILE, EVAL_FILE, read_json, write_json
from ..faces import detect_faces, model_input
from ..predictor import Classifier, load_classifier, model_dir_default
from .augment import jpeg_roundtrip, to_gray
from .data import Record, load_images, read_manifest
from .metrics import confusion, roc_auc, roc_points


def _half_scale(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def _webcam_like(img: np.ndarray) -> np.ndarray:
    """Soft focus, sensor noise and JPEG q70: a rough stand-in for a webcam frame."""
    rng = np.random.default_rng(int(img[::17, ::17].sum()))  # fixed per image: repeatable
    soft = cv2.GaussianBlur(img, (0, 0), 1.0)
    noisy = np.clip(soft + rng.normal(0, 4.0, img.shape), 0, 255).astype(np.uint8)
    return jpeg_roundtrip(noisy, 70)


ROBUSTNESS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "original": lambda im: im,
    "jpeg_q50": lambda im: jpeg_roundtrip(im, 50),
    "half_scale": _half_scale,
    "grayscale": to_gray,
    "blur_5px": lambda im: cv2.GaussianBlur(im, (5, 5), 0),
    "webcam_like": _webcam_like,
}


def pipeline_probabilities(clf: Classifier, images: list[np.ndarray], batch: int = 64) -> np.ndarray:
    """Calibrated p_ai per image via the app's pipeline (top face, else centre square)."""
    out = []
    for i in range(0, len(images), batch):
        crops = []
        for img in images[i : i + batch]:
            faces = detect_faces(img, max_faces=1)
            crops.append(model_input(img, faces[0] if faces else None, clf.input_size))
        out.append(clf.probabilities(np.stack(crops)))
    return np.concatenate(out)


def summary(y: np.ndarray, p: np.ndarray, threshold: float, band: tuple[float, float]) -> dict:
    pred = p >= threshold
    return {
        "n": int(len(y)),
        "roc_auc": roc_auc(y, p),
        "accuracy": float(np.mean(pred == y.astype(bool))),
        "balanced_accuracy": cal.balanced_accuracy(y, pred),
        "ece": cal.expected_calibration_error(p, y),
        "uncertain_fraction": float(np.mean((p >= band[0]) & (p < band[1]))),
        "threshold": threshold,
        "confusion": confusion(y, pred),
    }


def per_group(records: list[Record], y: np.ndarray, p: np.ndarray, threshold: float) -> tuple[list, list]:
    pred = p >= threshold
    sources, generators = [], []
    for src in sorted({r.source for r in records}):
        m = np.array([r.source == src for r in records])
        r0 = next(r for r in records if r.source == src)
        sources.append(
            {
                "source": src,
                "label": r0.label,
                "generator": r0.generator,
                "n": int(m.sum()),
                "accuracy": float(np.mean(pred[m] == y[m].astype(bool))),
                "mean_p_ai": float(p[m].mean()),
            }
        )
    real = y == 0
    for gen in sorted({r.generator for r in records}):
        m = np.array([r.generator == gen for r in records])
        label = next(r.label for r in records if r.generator == gen)
        both = m | real if label == "ai" else m
        generators.append(
            {
                "generator": gen,
                "label": label,
                "n": int(m.sum()),
                "accuracy": float(np.mean(pred[m] == y[m].astype(bool))),
                "roc_auc_vs_real": roc_auc(y[both], p[both]) if label == "ai" else None,
            }
        )
    return sources, generators


def evaluate(
    model_dir: str | Path | None = None, data: str | None = None, split: str = "test", write: bool = True
) -> dict:
    """Score ``split`` and (for the test split) write ``evaluation.json`` beside the model."""
    model_dir = Path(model_dir or model_dir_default())
    clf = load_classifier(model_dir)
    records = [r for r in read_manifest(data) if r.split == split]
    images = load_images(records, data)
    y = np.array([r.y for r in records])
    report: dict = {"split": split}
    robustness = []
    p_orig = None
    for name, transform in ROBUSTNESS.items():
        p = pipeline_probabilities(clf, [transform(im) for im in images])
        if name == "original":
            p_orig = p
        s = summary(y, p, clf.threshold, clf.band)
        robustness.append(
            {"name": name, "balanced_accuracy": s["balanced_accuracy"], "roc_auc": s["roc_auc"], "ece": s["ece"]}
        )
        print(f"  {name:12s} balanced_acc={s['balanced_accuracy']:.4f} auc={s['roc_auc']:.4f}", flush=True)
    for row in robustness:
        row["delta_balanced_accuracy"] = row["balanced_accuracy"] - robustness[0]["balanced_accuracy"]
    report["overall"] = summary(y, p_orig, clf.threshold, clf.band)
    report["per_source"], report["per_generator"] = per_group(records, y, p_orig, clf.threshold)
    report["roc"] = roc_points(y, p_orig)
    report["reliability"] = cal.reliability_bins(p_orig, y)
    report["robustness"] = robustness
    candidates = model_dir / "candidates.json"
    if candidates.exists():
        report["candidates"] = read_json(candidates)["candidates"]
    if write and split == "test":
        write_json(model_dir / EVAL_FILE, report)
        card = read_json(model_dir / CARD_FILE)
        card["test"] = {k: report["overall"][k] for k in ("n", "roc_auc", "accuracy", "balanced_accuracy", "ece")}
        write_json(model_dir / CARD_FILE, card)
    return report
