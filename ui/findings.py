"""Sentences whose numbers come from the artefacts, for the Insights captions and Takeaways.

Nothing here is typed in by hand: when the model is retrained or re-evaluated
the text follows. Every function tolerates missing files and keys and then
returns fewer (or no) sentences.
"""

from __future__ import annotations

import numpy as np

from classifier.faces import Framing
from classifier.heldout import held_out_margin

from .state import change_interval, dig, num, pct
from .state import finite as _f


def _lab(row: dict) -> str:
    return "AI" if row.get("label") == "ai" else str(row.get("label", "?"))


def dataset_counts(card: dict | None) -> dict:
    """Totals per class and the number of sources/generators, from the card's data table."""
    rows = [r for r in dig(card, "data", "sources", default=[]) if isinstance(r, dict)]
    total = {"real": 0, "ai": 0}
    for r in rows:
        if r.get("label") in total:
            total[r["label"]] += sum(int(r.get(k, 0) or 0) for k in ("train", "val", "test"))
    gens = {r.get("generator") for r in rows if r.get("label") == "ai"}
    return {"real": total["real"], "ai": total["ai"], "sources": len(rows), "generators": len(gens),
            "real_sources": sum(r.get("label") == "real" for r in rows),
            "ai_sources": sum(r.get("label") == "ai" for r in rows)}


def composition_note(card: dict | None) -> str:
    c = dataset_counts(card)
    if not c["sources"]:
        return ""
    ratio = c["real"] / c["ai"] if c["ai"] else float("nan")
    return (f"{c['real']:,} real photos from {c['real_sources']} sources against {c['ai']:,} AI images from "
            f"{c['ai_sources']} sources ({c['generators']} generators): about {ratio:.1f} real per AI image. "
            "Each generator comes from a single source, so a source's quirks (crop, resolution, post-processing) "
            "travel with its label: that is the shortcut the model must not learn.")


def shortcut_notes(ins: dict | None, card: dict | None = None) -> list[str]:
    """Where single sources stand apart on a statistic that has nothing to do with generation.

    With the card, each note also says which training countermeasure (if any) addresses it.
    """
    cfg, aug = dig(card, "training", "config", default={}), dig(card, "training", "augmentation", default={})
    rows = [s for s in dig(ins, "sources", default=[]) if isinstance(s, dict)]
    out = []
    gray = [s for s in rows if (_f(s.get("gray_fraction")) or 0) >= 0.5]
    for s in gray:
        line = (f"`{s['source']}` ({_lab(s)}) is {pct(s['gray_fraction'], 0)} grayscale: "
                "colour alone could reveal its label.")
        if _f(dig(cfg, "p_gray_ai")) is not None:
            line += (f" Training counters it by turning {pct(cfg['p_gray_ai'], 0)} of AI and "
                     f"{pct(dig(cfg, 'p_gray_real'), 0)} of real images gray.")
        out.append(line)
    out += _flat_edge_notes(rows, cfg)
    sharp = [(s, _f(dig(s, "sharpness", "median"))) for s in rows]
    sharp = [(s, v) for s, v in sharp if v is not None]
    if len(sharp) >= 3:
        med = float(np.median([v for _, v in sharp]))
        lo_s, lo = min(sharp, key=lambda t: t[1])
        hi_s, hi = max(sharp, key=lambda t: t[1])
        out.append(f"Sharpness varies {hi / max(lo, 1e-6):.0f}-fold between sources: `{lo_s['source']}` "
                   f"({_lab(lo_s)}) is the softest (median {lo:.0f} vs {med:.0f} overall) and "
                   f"`{hi_s['source']}` ({_lab(hi_s)}) the crispest ({hi:.0f})."
                   + (f" Augmentation blurs {pct(aug['p_blur'], 0)}, rescales {pct(dig(aug, 'p_rescale'), 0)} and "
                      f"re-compresses {pct(dig(aug, 'p_jpeg'), 0)} of training images so that sharpness cannot stand "
                      "in for the label." if _f(dig(aug, "p_blur")) is not None else ""))
    kb = [(s, _f(dig(s, "jpeg_kb", "median"))) for s in rows]
    kb = [(s, v) for s, v in kb if v is not None]
    if len(kb) >= 3:
        lo_s, lo = min(kb, key=lambda t: t[1])
        hi_s, hi = max(kb, key=lambda t: t[1])
        out.append(f"File sizes range from {lo:.1f} KB (`{lo_s['source']}`) to {hi:.1f} KB (`{hi_s['source']}`) for "
                   "the same 256 px at the same JPEG quality: a proxy for detail and noise.")
    return out


