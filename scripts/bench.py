"""Benchmark the whole pipeline on this machine: ``make bench``.

Measures what a user waits for: model load time, single-image latency for a
1024x768 JPEG with one face (decode + face detection + network + calibration + provenance),
what reading provenance adds (the same latency with it on and off, interleaved; the reader alone, on a
C2PA-signed copy, and the watermark decoder alone),
the same with a heatmap, batch throughput for 256 px portraits, peak memory, and
cold starts: a one-image ``python -m classifier predict --json`` in a fresh process
(wall time and peak RSS, median of several runs) and the app server from launch to
its first verdict. Prints a table and writes ``models/benchmark.json`` (the README
quotes that file).

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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


ROOT = Path(__file__).resolve().parents[1]


def run_measured(cmd: list[str], env: dict) -> tuple[int, float, float]:
    """Run ``cmd``; (exit code, wall seconds, peak RSS MB of that command alone)."""
    from measure import measure

    return measure(cmd, env, ROOT)


def cold_cli(photo: bytes, runs: int) -> dict:
    """A fresh ``python -m classifier predict photo.jpg --json`` process, ``runs`` times."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "photo.jpg"
        path.write_bytes(photo)
        results = [run_measured([sys.executable, "-m", "classifier", "predict", str(path), "--json"], env)
                   for _ in range(runs)]
    assert all(rc == 0 for rc, _, _ in results), results
    return {"cold_cli_seconds_median": round(statistics.median(r[1] for r in results), 2),
            "cold_cli_peak_rss_mb_median": round(statistics.median(r[2] for r in results)),
            "cold_cli_runs": runs}


def app_first_verdict(photo: bytes, timeout: float = 180) -> dict:
    """The app from a cold launch: seconds to a healthy server, and to the first verdict in Chromium.

    Starts ``streamlit run Home.py``, opens the Prediction page in Debian's Chromium (Playwright,
    no browser download), uploads the photo and waits until a verdict is on the page. Without
    Chromium or Playwright only the time to a healthy server is reported.
    """
    import re

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true", "--server.port",
           str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    out: dict = {"app_start_to_healthy_s": None, "app_start_to_first_verdict_s": None}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while time.perf_counter() - t < timeout and out["app_start_to_healthy_s"] is None:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        out["app_start_to_healthy_s"] = round(time.perf_counter() - t, 2)
            except OSError:
                time.sleep(0.1)
        chromium = Path("/usr/bin/chromium")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            return out
        if not chromium.exists() or out["app_start_to_healthy_s"] is None:
            return out
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
            path = Path(tmp) / "photo.jpg"
            path.write_bytes(photo)
            browser = p.chromium.launch(executable_path=str(chromium), headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-component-update", "--no-first-run"])
            page = browser.new_page()
            page.goto(url + "/prediction")
            verdict = re.compile(r"\b(AI-generated|Real|Uncertain)\b[\s:;,.|·•—–()\[\]-]{0,8}\d{1,3}(?:[.,]\d+)?\s?%")
            main = page.locator('[data-testid="stMain"]')  # the sidebar shows numbers that look like verdicts
            uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
            uploader.wait_for(state="attached", timeout=timeout * 1000)
            before = len(verdict.findall(main.inner_text()))
            uploader.set_input_files(str(path))
            while time.perf_counter() - t < timeout:
                if len(verdict.findall(main.inner_text())) > before:
                    out["app_start_to_first_verdict_s"] = round(time.perf_counter() - t, 2)
                    break
                page.wait_for_timeout(100)
            browser.close()
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def provenance_costs(clf, photo: bytes, runs: int) -> dict:
    """What reading provenance adds per image: the 1024x768 photo's p50 with the reader on and off, the two
    interleaved run by run so that a busy machine slows both alike; and the reader alone on the photo
    (metadata + watermark), on a C2PA-signed copy (a throw-away test CA, as in the tests), and the watermark
    decoder alone."""
    from classifier import load_image, predictor, provenance

    sys.path.insert(0, str(ROOT / "tests"))
    import provenance_fixtures as pf

    rgb = load_image(photo)
    reader = predictor.read_provenance
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for i in range(runs):
            for on in (True, False) if i % 2 else (False, True):
                predictor.read_provenance = reader if on else (lambda data, rgb=None: provenance.NONE)
                t = time.perf_counter()
                clf.predict(photo)
                times[on].append((time.perf_counter() - t) * 1000)
    finally:
        predictor.read_provenance = reader
    signed = pf.sign_c2pa(photo, "JPEG", pf.TestCA())
    return {"single_1024x768_ms_p50_provenance_on": round(statistics.median(times[True]), 1),
            "single_1024x768_ms_p50_provenance_off": round(statistics.median(times[False]), 1),
            "provenance_ms_p50": median_ms(lambda: provenance.read_provenance(photo, rgb), runs),
            "provenance_c2pa_ms_p50": median_ms(lambda: provenance.read_provenance(signed, rgb), runs),
            "watermark_ms_p50": median_ms(lambda: provenance.watermark_evidence(rgb), runs)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--cold-runs", type=int, default=7)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "models" / "benchmark.json"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    from classifier import load_classifier
    from classifier.predictor import model_dir_default

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    clf = load_classifier()
    t_load = time.perf_counter() - t0

    photo = photo_1024x768()
    for _ in range(3):
        clf.predict(photo)  # warm-up: the first calls allocate the interpreter's tensors
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

    # Heatmaps come out of the same LiteRT call (the CAM output): median of a few.
    heat = []
    for _ in range(10):
        t = time.perf_counter()
        clf.predict(photo, explain=True)
        heat.append(time.perf_counter() - t)
    provenance = provenance_costs(clf, photo, args.runs)
    peak_in_process = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cold = cold_cli(photo, args.cold_runs)
    app = app_first_verdict(photo)

    model_dir = Path(model_dir_default())
    model_file = model_dir / clf.card.get("model_file", "model.keras")
    lite_file = model_dir / clf.card["lite_file"]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "import_seconds": round(t_import, 2),
        "model_load_seconds": round(t_load, 2),
        "single_1024x768_ms_p50": round(p50, 1),
        "single_1024x768_ms_p95": round(p95, 1),
        "single_runs": args.runs,
        **provenance,
        "batch_256px_images_per_s": round(throughput, 1),
        "batch_size": args.batch,
        "with_heatmap_ms": round(statistics.median(heat) * 1000, 1),
        "model_file_mb": round(model_file.stat().st_size / 1e6, 2),
        "lite_file_mb": round(lite_file.stat().st_size / 1e6, 2),
        "peak_rss_mb": round(peak_in_process, 0),
        **cold,
        **app,
        "tensorflow_loaded": any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules),
    }
    width = max(map(len, result))
    for k, v in result.items():
        print(f"{k:{width}s}  {v}")
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
