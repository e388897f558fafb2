"""Does a model see a latent-diffusion decoder's traces, and do they survive down-scaling?

    python research/probe_decoder_traces.py --models models build/ft_trace [--n 100] [--scales 1 2]

Aligned fakes of real *test* photos (never trained on): each photo is enlarged ``s`` times (bicubic), encoded and
decoded by a decoder, shrunk back (area) and saved as JPEG quality 90. Its control goes through the same resampling
and JPEG without the round trip, so a fake and its control differ only in the decoder's traces. At 1x the traces
are intact, as in the aligned fakes of training; at 2x they went through the 2x down-scaling that a 512 px image
(or a face filling a 1024 px one) gets on its way to the network's 256 px input. Prints, per decoder, scale and
model, ROC-AUC fake vs control and the verdict shares, through the app's pipeline.

Needs the dataset and the decoders (../shared/weights/taesd); 1-2 min per decoder at 1x, 4x that at 2x (2 cores).
2026-12-07, at 1x, n=100: taesd AUC 3.0.0 0.628, 3.18.0 (aligned pairs under the full augmentation) 0.730, 3.19.0
(paired views never degraded) 0.790; taesd3 0.535 / 0.563 / 0.606; every model calls 99-100 % of the fakes real.
Real-ESRGAN (``--decoders esrgan --scales 1 --n 60``, a GAN up-sampler): 3.0.0 AUC 0.616, 100 % called real;
the fold_esrgan run, trained with them, 0.960 (25 % called AI, 40 % real).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from sklearn.metrics import roc_auc_score

from classifier.predictor import load_classifier
from classifier.training.aligned import FakeMaker, round_trip
from classifier.training.augment import jpeg_roundtrip
from classifier.training.data import load_images, read_manifest
from classifier.training.evaluate import trained_sources


def resampled(images: list[np.ndarray], s: int, trip: FakeMaker | None) -> list[np.ndarray]:
    """Each image enlarged ``s`` times, round-tripped by ``trip`` (None: not), shrunk back, saved as JPEG 90."""
    big = [im if s == 1 else cv2.resize(im, (im.shape[1] * s, im.shape[0] * s), interpolation=cv2.INTER_CUBIC)
           for im in images]
    if trip is not None:
        big = trip.uint8(big, batch=4)
    return [jpeg_roundtrip(b if s == 1 else cv2.resize(b, im.shape[1::-1], interpolation=cv2.INTER_AREA), 90)
            for b, im in zip(big, images, strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["models"])
    ap.add_argument("--decoders", nargs="+", default=["taesd", "taef2"],
                    help="aligned families: taesd taesdxl taesd3 taef1 taef2, or esrgan (the GAN up-sampler)")
    ap.add_argument("--scales", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--n", type=int, default=100, help="real test photos")
    args = ap.parse_args()
    models = {d: load_classifier(d) for d in args.models}
    first = next(iter(models.values()))
    real = [r for r in read_manifest(None)
            if r.split == "test" and r.source in trained_sources(first.card) and not r.y]
    pick = np.random.default_rng(3).choice(len(real), args.n, replace=False)
    images = [im[: im.shape[0] // 8 * 8, : im.shape[1] // 8 * 8] for im in load_images([real[i] for i in pick], None)]
    y = np.r_[np.ones(args.n), np.zeros(args.n)]
    print("| decoder | scale | model | ROC-AUC fake vs control | fakes called AI | fakes called real | "
          "controls called AI |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for family in args.decoders:
        trip = round_trip(family)
        for s in args.scales:
            t = time.time()
            fakes, controls = resampled(images, s, trip), resampled(images, s, None)
            made = time.time() - t
            for name, clf in models.items():
                pf, pc = [clf.predict(f) for f in fakes], [clf.predict(c) for c in controls]
                auc = roc_auc_score(y, [p.p_ai for p in pf + pc])
                share = lambda ps, v: np.mean([p.verdict == v for p in ps])  # noqa: E731
                print(f"| {family} | {s}x | {clf.card.get('version', name)} ({name}) | {auc:.3f} | "
                      f"{share(pf, 'ai'):.1%} | {share(pf, 'real'):.1%} | {share(pc, 'ai'):.1%} |", flush=True)
            print(f"<!-- {family} {s}x: {made:.0f} s to make {args.n} fakes and controls -->", flush=True)


if __name__ == "__main__":
    main()
