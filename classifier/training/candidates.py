"""Comparing trained candidates, and the rule that picks the one to ship.

Every try is recorded in ``models/candidates.json``, failures included, so a later session sees
what was tried. The rule looks at generalisation first: the worst margin over the held-out
families' targets (real photos called real, target 0.90; a generator's AUC against real test
photos, target 0.95, and its images called real, at most 0.10), because what a user meets is
sources the model never saw; margins closer than about one held-out photo (``MARGIN_TIE``) are a tie,
settled by validation. Rows from before the held-out protocol have no such score and rank after every row
that has one (and rows without the called-real figure after those with it); among those, the worst
validation source decides. A model whose test-split evaluation missed a release limit
(``release.release_gate``) is passed over: the gate vetoes, it never ranks.

The model that ships may be the winner's recipe retrained on every source. Its row records which
protocol run it retrains (``retrain_of``: that run's training seconds) and takes no part in the
ranking: the held-out figures its card quotes are that run's, not its own.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..card import CARD_FILE, read_json, write_json
from ..heldout import held_out_margin  # the margin the rule ranks by; the app ranks by it too
from .soup import soup_label

# Margins closer than this to the best count as a tie. About one held-out photo: a studio headshot moves its
# family's share by 1/243 = 0.004, and one FaceChain image can move that generator's AUC by up to 1/67. A finer
# difference is chance, not generalisation, and must not outrank the validation evidence below it.
MARGIN_TIE = 0.005
SELECTION_RULE = ("highest worst held-out margin over the targets (real photos: called real >= 0.90 and called AI "
                  "<= 0.05; a generator: AUC vs real test photos >= 0.95 and called real <= 0.10, rows that "
                  f"record it ranking first), margins within {MARGIN_TIE} of the best "
                  "counting as a tie; then highest worst-source accuracy on validation; then balanced accuracy; "
                  "a model that fails a release limit on the test split (release.py) is passed over")


def candidate_row(card: dict) -> dict:
    """One line of the candidates table: a trained model's recipe and results, from its card."""
    cfg = card["training"]["config"]
    per_source = card["validation"].get("per_source_accuracy")  # absent in cards from before the rule
    held = card.get("held_out") or {}
    return {"arch": card["architecture"], "val_roc_auc": card["validation"]["roc_auc"],
            "val_balanced_accuracy": card["validation"]["balanced_accuracy"],
            "val_ece": card["validation"]["ece"],
            "val_worst_source_accuracy": min(per_source.values()) if per_source else None,
            "held_out_worst_score": held.get("worst_score"),
            "held_out_groups": {g["group"]: round(g["called_real"] if g["label"] == "real"
                                                  else (g.get("roc_auc_vs_real_test") or 0.0), 4)
                                for g in held.get("groups", [])},
            "held_out_real_called_ai": {g["group"]: round(g["called_ai"], 4) for g in held.get("groups", [])
                                        if g["label"] == "real"},
            "held_out_ai_called_real": {g["group"]: round(g["called_real"], 4) for g in held.get("groups", [])
                                        if g["label"] == "ai"},
            "held_out_sources": sorted(card["training"].get("held_out_sources") or {}),
            "simulated_fakes": (card["training"].get("simulated_fakes") or {}).get("n", 0),
            "steps": cfg["epochs"] * cfg["steps_per_epoch"],
            "frozen_through": cfg.get("freeze_through"),
            "ema": cfg.get("ema_momentum"),
            "reweight": cfg.get("reweight_power"),
            "balanced_over": ("populations" if cfg.get("split_populations") or cfg.get("head_refit_populations")
                              else "sources"),
            "input_size": cfg["input_size"], "framing": card.get("input", {}).get("framing"),
            "views": int(card.get("input", {}).get("views", 1)),
            "sim_focus": list(cfg.get("sim_focus") or []),
            "fine_tuned_from": (card["training"].get("fine_tuned_from") or {}).get("version"),
            "head_refit_c": cfg.get("head_refit_c"),
            "head_refit_augmented": _augmented(card),
            "zoom_out": cfg.get("zoom_out") or 0.0,
            "cutmix": _cutmix(cfg),
            "mixstyle": cfg.get("mixstyle") or 0.0,
            "frame": _frame(cfg),
            "close_crop": cfg.get("close_crop") or 0.0,
            "caption": cfg.get("caption") or 0.0,
            "rescale": cfg.get("rescale"),
            "soup": soup_label(card),
            "train_seconds": card["training"]["seconds"],
            "size_mb": round(card["size_bytes"] / 1e6, 2),
            "note": card["training"].get("note", ""),
            "retrain_of": (held.get("model") or {}).get("train_seconds"),
            # the test-split limits its evaluate missed (release.release_gate); None: never evaluated since the gate
            "release_gate_failed": (card.get("test") or {}).get("release_gate", {}).get("failed")}


def _cutmix(cfg: dict) -> str | None:
    """How training used CutMix, e.g. ``0.5`` or ``0.5, same label``; None if it did not."""
    if not cfg.get("cutmix"):
        return None
    return f"{cfg['cutmix']}{', same label' if cfg.get('cutmix_same_label') else ''}"


def _frame(cfg: dict) -> str | None:
    """How often training framed AI / real images, e.g. ``0.35 / 0.1``; None if it did not."""
    if not (cfg.get("frame_ai") or cfg.get("frame_real")):
        return None
    return f"{cfg.get('frame_ai') or 0.0:g} / {cfg.get('frame_real') or 0.0:g}"