def _flat_edge_notes(rows: list[dict], cfg: dict) -> list[str]:
    """Real sources whose photos often have a flat black or white edge, against the AI sources' highest share."""
    flat = [(s, _f(s.get("flat_edge_fraction"))) for s in rows]
    flat = [(s, v) for s, v in flat if v is not None]
    ai = [v for s, v in flat if s.get("label") == "ai"]
    real = sorted(((s, v) for s, v in flat if s.get("label") == "real" and v >= 0.3), key=lambda t: -t[1])
    if not ai or not real:
        return []
    names = ", ".join(f"`{s['source']}` {pct(v, 0)}" for s, v in real)
    line = (f"A flat black or white edge (padding, a frame, a white backdrop) is a real photo's mark here: {names} "
            f"of their photos have one, no AI source more than {pct(max(ai), 0)}. A detector can learn "
            "\"flat edge = real\", and then a thin frame hides an AI image.")
    if _f(cfg.get("frame_ai")):
        line += (f" Training counters it by framing {pct(cfg['frame_ai'], 0)} of AI and "
                 f"{pct(cfg.get('frame_real') or 0, 0)} of real images (flat frames, letterbox bars, canvases).")
    return [line]


def spectrum_note(ins: dict | None) -> str:
    f = np.asarray(dig(ins, "radial", "freq", default=[]), float)
    real = np.asarray(dig(ins, "radial", "real", default=[]), float)
    ai = np.asarray(dig(ins, "radial", "ai", default=[]), float)
    if f.size < 8 or real.shape != f.shape or ai.shape != f.shape:
        return ""
    high = f >= 0.25
    d = float(np.mean(ai[high] - real[high]))
    more = "more" if d > 0 else "less"
    return (f"Above 0.25 cycles/px (the finest details) the AI images carry on average {abs(d):.2f} log units {more} "
            "energy than the real photos. Up-sampling layers in generators tend to leave periodic peaks or a raised "
            "high-frequency tail; JPEG's 8-px blocks put faint lines at multiples of 1/8 in both classes.")


def evaluation_findings(ev: dict | None, card: dict | None) -> list[str]:
    """Headline results of the untouched test split (the sources it trained on), as sentences."""
    o = dig(ev, "overall")
    if not o:
        return []
    out = [f"On {dig(o, 'n', default='?')} untouched test images from the sources it trained on, the model "
           f"reaches ROC-AUC {num(dig(o, 'roc_auc'))}, accuracy {pct(dig(o, 'accuracy'))} and balanced accuracy "
           f"{pct(dig(o, 'balanced_accuracy'))}; {pct(dig(o, 'uncertain_fraction'), 0)} of them fall in the "
           f"uncertain band."]
    ece = _f(dig(o, "ece"))
    if ece is not None:
        out.append(f"Its probabilities are {'well' if ece < 0.05 else 'only roughly'} calibrated: expected "
                   f"calibration error {ece:.3f} (0 is perfect).")
    gens = [g for g in dig(ev, "per_generator", default=[]) if isinstance(g, dict) and g.get("label") == "ai"
            and _f(g.get("accuracy")) is not None]
    if len(gens) >= 2:
        best = max(gens, key=lambda g: float(g["accuracy"]))
        worst = min(gens, key=lambda g: float(g["accuracy"]))
        out.append(f"Generators differ: {pct(best['accuracy'], 0)} of `{best.get('generator')}` images are flagged "
                   f"but only {pct(worst['accuracy'], 0)} of `{worst.get('generator')}` images.")
    reals = [s for s in dig(ev, "per_source", default=[]) if isinstance(s, dict) and s.get("label") == "real"
             and _f(s.get("accuracy")) is not None]
    if reals:
        worst = min(reals, key=lambda s: float(s["accuracy"]))
        out.append(f"False alarms concentrate on `{worst.get('source')}`: "
                   f"{pct(1 - float(worst['accuracy']), 0)} of its real photos are not called Real "
                   f"(mean P(AI) {pct(worst.get('mean_p_ai'), 0)}).")
    out += population_findings(ev)
    rob = [r for r in dig(ev, "robustness", default=[]) if isinstance(r, dict)
           and _f(r.get("delta_balanced_accuracy")) is not None]
    if rob:
        worst = min(rob, key=lambda r: float(r["delta_balanced_accuracy"]))
        d = float(worst["delta_balanced_accuracy"])
        if d < -0.005:
            ci = change_interval(worst)
            out.append(f"The hardest perturbation is `{worst.get('name')}`: balanced accuracy drops by "
                       f"{abs(d) * 100:.1f} points to {pct(worst.get('balanced_accuracy'))}"
                       + (f" (95 % interval {abs(ci[1]) * 100:.1f}-{abs(ci[0]) * 100:.1f} points)"
                          if ci and ci[1] <= 0 else "") + ".")
        else:
            out.append("Re-compression, rescaling and grayscale barely move balanced accuracy (largest drop "
                       f"{abs(d) * 100:.1f} points).")
    val_auc, test_auc = _f(dig(card, "validation", "roc_auc")), _f(dig(o, "roc_auc"))
    if val_auc is not None and test_auc is not None:
        verdict = ("the threshold and calibration, tuned on validation, carry over" if abs(val_auc - test_auc) < 0.02
                   else "a gap worth watching: the validation split flattered the model")
        out.append(f"Validation ROC-AUC was {val_auc:.3f} and test ROC-AUC is {test_auc:.3f}: {verdict}.")
    return out


