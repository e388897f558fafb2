"""Dataset statistics for the Insights page: where the shortcuts hide.

The real and AI images come from different sources, so a classifier can learn
"LFW is grayscale" or "this generator is smoother" instead of "this is
generated". The numbers here make those risks visible: per-source sharpness,
colour, JPEG size and the mean frequency spectrum (where GAN and diffusion
up-sampling leave periodic traces). They are computed once from a fixed sample
of the dataset and written to ``models/insights.json``, so the app can show them
on a machine without the dataset.

    python -m classifier.insights [--data DIR] [--per-source 60] [--out models/insights.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from ..card import INSIGHTS_FILE  # noqa: E402
from ..dataset import REPO_ROOT, data_dir, dataset_available
from ..dataset import sample_by_source as sample_records
from ..images import load_image
from .augment import is_gray
from .data import read_manifest

DEFAULT_OUT = REPO_ROOT / "models" / INSIGHTS_FILE
SPECTRUM_SIDE = 256  # images are resized to this before the FFT, so every source is compared alike
SPECTRUM_OUT = 128  # the stored mean spectrum is block-averaged down to this (keeps the JSON small)
STATS = ("sharpness", "colourfulness", "jpeg_kb")


# -- per-image measurements ------------------------------------------------------------------
def gray_of(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian: high for crisp edges and noise, low for soft or upscaled images."""
    return float(cv2.Laplacian(gray.astype(np.float64), cv2.CV_64F).var())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness: 0 for grayscale, ~100 for vivid photos."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def has_flat_edge(rgb: np.ndarray, band: int = 4) -> bool:
    """Whether a side of the image is a flat black or white band (padding, a frame, a white backdrop).

    In our data such edges are almost only real photos', so a detector can learn "flat edge = real": the
    count per source shows the risk (augment.add_frame is the countermeasure).
    """
    g = gray_of(rgb).astype(np.float32)
    sides = (g[:band], g[-band:], g[:, :band], g[:, -band:])
    return any(s.std() < 4 and (s.mean() < 12 or s.mean() > 243) for s in sides)


def log_spectrum(gray: np.ndarray, side: int = SPECTRUM_SIDE) -> np.ndarray:
    """Centred log-magnitude 2-D FFT of a grayscale image resized to ``side`` x ``side``.

    The mean is removed and a Hann window applied so the image borders do not
    paint a bright cross over the spectrum.
    """
    if gray.shape != (side, side):
        gray = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)
    g = gray.astype(np.float64)
    g -= g.mean()
    window = np.outer(np.hanning(side), np.hanning(side))
    return np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(g * window))))