def _augmented(card: dict) -> str | None:
    """How a head refit used augmented crops, e.g. ``2 x 0.25`` (views x weight); None if it used none."""
    refit = card["training"].get("head_refit") or {}
    views = refit.get("augmented_views") or 0
    if not views:
        return None
    kind = refit.get("augmented_kind")
    return f"{views} x {refit.get('augmented_weight', 1.0)}" + (f" {kind}" if kind and kind != "recipe" else "")


def merge_candidates(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` then ``new``; a new row replaces an old one of the same run (recipe and training time) in its
    place.

    Lets a later session add its experiments without the earlier candidates' folders, which are
    build outputs and not kept. The place matters: the order records which run came first, and a full tie
    on the rule goes to the first row, so re-recording the shipped model must not move it behind its ties.
    """
    fresh = {run_key(r): r for r in new}
    merged = [fresh.get(run_key(r), r) for r in old]
    recorded = {run_key(r) for r in old}
    return merged + [r for r in new if run_key(r) not in recorded]


def run_key(row: dict) -> tuple:
    """What identifies one trained run: its recipe and training time. Options a row predates count as off,
    so adding a recipe option does not make older rows look like different runs."""
    return (row["arch"], row["steps"], row.get("frozen_through"), row.get("ema"), row.get("reweight"),
            row["input_size"], row["train_seconds"], row.get("views", 1), row.get("head_refit_c"),
            row.get("head_refit_augmented"), row.get("zoom_out") or 0.0, row.get("balanced_over"),
            row.get("soup"), row.get("cutmix") or 0.0, row.get("mixstyle") or 0.0, row.get("frame"),
            row.get("close_crop") or 0.0, row.get("caption") or 0.0, row.get("rescale"))


def same_run(a: dict, b: dict) -> bool:
    """Two rows describe the same model: same run and the same results (a later option at its default)."""
    results = ("val_roc_auc", "val_balanced_accuracy", "val_ece", "held_out_groups", "held_out_real_called_ai",
               "held_out_ai_called_real")
    return run_key(a) == run_key(b) and all(a.get(k) == b.get(k) for k in results)


def best_candidate(rows: list[dict]) -> dict:
    """The row ``SELECTION_RULE`` picks, among the candidates measured on their own (not the retrains) that no
    release limit vetoes (``release.release_gate``, which a test-split ``evaluate`` records in the card).

    Rows measured on the held-out sources come first, and among them those that also record the held-out AI
    images called real (issue 42's target, recorded since 2026-12-07); among those, margins within ``MARGIN_TIE``
    of the best are tied and the validation figures decide. Rows from before the protocol rank by validation only.
    """
    own = [r for r in rows if r.get("retrain_of") is None and not r.get("release_gate_failed")]
    # rows measured on more of the targets rank first: a row recorded before a target existed cannot miss it
    depth = max((_targets_measured(r) for r in own), default=0)
    own = [r for r in own if _targets_measured(r) == depth]
    margins = {id(r): held_out_margin(r) for r in own}
    measured = [r for r in own if margins[id(r)] is not None]
    if measured:
        top = max(margins[id(r)] for r in measured)
        own = [r for r in measured if margins[id(r)] > top - MARGIN_TIE - 1e-9]
    return max(own, key=lambda r: (r.get("val_worst_source_accuracy") or 0.0, r["val_balanced_accuracy"]))


def _targets_measured(row: dict) -> int:
    """0: no held-out figures; 1: held-out AUC and real-photo shares; 2: also held-out AI called real."""
    if not row.get("held_out_groups"):
        return 0
    return 2 if row.get("held_out_ai_called_real") else 1


def shipped_is_the_winner(shipped: dict, rows: list[dict]) -> bool:
    """The shipped row is the rule's pick, or a retrain on every source of the pick's recipe."""
    best = best_candidate(rows)
    if shipped.get("retrain_of") is None:
        return same_run(shipped, best)
    return shipped["retrain_of"] == best["train_seconds"] and any(same_run(shipped, r) for r in rows)


def compare(dirs: list[str], model_dir: Path, keep: bool, replace: bool = False) -> dict:
    """Record the candidates' results (from their cards) beside the shipped model; return the best row.

    An existing record is kept (``keep``) or, only when asked (``replace``), started over: the record holds
    tries whose folders are long gone, so overwriting it by default lost them for good (it happened once).
    """
    path = model_dir / "candidates.json"
    if path.exists() and not (keep or replace):
        raise ValueError(f"{path} already records {len(read_json(path)['candidates'])} candidates: add --keep "
                         "to add these to them, or --replace to start the record over")
    rows = [candidate_row(read_json(Path(d) / CARD_FILE)) for d in dirs]
    for row in rows:
        print(json.dumps(row))
    if keep and path.exists():
        rows = merge_candidates(read_json(path)["candidates"], rows)
    write_json(path, {"candidates": rows})
    best = best_candidate(rows)
    print(f"by the rule ({SELECTION_RULE}) the best is: {json.dumps(best)}")
    card_path = model_dir / CARD_FILE
    if card_path.exists():  # the card carries the comparison its model won (or, if not, shows it did not)
        card = read_json(card_path)
        card["selection"] = {"rule": SELECTION_RULE, "shipped": candidate_row(card), "best": best,
                             "candidates": rows}
        write_json(card_path, card)
    evaluation = model_dir / "evaluation.json"
    if evaluation.exists():  # keep the Insights page's copy in step without re-running evaluate
        report = read_json(evaluation)
        report["candidates"] = rows
        write_json(evaluation, report)
    return best
