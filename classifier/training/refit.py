"""Last-layer retraining on validation features: the network's head refitted, its features kept.

Why: a network trained on sources that differ in more than real-vs-AI (sharpness, colour, crop, who is
in the picture) learns good features but leans its last layer on the shortcuts it met in training.
Refitting only that layer, on images the network never trained on and with every source given equal
weight, removes much of that lean ("deep feature reweighting": Kirichenko, Izmailov & Wilson,
*Last Layer Re-Training is Sufficient for Robustness to Spurious Correlations*, ICLR 2023).

Here the held-out sources stay unseen: the head is fitted on the validation split of the trained-on
sources, with each class's weight shared equally between its sources (``data.sampling_weights``).
Optionally (``augmented_views``) each image is also seen as training-augmented crops (blur, rescaling,
JPEG, gray, polish, as in training), weighted ``augmented_weight`` relative to its standard crop.
Because that split also fits the decision rule, the rule is fitted on *cross-fitted* logits: each
validation image is scored by a head that did not see its fold (folds by ``Record.group``, so an LFW
person or an SD prompt stays in one fold). The head is a plain logistic regression on standardised
pooled features, folded back into the network's ``logit`` Dense layer, so the exported LiteRT graph,
its class-activation map and everything downstream are unchanged in shape.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import shutil
import time
from pathlib import Path

import numpy as np

from ..card import CARD_FILE, MODEL_FILE, read_json
from .data import sampling_weights

FOLDS = 5
METHOD = "deep feature reweighting: logistic head refitted on validation features, sources balanced"


def fold_of(groups: list[str], folds: int = FOLDS) -> np.ndarray:
    """A stable fold per image from a hash of its group, so near-duplicates share a fold."""
    return np.array([int.from_bytes(hashlib.sha256(g.encode()).digest()[:4], "big") % folds for g in groups])


def fit_head(features: np.ndarray, y: np.ndarray, groups: list[str], c: float,
             row_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Logistic regression (inverse L2 strength ``c``) on standardised features, each class's weight shared
    equally between its groups (and scaled by ``row_weight``); returned as (weights, bias) on the raw
    features, ready for a Dense layer."""
    from sklearn.linear_model import LogisticRegression

    features = np.asarray(features, np.float64)
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    weights = sampling_weights(y, groups) * len(y) * (1.0 if row_weight is None else row_weight)
    head = LogisticRegression(C=c, max_iter=5000).fit((features - mean) / scale, y, sample_weight=weights)
    w = head.coef_[0] / scale
    return w, float(head.intercept_[0] - np.dot(w, mean))


def cross_fitted_logits(features: np.ndarray, y: np.ndarray, groups: list[str], folds: np.ndarray,
                        c: float, scored: np.ndarray | None = None,
                        row_weight: np.ndarray | None = None, scored_features: np.ndarray | None = None) -> np.ndarray:
    """Each image's logit from a head fitted without its fold: honest inputs for calibration.

    ``scored`` (boolean, default all) marks the rows to score; every row of the other folds is fitted on
    (the augmented copies of an image share its fold). Returns the logits of the ``scored`` rows, in order.
    ``scored_features`` (default ``features``, row for row) are what each fold's head scores: the same photos
    degraded, say, scored by heads fitted on their clean features (``conditions.honest_logits``).
    """
    scored = np.ones(len(y), bool) if scored is None else np.asarray(scored, bool)
    shown = features if scored_features is None else scored_features
    out = np.zeros(len(y))
    for k in np.unique(folds):
        fit = folds != k
        w, b = fit_head(features[fit], y[fit], [g for g, f in zip(groups, fit, strict=True) if f], c,
                        None if row_weight is None else row_weight[fit])
        out[~fit] = shown[~fit] @ w + b
    return out[scored]


def augmented_inputs(images: list[np.ndarray], boxes: list, y: np.ndarray, cfg, seed: int) -> np.ndarray:
    """One training-augmented crop per image (the recipe's augmentation and framing), reproducible by ``seed``."""
    from .augment import augment, is_gray
    from .train import _p_frame, _p_gray

    rng = np.random.default_rng(seed)
    return np.stack([augment(im, box, cfg.input_size, rng, _p_gray(cfg, int(label), is_gray(im)),
                             cfg.augmentation(), cfg.framing(), _p_frame(cfg, int(label)))
                     for im, box, label in zip(images, boxes, y, strict=True)])


