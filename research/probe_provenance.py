"""What the provenance reader says about the dataset: how often it claims anything, and how close any image
comes to a false SD/SDXL watermark.

    PYTHONPATH=. .venv/bin/python research/probe_provenance.py [--data DIR] [--limit N]

Every image is read as the app reads an upload (its bytes, then its decoded pixels). Prints the claims per
label and the highest watermark bit-match count per mark against the threshold that would declare it. The
dataset's images are JPEG re-encodes (quality 90), which erase both metadata and the fragile DWT-DCT mark:
this measures false alarms on real photos, not recall.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classifier import load_image, provenance  # noqa: E402
from classifier.dataset import data_dir  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--limit", type=int, default=0, help="first N images of the manifest (0: all)")
    args = ap.parse_args()
    root = Path(args.data) if args.data else data_dir()
    with open(root / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rows = rows[: args.limit] if args.limit else rows
    claims: Counter = Counter()
    best = {m.name: (0, "") for m in provenance.WATERMARKS}
    t0 = time.perf_counter()
    for row in rows:
        data = (root / row["path"]).read_bytes()
        rgb = load_image(data)
        claims[(row["label"], provenance.read_provenance(data, rgb).claim)] += 1
        for mark, k in provenance.decode_watermarks(rgb):
            if k > best[mark.name][0]:
                best[mark.name] = (k, row["path"])
    seconds = time.perf_counter() - t0
    print(f"{len(rows)} images in {seconds:.0f} s ({1000 * seconds / max(1, len(rows)):.1f} ms each)")
    for (label, claim), n in sorted(claims.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        print(f"  {label:5s} claim={claim}: {n}")
    for mark in provenance.WATERMARKS:
        k, path = best[mark.name]
        print(f"  {mark.name}: best {k} of {len(mark.bits)} bits (declares at {mark.min_matches}) in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
