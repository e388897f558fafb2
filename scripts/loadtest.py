"""Load-test the HTTP API on this machine: ``make bench`` runs it after ``scripts/bench.py``.

Starts a real ``python -m classifier serve`` on a free localhost port, sends ``--requests``
POST /v1/predict requests (one 256 px single-face portrait each) from ``--concurrency`` client
threads (httpx), and reports latency p50/p95/p99, requests/s, errors and the server's RSS at
start, after warm-up and at the end. Then, with the server stopped so the two do not compete
for the CPU, it measures the in-process throughput of the same image (``predict_batch`` and
one-by-one ``predict``): the ratio says what HTTP, multipart and JSON cost. Writes JSON to
``--out`` (default ``models/loadtest.json``).

The image is scikit-image's astronaut photo (public domain), cropped around her face in memory.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from PIL import Image  # noqa: E402


def portrait_256() -> bytes:
    """The astronaut's head and shoulders, 256x256 JPEG: exactly one face."""
    from skimage import data

    crop = data.astronaut()[0:320, 60:380]  # her face is at about x 178-267, y 63-175
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(crop)).resize((256, 256), Image.Resampling.LANCZOS).save(
        buf, "JPEG", quality=90)
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, timeout: float = 120) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("AIVR_API_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "classifier", "serve", "--port", str(port), "--log-level",
                             "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode} before it was healthy")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not become healthy in time")


def rss_mb(proc: subprocess.Popen) -> float:
    return round(psutil.Process(proc.pid).memory_info().rss / 2**20, 1)


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def hammer(url: str, image: bytes, n: int, concurrency: int) -> dict:
    """``n`` requests from ``concurrency`` threads, each with its own keep-alive connection."""
    local = threading.local()
    latencies: list[float] = []
    errors: list[str] = []
    p_values: set[float] = set()
    lock = threading.Lock()

    def one(i: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        t = time.perf_counter()
        try:
            r = client.post(url, files=[("files", (f"portrait{i}.jpg", image, "image/jpeg"))])
            ok = r.status_code == 200 and r.json()["results"][0]["error"] is None
            outcome = r.json()["results"][0]["p_ai"] if ok else f"HTTP {r.status_code}"
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            ok, outcome = False, type(exc).__name__
        ms = (time.perf_counter() - t) * 1000
        with lock:
            latencies.append(ms)
            (p_values.add if ok else errors.append)(outcome)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(n)))
    wall = time.perf_counter() - t0
    latencies.sort()
    return {"requests": n, "concurrency": concurrency, "errors": len(errors), "error_kinds": sorted(set(errors)),
            "seconds": round(wall, 2), "requests_per_s": round(n / wall, 1),
            "latency_ms": {"p50": round(statistics.median(latencies), 1), "p95": round(percentile(latencies, 0.95), 1),
                           "p99": round(percentile(latencies, 0.99), 1), "max": round(latencies[-1], 1)},
            "distinct_p_ai": sorted(p_values)}


def stop(proc: subprocess.Popen, timeout: float = 10) -> dict:
    t = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
    return {"exit_code": code, "seconds": round(time.perf_counter() - t, 2)}


def in_process(image: bytes, batch: int, reps: int, singles: int) -> dict:
    """Images/s for the same image without HTTP: one ``predict_batch`` call, and ``predict`` one by one."""
    from classifier import load_classifier

    clf = load_classifier()
    images = [image] * batch
    clf.predict_batch(images)  # warm-up at the measured batch size
    t = time.perf_counter()
    for _ in range(reps):
        clf.predict_batch(images)
    batch_rate = reps * batch / (time.perf_counter() - t)
    clf.predict(image)
    t = time.perf_counter()
    for _ in range(singles):
        clf.predict(image)
    single_rate = singles / (time.perf_counter() - t)
    return {"batch_images_per_s": round(batch_rate, 1), "batch_size": batch,
            "one_by_one_images_per_s": round(single_rate, 1), "p_ai": round(clf.predict(image).p_ai, 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=50, help="requests before the measured run")
    ap.add_argument("--batch", type=int, default=64, help="in-process predict_batch size for the comparison")
    ap.add_argument("--out", default=str(ROOT / "models" / "loadtest.json"))
    args = ap.parse_args()

    image = portrait_256()
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/predict"
    t = time.perf_counter()
    proc = start_server(port)
    start_s = round(time.perf_counter() - t, 2)
    try:
        rss = {"start": rss_mb(proc)}
        hammer(url, image, args.warmup, args.concurrency)
        rss["after_warmup"] = rss_mb(proc)
        load = hammer(url, image, args.requests, args.concurrency)
        rss["end"] = rss_mb(proc)
    finally:
        shutdown = stop(proc)
    base = in_process(image, args.batch, reps=5, singles=100)
    report = {
        "server_start_to_healthy_s": start_s, **load, "server_rss_mb": rss,
        "rss_growth_after_warmup_mb": round(rss["end"] - rss["after_warmup"], 1),
        "in_process": base,
        "api_vs_in_process_batch": round(load["requests_per_s"] / base["batch_images_per_s"], 2),
        "api_vs_in_process_one_by_one": round(load["requests_per_s"] / base["one_by_one_images_per_s"], 2),
        "matches_in_process": load["distinct_p_ai"] == [base["p_ai"]],
        "shutdown": shutdown,
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
                    "python": platform.python_version()},
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    ok = load["errors"] == 0 and shutdown["exit_code"] == 0 and report["matches_in_process"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
