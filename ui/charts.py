"""Matplotlib figures for the Insights page, built from the JSON artefacts.

Each function takes plain dicts/lists as read from ``model_card.json``,
``evaluation.json`` or ``insights.json`` and returns a ``Figure`` (or ``None``
when the data it needs is missing), so the page only decides where to put them.
Figures are made with ``matplotlib.figure.Figure`` rather than ``pyplot``:
no global state, safe when several sessions draw at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from classifier import VERDICT_COLOURS

from .state import change_interval
from .state import finite as _num

REAL = tuple(c / 255 for c in VERDICT_COLOURS["real"])
AI = tuple(c / 255 for c in VERDICT_COLOURS["ai"])
GREY = "#8a8f98"
LABEL_COLOUR = {"real": REAL, "ai": AI}


def _fig(w: float, h: float, ncols: int = 1, nrows: int = 1, **kw: Any) -> tuple[Figure, Any]:
    fig = Figure(figsize=(w, h), layout="constrained", dpi=110)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    for ax in axes.ravel():
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
    return fig, axes


# -- dataset -----------------------------------------------------------------------------------
def composition(sources: Sequence[dict]) -> Figure | None:
    """Images per source, split into train/val/test, coloured by class."""
    rows = [s for s in sources if isinstance(s, dict) and "source" in s]
    if not rows:
        return None
    rows = sorted(rows, key=lambda s: (s.get("label") != "real", sum(s.get(k) or 0 for k in ("train", "val", "test"))))
    fig, axes = _fig(9, 0.38 * len(rows) + 1.1)
    ax = axes[0, 0]
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for split, alpha in (("train", 1.0), ("val", 0.6), ("test", 0.3)):
        vals = np.array([s.get(split, 0) or 0 for s in rows], dtype=float)
        ax.barh(y, vals, left=left, color=[LABEL_COLOUR.get(s.get("label"), GREY) for s in rows], alpha=alpha,
                edgecolor="white", linewidth=0.5, label=split)
        left += vals
    for yi, total in zip(y, left, strict=True):
        ax.text(total, yi, f" {int(total)}", va="center", fontsize=7)
    ax.set_yticks(y, [f"{s['source']}  ({s.get('generator', '?')})" for s in rows], fontsize=8)
    ax.set_xlabel("images (dark: train, mid: validation, light: test)", fontsize=8)
    ax.set_xlim(0, left.max() * 1.12)
    return fig


def image_stats(sources: Sequence[dict]) -> Figure | None:
    """Box plots per source of sharpness, colourfulness and JPEG size: the shortcut risks."""
    rows = [s for s in sources if isinstance(s, dict) and "source" in s]
    if not rows:
        return None
    rows = sorted(rows, key=lambda s: (s.get("label") != "real", s["source"]))
    panels = [("sharpness", "sharpness (variance of Laplacian, log)", True),
              ("colourfulness", "colourfulness (0 = grayscale)", False),
              ("jpeg_kb", "file size (KB, all 256 px JPEG q90)", False)]
    fig, axes = _fig(11, 0.34 * len(rows) + 1.3, ncols=3, sharey=True)
    for ax, (key, title, log) in zip(axes[0], panels, strict=True):
        data = [np.asarray((s.get(key) or {}).get("values") or [np.nan], float) for s in rows]
        if log:
            data = [np.maximum(d, 0.1) for d in data]
        bp = ax.boxplot(data, orientation="horizontal", widths=0.6, patch_artist=True, showfliers=False,
                        medianprops={"color": "black", "linewidth": 1})
        for patch, s in zip(bp["boxes"], rows, strict=True):
            patch.set_facecolor(LABEL_COLOUR.get(s.get("label"), GREY))
            patch.set_alpha(0.75)
        if log:
            ax.set_xscale("log")
        ax.set_title(title, fontsize=9)
    axes[0, 0].set_yticks(np.arange(1, len(rows) + 1), [s["source"] for s in rows], fontsize=8)
    return fig


def spectra(spectrum: dict) -> Figure | None:
    """Mean log spectrum of real and AI images, and their difference."""
    try:
        real, ai = np.asarray(spectrum["real"], float), np.asarray(spectrum["ai"], float)
    except (KeyError, TypeError, ValueError):
        return None
    if real.ndim != 2 or real.shape != ai.shape:
        return None
    fig, axes = _fig(11, 3.9, ncols=3)
    lo, hi = np.percentile(np.concatenate([real.ravel(), ai.ravel()]), [1, 99.5])
    ext = [-0.5, 0.5, 0.5, -0.5]  # cycles per pixel
    for ax, img, title in ((axes[0, 0], real, "real photos"), (axes[0, 1], ai, "AI-generated")):
        im = ax.imshow(img, cmap="magma", vmin=lo, vmax=hi, extent=ext)
        ax.set_title(f"mean spectrum: {title}", fontsize=9)
    fig.colorbar(im, ax=axes[0, :2], shrink=0.8, label="log(1 + |FFT|)")
    diff = ai - real
    m = float(np.percentile(np.abs(diff), 99.5)) or 1.0
    im2 = axes[0, 2].imshow(diff, cmap="RdBu_r", norm=TwoSlopeNorm(0, -m, m), extent=ext)
    axes[0, 2].set_title("AI minus real (red: more energy in AI)", fontsize=9)
    fig.colorbar(im2, ax=axes[0, 2], shrink=0.8)
    for ax in axes[0]:
        ax.set_xlabel("horizontal frequency (cycles/px)", fontsize=8)
    axes[0, 0].set_ylabel("vertical frequency", fontsize=8)
    return fig


def radial(radial_data: dict, sources: Sequence[dict] = ()) -> Figure | None:
    """Azimuthally averaged spectrum: real vs AI, with each source as a thin line."""
    try:
        f = np.asarray(radial_data["freq"], float)
        real, ai = np.asarray(radial_data["real"], float), np.asarray(radial_data["ai"], float)
    except (KeyError, TypeError, ValueError):
        return None
    label_of = {s.get("source"): s.get("label") for s in sources if isinstance(s, dict)}
    fig, axes = _fig(11, 3.4, ncols=2)
    ax, ax2 = axes[0]
    for src, prof in (radial_data.get("by_source") or {}).items():
        ax.plot(f, prof, color=LABEL_COLOUR.get(label_of.get(src), GREY), alpha=0.25, linewidth=0.8)
    ax.plot(f, real, color=REAL, linewidth=2, label="real (mean)")
    ax.plot(f, ai, color=AI, linewidth=2, label="AI (mean)")
    ax.set_xlabel("spatial frequency (cycles/px)", fontsize=8)
    ax.set_ylabel("mean log magnitude", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("radial profile (thin lines: single sources)", fontsize=9)
    ax2.axhline(0, color=GREY, linewidth=0.8)
    ax2.plot(f, ai - real, color="black", linewidth=1.5)
    ax2.fill_between(f, 0, ai - real, where=(ai - real) > 0, color=AI, alpha=0.3)
    ax2.fill_between(f, 0, ai - real, where=(ai - real) <= 0, color=REAL, alpha=0.3)
    ax2.set_xlabel("spatial frequency (cycles/px)", fontsize=8)
    ax2.set_title("AI minus real", fontsize=9)
    return fig


# -- training and evaluation -------------------------------------------------------------------
def history(hist: dict) -> Figure | None:
    """Loss, accuracy and AUC per epoch for training and validation."""
    pairs = [(k, f"val_{k}") for k in ("loss", "acc", "auc") if isinstance(hist.get(k), list) and hist.get(k)]
    if not pairs:
        return None
    fig, axes = _fig(11, 3.0, ncols=len(pairs))
    names = {"loss": "loss", "acc": "accuracy", "auc": "ROC-AUC"}
    for ax, (k, vk) in zip(axes[0], pairs, strict=True):
        tr = hist[k]
        ep = np.arange(1, len(tr) + 1)
        ax.plot(ep, tr, marker="o", markersize=3, color="#3b5bdb", label="train (augmented)")
        if isinstance(hist.get(vk), list) and hist[vk]:
            ax.plot(np.arange(1, len(hist[vk]) + 1), hist[vk], marker="o", markersize=3, color="#e8590c",
                    label="validation")
        ax.set_title(names[k], fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        n = max(len(tr), len(hist.get(vk) or []))
        ax.set_xlim(0.5, n + 0.5)
        ax.set_xticks(np.unique(np.linspace(1, n, min(n, 10)).round().astype(int)))
    axes[0, 0].legend(fontsize=8, frameon=False)
    return fig


def confusion(conf: dict) -> Figure | None:
    """2x2 confusion matrix with counts and row percentages (AI is the positive class)."""
    vals = [_num(conf.get(k)) if isinstance(conf, dict) else None for k in ("tp", "fn", "fp", "tn")]
    if any(v is None for v in vals):
        return None
    tp, fn, fp, tn = vals
    m = np.array([[tp, fn], [fp, tn]])
    rates = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, axes = _fig(4.4, 3.6)
    ax = axes[0, 0]
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{int(m[i, j])}\n{rates[i, j]:.1%}", ha="center", va="center", fontsize=10,
                    color="white" if rates[i, j] > 0.6 else "black")
    ax.set_xticks([0, 1], ["predicted AI", "predicted real"], fontsize=8)
    ax.set_yticks([0, 1], ["AI images", "real images"], fontsize=8)
    ax.spines[:].set_visible(False)
    return fig


def roc(roc_data: dict, auc: Any = None) -> Figure | None:
    try:
        fpr, tpr = np.asarray(roc_data["fpr"], float), np.asarray(roc_data["tpr"], float)
    except (KeyError, TypeError, ValueError):
        return None
    if fpr.size < 2 or fpr.shape != tpr.shape:
        return None
    fig, axes = _fig(4.4, 3.6)
    ax = axes[0, 0]
    ax.plot([0, 1], [0, 1], linestyle="--", color=GREY, linewidth=0.8)
    a = _num(auc)
    ax.plot(fpr, tpr, color="#3b5bdb", linewidth=2, label=f"AUC = {a:.3f}" if a is not None else None)
    ax.fill_between(fpr, 0, tpr, color="#3b5bdb", alpha=0.08)
    ax.set_xlabel("false positive rate (real called AI)", fontsize=8)
    ax.set_ylabel("true positive rate (AI caught)", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    if a is not None:
        ax.legend(loc="lower right", fontsize=9, frameon=False)
    return fig


def reliability(bins: Sequence[dict]) -> Figure | None:
    """Predicted probability vs observed share of AI images per bin, with bin counts below."""
    rows = [b for b in bins if isinstance(b, dict) and _num(b.get("p_mean")) is not None
            and _num(b.get("frac_ai")) is not None]
    if not rows:
        return None
    p = np.array([float(b["p_mean"]) for b in rows])
    y = np.array([float(b["frac_ai"]) for b in rows])
    n = np.array([_num(b.get("count")) or 0 for b in rows])
    fig, axes = _fig(4.4, 4.2, nrows=2, gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax, axn = axes[0, 0], axes[1, 0]
    ax.plot([0, 1], [0, 1], linestyle="--", color=GREY, linewidth=0.8, label="perfect calibration")
    ax.plot(p, y, marker="o", color="#3b5bdb", linewidth=1.5, label="model")
    ax.set_ylabel("observed share of AI images", fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    axn.bar(p, n, width=0.04, color=GREY)
    axn.set_ylabel("images", fontsize=8)
    axn.set_xlabel("predicted probability of AI", fontsize=8)
    axn.set_xlim(0, 1)
    return fig


def accuracy_bars(rows: Sequence[dict], name_key: str, extra_key: str | None = None,
                  extra_label: str = "") -> Figure | None:
    """Accuracy per group (source or generator), coloured by class, with n in the label."""
    rows = [r for r in rows if isinstance(r, dict) and _num(r.get("accuracy")) is not None]
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: (r.get("label") != "real", float(r["accuracy"])))
    fig, axes = _fig(5, 0.36 * len(rows) + 1.0)
    ax = axes[0, 0]
    y = np.arange(len(rows))
    acc = np.array([float(r["accuracy"]) for r in rows])
    ax.barh(y, acc, color=[LABEL_COLOUR.get(r.get("label"), GREY) for r in rows], alpha=0.85)
    for yi, r, a in zip(y, rows, acc, strict=True):
        note = f" {a:.0%}"
        if extra_key and _num(r.get(extra_key)) is not None:
            note += f"  ({extra_label} {float(r[extra_key]):.3f})"
        ax.text(a, yi, note, va="center", fontsize=8)
    ax.set_yticks(y, [f"{r.get(name_key, '?')}  (n={r.get('n', '?')})" for r in rows], fontsize=8)
    ax.set_xlim(0, 1.35)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("accuracy", fontsize=8)
    return fig


def _bar_rows(rows: Sequence[dict], key: str, per_row: float = 0.36) -> tuple[list[dict], Figure, Any, np.ndarray]:
    """The rows that have a number under ``key``, and a horizontal-bar figure sized for them."""
    rows = [r for r in rows if isinstance(r, dict) and _num(r.get(key)) is not None]
    fig, axes = _fig(5, per_row * len(rows) + 1.0)
    return rows, fig, axes[0, 0], np.arange(len(rows))


def _interval(row: dict, delta: float | None) -> tuple[float, float] | None:
    """How far below and above ``delta`` the row's 95 % interval for the change reaches, if it has one."""
    ci = change_interval(row)
    if delta is None or ci is None:
        return None
    return max(0.0, delta - ci[0]), max(0.0, ci[1] - delta)


