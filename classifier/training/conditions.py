"""Fit the decision rules for heavily compressed files and enlarged squares (``classifier.conditions``).

``python -m classifier conditions``: every validation photo of the trained-on sources is put in each
condition the app can see, ``DRAWS`` times with seeded random strength, and scored through the app's own
pipeline:

- *compressed*: re-saved as JPEG at a quality below ``compression.HEAVY_BELOW`` (30-69), as a
  messenger or a social network does;
- *enlarged*: either shrunk (to 30-72 % of its side) or cut to its centre (45-72 % of its side), so
  that the network's square has to be enlarged more than ``predictor.ENLARGE_LIMIT``: a thumbnail, a
  photo sent small, a profile picture cropped in.

On those scores the cut is chosen by ``calibration.choose_protective_threshold`` with the main rule's
limits (``train.MAX_FALSE_AI_PER_SOURCE``: at most 2 % of real photos called AI, overall and in every real
source, or no more than the main cut already calls AI in that condition; then the worst source's accuracy)
and the band by ``choose_uncertain_band`` (``UNCERTAIN_TARGET``):
the rules the main cut and band were chosen by, on clean photos. A head refitted on validation has seen
those photos, so each is scored by a head fitted without its fold (``honest_logits``), as the main rule's
were. Neither the test split nor the held-out sources are used, and the strengths are ranges, not the
robustness checks' single settings (JPEG q50, half scale, the centre two-thirds).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .. import calibration as cal
from ..card import CARD_FILE, read_json, write_json
from ..compression import HEAVY_BELOW
from ..conditions import CONDITIONS
from ..predictor import Classifier, model_dir_default
from .augment import jpeg_roundtrip
from .data import Record, load_images
from .evaluate import top_face_batches, worst_real_source
from .novelty import model_with_features
from .refit import cross_fitted_logits, fold_of, recipe_of

JPEG_QUALITY = (30, HEAVY_BELOW - 1)
SHRINK = (0.30, 0.72)
CENTRE = (0.45, 0.72)
SEED = 4242
# Each validation photo is put in a condition this many times, at independent random strengths, and the rule is
# fitted on all the views. Why: the per-source limit rests on 14-38 photos per source, so one photo's draw moves it
# past 2 %; on 3.0.0 four single draws gave enlarged-square cuts from 0.41 to 0.86. Four draws cost ~6 more minutes.
DRAWS = 4
MAX_FALSE_AI = 0.02  # calibration.choose_protective_threshold's default, which the main rule uses


def compressed(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Re-saved as JPEG at a random heavy quality."""
    return jpeg_roundtrip(img, int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))


def enlarged(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shrunk or cut to its centre (half the photos each), so that less than the network's input is left."""
    h, w = img.shape[:2]
    if rng.random() < 0.5:
        f = rng.uniform(*SHRINK)
        return cv2.resize(img, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA)
    f = rng.uniform(*CENTRE)
    ch, cw = max(8, round(h * f)), max(8, round(w * f))
    top, left = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(img[top : top + ch, left : left + cw])


PUT_IN: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "compressed": compressed, "enlarged": enlarged}
FITTED_ON = {
    "compressed": (f"validation photos re-saved as JPEG at quality {JPEG_QUALITY[0]}-{JPEG_QUALITY[1]}, "
                   f"{DRAWS} random qualities each"),
    "enlarged": (f"validation photos shrunk to {SHRINK[0]:.0%}-{SHRINK[1]:.0%} of their side or cut to their centre "
                 f"{CENTRE[0]:.0%}-{CENTRE[1]:.0%} ({DRAWS} random draws each), whose square the network had to "
                 "enlarge"),
}


def fit_rule(p: np.ndarray, y: np.ndarray, groups: np.ndarray, main_cut: float | None = None) -> dict:
    """A condition's cut and band from its validation scores, by the main rule's choosers and limits (pure).

    ``main_cut``: the cut these photos get without a rule of their own. A real photo the main cut already calls
    AI then does not count against a lower cut (``calibration.false_ai_allowance``): without it, one CelebA-HQ
    photo that 3.0.0 scores above 0.95 once shrunk (1 of 38, over the 2 % limit at every cut) left enlarged
    squares on the main cut, which misses AI images a lower cut catches while calling no more real photos AI."""
    from .train import MAX_FALSE_AI_PER_SOURCE, UNCERTAIN_TARGET

    p, groups, y = np.asarray(p, np.float64), np.asarray(groups), np.asarray(y)
    t = cal.choose_protective_threshold(p, y, groups, MAX_FALSE_AI, MAX_FALSE_AI_PER_SOURCE, reference=main_cut)
    lo, hi = cal.choose_uncertain_band(p, y, t, UNCERTAIN_TARGET)
    allowance = cal.false_ai_allowance(p, y, groups, MAX_FALSE_AI, MAX_FALSE_AI_PER_SOURCE, main_cut)
    worst = worst_real_source(groups, y, p >= t)
    overall = float(np.mean(p[y == 0] >= t))
    return {"threshold": t, "uncertain_band": [lo, hi], "n": int(len(y)), "false_ai_rate_real": overall, **worst,
            # False: no cut on the grid kept real photos within the limits (or, with ``main_cut``, within what the
            # main cut calls AI), so the rule must not replace the main one
            "protective": cal.within_allowance(p, y, groups, t, allowance),
            "balanced_accuracy": cal.balanced_accuracy(y, p >= t),
            **({} if main_cut is None else {
                "main_cut": float(main_cut), "main_cut_false_ai_rate_real": float(np.mean(p[y == 0] >= main_cut)),
                # the sources whose real photos the main cut already calls AI beyond the limit, and how many
                "over_limit_at_main_cut": {g: a for g, a in allowance[1].items() if a > MAX_FALSE_AI_PER_SOURCE}})}


