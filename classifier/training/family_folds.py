"""The family-fold record: how each protocol run does on whole generator families it never saw.

``python -m classifier folds DIR ...`` reads each evaluated run's card (``evaluate`` writes the held-out
rows and ``fold_summary`` into it) and keeps one row per run in ``models/family_folds.json``;
``docs/generalisation.md`` quotes the table ``fold_markdown`` makes from that file, one of the blocks
``docs.py`` generates and ``tests/test_readme.py`` checks. Kept apart from ``candidates.json`` on purpose:
a fold run holds out other sources than the kin protocol, so its held-out margin is not comparable with the
candidates' and must not rank among them.
"""

from __future__ import annotations

from pathlib import Path

from ..card import CARD_FILE, read_json, write_json
from .data import FOLD_TARGETS
from .report import _num, _pct

FOLDS_FILE = "family_folds.json"


def fold_row(card: dict, name: str, note: str = "") -> dict:
    """One run: its recipe in short, validation, and every held-out family and fold from its card."""
    cfg = card["training"]["config"]
    held = card.get("held_out") or {}
    aligned = card["training"].get("aligned_fakes") or {}
    return {
        "run": name, "note": note, "version": card.get("version"),
        "recipe": {"arch": cfg.get("arch"), "steps": cfg.get("epochs", 0) * cfg.get("steps_per_epoch", 0),
                   "seed": cfg.get("seed"), "folds": list(cfg.get("folds") or []),
                   "aligned_families": sorted(aligned.get("families", {})),
                   "aligned_images": sum(f["images"] for f in aligned.get("families", {}).values()),
                   "pair_aligned": bool(cfg.get("pair_aligned")), "pair_same_view": bool(cfg.get("pair_same_view")),
                   "aligned_focus": list(cfg.get("aligned_focus") or []), "sim_fakes": cfg.get("sim_fakes")},
        "train_seconds": round(card["training"].get("seconds", 0)),
        "val_roc_auc": card["validation"]["roc_auc"],
        "test_roc_auc": (card.get("test") or {}).get("roc_auc"),
        "groups": [{k: g.get(k) for k in ("group", "label", "n", "roc_auc_vs_real_test", "called_real", "called_ai",
                                          "uncertain")} for g in held.get("groups", [])],
        "folds": held.get("folds", {}),
        "roc_auc_unseen": held.get("roc_auc_unseen_ai_vs_unseen_real"),
    }


def record(dirs: list[str], model_dir: Path, notes: list[str] | None = None) -> dict:
    """Add (or replace, by run name) each evaluated run's row in ``model_dir/family_folds.json``."""
    path = model_dir / FOLDS_FILE
    doc = read_json(path) if path.is_file() else {"targets": FOLD_TARGETS, "runs": []}
    notes = notes or [""] * len(dirs)
    for d, note in zip(dirs, notes, strict=True):
        card = read_json(Path(d) / CARD_FILE)
        if "held_out" not in card:
            raise ValueError(f"{d}: no held-out figures in its card; run `python -m classifier evaluate "
                             f"--model-dir {d} --no-degradations` first")
        row = fold_row(card, Path(d).name, note)
        doc["runs"] = [r for r in doc["runs"] if r["run"] != row["run"]] + [row]
    doc["targets"] = FOLD_TARGETS
    write_json(path, doc)
    return doc


def _pairing(rec: dict) -> str:
    if not rec["pair_aligned"]:
        return ""
    return ", paired, one view per pair" if rec.get("pair_same_view") else ", paired"


def _focus(rec: dict) -> str:
    focus = rec.get("aligned_focus") or []
    return f"; every photo of {', '.join(focus)}" if focus else ""


def fold_markdown(doc: dict | None) -> str:
    """The runs' held-out families and folds as tables (generated; docs/generalisation.md quotes them)."""
    if not doc or not doc.get("runs"):
        return "No family-fold run recorded yet (`python -m classifier folds DIR...`)."
    lines = ["| run | network | aligned fakes | held-out family | n | ROC-AUC vs real test | called real | called AI |",
             "|---|---|---|---|---|---|---|---|"]
    for run in doc["runs"]:
        rec = run["recipe"]
        aligned = (f"{rec['aligned_images']} ({', '.join(rec['aligned_families'])}{_pairing(rec)}"
                   f"{_focus(rec)})") if rec["aligned_families"] else "none"
        for g in run["groups"]:
            lines.append(f"| {run['run']} | {rec['arch']} | {aligned} | {g['group']} | {g['n']} | "
                         f"{_num(g['roc_auc_vs_real_test'])} | {_pct(g['called_real'])} | {_pct(g['called_ai'])} |")
    lines += ["", "| run | fold | worst ROC-AUC | most AI called real | real called real / AI | meets targets |",
              "|---|---|---|---|---|---|"]
    for run in doc["runs"]:
        for name, f in run["folds"].items():
            real = (f"{_pct(f.get('least_real_called_real'))} / {_pct(f.get('most_real_called_ai'))}"
                    if "least_real_called_real" in f else "-")
            lines.append(f"| {run['run']} | {name} | {_num(f.get('worst_roc_auc'))} | "
                         f"{_pct(f.get('most_ai_called_real'))} | {real} | {'yes' if f['meets_targets'] else 'no'} |")
    t = doc["targets"]
    lines += ["", f"Targets per fold: generators ROC-AUC >= {t['roc_auc']}, called real <= "
              f"{_pct(t['ai_called_real'])}; real families called real >= {_pct(t['real_called_real'])}, "
              f"called AI <= {_pct(t['real_called_ai'])}."]
    return "\n".join(lines)
