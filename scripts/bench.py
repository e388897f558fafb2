"""Benchmark the whole pipeline on this machine: ``make bench``.

Measures what a user waits for: model load time, single-image latency for a
1024x768 JPEG with one face (decode + face detection + network + calibration),
batch throughput for 256 px portraits, and peak memory. Prints a table and
writes ``models/benchmark.json`` (the README quotes that file).

The test portrait is scikit-image's astronaut photo (a real photograph shipped
inside the package), so the benchmark needs no dataset and no network.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from skimage import data as skdata  # noqa: E402


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def photo_1024x768() -> bytes:
    """The astronaut at 768x768 on a blurred 1024x768 background: one face, real photo."""
    face = cv2.resize(skdata.astronaut(), (768, 768), interpolation=cv2.INTER_CUBIC)
    canvas = cv2.GaussianBlur(cv2.resize(face, (1024, 768)), (0, 0), 12)
    canvas[:, 128:896] = face
    return jpeg_bytes(canvas)


def portraits_256(n: int) -> list[bytes]:
    base = skdata.astronaut()
    out = []
    rng = np.random.default_rng(0)
    for _ in range(n):
        x, y = rng.integers(0, 96, size=2)
        crop = base[y : y + 416, x : x + 416]
        crop = crop[:, ::-1] if rng.random() < 0.5 else crop
        out.append(jpeg_bytes(cv2.resize(crop, (256, 256), interpolation=cv2.INTER_AREA)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "models" / "benchmark.json"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    from classifier import load_classifier
    from classifier.predictor import model_dir_default

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    import keras  # noqa: F401  (TensorFlow's own start-up, paid once per process, timed apart)

    t_framework = time.perf_counter() - t0
    t0 = time.perf_counter()
    clf = load_classifier()
    t_load = time.perf_counter() - t0

    photo = photo_1024x768()
    for _ in range(3):
        clf.predict(photo)  # warm-up: first calls build the TF graph
    lat = []
    for _ in range(args.runs):
        t = time.perf_counter()
        clf.predict(photo)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]

    batch = portraits_256(args.batch)
    clf.predict_batch(batch)  # warm-up at the measured batch size (oneDNN builds kernels per shape)
    t = time.perf_counter()
    reps = 5
    for _ in range(reps):
        clf.predict_batch(batch)
    throughput = reps * len(batch) / (time.perf_counter() - t)

    # The Keras model (Grad-CAM's) loads on the first heatmap: time that wait, then a warm one.
    t = time.perf_counter()
    clf.predict(photo, explain=True)
    t_first_heatmap = time.perf_counter() - t
    t = time.perf_counter()
    clf.predict(photo, explain=True)
    t_heatmap = time.perf_counter() - t

    model_dir = Path(model_dir_default())
    model_file = model_dir / clf.card.get("model_file", "model.keras")
    lite_file = model_dir / clf.card["lite_file"] if "lite_file" in clf.card else None
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "import_seconds": round(t_import, 2),
        "tensorflow_import_seconds": round(t_framework, 2),
        "model_load_seconds": round(t_load, 2),
        "single_1024x768_ms_p50": round(p50, 1),
        "single_1024x768_ms_p95": round(p95, 1),
        "single_runs": args.runs,
        "batch_256px_images_per_s": round(throughput, 1),
        "batch_size": args.batch,
        "with_heatmap_first_s": round(t_first_heatmap, 2),
        "with_heatmap_ms": round(t_heatmap * 1000, 1),
        "model_file_mb": round(model_file.stat().st_size / 1e6, 2),
        "lite_file_mb": round(lite_file.stat().st_size / 1e6, 2) if lite_file else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
    }
    width = max(map(len, result))
    for k, v in result.items():
        print(f"{k:{width}s}  {v}")
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