def network_outputs(clf: Classifier, images: list[np.ndarray], batch: int = 64) -> tuple[np.ndarray, np.ndarray,
                                                                                        np.ndarray]:
    """Logits, pooled features and the enlargement flag of each image's top face, through the app's pipeline."""
    logits, feats, big = [], [], []
    for crops, enlarged_ in top_face_batches(clf, images, batch):
        z, _, f = clf.lite.run_all(crops)
        logits.append(z)
        feats.append(f)
        big += enlarged_
    return np.concatenate(logits), np.concatenate(feats), np.array(big, bool)


def honest_logits(card: dict, records: list[Record], clean: np.ndarray, features: np.ndarray,
                  logits: np.ndarray) -> np.ndarray:
    """Logits no validation photo has trained: a head refitted on validation (``refit``) has seen them, so each
    photo is scored by a head fitted, as the refit fitted it, on the *clean* features of the other folds, as
    its main rule was; a network trained on the training split alone is scored as it is."""
    refit = card["training"].get("head_refit")
    if not refit or clean is None:
        return logits
    y = np.array([r.y for r in records])
    groups = recipe_of(card["training"]["config"]).groups(records)
    folds = fold_of([f"{r.source}|{r.group}" for r in records])
    return cross_fitted_logits(clean, y, groups, folds, refit["c"], scored_features=features)


def fit_and_save(model_dir: str | Path | None = None, data: str | None = None) -> dict:
    """Fit every condition's rule for the model in ``model_dir`` and write it into its card."""
    model_dir, clf, card, roles = model_with_features(model_dir, data)
    records = roles["val"]
    images = load_images(records, data)
    y = np.array([r.y for r in records])
    groups = np.array(recipe_of(card["training"]["config"]).groups(records))
    clean_outputs = network_outputs(clf, images)
    clean = clean_outputs[1]
    rules = {}
    for k, name in enumerate(("clean", *CONDITIONS)):
        rng = np.random.default_rng(SEED + k)
        draws = [clean_outputs] if name == "clean" else [
            network_outputs(clf, [PUT_IN[name](im, rng) for im in images]) for _ in range(DRAWS)]
        p = np.concatenate([cal.calibrate(honest_logits(card, records, clean, feats, logits), clf.a, clf.b)
                            for logits, feats, _ in draws])
        big = np.concatenate([b for _, _, b in draws])
        keep = big if name == "enlarged" else np.ones(len(p), bool)  # only squares the app would call enlarged
        y_all, groups_all = np.tile(y, len(draws))[keep], np.tile(groups, len(draws))[keep]
        rule = {**fit_rule(p[keep], y_all, groups_all, clf.threshold), "draws": len(draws),
                "fitted_on": FITTED_ON.get(name, "")}
        print(f"{name}: cut {rule['threshold']:.3f}, band {rule['uncertain_band'][0]:.3f}-"
              f"{rule['uncertain_band'][1]:.3f} ({rule['n']} views of {len(y)} photos; real called AI "
              f"{rule['false_ai_rate_real']:.1%}, worst real source {rule['worst_real_source']} "
              f"{rule['worst_real_source_false_ai']:.1%}, balanced accuracy {rule['balanced_accuracy']:.3f}; main cut "
              f"{clf.threshold:.3f})"
              + ("" if rule["protective"] else ": no cut keeps real photos within the limits, so the main rule "
                 "stays"), flush=True)
        if name != "clean":  # clean: the check that this reproduces the main rule
            rules[name] = rule
    card["conditions"] = rules
    write_json(model_dir / CARD_FILE, earn_real(card))
    return rules


def earn_real(card: dict) -> dict:
    """The card with every band's real edge at most ``calibration.REAL_MAX_P_AI``: the main rule's and each
    condition's (pure). Cuts are untouched, so no real photo is called AI more often; faces between the old
    and the new edge are called *uncertain* instead of *real*. New fits apply it already (choose_uncertain_band);
    this brings a card fitted before the rule existed to the same place."""
    out = dict(card)
    out["uncertain_band"] = list(cal.earned_real_edge(card["uncertain_band"]))
    out["conditions"] = {name: {**rule, "uncertain_band": list(cal.earned_real_edge(rule["uncertain_band"]))}
                         for name, rule in (card.get("conditions") or {}).items()}
    out["real_rule"] = {"real_max_p_ai": cal.REAL_MAX_P_AI,
                        "rule": f"a Real verdict needs a calibrated P(AI) of at most {cal.REAL_MAX_P_AI:g}, in every "
                                "rule; between that and the cut the verdict is Uncertain"}
    return out


def earn_real_in_place(model_dir: str | Path | None = None) -> dict:
    """``earn_real`` on the card in ``model_dir`` (``python -m classifier conditions --real-edge-only``)."""
    path = Path(model_dir or model_dir_default()) / CARD_FILE
    card = earn_real(read_json(path))
    write_json(path, card)
    return card
