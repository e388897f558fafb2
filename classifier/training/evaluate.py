"""Evaluation entry point: ``python -m classifier evaluate`` (or ``make evaluate``).

Scores the shipped model on the untouched test split through the same
pipeline the app uses (decode, face detection, crop, network, calibration), and
writes ``models/evaluation.json`` for the Insights page, the README and the
Takeaways page: overall and per-source/per-generator metrics, ROC and
reliability points, and robustness to common degradations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from .. import calibration as cal
from ..card import CARD_FILE, EVAL_FILE, PROTOCOL_DIR, read_json, write_json
from ..compression import is_heavily_compressed
from ..conditions import is_enlarged
from ..faces import Box, Framing, content_box, crop_box, detect_faces, model_input
from ..predictor import Classifier, load_classifier, model_dir_default
from .augment import framed, jpeg_roundtrip, on_canvas, to_gray
from .data import (
    FOLD_TARGETS,
    HELD_OUT_SOURCES,
    Record,
    fold_of,
    fold_sources,
    held_out_group,
    held_out_reason,
    load_images,
    read_manifest,
)
from .group_photos import group_photo_report
from .metrics import confusion, paired_delta_interval, roc_auc, roc_points
from .release import release_gate


def _half_scale(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def _webcam_like(img: np.ndarray) -> np.ndarray:
    """Soft focus, sensor noise and JPEG q70: a rough stand-in for a webcam frame."""
    rng = np.random.default_rng(int(img[::17, ::17].sum()))  # fixed per image: repeatable
    soft = cv2.GaussianBlur(img, (0, 0), 1.0)
    noisy = np.clip(soft + rng.normal(0, 4.0, img.shape), 0, 255).astype(np.uint8)
    return jpeg_roundtrip(noisy, 70)


def _framed_by(share: float, grey: int) -> Callable[[np.ndarray], np.ndarray]:
    """A flat frame of ``share`` of the short side on every side: white 4 % as a print scan or a social-media
    post has, a light-gray 20 % as a photo on a page in a screenshot."""
    def frame(img: np.ndarray) -> np.ndarray:
        t = max(1, round(share * min(img.shape[:2])))
        return framed(img, t, t, t, t, (grey, grey, grey))
    return frame


def _on_canvas(img: np.ndarray) -> np.ndarray:
    """The photo shrunk to 80 % on a light-gray page of its own size: a frame that also costs pixels."""
    return on_canvas(img, 0.8, (235, 235, 235))[0]


def _close_crop(img: np.ndarray) -> np.ndarray:
    """The centre two-thirds: a close crop of the portrait (a profile picture), smaller than the network's window."""
    h, w = img.shape[:2]
    return np.ascontiguousarray(img[h // 6 : h - h // 6, w // 6 : w - w // 6])


def _caption_bar(img: np.ndarray) -> np.ndarray:
    """A white bar a fifth of the height with a line of dark text under the photo: a meme or a social-media post."""
    h, w = img.shape[:2]
    bar = np.full((h // 5, w, 3), 255, np.uint8)
    cv2.putText(bar, "Look at this photo!", (max(2, w // 50), h // 10 + 5), cv2.FONT_HERSHEY_SIMPLEX,
                max(0.3, w / 430), (20, 20, 20), max(1, w // 128))
    return np.vstack([img, bar])


ROBUSTNESS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "original": lambda im: im,
    "jpeg_q50": lambda im: jpeg_roundtrip(im, 50),
    "half_scale": _half_scale,
    "grayscale": to_gray,
    "blur_5px": lambda im: cv2.GaussianBlur(im, (5, 5), 0),
    "webcam_like": _webcam_like,
    # Flat edges: nearly every flat black or white edge in the data is a real photo's (augment.add_frame).
    "white_frame": _framed_by(0.04, 255),
    "on_page": _framed_by(0.2, 235),
    "on_canvas": _on_canvas,
    # Found 2026-12-03: a close crop is enlarged, and enlarged AI faces score low (conditions.is_enlarged); a text
    # bar is not a flat frame, so it stays in the square, and white is a real photo's edge in our data.
    "close_crop": _close_crop,
    "caption_bar": _caption_bar,
}


# The JPEG quality a check's photo would carry in its file, which the app reads from the header
# (compression.jpeg_quality): a heavily compressed one is judged with the wider band, so its product verdicts are too.
SAVED_QUALITY = {"jpeg_q50": 50, "webcam_like": 70}


def top_face_input(img: np.ndarray, size: int, framing: Framing) -> tuple[np.ndarray, Box]:
    """The app's crop of an image's top face (else the centre square), frame-aware, and the square it came from."""
    faces = detect_faces(img, max_faces=1)
    face, inner = (faces[0] if faces else None), content_box(img)
    return model_input(img, face, size, framing, inner), crop_box(face, img.shape, framing, inner)


def top_face_batches(clf: Classifier, images: list[np.ndarray],
                     batch: int = 64) -> Iterator[tuple[np.ndarray, list[bool]]]:
    """The app's crops of each image's top face (``top_face_input``), ``batch`` at a time, with whether each
    square was enlarged (``conditions.is_enlarged``)."""
    for i in range(0, len(images), batch):
        crops, squares = zip(*(top_face_input(im, clf.input_size, clf.framing) for im in images[i : i + batch]),
                             strict=True)
        yield np.stack(crops), [is_enlarged(sq, clf.input_size) for sq in squares]


def pipeline_outputs(clf: Classifier, images: list[np.ndarray],
                     batch: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated p_ai, the novelty flag and the enlargement flag (``conditions.is_enlarged``) per image via the
    app's pipeline (top face, else centre square)."""
    p_out, novel_out, enlarged = [], [], []
    for crops, big in top_face_batches(clf, images, batch):
        p, _, novel = clf.outputs(crops)
        p_out.append(p)
        novel_out.append(novel)
        enlarged += big
    return np.concatenate(p_out), np.concatenate(novel_out), np.array(enlarged, bool)


def pipeline_probabilities(clf: Classifier, images: list[np.ndarray], batch: int = 64) -> np.ndarray:
    """Calibrated p_ai per image via the app's pipeline (top face, else centre square)."""
    return pipeline_outputs(clf, images, batch)[0]


def product_verdicts(p: np.ndarray, wide: np.ndarray, band: tuple[float, float] | np.ndarray) -> np.ndarray:
    """The app's verdict per image ("ai", "real", "uncertain"): ``band`` is one band or one per image (N, 2), widened
    where ``wide`` (an unfamiliar, enlarged or compressed face); the small-face rule aside, as the top face's size
    is not kept here."""
    bands = np.broadcast_to(np.asarray(band, np.float64), (len(p), 2))
    return np.array([cal.verdict(float(pi), cal.widened_band(tuple(b)) if w else tuple(b))
                     for pi, w, b in zip(p, wide, bands, strict=True)])


def app_rules(clf: Classifier, enlarged: np.ndarray, compressed: bool) -> tuple[np.ndarray, np.ndarray]:
    """The cut (N,) and band (N, 2) the app applies to each image's top face (``Classifier.rule``): the
    condition's where the square was enlarged or the file heavily compressed, else the main ones."""
    rules = [clf.rule(compressed, bool(e)) for e in enlarged]
    return np.array([r[0] for r in rules]), np.array([r[1] for r in rules]).reshape(-1, 2)


def summary(y: np.ndarray, p: np.ndarray, threshold: float, band: tuple[float, float]) -> dict:
    pred = p >= threshold
    return {
        "n": int(len(y)),
        "roc_auc": roc_auc(y, p),
        "accuracy": float(np.mean(pred == y.astype(bool))),
        "balanced_accuracy": cal.balanced_accuracy(y, pred),
        "ece": cal.expected_calibration_error(p, y),
        "uncertain_fraction": float(np.mean((p >= band[0]) & (p < band[1]))),
        "threshold": threshold,
        "confusion": confusion(y, pred),
    }


def verdict_shares(p: np.ndarray, band: tuple[float, float]) -> dict[str, float]:
    """How often the product's verdict is each of its three words (what a user actually sees)."""
    p = np.asarray(p, np.float64)
    n = max(1, len(p))
    return {"called_ai": float(np.sum(p >= band[1]) / n), "called_real": float(np.sum(p < band[0]) / n),
            "uncertain": float(np.sum((p >= band[0]) & (p < band[1])) / n)}


def _group_row(records: list[Record], m: np.ndarray, y: np.ndarray, p: np.ndarray, pred: np.ndarray,
               band: tuple[float, float]) -> dict:
    r0 = records[int(np.flatnonzero(m)[0])]
    return {"label": r0.label, "generator": r0.generator, "n": int(m.sum()),
            "accuracy": float(np.mean(pred[m] == y[m].astype(bool))), "mean_p_ai": float(p[m].mean()),
            **verdict_shares(p[m], band)}


def per_population(
    records: list[Record], y: np.ndarray, p: np.ndarray, threshold: float, band: tuple[float, float] = (0.5, 0.5)
) -> list[dict]:
    """Rows for the parts of sources that hold two populations (data.POPULATIONS), e.g. FFHQ vs CelebA-HQ."""
    pops = [r.population for r in records]
    rows = []
    for pop in sorted({q for q, r in zip(pops, records, strict=True) if q != r.source}):
        m = np.array([q == pop for q in pops])
        rows.append({"population": pop, **_group_row(records, m, y, p, p >= threshold, band)})
    return rows


def per_group(
    records: list[Record], y: np.ndarray, p: np.ndarray, threshold: float, band: tuple[float, float] = (0.5, 0.5)
) -> tuple[list, list]:
    pred = p >= threshold
    sources, generators = [], []
    for src in sorted({r.source for r in records}):
        m = np.array([r.source == src for r in records])
        sources.append({"source": src, **_group_row(records, m, y, p, pred, band)})
    real = y == 0
    for gen in sorted({r.generator for r in records}):
        m = np.array([r.generator == gen for r in records])
        label = next(r.label for r in records if r.generator == gen)
        both = m | real if label == "ai" else m
        generators.append(
            {
                "generator": gen,
                "label": label,
                "n": int(m.sum()),
                "accuracy": float(np.mean(pred[m] == y[m].astype(bool))),
                "roc_auc_vs_real": roc_auc(y[both], p[both]) if label == "ai" else None,
            }
        )
    return sources, generators


def trained_sources(card: dict) -> set[str]:
    """The sources a model trained on, from its card (older cards: the sources its data listed, less held-out ones)."""
    training = card.get("training", {})
    listed = training.get("trained_on") or [r["source"] for r in card["data"]["sources"]]
    return set(listed) - set(training.get("held_out_sources") or {}) if not training.get("trained_on") else set(listed)


def unseen_sources(card: dict) -> list[str]:
    """The protocol's held-out sources this model never trained on."""
    candidates = set(HELD_OUT_SOURCES) | fold_sources(list(card.get("training", {}).get("folds") or ()))
    return sorted(candidates - trained_sources(card))


def run_folds(card: dict) -> set[str]:
    """The family folds a run held out: those it names, and the studio fold whenever the protocol held out."""
    config = card.get("training", {}).get("config", {})
    return set(config.get("folds") or ()) | ({"studio"} if config.get("held_out", True) else set())


def held_out_summary(
    records: list[Record], p: np.ndarray, real_test_p: np.ndarray, threshold: float, band: tuple[float, float],
    folds: set[str] | None = None,
) -> dict:
    """Each held-out family's figures from per-image probabilities (pure: the card test re-derives it).

    Real families: the share called real / AI / uncertain (the costly error is "AI").
    Generators: ROC-AUC against the in-distribution real test photos, and the share called AI.
    """
    p, real_test_p = np.asarray(p, np.float64), np.asarray(real_test_p, np.float64)
    rows = []
    for group in sorted({held_out_group(r.source) for r in records}):
        m = np.array([held_out_group(r.source) == group for r in records])
        label = next(r.label for r in records if held_out_group(r.source) == group)
        sources = sorted({r.source for r, k in zip(records, m, strict=True) if k})
        row = {"group": group, "label": label, "sources": sources,
               "n": int(m.sum()), "mean_p_ai": float(p[m].mean()), **verdict_shares(p[m], band),
               "accuracy": float(np.mean((p[m] >= threshold) == (label == "ai")))}
        if label == "ai":
            yy = np.r_[np.zeros(len(real_test_p)), np.ones(int(m.sum()))]
            row["roc_auc_vs_real_test"] = roc_auc(yy, np.r_[real_test_p, p[m]])
        rows.append(row)
    y = np.array([r.y for r in records])
    return {
        "sources": {s: held_out_reason(s) for s in sorted({r.source for r in records})},
        "groups": rows,
        "folds": fold_summary(rows, folds),
        "roc_auc_unseen_ai_vs_unseen_real": roc_auc(y, p),
        "worst_score": worst_held_out_score(rows),
    }


def fold_summary(rows: list[dict], folds: set[str] | None = None) -> dict[str, dict]:
    """Each family fold's verdict from its held-out rows: the worst generator AUC, the most AI called *real*,
    the real families' shares, and whether every FOLD_TARGETS bound holds. Rows in none of the run's ``folds``
    (None: every fold) form "protocol": a held-out TPDNE set is only a no-GAN fold when no GAN was trained on."""
    out: dict[str, dict] = {}
    for row in rows:
        fold = fold_of(row["sources"][0])
        fold = fold if fold and (folds is None or fold in folds) else "protocol"
        out.setdefault(fold, {"groups": []})["groups"].append(row["group"])
        f = out[fold]
        if row["label"] == "ai":
            f["worst_roc_auc"] = min(f.get("worst_roc_auc", 1.0), float(row.get("roc_auc_vs_real_test") or 0.0))
            f["most_ai_called_real"] = max(f.get("most_ai_called_real", 0.0), float(row["called_real"]))
        else:
            f["least_real_called_real"] = min(f.get("least_real_called_real", 1.0), float(row["called_real"]))
            f["most_real_called_ai"] = max(f.get("most_real_called_ai", 0.0), float(row["called_ai"]))
    for f in out.values():
        f["meets_targets"] = bool(
            f.get("worst_roc_auc", 1.0) >= FOLD_TARGETS["roc_auc"]
            and f.get("most_ai_called_real", 0.0) <= FOLD_TARGETS["ai_called_real"]
            and f.get("least_real_called_real", 1.0) >= FOLD_TARGETS["real_called_real"]
            and f.get("most_real_called_ai", 0.0) <= FOLD_TARGETS["real_called_ai"])
    return out


def held_out_report(clf: Classifier, records: list[Record], data: str | None, real_test: list[Record],
                    real_test_p: np.ndarray) -> dict:
    """The held-out families through the app's pipeline, with the per-image numbers behind them."""
    p, novel, _ = pipeline_outputs(clf, load_images(records, data))
    summary_ = held_out_summary(records, p, real_test_p, clf.threshold, clf.band, run_folds(clf.card))
    for row in summary_["groups"]:  # how often the "unlike the training data" warning fires per family
        row["flagged_novel"] = float(np.mean([novel[i] for i, r in enumerate(records)
                                              if held_out_group(r.source) == row["group"]]))
    return {
        **summary_,
        # per image: the card test re-derives the rows from these and spot-checks them through the pipeline
        "images": {"paths": [r.path for r in records], "p_ai": [round(float(v), 6) for v in p],
                   "real_test_paths": [r.path for r in real_test],
                   "real_test_p_ai": [round(float(v), 6) for v in real_test_p]},
    }


def protocol_held_out(model_dir: Path, data: str | None, all_records: list[Record]) -> dict | None:
    """The held-out figures of ``model_dir/protocol``: the same recipe trained without the held-out sources.

    A model trained on every source cannot be measured on sources it saw, so its card quotes the
    protocol model's figures, computed here through the same pipeline (None when there is none).
    """
    pdir = model_dir / PROTOCOL_DIR
    if not (pdir / CARD_FILE).is_file():
        return None
    pclf = load_classifier(pdir)
    unseen = unseen_sources(pclf.card)
    if not unseen:
        raise ValueError(f"{pdir} holds a model that trained on every held-out source; it measures nothing")
    trained = trained_sources(pclf.card)
    real_test = [r for r in all_records if r.split == "test" and r.source in trained and r.label == "real"]
    real_test_p = pipeline_probabilities(pclf, load_images(real_test, data))
    report = held_out_report(pclf, [r for r in all_records if r.source in unseen], data, real_test, real_test_p)
    report["model"] = {"dir": PROTOCOL_DIR, "version": pclf.card["version"],
                       "lite_sha256": pclf.card.get("lite_sha256"),
                       "train_seconds": pclf.card["training"]["seconds"],
                       "config": pclf.card["training"]["config"],
                       "note": "the protocol model: this recipe trained and calibrated without the held-out sources"}
    return report


def same_recipe(a: dict, b: dict) -> bool:
    """Two training configs differ only in whether the held-out sources were trained on.

    A key one card lacks (written before the option existed) counts as the option's default.
    """
    import dataclasses

    from .train import TrainConfig

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}

    # Options added after cards were written whose default is not what those cards trained with.
    absent_means = {"aligned_families": (), "pair_aligned": False, "folds": ()}

    def norm(cfg: dict) -> dict:
        full = {**defaults, **absent_means, **cfg}
        for key in ("sim_focus", "folds", "aligned_families"):  # tuples in the config, lists in JSON
            full[key] = list(full.get(key) or [])
        return {k: v for k, v in full.items() if k != "held_out"}

    return norm(a) == norm(b)


def held_out_score(row: dict) -> float:
    """One number per held-out family, 1 = perfect: real photos called real; generators' AUC."""
    return float(row["called_real"]) if row["label"] == "real" else float(row.get("roc_auc_vs_real_test") or 0.0)


def worst_held_out_score(rows: list[dict]) -> float | None:
    return min((held_out_score(r) for r in rows), default=None)


def worst_real_source(sources: np.ndarray, y: np.ndarray, called_ai: np.ndarray) -> dict:
    """The real source with the most photos called AI, and that share: a check's overall rate hides it."""
    shares = {str(s): float(np.mean(called_ai[(sources == s) & (y == 0)])) for s in np.unique(sources[y == 0])}
    worst = max(shares, key=shares.get, default=None)
    return {"worst_real_source": worst, "worst_real_source_false_ai": shares.get(worst, 0.0)}


def checks_to_run(degradations: bool | Sequence[str]) -> list[str]:
    """The robustness checks to run, "original" (the clean split) always first; ``ValueError`` for a name
    ``ROBUSTNESS`` does not know."""
    if isinstance(degradations, bool):
        return list(ROBUSTNESS) if degradations else ["original"]
    unknown = sorted(set(degradations) - set(ROBUSTNESS))
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(ROBUSTNESS)}")
    return ["original", *dict.fromkeys(n for n in degradations if n != "original")]


def evaluate(
    model_dir: str | Path | None = None, data: str | None = None, split: str = "test", write: bool = True,
    degradations: bool | Sequence[str] = True,
) -> dict:
    """Score ``split`` (and the held-out sources); for the test split write ``evaluation.json`` and the card.

    ``degradations``: every robustness check (True), none (False) or these names from ``ROBUSTNESS``."""
    checks = checks_to_run(degradations)
    model_dir = Path(model_dir or model_dir_default())
    clf = load_classifier(model_dir)
    card = read_json(model_dir / CARD_FILE)
    unseen = unseen_sources(card)
    all_records = read_manifest(data)
    # In-distribution: the split of the sources the model trained on. Held-out sources are reported
    # apart; sources added to the data after the model was trained count once a model trained on them ships.
    trained = trained_sources(card)
    records = [r for r in all_records if r.split == split and r.source in trained]
    images = load_images(records, data)
    y = np.array([r.y for r in records])
    report: dict = {"split": split}
    sources = np.array([r.source for r in records])
    robustness, called_ai = [], []  # called_ai: each check's verdicts at the app's cuts, for the intervals
    p_orig = None
    novel_orig = None
    for name in checks:
        transform = ROBUSTNESS[name]
        p, novel, enlarged = pipeline_outputs(clf, [transform(im) for im in images])
        if name == "original":
            p_orig, novel_orig = p, novel
        s = summary(y, p, clf.threshold, clf.band)
        compressed = is_heavily_compressed(SAVED_QUALITY.get(name))
        cuts, bands = app_rules(clf, enlarged, compressed)
        said = product_verdicts(p, novel | enlarged | compressed, bands)
        called_ai.append(ai := p >= cuts)
        robustness.append(
            {"name": name, "balanced_accuracy": cal.balanced_accuracy(y, ai),
             "balanced_accuracy_main_cut": s["balanced_accuracy"], "roc_auc": s["roc_auc"], "ece": s["ece"],
             "false_ai_rate_real": float(np.mean(ai[y == 0])), **worst_real_source(sources, y, ai),
             "ai_called_real": float(np.mean(said[y == 1] == "real")),
             "real_called_ai": float(np.mean(said[y == 0] == "ai")),
             "real_called_uncertain": float(np.mean(said[y == 0] == "uncertain")), "enlarged": float(np.mean(enlarged))}
        )
        print(f"  {name:12s} balanced_acc={robustness[-1]['balanced_accuracy']:.4f} (main cut "
              f"{s['balanced_accuracy']:.4f}) auc={s['roc_auc']:.4f}", flush=True)
    for row, verdicts in zip(robustness, called_ai, strict=True):
        row["delta_balanced_accuracy"] = row["balanced_accuracy"] - robustness[0]["balanced_accuracy"]
        row["delta_balanced_accuracy_ci95"] = list(paired_delta_interval(y, called_ai[0], verdicts))
        row["delta_balanced_accuracy_main_cut"] = (row["balanced_accuracy_main_cut"]
                                                   - robustness[0]["balanced_accuracy_main_cut"])
    report["overall"] = summary(y, p_orig, clf.threshold, clf.band)
    real = y == 0
    report["overall"]["false_ai_rate_real"] = float(np.mean(p_orig[real] >= clf.threshold))
    report["overall"].update({f"real_{k}": v for k, v in verdict_shares(p_orig[real], clf.band).items()})
    report["per_source"], report["per_generator"] = per_group(records, y, p_orig, clf.threshold, clf.band)
    report["per_population"] = per_population(records, y, p_orig, clf.threshold, clf.band)
    report["trained_on"] = sorted({r.source for r in records})
    report["overall"]["flagged_novel"] = float(np.mean(novel_orig))
    if unseen:
        held = [r for r in all_records if r.source in unseen]
        real_test = [r for r, k in zip(records, real, strict=True) if k]
        report["held_out"] = held_out_report(clf, held, data, real_test, p_orig[real])
    elif (protocol := protocol_held_out(model_dir, data, all_records)) is not None:
        if not same_recipe(protocol["model"]["config"], card["training"]["config"]):
            raise ValueError(f"{model_dir / PROTOCOL_DIR} was trained with another recipe; its held-out figures "
                             "would not describe this model")
        report["held_out"] = protocol
    if "held_out" in report:
        for row in report["held_out"]["groups"]:
            print(f"  held out {row['group']:36s} n={row['n']:4d} called real {row['called_real']:.3f} "
                  f"AI {row['called_ai']:.3f} auc {row.get('roc_auc_vs_real_test')}", flush=True)
        for name, fold in report["held_out"].get("folds", {}).items():
            print(f"  fold {name}: {fold}", flush=True)
    # Real group photos (issue 42): the image verdict is its most AI-like face's, so measure it on composites.
    report["group_photos"] = group_photo_report(clf, [im for im, k in zip(images, real, strict=True) if k])
    print(f"  group photos of real faces: called AI {report['group_photos']['called_ai']:.3f}, "
          f"real {report['group_photos']['called_real']:.3f}", flush=True)
    report["roc"] = roc_points(y, p_orig)
    report["reliability"] = cal.reliability_bins(p_orig, y)
    report["robustness"] = robustness
    candidates = model_dir / "candidates.json"
    if candidates.exists():
        report["candidates"] = read_json(candidates)["candidates"]
    if write and split == "test":
        write_json(model_dir / EVAL_FILE, report)
        card["test"] = {k: report["overall"][k] for k in ("n", "roc_auc", "accuracy", "balanced_accuracy", "ece",
                                                            "false_ai_rate_real")}
        card["test"]["worst_source_accuracy"] = min(r["accuracy"] for r in report["per_source"])
        card["test"]["release_gate"] = release_gate(report)
        if "held_out" in report:
            card["held_out"] = {k: v for k, v in report["held_out"].items() if k != "images"}
        card["group_photos"] = {k: report["group_photos"][k] for k in ("n", "called_ai", "called_real", "uncertain")}
        write_json(model_dir / CARD_FILE, card)
    return report
