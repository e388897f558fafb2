"""Fit the feature-space model behind the runtime's "unlike the training data" warning.

``python -m classifier novelty``: the pooled features of every training face (the network's own,
from the LiteRT copy, un-augmented), their top principal components, and two thresholds at high
percentiles of validation distances (within the subspace and off it), so about 1 % of faces like the
validation split are flagged. Written to ``models/feature_stats.npz`` and recorded, with its checksum,
in the card.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..card import CARD_FILE, read_json, sha256_of, write_json
from ..faces import model_input
from ..novelty import STATS_FILE, FeatureModel
from ..predictor import Classifier, load_classifier, model_dir_default
from .data import Record, face_boxes, load_images, protocol_split, read_manifest

COMPONENTS = 32
PERCENTILE = 99.0


def fit_feature_model(train: np.ndarray, val: np.ndarray, k: int = COMPONENTS,
                      percentile: float = PERCENTILE) -> FeatureModel:
    """Whitened PCA of ``train`` features (N, C); both thresholds from the distances of ``val``.

    Each of the two distances gets the percentile halfway between ``percentile`` and 100, so that
    together they flag about ``100 - percentile`` % of validation faces, as one distance did before.
    """
    train = np.asarray(train, np.float64)
    mean = train.mean(axis=0)
    _, sing, vt = np.linalg.svd(train - mean, full_matrices=False)
    scales = np.maximum(sing[:k] / np.sqrt(max(1, len(train) - 1)), 1e-6)
    draft = FeatureModel(mean, vt[:k], scales, threshold=np.inf)
    each = 100.0 - (100.0 - percentile) / 2
    return FeatureModel(mean, vt[:k], scales, float(np.percentile(draft.distance(val), each)),
                        float(np.percentile(draft.residual(val), each)))


def features_of(clf: Classifier, images: list[np.ndarray], boxes: list, batch: int = 64) -> np.ndarray:
    out = []
    for i in range(0, len(images), batch):
        crops = np.stack([model_input(im, b, clf.input_size, clf.framing) for im, b in
                          zip(images[i : i + batch], boxes[i : i + batch], strict=True)]).astype(np.float32)
        out.append(clf.lite.run_all(crops)[2])
    return np.concatenate(out)


def model_with_features(model_dir: str | Path | None = None,
                        data: str | None = None) -> tuple[Path, Classifier, dict, dict[str, list[Record]]]:
    """The model folder, its classifier, its card and the data split its card was trained by, for fits on the
    network's pooled features (the novelty model, the condition rules); exits if its LiteRT file has none."""
    model_dir = Path(model_dir or model_dir_default())
    clf = load_classifier(model_dir)
    if not clf.lite.has_features:
        raise SystemExit("the LiteRT file has no feature output: run `python -m classifier export` first")
    card = read_json(model_dir / CARD_FILE)
    return model_dir, clf, card, protocol_split(read_manifest(data), bool(card["training"].get("held_out_sources")))


def fit_and_save(model_dir: str | Path | None = None, data: str | None = None) -> FeatureModel:
    model_dir, clf, card, roles = model_with_features(model_dir, data)
    feats = {}
    for role in ("train", "val"):
        images = load_images(roles[role], data)
        feats[role] = features_of(clf, images, face_boxes(roles[role], images))
        print(f"{role}: {len(images)} faces", flush=True)
    fm = fit_feature_model(feats["train"], feats["val"])
    path = model_dir / STATS_FILE
    fm.save(path)
    card.update(feature_stats_file=STATS_FILE, feature_stats_sha256=sha256_of(path),
                novelty={"components": COMPONENTS, "percentile": PERCENTILE, "threshold": fm.threshold,
                         "residual_threshold": fm.residual_threshold,
                         "fitted_on": "train features; threshold on validation"})
    write_json(model_dir / CARD_FILE, card)
    print(f"wrote {path}: threshold {fm.threshold:.3f}, residual threshold {fm.residual_threshold:.3f}", flush=True)
    return fm