def source_rows(ev: dict | None) -> list[dict]:
    """Per-source rows, then the parts of sources that hold two populations, named ``source:part``."""
    rows = [r for r in dig(ev, "per_source", default=[]) if isinstance(r, dict)]
    return rows + [{**r, "source": r["population"]} for r in dig(ev, "per_population", default=[])
                   if isinstance(r, dict) and r.get("population")]


def population_findings(ev: dict | None) -> list[str]:
    """One sentence per source whose populations the model treats differently (from ``per_population``)."""
    by_source: dict[str, list[dict]] = {}
    for r in dig(ev, "per_population", default=[]):
        if isinstance(r, dict) and ":" in str(r.get("population", "")) and _f(r.get("called_ai")) is not None:
            by_source.setdefault(r["population"].split(":")[0], []).append(r)
    out = []
    for src, rows in sorted(by_source.items()):
        if len(rows) < 2:
            continue
        parts = ", ".join(f"{pct(r['called_ai'], 0)} of its {r.get('n', '?')} `{r['population'].split(':', 1)[1]}` "
                          "photos" for r in rows)
        out.append(f"`{src}` holds two populations, and the model tells them apart: it calls AI {parts}.")
    return out


def held_out_groups(ev: dict | None, card: dict | None = None) -> list[dict]:
    """The held-out families' rows: ``evaluate``'s, else the card's copy of them (empty when neither has any)."""
    for doc in (ev, card):
        groups = [g for g in dig(doc, "held_out", "groups", default=[]) or [] if isinstance(g, dict)]
        if groups:
            return groups
    return []


def held_out_headline(ev: dict | None, card: dict | None = None) -> dict | None:
    """The figures a user should read first: on sources the model never saw, the worst family's share of AI
    images called *real* and of real photos called *AI* (the two errors a user acts on), and the pooled
    held-out AI vs real ROC-AUC. None when the model was never measured on held-out sources.

    Why first: the validation and test splits share their sources with training, so their 0.99+ figures say
    how well the model knows those sources, not how it does on a photo from somewhere else."""
    groups = held_out_groups(ev, card)
    ai = [g for g in groups if g.get("label") == "ai" and _f(g.get("called_real")) is not None]
    real = [g for g in groups if g.get("label") == "real" and _f(g.get("called_ai")) is not None]
    if not ai and not real:
        return None
    worst_ai = max(ai, key=lambda g: _f(g["called_real"]) or 0.0) if ai else None
    worst_real = max(real, key=lambda g: _f(g["called_ai"]) or 0.0) if real else None
    auc = _f(dig(ev, "held_out", "roc_auc_unseen_ai_vs_unseen_real")) or _f(
        dig(card, "held_out", "roc_auc_unseen_ai_vs_unseen_real"))
    return {
        "families": len(groups),
        "images": sum(int(g.get("n") or 0) for g in groups),
        "ai_called_real": None if worst_ai is None else (worst_ai.get("group", "?"), _f(worst_ai["called_real"])),
        "real_called_ai": None if worst_real is None else (worst_real.get("group", "?"), _f(worst_real["called_ai"])),
        "roc_auc": auc,
    }


