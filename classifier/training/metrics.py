"""Ranking metrics, via scikit-learn (the reference implementation everyone checks against)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC-AUC, or None when only one class is present (AUC is undefined there)."""
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return None
    return float(skm.roc_auc_score(y, score))


def roc_points(y: np.ndarray, score: np.ndarray, max_points: int = 200) -> dict[str, list[float]]:
    """False/true positive rates along the ROC curve, thinned for charts."""
    fpr, tpr, _ = skm.roc_curve(y, score)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), max_points)).astype(int))
    return {"fpr": fpr[keep].round(5).tolist(), "tpr": tpr[keep].round(5).tolist()}


def confusion(y: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    """Counts with AI as the positive class."""
    y, pred = np.asarray(y).astype(bool), np.asarray(pred).astype(bool)
    return {"tp": int((y & pred).sum()), "fn": int((y & ~pred).sum()),
            "fp": int((~y & pred).sum()), "tn": int((~y & ~pred).sum())}


def paired_delta_interval(y: np.ndarray, before: np.ndarray, after: np.ndarray, n_boot: int = 2000,
                          level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval for the change in balanced accuracy from ``before`` to ``after``
    (boolean AI verdicts on the same images, AI the positive class).

    Why: a robustness check's loss is measured on a few hundred AI test images, so a point or so is noise;
    resampling the images (each class apart, so both are always present) with both verdicts kept together
    says how far the loss could move on another sample of the same sources. Seeded: repeatable.
    """
    y, before, after = (np.asarray(a).astype(bool) for a in (y, before, after))
    rng = np.random.default_rng(seed)
    rates = []
    for cls in (True, False):
        hit_before, hit_after = before[y == cls] == cls, after[y == cls] == cls  # right on this class
        if not len(hit_before):
            raise ValueError("both classes are needed for balanced accuracy")
        idx = rng.integers(0, len(hit_before), (n_boot, len(hit_before)))
        rates.append(hit_after[idx].mean(axis=1) - hit_before[idx].mean(axis=1))
    deltas = (rates[0] + rates[1]) / 2
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(deltas, [tail, 100 - tail])
    return float(lo), float(hi)
