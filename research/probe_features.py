"""Which features tell FFHQ photos from StyleGAN faces, and does that survive a head for every source?

    python research/probe_features.py [--model-dir models] [--c 0.3] [--features imagenet,network,spectrum]

Compares feature sets: the frozen ImageNet MobileNetV2 the recipe starts from and the shipped network's
(pooled and mirror-averaged as the shipped graph does), both side by side, and a hand-made one with no
network at all, the *residual spectrum* (the log-magnitude FFT of each crop's high-pass residual: its
radial profile and a coarse 2-D map, as in Durall et al., CVPR 2020, and Dzanic et al., NeurIPS 2020),
which asks whether generator up-sampling traces survive in our 256 px JPEG crops. Two probes per set:

- *pair*: a logistic regression (C by 5-fold CV, classes balanced) trained on the FFHQ half of
  celebahq_roeishc and boredhumans' StyleGAN set (training split), scored on their test images; then the
  same head on the held-out thispersondoesnotexist StyleGAN2 faces against the held-out studio headshots,
  which asks whether what it learned is StyleGAN's traces or that one set's look;
- *all sources*: a head fitted as ``refit-head`` fits one (validation features, sources balanced, inverse
  L2 strength C) with the 2 % protective cut on cross-fitted, Platt-calibrated logits; reported on the test
  split and the held-out sources like ``evaluate``.

Why: fine-tuning loses some of the FFHQ-vs-StyleGAN evidence the ImageNet features hold (the pair probe
shows it), which invites a frozen-backbone head (UnivFD-style) or a hybrid. The all-sources probe shows
whether that evidence survives a head that must also separate every other source. Needs the dataset and
the training extra (ImageNet weights); prints a table (no files written).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from classifier import calibration as cal
from classifier.card import CARD_FILE, read_json
from classifier.faces import Framing
from classifier.training.backbone import default_checkpoint_path, keras_weights_from_torch, read_legacy_torch_state_dict
from classifier.training.data import (
    REAL_HELD_OUT_SOURCES,
    Record,
    face_boxes,
    held_out_group,
    load_images,
    protocol_split,
    read_manifest,
    standard_inputs,
)
from classifier.training.export import load_keras_model, views_of
from classifier.training.insights import block_mean, log_spectrum, radial_profile
from classifier.training.metrics import roc_auc
from classifier.training.model import load_imagenet_weights, make_model
from classifier.training.refit import cross_fitted_logits, fit_head, fold_of, pooled_features
from classifier.training.train import MAX_FALSE_AI_PER_SOURCE

FFHQ, STYLEGAN = "celebahq_roeishc:ffhq", "gan_boredhumans_basemax"


def residual_spectrum(crop: np.ndarray) -> np.ndarray:
    """Radial profile and 16 x 32 block map of the log spectrum of a crop's high-pass residual (image - median 3x3).

    The residual removes the picture and keeps the fine texture where up-sampling leaves periodic peaks.
    """
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    residual = gray.astype(np.float32) - cv2.medianBlur(gray, 3).astype(np.float32)
    spectrum = log_spectrum(residual, residual.shape[0])
    coarse = block_mean(spectrum, 32)[:16]  # the spectrum of a real image is symmetric: half is all of it
    return np.concatenate([radial_profile(spectrum), coarse.ravel()]).astype(np.float32)


def _is_pair(r: Record) -> bool:
    return r.population == FFHQ or r.source == STYLEGAN


def _auc(negatives: np.ndarray, positives: np.ndarray) -> float:
    return roc_auc(np.r_[np.zeros(len(negatives)), np.ones(len(positives))], np.r_[negatives, positives])


def pair_probe(f: dict[str, np.ndarray], roles: dict[str, list[Record]]) -> tuple[float, float]:
    """Test AUC of the FFHQ-vs-StyleGAN pair head, and the same head on held-out TPDNE vs studio headshots."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.array([r.y for r in roles["pair"]])
    head = make_pipeline(StandardScaler(), LogisticRegressionCV(
        Cs=np.logspace(-4, 1, 11), cv=5, class_weight="balanced", max_iter=3000, scoring="roc_auc")).fit(f["pair"], y)
    test = [i for i, r in enumerate(roles["test"]) if _is_pair(r)]
    s_test, s_held = head.decision_function(f["test"][test]), head.decision_function(f["heldout"])
    y_test = np.array([roles["test"][i].y for i in test])
    held = np.array([r.source for r in roles["heldout"]])
    studio, gan = np.isin(held, REAL_HELD_OUT_SOURCES), np.char.find(held.astype(str), "tpdne") >= 0
    return _auc(s_test[y_test == 0], s_test[y_test == 1]), _auc(s_held[studio], s_held[gan])