def held_out_sentence(ev: dict | None, card: dict | None = None) -> str:
    """``held_out_headline`` in one sentence (empty when there is none)."""
    h = held_out_headline(ev, card)
    if h is None:
        return ""
    parts = []
    if h["ai_called_real"]:
        group, share = h["ai_called_real"]
        parts.append(f"up to {pct(share, 0)} of a new generator's images were called *real* (`{group}`)")
    if h["real_called_ai"]:
        group, share = h["real_called_ai"]
        parts.append(f"{pct(share, 1)} of real photos from a new source were called *AI* (`{group}`)")
    auc = "" if h["roc_auc"] is None else f"; their AI images against their real photos: ROC-AUC {num(h['roc_auc'])}"
    return (f"On {h['families']} families of images it never saw ({h['images']:,} images), "
            + " and ".join(parts) + auc + ".")


def generalisation_rows(ev: dict | None, card: dict | None = None) -> list[dict]:
    """The held-out table as the pages show it, read from ``evaluation.json`` (else the card; empty when absent)."""
    rows = []
    for g in held_out_groups(ev, card):
        auc = _f(g.get("roc_auc_vs_real_test"))
        rows.append({
            "Held-out family": g.get("group", "?"),
            "Label": g.get("label", "?"),
            "Images": g.get("n"),
            "Called real": pct(g.get("called_real"), 0),
            "Uncertain": pct(g.get("uncertain"), 0),
            "Called AI": pct(g.get("called_ai"), 0),
            "AUC vs real test photos": "—" if auc is None else f"{auc:.3f}",
            "Flagged unlike training": pct(g.get("flagged_novel"), 0),
        })
    return rows


def family_fold_rows(doc: dict | None) -> list[dict]:
    """One row per (run, fold) of ``family_folds.json``: the worst generator AUC and the most AI called real."""
    rows = []
    for run in dig(doc, "runs", default=[]) or []:
        aligned = dig(run, "recipe", "aligned_families", default=[]) or []
        for name, f in (dig(run, "folds", default={}) or {}).items():
            auc = _f(f.get("worst_roc_auc"))
            rows.append({
                "Run": run.get("run", "?"),
                "Network": dig(run, "recipe", "arch", default="?"),
                "Aligned fakes": ", ".join(aligned) or "none",
                "Fold": name,
                "Worst AUC vs real test": "—" if auc is None else f"{auc:.3f}",
                "Most AI called real": pct(f.get("most_ai_called_real"), 0),
                "Real called real": pct(f.get("least_real_called_real"), 0),
                "Meets targets": "yes" if f.get("meets_targets") else "no",
            })
    return rows


def group_photo_sentence(ev: dict | None) -> str:
    """How often a synthetic group photo of real faces is condemned by one face (empty when not measured)."""
    g = dig(ev, "group_photos")
    if not isinstance(g, dict) or _f(g.get("called_ai")) is None:
        return ""
    return (f"Group photos: {g.get('n')} composites of 2-4 real test faces were called AI "
            f"{pct(g.get('called_ai'), 1)} of the time and Real {pct(g.get('called_real'), 0)} (the image verdict "
            "is its most AI-like face's, so one false face would condemn the photo).")


def held_out_provenance(ev: dict | None) -> str:
    """Which model the held-out figures measure: the shipped one, or the protocol model it quotes."""
    quoted = dig(ev, "held_out", "model")
    if not isinstance(quoted, dict):
        return "Measured on the shipped model, which never trained or calibrated on these sources."
    return (f"Measured on the protocol model {quoted.get('version', '?')}: the shipped model's recipe trained and "
            "calibrated without these sources. The shipped model was then retrained on every source, these "
            "included, so it cannot be measured on them; these figures are what the recipe does on sources it "
            "never saw.")