def robustness(rows: Sequence[dict]) -> Figure | None:
    """Balanced accuracy under each perturbation (JPEG, rescaling, grayscale...) vs the clean images."""
    rows, fig, ax, y = _bar_rows(rows, "balanced_accuracy")
    if not rows:
        return None
    ba = np.array([float(r["balanced_accuracy"]) for r in rows])
    deltas = [_num(r.get("delta_balanced_accuracy")) for r in rows]
    colours = ["#3b5bdb" if (d is None or d > -0.02) else "#e8590c" if d > -0.08 else AI for d in deltas]
    ax.barh(y, ba, color=colours, alpha=0.85)
    # The change's 95 % interval (evaluate: images resampled) as an error bar around each degraded bar.
    spans = [_interval(r, d) for r, d in zip(rows, deltas, strict=True)]
    has = np.array([sp is not None for sp in spans])
    if has.any():
        err = np.array([sp for sp in spans if sp is not None]).T
        ax.errorbar(ba[has], y[has], xerr=err, fmt="none", ecolor="#333333", elinewidth=0.8, capsize=2)
    for yi, b, d, sp in zip(y, ba, deltas, spans, strict=True):
        ax.text(b + (sp[1] if sp else 0.0), yi, f" {b:.1%}" + (f" ({d * 100:+.1f} pts)" if d is not None else ""),
                va="center", fontsize=8)  # after the whisker, so that it stays readable
    ax.set_yticks(y, [str(r.get("name", "?")) for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0.4, 1.18)
    ax.set_xlabel("balanced accuracy (orange/red: drop of more than 2 / 8 points)", fontsize=8)
    return fig


def verdict_shares(rows: Sequence[dict], name_key: str = "group") -> Figure | None:
    """Stacked bars: the share of each held-out family called real, uncertain and AI."""
    rows, fig, ax, y = _bar_rows(rows, "called_real", per_row=0.42)
    if not rows:
        return None
    left = np.zeros(len(rows))
    for key, colour, label in (("called_real", LABEL_COLOUR.get("real", GREY), "called real"),
                               ("uncertain", "#e6a000", "uncertain"),
                               ("called_ai", LABEL_COLOUR.get("ai", GREY), "called AI")):
        share = np.array([float(_num(r.get(key)) or 0.0) for r in rows])
        ax.barh(y, share, left=left, color=colour, alpha=0.85, label=label)
        left += share
    ax.set_yticks(y, [f"{r.get(name_key, '?')} [{r.get('label', '?')}] (n={r.get('n', '?')})" for r in rows],
                  fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
    ax.legend(fontsize=7, loc="lower right", ncols=3)
    ax.invert_yaxis()
    return fig