DEGRADATIONS_RESCALE = (0.4, 0.9)  # down-then-up factor: a photo sent at a fraction of its size
DEGRADATIONS_JPEG = (30, 90)  # quality of a recompression (messengers, social networks)


def degraded_image(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The whole photo as users often send it: downsized and enlarged back, recompressed, or both (each
    with probability 1/2; when neither is drawn, one of the two). Only detail is lost, nothing is added, so
    the label stays true and the head learns which evidence survives."""
    import cv2

    from .augment import jpeg_roundtrip

    rescale, jpeg = rng.random() < 0.5, rng.random() < 0.5
    if not (rescale or jpeg):
        rescale = rng.random() < 0.5
        jpeg = not rescale
    if rescale:
        h, w = rgb.shape[:2]
        f = rng.uniform(*DEGRADATIONS_RESCALE)
        small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        rgb = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if jpeg:
        rgb = jpeg_roundtrip(rgb, int(rng.integers(DEGRADATIONS_JPEG[0], DEGRADATIONS_JPEG[1] + 1)))
    return rgb


def degraded_inputs(images: list[np.ndarray], boxes: list, size: int, framing, seed: int) -> np.ndarray:
    """One standard crop per image of its ``degraded_image``, reproducible by ``seed`` (the face box is
    unchanged, as neither degradation moves the face)."""
    from ..faces import model_input

    rng = np.random.default_rng(seed)
    return np.stack([model_input(degraded_image(im, rng), box, size, framing)
                     for im, box in zip(images, boxes, strict=True)])


AUGMENTED_KINDS = ("recipe", "degradations")


def pooled_features(model, x: np.ndarray, views: int, batch: int = 64) -> np.ndarray:
    """The pooled features the head sees, averaged over the views as the exported graph does."""
    import keras

    from .train import outputs_of

    return outputs_of(keras.Model(model.inputs, model.get_layer("pool").output), x, batch, views)


def recipe_of(config: dict):
    """The TrainConfig a card's ``training.config`` records (options it predates at their defaults)."""
    from .train import TrainConfig

    known = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in config.items() if k in known}
    if "sim_focus" in given:
        given["sim_focus"] = tuple(given["sim_focus"] or ())
    return TrainConfig(**given)


def keep_network(model_dir: Path, into: Path | None = None) -> Path:
    """Copy a trained network (Keras file, LiteRT copy, card) to ``into/<its folder's name>`` and return it.

    Why: ``train --head-refit`` refits the head in place, so the network as trained was lost. A head refitted on
    validation features can undo what training learned (3.17.0: validation balanced accuracy 0.998 before the
    refit, 0.924 after; validation holds none of the aligned fakes it trained on), and then the network before
    the refit must still be there to measure."""
    from ..dataset import REPO_ROOT
    from ..lite import LITE_FILE

    dest = (into or REPO_ROOT / "build" / "networks") / model_dir.resolve().name
    dest.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, LITE_FILE, CARD_FILE):
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, dest / name)
    return dest