def radial_profile(spectrum: np.ndarray) -> np.ndarray:
    """Azimuthal mean of a centred spectrum over integer radii 0 .. side/2 - 1."""
    side = spectrum.shape[0]
    yy, xx = np.indices(spectrum.shape)
    r = np.hypot(yy - side // 2, xx - side // 2).astype(int).ravel()
    keep = r < side // 2
    sums = np.bincount(r[keep], weights=spectrum.ravel()[keep], minlength=side // 2)
    counts = np.bincount(r[keep], minlength=side // 2)
    return sums / np.maximum(counts, 1)


def block_mean(a: np.ndarray, out: int) -> np.ndarray:
    f = a.shape[0] // out
    return a[: out * f, : out * f].reshape(out, f, out, f).mean(axis=(1, 3))


# -- sampling --------------------------------------------------------------------------------
# -- the artefact ----------------------------------------------------------------------------
def _summary(values: list[float], digits: int) -> dict:
    v = np.asarray(values, dtype=np.float64)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": round(float(med), digits), "q1": round(float(q1), digits), "q3": round(float(q3), digits),
            "mean": round(float(v.mean()), digits), "values": [round(float(x), digits) for x in v]}


def compute_insights(data: str | Path | None = None, per_source: int = 60, seed: int = 0) -> dict:
    """Statistics of a fixed per-source sample of the dataset at ``data`` (default: ``data_dir()``).

    Raises ``FileNotFoundError`` when the dataset is not present.
    """
    root = data_dir(data)
    if not dataset_available(root):
        raise FileNotFoundError(f"No dataset at {root} (manifest.csv missing); set AIVR_DATA or pass --data.")
    records = read_manifest(root)
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[r.source] += 1
    sources = []
    spec_sum = {"real": np.zeros((SPECTRUM_SIDE, SPECTRUM_SIDE)), "ai": np.zeros((SPECTRUM_SIDE, SPECTRUM_SIDE))}
    spec_n = {"real": 0, "ai": 0}
    radial_by_source = {}
    for source, rows in sample_records(records, per_source, seed).items():
        vals: dict[str, list[float]] = {k: [] for k in STATS}
        grays, flat, sizes, src_spec, n = 0, 0, [], np.zeros((SPECTRUM_SIDE, SPECTRUM_SIDE)), 0
        for r in rows:
            path = root / r.path
            try:
                rgb = load_image(path)
            except Exception:
                continue
            g = gray_of(rgb)
            vals["sharpness"].append(sharpness(g))
            vals["colourfulness"].append(colourfulness(rgb))
            vals["jpeg_kb"].append(path.stat().st_size / 1024)
            grays += is_gray(rgb)
            flat += has_flat_edge(rgb)
            sizes.append(rgb.shape[:2])
            src_spec += log_spectrum(g)
            n += 1
        if n == 0:
            continue
        spec_sum[rows[0].label] += src_spec
        spec_n[rows[0].label] += n
        radial_by_source[source] = radial_profile(src_spec / n)
        h, w = np.median(np.asarray(sizes), axis=0)
        sources.append({
            "source": source, "label": rows[0].label, "generator": rows[0].generator,
            "n_total": counts[source], "n": n, "gray_fraction": round(grays / n, 3),
            "flat_edge_fraction": round(flat / n, 3),
            "height": int(h), "width": int(w),
            **{k: _summary(vals[k], 1 if k == "sharpness" else 2) for k in STATS},
        })
    mean = {k: spec_sum[k] / max(spec_n[k], 1) for k in spec_sum}
    side = SPECTRUM_SIDE // 2
    return {
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "per_source": per_source,
        "seed": seed,
        "n_images": sum(s["n"] for s in sources),
        "sources": sources,
        "spectrum": {
            "side": SPECTRUM_OUT,
            "note": f"mean log(1+|FFT|) of {SPECTRUM_SIDE}px grayscale, Hann window, centred; "
                    f"block-averaged to {SPECTRUM_OUT}px",
            "n": spec_n,
            **{k: np.round(block_mean(mean[k], SPECTRUM_OUT), 2).tolist() for k in mean},
        },
        "radial": {
            "freq": [round(i / SPECTRUM_SIDE, 4) for i in range(side)],  # cycles per pixel, 0 .. 0.5
            "real": np.round(radial_profile(mean["real"]), 3).tolist(),
            "ai": np.round(radial_profile(mean["ai"]), 3).tolist(),
            "by_source": {s: np.round(p, 3).tolist() for s, p in radial_by_source.items()},
        },
    }


def write_insights(path: str | Path = DEFAULT_OUT, data: str | Path | None = None, per_source: int = 60,
                   seed: int = 0) -> dict:
    """Compute the insights and write them as compact JSON to ``path``; returns them too."""
    insights = compute_insights(data, per_source, seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(insights, separators=(",", ":")) + "\n")
    return insights


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m classifier.insights", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="dataset root (default: $AIVR_DATA or ../shared/data/portraits)")
    ap.add_argument("--per-source", type=int, default=60, help="images sampled per source (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output JSON (default models/insights.json)")
    args = ap.parse_args(argv)
    try:
        ins = write_insights(args.out, args.data, args.per_source, args.seed)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {ins['n_images']} images from {len(ins['sources'])} sources, {size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
