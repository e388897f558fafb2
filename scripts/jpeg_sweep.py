"""How the verdicts change as a photo is recompressed harder: the evidence behind ``compression.HEAVY_BELOW``.

    python scripts/jpeg_sweep.py [--model-dir models] [--qualities 90,80,70,60,50,40,30]

Each test image of the sources the model trained on is recompressed at each JPEG quality and scored by the
app's pipeline (top face, else the centre square), as ``evaluate``'s ``jpeg_q50`` check does. For each quality it
prints the balanced accuracy at the cut (and its change from the images as stored, at quality 90), the ROC-AUC,
and the app's verdicts with the usual band and with the wider one (``calibration.widened_band``): the share of AI
images called real or uncertain and of real photos called AI or uncertain.

Needs the dataset; about 1.5 minutes a quality on 2 cores; prints a table (no files written).
"""

from __future__ import annotations

import argparse

import numpy as np

from classifier import calibration as cal
from classifier import load_classifier
from classifier.card import CARD_FILE, read_json
from classifier.training.augment import jpeg_roundtrip
from classifier.training.data import load_images, read_manifest
from classifier.training.evaluate import pipeline_outputs, summary, trained_sources


def shares(p: np.ndarray, y: np.ndarray, band: tuple[float, float]) -> str:
    said = np.array([cal.verdict(float(x), band) for x in p])
    return (f"{np.mean(said[y == 1] == 'real'):6.1%} {np.mean(said[y == 1] == 'uncertain'):6.1%} "
            f"{np.mean(said[y == 0] == 'ai'):6.1%} {np.mean(said[y == 0] == 'uncertain'):6.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", default="models")
    ap.add_argument("--qualities", default="90,80,70,60,50,40,30")
    ap.add_argument("--data", default=None)
    args = ap.parse_args()
    clf = load_classifier(args.model_dir)
    trained = trained_sources(read_json(f"{args.model_dir}/{CARD_FILE}"))
    records = [r for r in read_manifest(args.data) if r.split == "test" and r.source in trained]
    images = load_images(records, args.data)
    y = np.array([r.y for r in records])
    print(f"{len(records)} test images; cut {clf.threshold:.2f}, band {clf.band[0]:.2f}-{clf.band[1]:.2f}")
    print("quality  bal.acc  change  ROC-AUC | usual band: AI->real AI->unc real->AI real->unc "
          "| wider band: the same")
    base = None
    for q in [None, *(int(x) for x in args.qualities.split(","))]:
        p = pipeline_outputs(clf, [im if q is None else jpeg_roundtrip(im, q) for im in images])[0]
        s = summary(y, p, clf.threshold, clf.band)
        base = s["balanced_accuracy"] if base is None else base
        change = s["balanced_accuracy"] - base
        print(f"{'stored' if q is None else q:>7}  {s['balanced_accuracy']:6.1%}  {change:+6.1%}  {s['roc_auc']:.4f} | "
              f"{shares(p, y, clf.band)} | {shares(p, y, cal.widened_band(clf.band))}", flush=True)


if __name__ == "__main__":
    main()
