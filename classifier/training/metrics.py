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