def generalisation_findings(ev: dict | None) -> list[str]:
    """What the held-out sources say, next to the in-distribution test, as sentences."""
    groups = [g for g in dig(ev, "held_out", "groups", default=[]) or [] if isinstance(g, dict)]
    if not groups:
        return []
    out = []
    o = dig(ev, "overall") or {}
    real_rows = [g for g in groups if g.get("label") == "real"]
    ai_rows = [g for g in groups if g.get("label") == "ai"]
    if real_rows:
        worst = min(real_rows, key=lambda g: _f(g.get("called_real")) or 0.0)
        out.append(f"Real photos from a source it never saw (`{worst.get('group')}`): "
                   f"{pct(worst.get('called_real'), 0)} called real, {pct(worst.get('called_ai'), 0)} called AI; "
                   f"on its own test split {pct(dig(o, 'real_called_real'), 0)} of real photos are called real.")
    for g in ai_rows:
        out.append(f"Unseen generator `{g.get('group')}`: ROC-AUC {num(g.get('roc_auc_vs_real_test'))} against the "
                   f"real test photos, {pct(g.get('called_ai'), 0)} called AI (in-distribution test ROC-AUC "
                   f"{num(dig(o, 'roc_auc'))}).")
    candidates = dig(ev, "candidates", default=[]) or []
    findings = (framing_finding(candidates), views_finding(candidates), head_refit_finding(candidates))
    return out + [line for line in findings if line]


def views_finding(candidates: list[dict]) -> str:
    """What scoring each face with its mirror image did: a network measured with one view and with two."""
    runs: dict[tuple, dict[int, dict]] = {}
    for c in candidates:
        if _measured(c) and c.get("head_refit_c") is None:
            runs.setdefault((c.get("train_seconds"), c.get("steps")), {})[int(c.get("views") or 1)] = c
    pairs = [v for v in runs.values() if 1 in v and 2 in v]
    if not pairs:
        return ""
    one, two = pairs[-1][1], pairs[-1][2]
    return ("Averaging each face with its mirror image (the same network, a second view) moved the held-out scores "
            f"from {_held_out_scores(one)} to {_held_out_scores(two)}.")


def head_refit_finding(candidates: list[dict]) -> str:
    """What refitting only the last layer did: the best refit beside the same network with the head training left."""
    parents = {(c.get("train_seconds"), c.get("steps"), int(c.get("views") or 1)): c for c in candidates
               if _measured(c) and c.get("head_refit_c") is None}
    pairs = [(parents[key], c) for c in candidates if _measured(c) and c.get("head_refit_c") is not None
             and (key := (c.get("train_seconds"), c.get("steps"), int(c.get("views") or 1))) in parents]
    if not pairs:
        return ""
    before, after = max(pairs, key=lambda p: held_out_margin(p[1]) or -1.0)

    def called_ai(c: dict) -> str:
        return ", ".join(f"{pct(v, 1)}" for v in (c.get("held_out_real_called_ai") or {}).values())

    return ("Refitting only the last layer on the validation split, every source weighted equally (deep feature "
            f"reweighting, C {after['head_refit_c']}), moved the held-out scores from {_held_out_scores(before)} "
            f"to {_held_out_scores(after)}; unseen real studio photos called AI went from {called_ai(before)} to "
            f"{called_ai(after)}.")


def _measured(c: object) -> bool:
    """A candidate measured on the held-out sources itself (not a retrain quoting its protocol run)."""
    return isinstance(c, dict) and c.get("retrain_of") is None and _f(c.get("held_out_worst_score")) is not None


def _held_out_scores(candidate: dict) -> str:
    """A candidate's held-out scores, short: ``debruine_studio 0.918, facechain_style_previews 0.954``."""
    return ", ".join(f"{k.split(' ')[0]} {num(v)}" for k, v in (candidate.get("held_out_groups") or {}).items())


def framing_finding(candidates: list[dict]) -> str:
    """How the crop geometry moved the held-out scores: the best measured candidate of each framing, by the
    selection rule (the worst margin over the held-out targets)."""
    best: dict[Framing, dict] = {}
    for c in candidates:
        if not _measured(c):
            continue
        f = Framing.from_dict(c.get("framing"))
        if f not in best or (held_out_margin(c) or -1.0) > (held_out_margin(best[f]) or -1.0):
            best[f] = c
    if len(best) < 2:
        return ""
    parts = []
    for f, c in sorted(best.items(), key=lambda kv: held_out_margin(kv[1]) or -1.0):
        parts.append(f"{f.label()}: worst held-out score {num(c['held_out_worst_score'])} ({_held_out_scores(c)})")
    return ("How a face is framed matters: a tight crop enlarges small faces and smooths away generator traces. "
            "Best candidate per framing, " + "; ".join(parts) + ".")