def refit_head(model_dir: Path, out_dir: Path, c: float, data: str | None = None, augmented_views: int = 0,
               augmented_weight: float = 1.0, populations: bool = False, network: str | None = None,
               augmented_kind: str = "recipe") -> dict:
    """Refit the head of the model in ``model_dir`` on validation, refit its decision rule, write ``out_dir``.

    ``populations`` balances the head, and protects the rule, per population rather than per source (the
    training recipe's own grouping): a source holding two populations then weighs each half as a source.
    ``network`` names the network in the card's note (default: the parent's version, e.g. "the 2.6.0 network").
    ``augmented_kind`` says what the augmented crops are: "recipe" (the training augmentation) or
    "degradations" (only the detail a photo loses on its way: downsizing and recompression, ``degraded_image``).
    """
    if augmented_kind not in AUGMENTED_KINDS:
        raise ValueError(f"augmented_kind must be one of {AUGMENTED_KINDS}, not {augmented_kind!r}")
    from ..faces import Framing
    from .export import load_keras_model, save_model_and_card, views_of
    from .modelcard import ALL_SOURCES_VERSION, CARD_VERSION, KNOWN_LIMITS
    from .train import decision_rule, validation_set

    t0 = time.time()
    parent = read_json(model_dir / CARD_FILE)
    card = copy.deepcopy(parent)
    model = load_keras_model(model_dir, parent)
    config = card["training"]["config"]
    val, images, boxes, x = validation_set(card, data)
    y_val = np.array([r.y for r in val])
    recipe = recipe_of(config)
    if populations:
        recipe = dataclasses.replace(recipe, split_populations=True)
    def augmented(k: int) -> np.ndarray:
        if augmented_kind == "degradations":
            return degraded_inputs(images, boxes, card["input"]["size"], Framing.from_card(card),
                                   seed=recipe.seed + k)
        return augmented_inputs(images, boxes, y_val, recipe, seed=recipe.seed + k)

    crops = [x] + [augmented(k).astype(np.float32) for k in range(augmented_views)]
    features = np.concatenate([pooled_features(model, v, views_of(card)) for v in crops])
    y = np.tile(y_val, len(crops))
    groups = recipe.groups(val) * len(crops)
    folds = np.tile(fold_of([f"{r.source}|{r.group}" for r in val]), len(crops))
    standard = np.arange(len(y)) < len(val)
    row_weight = np.where(standard, 1.0, augmented_weight)
    oof = cross_fitted_logits(features, y, groups, folds, c, scored=standard, row_weight=row_weight)
    w, b = fit_head(features, y, groups, c, row_weight)
    model.get_layer("logit").set_weights([w.reshape(-1, 1).astype(np.float32), np.array([b], np.float32)])
    rule = decision_rule(oof, y_val, recipe.groups(val))
    rule["calibration"]["fitted_on"] = f"val, cross-fitted head logits ({FOLDS} folds)"
    for stale in ("test", "held_out", "selection"):  # the parent's results, not this model's
        card.pop(stale, None)
    config["head_refit_c"] = c
    if populations:
        config["head_refit_populations"] = True
    card["training"]["head_refit"] = {
        "method": METHOD, "c": c, "folds": FOLDS, "fitted_on": "val", "n": int(len(val)),
        "balanced_over": "populations" if recipe.split_populations else "sources",
        "augmented_views": augmented_views, "augmented_weight": augmented_weight if augmented_views else None,
        "augmented_kind": augmented_kind if augmented_views else None,
        "seconds": round(time.time() - t0, 1), "parent": {"version": parent["version"], "sha256": parent["sha256"]},
    }
    version = CARD_VERSION if config.get("held_out", True) else ALL_SOURCES_VERSION
    network = network or f"the {parent['version']} network"
    group, flag = ("population", " --populations") if populations else ("source", "")
    if augmented_views:
        flag += f" --augmented-views {augmented_views} --augmented-weight {augmented_weight:g}"
        flag += f" --augmented-kind {augmented_kind}" if augmented_kind != "recipe" else ""
    card["training"]["note"] = (
        f"{version}: {network} with its head refitted on validation features, every {group} weighted equally "
        f"(python -m classifier refit-head --c {c}{flag}), and the decision rule fitted on cross-fitted logits"
        + ("; held-out sources never trained on" if config.get("held_out") else ""))
    card.update(version=version, calibration=rule["calibration"], threshold=rule["threshold"],
                uncertain_band=list(rule["band"]), validation=rule["validation"], known_limits=list(KNOWN_LIMITS))
    out_dir.mkdir(parents=True, exist_ok=True)
    stats = card.get("feature_stats_file")
    if stats and (model_dir / stats).exists() and model_dir.resolve() != out_dir.resolve():
        shutil.copy2(model_dir / stats, out_dir / stats)  # the features are unchanged, and so is their model
    save_model_and_card(model, card, out_dir)
    print(f"refitted head (C={c}) in {time.time() - t0:.0f}s: threshold {rule['threshold']:.3f}, "
          f"band {rule['band']}, wrote {out_dir}", flush=True)
    return card
