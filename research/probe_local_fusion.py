"""Would a whole-face network and a local (patch) network together keep what each knows?

    python research/probe_local_fusion.py build/fold_taesd build/fold_local

Reads the per-image scores that ``evaluate`` stored in each run's ``evaluation.json`` (held-out families and the real
test photos, through the app's pipeline; no network is run) and fuses the two runs' calibrated logits by their mean,
a rule fixed in advance rather than fitted, since validation holds no held-out family to fit it on. Both runs must
share their held-out families and real test photos (the same folds). Prints, per held-out source and for each run and
the fusion: generators, ROC-AUC against the real test photos and the share scoring below the real test photos' 90th
percentile (what an edge that keeps 90 % of real test photos called Real would call Real); real families, the share
scoring above that 90th percentile and above the 99th (what a cut that calls 1 % of real test photos AI would call AI).
Rule-free, so two runs with different calibrations compare fairly. A second table applies the product's earned-Real
edge (calibrated P(AI) <= 0.10) to each run and to the rule "Real only when both networks say Real".

2026-12-08 (fold runs, ``--folds no_gan no_flux``): the local network (fold_local) ranks the StyleGAN sets at
0.86-0.92 where the whole-face one (fold_taesd) ranks them 0.40-0.54; the mean keeps 0.84-0.86 and the diffusion
families (FLUX 0.993-0.997, FaceChain 0.994), but 91 % of the London studio headshots score above the real test
photos' 90th percentile (whole-face network: 34 %): local texture calls clean studio photos AI. "Real only when both
say Real" (fold_taesd with fold_local16) calls 9.0 % of FaceChain Real (28.4 % alone) and 99.0 % of the real test
photos (99.4 %), but still 90-95 % of the GAN faces (99-100 %) and 75.4 % of the London headshots (98.5 %).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier.calibration import REAL_MAX_P_AI


def held_out_scores(run: str) -> dict:
    """The per-image held-out and real-test calibrated P(AI) that ``evaluate`` stored for a run."""
    return json.loads((Path(run) / "evaluation.json").read_text())["held_out"]["images"]


def logit(p: list[float]) -> np.ndarray:
    q = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def readout(real_test: np.ndarray, held: np.ndarray, is_ai: bool) -> str:
    """One source's rule-free figures against the real test photos' scores."""
    q90, q99 = np.quantile(real_test, [0.90, 0.99])
    if is_ai:
        auc = roc_auc_score(np.r_[np.zeros(len(real_test)), np.ones(len(held))], np.r_[real_test, held])
        return f"AUC {auc:.3f}, {np.mean(held < q90):.0%} below q90"
    return f"{np.mean(held > q90):.0%} above q90, {np.mean(held > q99):.0%} above q99"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs=2, help="two evaluated run folders with the same held-out families")
    args = ap.parse_args()
    a, b = (held_out_scores(r) for r in args.runs)
    if a["paths"] != b["paths"] or a["real_test_paths"] != b["real_test_paths"]:
        raise SystemExit("the two runs held out different images; fuse runs with the same folds")
    scores = {Path(args.runs[0]).name: (logit(a["real_test_p_ai"]), logit(a["p_ai"])),
              Path(args.runs[1]).name: (logit(b["real_test_p_ai"]), logit(b["p_ai"]))}
    (ra, ha), (rb, hb) = scores.values()
    scores["mean of logits"] = ((ra + rb) / 2, (ha + hb) / 2)
    paths = a["paths"]
    sources = sorted({p.split("/")[1] for p in paths})
    print("| held-out source | " + " | ".join(scores) + " |")
    print("|---|" + "---|" * len(scores))
    for source in sources:
        m = np.array([p.split("/")[1] == source for p in paths])
        is_ai = next(p for p in paths if p.split("/")[1] == source).startswith("ai/")
        cells = [readout(real, held[m], is_ai) for real, held in scores.values()]
        print(f"| {source} (n={int(m.sum())}) | " + " | ".join(cells) + " |")
    real_a, real_b = (np.asarray(x["real_test_p_ai"]) <= REAL_MAX_P_AI for x in (a, b))
    held_a, held_b = (np.asarray(x["p_ai"]) <= REAL_MAX_P_AI for x in (a, b))
    names = list(scores)[:2]
    print(f"\n| called Real (P(AI) <= {REAL_MAX_P_AI}) | {names[0]} | {names[1]} | both say Real |\n|---|---|---|---|")
    print(f"| real test photos (n={len(real_a)}) | {real_a.mean():.1%} | {real_b.mean():.1%} | "
          f"{(real_a & real_b).mean():.1%} |")
    for source in sources:
        m = np.array([p.split("/")[1] == source for p in paths])
        print(f"| {source} | {held_a[m].mean():.1%} | {held_b[m].mean():.1%} | {(held_a[m] & held_b[m]).mean():.1%} |")


if __name__ == "__main__":
    main()