def all_sources_probe(f: dict[str, np.ndarray], roles: dict[str, list[Record]], c: float) -> dict[str, float]:
    """The refit-head recipe on these features: test AUC, held-out groups, and the FFHQ/StyleGAN shares."""
    val, test, held = roles["val"], roles["test"], roles["heldout"]
    y_val, y_test = np.array([r.y for r in val]), np.array([r.y for r in test])
    groups = [r.source for r in val]
    w, b = fit_head(f["val"], y_val, groups, c)
    oof = cross_fitted_logits(f["val"], y_val, groups, fold_of([f"{r.source}|{r.group}" for r in val]), c)
    a, bb = cal.fit_platt(oof, y_val)
    cut = cal.choose_protective_threshold(cal.calibrate(oof, a, bb), y_val, np.array(groups),
                                          max_false_ai_group=MAX_FALSE_AI_PER_SOURCE)
    p_test, p_held = cal.calibrate(f["test"] @ w + b, a, bb), cal.calibrate(f["heldout"] @ w + b, a, bb)
    out = {"test AUC": roc_auc(y_test, p_test)}
    held_groups = np.array([held_out_group(r.source) for r in held])
    for g in dict.fromkeys(held_groups):
        m = held_groups == g
        real = held[np.flatnonzero(m)[0]].y == 0
        out[g.split(" ")[0] + (" real" if real else " AUC")] = (
            float(np.mean(p_held[m] < cut)) if real else _auc(p_test[y_test == 0], p_held[m]))
    y_held = np.array([r.y for r in held])
    out["unseen AUC"] = roc_auc(y_held, p_held)
    pop, src = np.array([r.population for r in test]), np.array([r.source for r in test])
    out["FFHQ vs StyleGAN"] = _auc(p_test[pop == FFHQ], p_test[src == STYLEGAN])
    out["FFHQ called AI"] = float(np.mean(p_test[pop == FFHQ] >= cut))
    out["StyleGAN caught"] = float(np.mean(p_test[src == STYLEGAN] >= cut))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default="models")
    ap.add_argument("--c", type=float, default=0.3, help="inverse L2 strength of the all-sources head")
    ap.add_argument("--features", default="imagenet,network",
                    help="comma-separated sets to compare: imagenet, network, spectrum")
    args = ap.parse_args(argv)
    model_dir = Path(args.model_dir)
    card = read_json(model_dir / CARD_FILE)
    size, views = int(card["input"]["size"]), views_of(card)
    roles = protocol_split(read_manifest(), bool(card["training"]["config"].get("held_out")))
    roles["pair"] = [r for r in roles["train"] if _is_pair(r)]

    wanted = set(args.features.split(","))
    networks = {}
    if "imagenet" in wanted:
        imagenet = make_model(size)
        torch_state = read_legacy_torch_state_dict(default_checkpoint_path())
        load_imagenet_weights(imagenet, keras_weights_from_torch(torch_state))
        networks["ImageNet MobileNetV2 (frozen)"] = imagenet
    if "network" in wanted:
        networks[f"{card['version']} network"] = load_keras_model(model_dir, card)
    feats: dict[str, dict[str, np.ndarray]] = {name: {} for name in networks}
    if "spectrum" in wanted:
        feats["residual spectrum"] = {}
    for role in ("pair", "val", "test", "heldout"):
        images = load_images(roles[role])
        x = standard_inputs(images, face_boxes(roles[role], images), size, Framing.from_card(card))
        for name, net in networks.items():
            feats[name][role] = pooled_features(net, x.astype(np.float32), views)
        if "spectrum" in wanted:
            feats["residual spectrum"][role] = np.stack([residual_spectrum(c) for c in x])
    if len(networks) == 2:
        first, second = list(networks)
        feats["both"] = {role: np.concatenate([feats[first][role], feats[second][role]], axis=1)
                         for role in feats[first]}

    rows = {name: (pair_probe(f, roles), all_sources_probe(f, roles, args.c)) for name, f in feats.items()}
    columns = list(next(iter(rows.values()))[1])
    header = "".join(f"{k:>{len(k) + 2}s}" for k in columns)
    print(f"{'features':32s}{'pair test':>11s}{'pair TPDNE/studio':>19s}{header}")
    for name, ((pair, transfer), probe) in rows.items():
        print(f"{name:32s}{pair:11.3f}{transfer:19.3f}" + "".join(f"{probe[k]:{len(k) + 2}.3f}" for k in columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
