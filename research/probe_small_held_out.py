"""Does the enlarged-face rule hold on sources the model never saw?

    python research/probe_small_held_out.py [--model-dir models] [--sides 128 180]

The rule for enlarged squares (``python -m classifier conditions``) is fitted on shrunk or centre-cut
*validation* photos of the trained-on sources. Here every held-out photo (the studio headshots, FaceChain,
thispersondoesnotexist) is shrunk to a short side of ``--sides`` px, so the app must enlarge its square, and is
judged twice through the app's pipeline: by the main cut and band and by the enlarged condition's
(``Classifier.rule(enlarged=True)``), the band widened as the app widens it for enlarged faces. For each held-out
group it prints the share at or over each cut and the verdict shares (real / uncertain / AI) under each rule:
a lower cut that calls held-out real photos AI, or a band that leaves AI images called real, would show here.
The test split's half-scale and close-crop views (``evaluate.ROBUSTNESS``) get the same table, real and AI apart,
for what each rule's band costs in-distribution.

Needs the dataset; about 6 minutes on 2 cores; prints a table (no files written).
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from classifier import calibration as cal
from classifier.predictor import load_classifier
from classifier.training.data import HELD_OUT_SOURCES, held_out_group, load_images, read_manifest
from classifier.training.evaluate import ROBUSTNESS, pipeline_outputs, trained_sources


def shrunk_to(img: np.ndarray, side: int) -> np.ndarray:
    """``img`` with its short side ``side`` px (area filter), as a thumbnail or a photo sent small."""
    f = side / min(img.shape[:2])
    return cv2.resize(img, (max(8, round(img.shape[1] * f)), max(8, round(img.shape[0] * f))),
                      interpolation=cv2.INTER_AREA)


def shares(p: np.ndarray, band: tuple[float, float]) -> str:
    v = np.array([cal.verdict(float(x), band) for x in p])
    return " / ".join(f"{np.mean(v == w):.1%}" for w in ("real", "uncertain", "ai"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", default="models")
    ap.add_argument("--sides", type=int, nargs="+", default=[128, 180])
    args = ap.parse_args()
    clf = load_classifier(args.model_dir)
    manifest = read_manifest(None)
    records = [r for r in manifest if r.source in HELD_OUT_SOURCES]
    test = [r for r in manifest if r.split == "test" and r.source in trained_sources(clf.card)]
    cut_e, band_e = clf.rule(enlarged=True)
    rules = {"main": (clf.threshold, cal.widened_band(clf.band)), "enlarged": (cut_e, cal.widened_band(band_e))}
    print("rules (cut, band as widened for an enlarged face): "
          + ", ".join(f"{k} {c:.3f} ({b[0]:.3f}-{b[1]:.3f})" for k, (c, b) in rules.items()))
    views = [(f"held-out sources, short side {side} px", records, lambda im, side=side: shrunk_to(im, side),
              lambda r: held_out_group(r.source)) for side in args.sides]
    views += [(f"test split, {name}", test, ROBUSTNESS[name], lambda r: "AI" if r.y else "real")
              for name in ("half_scale", "close_crop")]
    for title, recs, transform, group_of in views:
        images = load_images(recs, None)
        groups = np.array([group_of(r) for r in recs])
        p, _, enlarged = pipeline_outputs(clf, [transform(im) for im in images])
        print(f"\n{title}: {enlarged.mean():.0%} of the squares enlarged")
        print("| group | n | >= main cut | >= enlarged cut | verdicts, main rule (real / uncertain / AI) "
              "| verdicts, enlarged rule |")
        print("|---|---|---|---|---|---|")
        for g in np.unique(groups):
            m = groups == g
            print(f"| {g} | {m.sum()} | {np.mean(p[m] >= rules['main'][0]):.1%} | "
                  f"{np.mean(p[m] >= rules['enlarged'][0]):.1%} | {shares(p[m], rules['main'][1])} | "
                  f"{shares(p[m], rules['enlarged'][1])} |", flush=True)

if __name__ == "__main__":
    main()
