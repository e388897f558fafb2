"""Can a network built for a decoder's traces learn them, and are they evidence of a generator it never saw?

    PYTHONPATH=. .venv/bin/python research/probe_patch_traces.py [--steps 2000] [--whiten]

The aligned fine-tunes never learnt the traces (``probe_decoder_traces.py``: fakes of test photos 99 % called real).
This probe asks whether that is the recipe's fault or the evidence's. A small CNN with no pooling before its
third layer sees 64 px patches at native pixels and is trained *only* on aligned pairs: a real training photo and
its cached round trip (``.cache/aligned``, made by ``train --aligned``), the same patch of each in one batch, one
flip and grayscale shared by the pair. It never sees a generator's image, so every AI source is unseen. An image's
score is the network's mean over the whole image (it is fully convolutional).

``--whiten`` feeds it the high-pass residual over its own RMS: the residual's pattern, not its energy, so a sharp
photo cannot look trace-rich merely for being sharp.

Prints ROC-AUC for fresh fakes of real *test* photos against those photos (did it learn the traces?), then every
source against real test photos and every AI source against the *sharp* real test photos (studio, CelebA-HQ,
SCUT-FBP5500): a trace detector must beat sharpness. ``--shrunk 2 4``: fakes made at 2x and 4x the photo's size and
shrunk back (the way a 1024 px generator's image became a 256 px dataset JPEG) against controls resampled alike.
Needs the dataset, the aligned cache and the decoders (../shared/weights/taesd) for the test fakes; about 36 min on
2 cores.
2026-12-07, --whiten: taesd 0.997, taesd3 0.976, taef2 (never trained on) 0.846; made at 2x / 4x and shrunk: 0.728 /
0.527; generators vs sharp real test photos 0.40-0.70 (StyleGAN 0.41-0.48); studio headshots (real) vs real 0.977.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score

from classifier.training.aligned import CACHE_DIR, cached_round_trips, pixel_key
from classifier.training.augment import jpeg_roundtrip
from classifier.training.data import load_images, read_manifest
from classifier.training.taesd import RoundTrip
from research.probe_decoder_traces import resampled

SHARP_REAL = ("london_debruine", "canada_debruine", "celebahq_roeishc", "celebahq_starganv2", "scutfbp5500_dduygaucho")


def cached_pairs(families: list[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(real training photo, its aligned fake) for every fake already in the cache."""
    recs = [r for r in read_manifest(None) if r.y == 0 and r.split == "train"]
    reals, fakes = [], []
    for im in load_images(recs):
        for fam in families:
            p = CACHE_DIR / "aligned" / fam / f"{pixel_key(im)}.jpg"
            if p.is_file():
                reals.append(im)
                fakes.append(np.asarray(Image.open(p).convert("RGB")))
    return reals, fakes


