"""Weight averaging of fine-tuned networks (a "model soup"): one network whose weights are a mix of several.

Why: networks fine-tuned from one parent lie in one basin of the loss, so a weighted mean of their weights is
itself a working network, and it is often more robust under distribution shift than any of them. Mixing a
network with its own fine-tune ("WiSE-FT": Wortsman et al., *Robust fine-tuning of zero-shot models*, CVPR
2022; *Model soups*, ICML 2022) keeps much of what the parent generalised and what the fine-tune learned.
For us that is the trade between 2.8.0's network (catches boredhumans' StyleGAN faces, calls FFHQ photos AI)
and its every-layer fine-tune (the reverse): a soup sits between them in one network of the same size and
speed. The soup's head and decision rule are then refitted on validation (``refit.refit_head``), since the
averaged features are new; its novelty model must be refitted too (``python -m classifier novelty``).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from ..card import CARD_FILE, read_json

# Card fields that describe the parent's own results or files, not the soup's.
STALE_FIELDS = ("test", "held_out", "selection", "feature_stats_file", "feature_stats_sha256", "novelty")


def average_weights(weight_sets: list[list[np.ndarray]], mix: list[float]) -> list[np.ndarray]:
    """The ``mix``-weighted mean of several networks' weight lists (same layers, same shapes, same order).

    ``mix`` is normalised to sum to 1. Batch-norm statistics are averaged like every other weight, as in the
    model-soup papers: the networks share a parent, so their statistics are close.
    """
    if len(weight_sets) != len(mix) or len(weight_sets) < 2:
        raise ValueError("a soup needs at least two networks and one mixing weight per network")
    if any(m < 0 for m in mix) or sum(mix) <= 0:
        raise ValueError(f"mixing weights must be non-negative and not all zero, not {mix}")
    shapes = [[w.shape for w in ws] for ws in weight_sets]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("the networks differ in their layers or shapes: only fine-tunes of one parent can be mixed")
    share = np.asarray(mix, np.float64) / float(sum(mix))
    return [sum(float(a) * np.asarray(w, np.float64) for a, w in zip(share, layer, strict=True)).astype(layer[0].dtype)
            for layer in zip(*weight_sets, strict=True)]


def soup_card(cards: list[dict], mix: list[float], seconds: float) -> dict:
    """The soup's card: the first parent's (its recipe, protocol and input), its stale results dropped,
    its parents and their shares recorded. Its training time is the parents' together plus the mixing."""
    card = copy.deepcopy(cards[0])
    for stale in STALE_FIELDS:
        card.pop(stale, None)
    card["training"].pop("head_refit", None)  # the mixed head is no parent's refit; a refit records its own
    for option in ("head_refit_c", "head_refit_populations"):
        card["training"]["config"].pop(option, None)
    total = float(sum(mix))
    card["training"]["soup"] = {
        "method": "weighted mean of the weights (WiSE-FT / model soup)",
        "parents": [{"version": c.get("version"), "sha256": c.get("sha256"), "share": round(m / total, 4),
                     "note": c["training"].get("note", "")} for c, m in zip(cards, mix, strict=True)],
        "seconds": round(seconds, 1),
    }
    card["training"]["seconds"] = round(sum(c["training"]["seconds"] for c in cards) + seconds, 1)
    return card


def soup_label(card: dict) -> str | None:
    """A short name of a soup's mix for tables, e.g. ``0.5 34f2f19e + 0.5 9a1c3d70``; None for other models."""
    parents = (card["training"].get("soup") or {}).get("parents")
    if not parents:
        return None
    return " + ".join(f"{p['share']:g} {str(p.get('sha256'))[:8]}" for p in parents)


def make_soup(model_dirs: list[Path], mix: list[float] | None, out_dir: Path, head_refit_c: float | None = None,
              data: str | None = None) -> dict:
    """Mix the networks in ``model_dirs`` (equal shares unless ``mix``), write ``out_dir``, refit its rule.

    With ``head_refit_c`` the head is refitted on validation features (the 2.8 recipe) and the rule with it;
    without, the network's own mixed head is kept and only the decision rule is refitted.
    """
    from .export import load_keras_model, save_model_and_card
    from .refit import refit_head
    from .train import recalibrate

    t0 = time.time()
    mix = list(mix) if mix is not None else [1.0] * len(model_dirs)
    if len(mix) != len(model_dirs):  # say so before minutes of loading
        raise SystemExit(f"--mix gives {len(mix)} shares for {len(model_dirs)} model folders: give one per folder")
    cards = [read_json(Path(d) / CARD_FILE) for d in model_dirs]
    models = [load_keras_model(Path(d), c) for d, c in zip(model_dirs, cards, strict=True)]
    first = models[0]
    first.set_weights(average_weights([m.get_weights() for m in models], mix))
    card = soup_card(cards, mix, time.time() - t0)
    card["training"]["note"] = f"soup of {soup_label(card)} (shares and the parents' model checksums)"
    save_model_and_card(first, card, out_dir)
    if head_refit_c is not None:
        return refit_head(out_dir, out_dir, head_refit_c, data, network=f"a {card['training']['note']}")
    if leaky := [c["version"] for c in cards if c["training"].get("head_refit")]:
        # Their heads were fitted on the validation split the rule is now fitted on: its figures flatter the soup.
        print(f"warning: the heads of {leaky} were refitted on validation; without --head-refit the decision rule "
              "is fitted on images the mixed head has seen, so its validation figures are optimistic", flush=True)
    return recalibrate(out_dir, data=data)
