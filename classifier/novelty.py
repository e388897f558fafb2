"""Does this face look like anything the model learned from? A distance in the network's feature space.

A calibrated probability means what it says only on data like the validation split. For a face far
from every training photo (a new generator, a drawing, an odd crop) the honest answer is "be careful".
The training pipeline fits a whitened principal-component model of the pooled 1280-d features of the
training faces (``classifier.training.novelty``) and a threshold at a high percentile of validation
distances; here a face beyond it gets a warning. Pure NumPy on numbers stored in
``models/feature_stats.npz`` (no pickles).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

STATS_FILE = "feature_stats.npz"
NOVEL_WARNING = ("{n} analysed region(s) look unlike the photos the model learned from: the probability is less "
                 "reliable there, so treat the verdict with extra caution.")


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
    mean: np.ndarray  # (C,)
    components: np.ndarray  # (k, C), orthonormal rows
    scales: np.ndarray  # (k,), standard deviation along each component
    threshold: float  # distance above which a face counts as novel

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Root-mean-square whitened distance of each row of ``features`` (N, C) from the training faces."""
        z = (np.asarray(features, np.float64) - self.mean) @ self.components.T / self.scales
        return np.sqrt(np.mean(z * z, axis=1))

    def is_novel(self, features: np.ndarray) -> np.ndarray:
        return self.distance(features) > self.threshold

    def save(self, path: str | Path) -> None:
        np.savez(path, mean=self.mean, components=self.components, scales=self.scales,
                 threshold=np.array(self.threshold))


def load_feature_model(path: str | Path) -> FeatureModel:
    with np.load(path, allow_pickle=False) as f:
        return FeatureModel(f["mean"], f["components"], f["scales"], float(f["threshold"]))