def pair_batch(reals: list[np.ndarray], fakes: list[np.ndarray], n: int, size: int, jpeg: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs: the same ``size`` px patch of a photo and its fake, every change shared by the pair."""
    xs, ys = [], []
    for k in rng.integers(0, len(reals), n):
        h, w = reals[k].shape[:2]
        i, j = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
        pair = [im[i:i + size, j:j + size] for im in (reals[k], fakes[k])]
        if rng.random() < 0.5:
            pair = [p[:, ::-1] for p in pair]
        if rng.random() < jpeg:
            q = int(rng.integers(65, 96))
            pair = [jpeg_roundtrip(np.ascontiguousarray(p), q) for p in pair]
        if rng.random() < 0.2:  # colour is no evidence
            pair = [np.repeat(p.mean(-1, keepdims=True), 3, -1) for p in pair]
        xs += pair
        ys += [0, 1]
    return np.stack(xs).astype(np.float32), np.array(ys, np.float32)


def make_trace_net(width: int, whiten: bool):
    """Fully convolutional, full resolution through two layers: an 8 px decoder pattern survives to the features."""
    import tensorflow as tf
    from tensorflow import keras

    inp = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 127.5, -1)(inp)
    if whiten:
        r = keras.layers.Subtract()([x, keras.layers.AveragePooling2D(3, 1, padding="same")(x)])
        x = keras.layers.Lambda(lambda t: t / tf.sqrt(tf.reduce_mean(tf.square(t), axis=[1, 2, 3], keepdims=True)
                                                      + 1e-6))(r)
    for c, s in ((width, 1), (width, 1), (2 * width, 2), (2 * width, 1), (4 * width, 2), (4 * width, 1)):
        x = keras.layers.Conv2D(c, 3, s, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    return keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))


def sample(records: list, k: int, seed: int) -> list:
    """At most ``k`` of ``records``, drawn the same way on every run."""
    return [records[i] for i in np.random.default_rng(seed).choice(len(records), min(k, len(records)), replace=False)]


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64, help="patches per step (half of them fakes)")
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--width", type=int, default=24)
    ap.add_argument("--jpeg", type=float, default=0.0, help="chance of a shared JPEG re-encode of a pair")
    ap.add_argument("--whiten", action="store_true")
    ap.add_argument("--families", nargs="+", default=["taesd", "taesdxl", "taesd3"])
    ap.add_argument("--test-families", nargs="+", default=["taesd", "taesd3", "taef2"])
    ap.add_argument("--shrunk", nargs="*", type=int, default=[2, 4],
                    help="also test fakes made at this many times the size and shrunk back, as a generator's are")
    ap.add_argument("--per-source", type=int, default=150)
    args = ap.parse_args()

    import tensorflow as tf
    from tensorflow import keras

    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    reals, fakes = cached_pairs(args.families)
    print(f"{len(reals)} cached pairs ({', '.join(args.families)})", flush=True)
    net = make_trace_net(args.width, args.whiten)
    net.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, args.steps)),
                keras.losses.BinaryCrossentropy(from_logits=True),
                metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    t0, hist = time.time(), []
    for step in range(args.steps):
        hist.append(net.train_on_batch(*pair_batch(reals, fakes, args.batch // 2, args.patch, args.jpeg, rng)))
        if (step + 1) % 250 == 0:
            loss, acc = np.mean(hist[-250:], 0)
            print(f"step {step + 1}: patch loss {loss:.3f}, accuracy {acc:.3f} ({time.time() - t0:.0f} s)", flush=True)

    def score(images: list[np.ndarray]) -> np.ndarray:
        return np.array([float(net.predict_on_batch(im[None].astype(np.float32))[0, 0]) for im in images])

    recs = read_manifest(None)
    real_test = [r for r in recs if r.y == 0 and r.split == "test"]
    photos = [im[: im.shape[0] // 8 * 8, : im.shape[1] // 8 * 8] for im in load_images(sample(real_test, 150, 3))]
    s_photos = score(photos)
    print("\n| test | n | ROC-AUC |\n|---|---|---|")
    for fam in args.test_families:
        with tempfile.TemporaryDirectory() as tmp:  # the test fakes are not kept (research probes write no file)
            made, _ = cached_round_trips(fam, photos, Path(tmp))
        print(f"| {fam} fakes of real test photos vs those photos | {len(made)} | {auc(score(made), s_photos):.3f} |",
              flush=True)
    trip, few = RoundTrip(args.test_families[0]), photos[:60]  # a 4x round trip takes ~6 s a photo
    for s in args.shrunk:  # made at s x the size and shrunk back, against controls resampled the same way
        made, controls = resampled(few, s, trip), resampled(few, s, None)
        print(f"| {args.test_families[0]} fakes made at {s}x and shrunk {s}x vs controls | {len(made)} | "
              f"{auc(score(made), score(controls)):.3f} |", flush=True)
    s_real = score(load_images(sample(real_test, 400, 4)))
    s_sharp = score(load_images([r for r in real_test if r.source in SHARP_REAL]))
    for src in sorted({r.source for r in recs}):
        rs = [r for r in recs if r.source == src]
        s = score(load_images(sample(rs, args.per_source, 5)))
        label = "AI" if rs[0].y else "real"
        vs_sharp = f"; vs {len(s_sharp)} sharp real test photos {auc(s, s_sharp):.3f}" if rs[0].y else ""
        print(f"| {label} {src} vs 400 real test photos{vs_sharp} | {len(s)} | {auc(s, s_real):.3f} |", flush=True)
    print(f"\n<!-- {time.time() - t0:.0f} s -->")


if __name__ == "__main__":
    main()
