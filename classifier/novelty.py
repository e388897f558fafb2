"""Does this face look like anything the model learned from? A distance in the network's feature space.

A calibrated probability means what it says only on data like the validation split. For a face far
from every training photo (a new generator, a drawing, an odd crop) the honest answer is "be careful".
The training pipeline fits a whitened principal-component model of the pooled 1280-d features of the
training faces (``classifier.training.novelty``) and thresholds at a high percentile of validation
distances, within the principal subspace and off it; here a face beyond either gets a warning. Pure
NumPy on numbers stored in ``models/feature_stats.npz`` (no pickles).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

STATS_FILE = "feature_stats.npz"
NOVEL_WARNING = ("{n} analysed region(s) look unlike the photos the model learned from: the probability is less "
                 "reliable there, so a verdict needs stronger evidence (a wider uncertain band); treat it with "
                 "extra caution.")


FLAT_STD = 2.0  # grey levels; see featureless


def featureless(crops: np.ndarray, max_std: float = FLAT_STD) -> np.ndarray:
    """True for crops (N, H, W, 3) that are all but uniform: blank, black, a lens cap, a flat fill.

    Such a crop carries no evidence either way, yet the feature distance need not notice it: the
    2.2 network maps a flat grey square close to the training faces (whitened distance 1.16, the
    threshold 2.11). So flatness counts as "unlike the photos the model learned from" by itself.
    """
    x = np.asarray(crops, np.float32)
    return x.reshape(len(x), -1).std(axis=1) < max_std if len(x) else np.zeros(0, bool)


@dataclass(frozen=True)
class FeatureModel:
    """Two distances from the training faces, each with its own validation-percentile threshold.

    ``distance`` measures how unusual a face is *within* the principal subspace; ``residual`` how far
    it lies *off* it. They catch different things: on the 2.2 network random noise, a checkerboard
    and a cat photo sit at ordinary whitened distances (1.4-1.8, threshold 2.1) but far off the
    subspace (residual 4.8-6.7, validation p99 4.7). Files from before the residual keep only the first.
    """

    mean: np.ndarray  # (C,)
    components: np.ndarray  # (k, C), orthonormal rows
    scales: np.ndarray  # (k,), standard deviation along each component
    threshold: float  # whitened distance above which a face counts as novel
    residual_threshold: float = float("inf")  # off-subspace distance above which a face counts as novel

    def _centred(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(features, np.float64) - self.mean
        return c, c @ self.components.T

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Root-mean-square whitened distance of each row of ``features`` (N, C) from the training faces."""
        z = self._centred(features)[1] / self.scales
        return np.sqrt(np.mean(z * z, axis=1))

    def residual(self, features: np.ndarray) -> np.ndarray:
        """Euclidean distance of each row from the principal subspace (what the components do not explain)."""
        c, proj = self._centred(features)
        return np.sqrt(np.maximum(np.sum(c * c, axis=1) - np.sum(proj * proj, axis=1), 0.0))

    def is_novel(self, features: np.ndarray) -> np.ndarray:
        return (self.distance(features) > self.threshold) | (self.residual(features) > self.residual_threshold)

    def save(self, path: str | Path) -> None:
        np.savez(path, mean=self.mean, components=self.components, scales=self.scales,
                 threshold=np.array(self.threshold), residual_threshold=np.array(self.residual_threshold))


def load_feature_model(path: str | Path) -> FeatureModel:
    with np.load(path, allow_pickle=False) as f:
        residual = float(f["residual_threshold"]) if "residual_threshold" in f.files else float("inf")
        return FeatureModel(f["mean"], f["components"], f["scales"], float(f["threshold"]), residual)
