"""One shared Classifier under many threads gives serial results, and memory stays flat over 1,000 predictions."""

from __future__ import annotations

import gc
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from conftest import jpeg_bytes

THREADS = 8
PER_THREAD = 6
N_PREDICTIONS = 1000
CHUNK = 25
RSS_GROWTH_MB = 150


def images(astronaut: np.ndarray, n: int, side: int) -> list[bytes]:
    """``n`` distinct JPEGs of ``side`` px: shifted/flipped astronaut crops and faceless noise."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        if i % 4 == 3:
            img = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        else:
            x, y = rng.integers(0, 160, 2)
            img = cv2.resize(astronaut[y : y + 352, x : x + 352], (side, side), interpolation=cv2.INTER_AREA)
            if i % 2:
                img = img[:, ::-1]
        out.append(jpeg_bytes(np.ascontiguousarray(img), quality=int(60 + 3 * (i % 10))))
    return out


def test_threads_match_serial(clf, astronaut):
    """8 threads calling predict on one Classifier give exactly the serial p_ai, boxes and verdicts."""
    imgs = images(astronaut, 12, 320)
    serial = [clf.predict(b) for b in imgs]
    jobs = [(t, (t * PER_THREAD + k) % len(imgs)) for t in range(THREADS) for k in range(PER_THREAD)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda job: (job[1], clf.predict(imgs[job[1]])), jobs))
    seconds = time.perf_counter() - t0
    diffs = []
    for i, pred in results:
        ref = serial[i]
        assert pred.verdict == ref.verdict and [f.box for f in pred.faces] == [f.box for f in ref.faces]
        diffs.append(abs(pred.p_ai - ref.p_ai))
    print(f"\n{THREADS} threads x {PER_THREAD} = {len(jobs)} predictions in {seconds:.1f} s; "
          f"max |p_ai - serial| = {max(diffs):.2e}")
    assert max(diffs) <= 1e-6


def test_threads_mixing_good_and_bad_inputs(clf, astronaut):
    """Bad inputs in some threads do not disturb good ones in others."""
    from classifier import ImageError

    good = images(astronaut, 4, 256)
    serial = [clf.predict(b).p_ai for b in good]
    bad = [b"", b"junk", good[0][:200]]

    def work(i):
        if i % 2:
            with pytest.raises(ImageError):
                clf.predict(bad[i % 3])
            return None
        return clf.predict(good[i % 4]).p_ai

    with ThreadPoolExecutor(THREADS) as pool:
        got = list(pool.map(work, range(32)))
    for i, p in enumerate(got):
        if p is not None:
            assert abs(p - serial[i % 4]) <= 1e-6


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def test_memory_flat_over_1000_predictions(clf, astronaut):
    """1,000 predictions of 256 px portraits (batches of 25) grow RSS by less than 150 MB after warm-up."""
    pytest.importorskip("psutil")
    imgs = images(astronaut, 50, 256)
    for i in range(0, 100, CHUNK):  # warm-up: tf.function traces, allocator pools
        clf.predict_batch(imgs[i % 50 : i % 50 + CHUNK])
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    samples = []
    done = 0
    while done < N_PREDICTIONS:
        start = done % len(imgs)
        out = clf.predict_batch(imgs[start : start + CHUNK])
        assert all(not isinstance(p, Exception) for p in out)
        done += len(out)
        if done % 200 == 0:
            samples.append(round(rss_mb()))
    seconds = time.perf_counter() - t0
    gc.collect()
    after = rss_mb()
    print(f"\n{done} predictions in {seconds:.1f} s ({done / seconds:.1f}/s); RSS {before:.0f} -> {after:.0f} MB "
          f"(every 200: {samples})")
    assert done == N_PREDICTIONS
    assert after - before < RSS_GROWTH_MB, f"RSS grew {after - before:.0f} MB over {done} predictions: {samples}"
