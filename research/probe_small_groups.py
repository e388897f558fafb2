"""Real group photos with small faces: does one false face condemn them?

    python research/probe_small_groups.py [--model-dir models] [--n 150]

``evaluate``'s group photos (``training.group_photos``) tile 2-4 real test photos at 160-256 px, so every face is
large. Real group and demo photos have small faces, which the app enlarges and judges by the enlarged faces' rule.
Here 3-6 real test photos are shrunk to tiles of each ``--tiles`` range (a face about 40 % of its tile) and
placed on a 1024x768 canvas, saved as JPEG quality 80-95, and classified through the app's pipeline. Prints the
image verdict shares (the most AI-like face decides) and how many faces were found per image.

Needs the dataset; about 2 minutes per range on 2 cores; prints a table (no files written).
2026-12-07, model 3.0.0, tiles 64-96 px: called AI 1.3 %, real 17.3 %, uncertain 81.3 %, 3.8 faces found of 4.5.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from classifier.predictor import load_classifier
from classifier.training.augment import jpeg_roundtrip
from classifier.training.data import load_images, read_manifest
from classifier.training.evaluate import trained_sources


def canvas_of(tiles: list[np.ndarray], side: int, rng: np.random.Generator) -> np.ndarray:
    """Up to six ``side`` px tiles in rows of three on a flat 1024x768 background, saved as a camera would."""
    canvas = np.empty((768, 1024, 3), np.uint8)
    canvas[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    for j, tile in enumerate(tiles):
        y, x = 100 + (j // 3) * (side + 60), 60 + (j % 3) * (side + 150)
        canvas[y:y + side, x:x + side] = cv2.resize(tile, (side, side), interpolation=cv2.INTER_AREA)
    return jpeg_roundtrip(canvas, int(rng.integers(80, 96)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", default="models")
    ap.add_argument("--n", type=int, default=150, help="group photos per tile range")
    ap.add_argument("--tiles", nargs="+", default=["64-96", "96-128", "128-160"], help="tile sides in px, lo-hi")
    args = ap.parse_args()
    clf = load_classifier(args.model_dir)
    real = [r for r in read_manifest(None)
            if r.split == "test" and r.source in trained_sources(clf.card) and not r.y]
    images = load_images(real, None)
    rng = np.random.default_rng(7)
    print("| tiles | n | called AI | called real | uncertain | faces found per image (placed) |")
    print("|---|---|---|---|---|---|")
    for span in args.tiles:
        lo, hi = (int(v) for v in span.split("-"))
        verdicts, found, placed = [], [], []
        for _ in range(args.n):
            pick = rng.choice(len(images), int(rng.integers(3, 7)), replace=False)
            p = clf.predict(canvas_of([images[i] for i in pick], int(rng.integers(lo, hi + 1)), rng))
            verdicts.append(p.verdict)
            found.append(sum(f.box is not None for f in p.faces))
            placed.append(len(pick))
        v = np.array(verdicts)
        print(f"| {span} px | {args.n} | {np.mean(v == 'ai'):.1%} | {np.mean(v == 'real'):.1%} | "
              f"{np.mean(v == 'uncertain'):.1%} | {np.mean(found):.1f} ({np.mean(placed):.1f}) |", flush=True)


if __name__ == "__main__":
    main()
