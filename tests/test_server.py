"""The HTTP API, tested as it runs: a real ``python -m classifier serve`` process on a free port.

One server serves most tests (start-up costs seconds); the token and SIGTERM tests start their own.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import cv2
import hostile
import numpy as np
import provenance_fixtures as pf
import pytest
from conftest import REPO, jpeg_bytes, run_cli

httpx = pytest.importorskip("httpx")

TOKEN = "test-token-5b1f"
START_TIMEOUT = 120


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    tmpdir: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(env: dict, folder: Path, **extra_env: str):
    """``python -m classifier serve`` on a free port, healthy; killed afterwards if still running.

    The server's TMPDIR is an empty folder of its own, so a test can check nothing was written there.
    """
    port = free_port()
    tmpdir = folder / "tmp"
    tmpdir.mkdir()
    log = folder / "server.log"
    env = {**env, "TMPDIR": str(tmpdir), **extra_env}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "classifier", "serve", "--port", str(port)], cwd=REPO,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", proc, log, tmpdir)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, f"server exited ({proc.returncode}): {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"server not healthy in {START_TIMEOUT} s: {log.read_text()[-2000:]}"
            try:
                if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def server(cli_env, tmp_path_factory):
    env = {k: v for k, v in cli_env.items() if k != "AIVR_API_TOKEN"}
    with running_server(env, tmp_path_factory.mktemp("server")) as s:
        yield s


def post(url: str, files: list[tuple[str, bytes]], **kwargs) -> httpx.Response:
    return httpx.post(url + "/v1/predict", files=[("files", (name, data)) for name, data in files], timeout=120,
                      **kwargs)


def portrait(astronaut: np.ndarray, x: int, y: int, side: int, flip: bool = False) -> bytes:
    crop = cv2.resize(astronaut[y : y + side, x : x + side], (256, 256), interpolation=cv2.INTER_AREA)
    return jpeg_bytes(np.ascontiguousarray(crop[:, ::-1] if flip else crop))


def test_healthz_names_the_model(server, clf):
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "model": clf.card["name"], "version": clf.card["version"]}


def test_model_route_summarises_the_card(server, clf):
    body = httpx.get(server.url + "/v1/model").json()
    assert body["version"] == clf.card["version"] and body["threshold"] == pytest.approx(clf.threshold)
    assert body["uncertain_band"] == pytest.approx(list(clf.band))
    assert body["conditions"]["compressed"]["threshold"] == pytest.approx(clf.rule(compressed=True)[0])
    assert body["metrics"]["test"] == clf.card.get("test")
    assert body["metrics"]["validation"]["roc_auc"] == pytest.approx(clf.card["validation"]["roc_auc"])


def test_docs_and_openapi(server):
    assert httpx.get(server.url + "/docs").status_code == 200
    spec = httpx.get(server.url + "/openapi.json").json()
    assert {"/healthz", "/v1/model", "/v1/predict"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/predict"]["post"]["requestBody"]["content"]


def test_batch_equals_the_cli(server, cli_env, astronaut, tmp_path):
    """Several files in one request: one result each, in order, equal to ``predict --json`` lines."""
    files = [("a.jpg", portrait(astronaut, 20, 10, 400)), ("b.jpg", portrait(astronaut, 90, 30, 300, flip=True)),
             ("noface.png", hostile.build("noface_flat.png")), ("crowd.jpg", hostile.build("faces_3x3.jpg")),
             ("notes.jpg", hostile.build("text.jpg")), ("gray.jpg", hostile.build("portrait_gray.jpg")),
             ("declared.jpg", pf.encode(astronaut, "JPEG", xmp=pf.xmp_packet("trainedAlgorithmicMedia")))]
    r = post(server.url, files)
    assert r.status_code == 200
    results = r.json()["results"]
    for name, data in files:
        (tmp_path / name).write_bytes(data)
    proc = run_cli(["predict", *(str(tmp_path / n) for n, _ in files), "--json"], cli_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [x["path"] for x in results] == [n for n, _ in files]
    for api, cli in zip(results, lines, strict=True):
        assert set(api) == set(cli) == {"path", "verdict", "p_ai", "faces", "warnings", "width", "height",
                                        "pixel_verdict", "provenance", "error"}
        same = ("verdict", "warnings", "width", "height", "pixel_verdict", "provenance", "error")
        assert {k: api[k] for k in same} == {k: cli[k] for k in same}
        if cli["p_ai"] is None:
            assert api["p_ai"] is None and api["error"]
            continue
        assert api["p_ai"] == pytest.approx(cli["p_ai"], abs=1e-4)
        assert [f["box"] for f in api["faces"]] == [f["box"] for f in cli["faces"]]
        assert [f["p_ai"] for f in api["faces"]] == pytest.approx([f["p_ai"] for f in cli["faces"]], abs=1e-4)
    assert results[-1]["provenance"]["claim"] == "ai" and results[-1]["verdict"] == "ai"


def test_junk_file_gets_its_own_error(server, portrait_jpeg):
    r = post(server.url, [("junk.jpg", b"hello, not a photo" * 10), ("face.jpg", portrait_jpeg),
                          ("empty.png", b"")])
    assert r.status_code == 200
    junk, face, empty = r.json()["results"]
    assert junk["error"] and "not an image" in junk["error"] and junk["p_ai"] is None and junk["faces"] == []
    assert face["error"] is None and face["verdict"] in {"ai", "real", "uncertain"}
    assert empty["error"] and "empty" in empty["error"].lower()


def test_oversize_file_is_413(server, portrait_jpeg):
    r = post(server.url, [("face.jpg", portrait_jpeg), ("huge.jpg", hostile.build("oversize.jpg"))])
    assert r.status_code == 413 and "MB" in r.json()["detail"]
    assert httpx.get(server.url + "/healthz").status_code == 200  # and the server is fine


def test_too_many_files_is_413(server):
    from classifier.limits import MAX_FILES_PER_REQUEST

    r = post(server.url, [(f"{i}.jpg", b"x") for i in range(MAX_FILES_PER_REQUEST + 1)])
    assert r.status_code == 413 and "Too many files" in r.json()["detail"]


def test_no_file_or_not_multipart_is_refused_clearly(server):
    r = httpx.post(server.url + "/v1/predict", files=[("other", ("a.jpg", b"x"))], data={"note": "hi"})
    assert r.status_code == 400 and "files" in r.json()["detail"]
    r = httpx.post(server.url + "/v1/predict", content=b"\xff\xd8 raw jpeg", headers={"content-type": "image/jpeg"})
    assert r.status_code == 415 and "multipart" in r.json()["detail"]
    r = httpx.post(server.url + "/v1/predict", content=b"--x\r\ngarbage", headers={
        "content-type": "multipart/form-data; boundary=x"})
    assert r.status_code in (400, 422)


def test_uploads_never_touch_the_disk(server, astronaut):
    """A 3 MB upload (over Starlette's 1 MB spooling threshold) leaves nothing in the server's TMPDIR."""
    big = cv2.resize(astronaut, (1400, 1400), interpolation=cv2.INTER_CUBIC)
    data = jpeg_bytes(big, quality=100) + b"\0" * 2_000_000  # bytes after EOI are ignored by decoders
    assert len(data) > 2 * 1024 * 1024
    r = post(server.url, [("big.jpg", data)])
    assert r.status_code == 200 and r.json()["results"][0]["error"] is None
    assert list(server.tmpdir.rglob("*")) == []
    assert b"\xff\xd8" not in server.log.read_bytes()  # and no image bytes in the log


def test_concurrent_requests_agree(server, astronaut, clf):
    """24 requests, 8 at a time: all 200, and each image's numbers identical to the serial ones."""
    images = [portrait(astronaut, 20, 10, 400), portrait(astronaut, 90, 30, 300, flip=True),
              portrait(astronaut, 60, 0, 350)]
    expected = [round(clf.predict(b).p_ai, 4) for b in images]
    jobs = [i % len(images) for i in range(24)]

    def one(i: int):
        r = post(server.url, [(f"img{i}.jpg", images[i])])
        return i, r.status_code, r.json()["results"][0]

    with ThreadPoolExecutor(8) as pool:
        out = list(pool.map(one, jobs))
    assert all(code == 200 for _, code, _ in out)
    for i, _, row in out:
        assert row["p_ai"] == pytest.approx(expected[i], abs=1e-4)
        assert row == next(r for j, _, r in out if j == i)  # identical for the same image


def test_healthz_answers_while_predictions_run(server, astronaut):
    """Predictions run off the event loop: /healthz stays fast while a long batch is analysed."""
    photo = jpeg_bytes(cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC))
    done = threading.Event()
    took = {}

    def long_request():
        t = time.perf_counter()
        post(server.url, [(f"{i}.jpg", photo) for i in range(32)])
        took["s"] = time.perf_counter() - t
        done.set()

    worker = threading.Thread(target=long_request)
    worker.start()
    time.sleep(0.3)
    latencies = []
    while not done.is_set():
        t = time.perf_counter()
        assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
        if not done.is_set():
            latencies.append(time.perf_counter() - t)
        time.sleep(0.05)
    worker.join()
    print(f"\nbatch {took['s']:.2f} s, healthz max {max(latencies or [0]):.3f} s over {len(latencies)}")
    assert latencies, f"the batch finished in {took['s']:.1f} s, before /healthz was asked"
    assert max(latencies) < max(0.5, took["s"] / 3), (max(latencies), took["s"])


def test_token_guards_everything_but_healthz(cli_env, tmp_path, portrait_jpeg):
    with running_server(cli_env, tmp_path, AIVR_API_TOKEN=TOKEN) as s:
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(s.url + "/healthz").status_code == 200
        for path in ("/v1/model", "/docs", "/openapi.json"):
            assert httpx.get(s.url + path).status_code == 401
            assert httpx.get(s.url + path, headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
            assert httpx.get(s.url + path, headers={"Authorization": TOKEN}).status_code == 401
            assert httpx.get(s.url + path, headers=good).status_code == 200
        assert post(s.url, [("face.jpg", portrait_jpeg)]).status_code == 401
        r = post(s.url, [("face.jpg", portrait_jpeg)], headers=good)
        assert r.status_code == 200 and r.json()["results"][0]["error"] is None


def test_sigterm_after_requests_exits_zero(cli_env, tmp_path, portrait_jpeg):
    """SIGTERM: graceful shutdown, exit status 0 within 10 s, nothing left hanging."""
    env = {k: v for k, v in cli_env.items() if k != "AIVR_API_TOKEN"}
    with running_server(env, tmp_path) as s:
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda _: post(s.url, [("face.jpg", portrait_jpeg)]).status_code, range(8)))
        assert codes == [200] * 8
        t = time.perf_counter()
        s.proc.send_signal(signal.SIGTERM)
        rc = s.proc.wait(timeout=10)
        seconds = time.perf_counter() - t
        log = s.log.read_text()
    assert rc == 0, log[-2000:]
    assert seconds < 10 and "Traceback" not in log and "Finished server process" in log


def test_missing_model_stops_start_up(cli_env, tmp_path):
    """A server without a model exits non-zero at start-up instead of failing every request."""
    env = {**cli_env, "AIVR_MODEL_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "classifier", "serve", "--port", str(free_port())], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "model card is missing" in proc.stderr


# -- the upload reader on its own (no server) -----------------------------------------------------

def _read(body: bytes, chunk: int = 65536, **limits):
    from classifier.uploads import read_uploads

    async def stream():
        for i in range(0, len(body), chunk):
            yield body[i : i + chunk]

    headers = {"content-type": "multipart/form-data; boundary=BOUNDARY"}
    return anyio.run(lambda: read_uploads(headers, stream(), **limits))


def _multipart(parts: list[tuple[str, str, bytes]]) -> bytes:
    out = b""
    for field, name, data in parts:
        out += (f'--BOUNDARY\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    return out + b"--BOUNDARY--\r\n"


def test_upload_reader_keeps_files_in_order_and_drops_other_fields():
    ups = _read(_multipart([("files", "a.jpg", b"A" * 100_000), ("note", "n.txt", b"skip"),
                            ("files", "é.png", b"B")]), chunk=777)
    assert [(u.filename, bytes(u.data)) for u in ups] == [("a.jpg", b"A" * 100_000), ("é.png", b"B")]


def test_upload_reader_limits_while_streaming():
    from classifier.uploads import UploadRejected

    with pytest.raises(UploadRejected) as err:
        _read(_multipart([("files", "a.jpg", b"A" * 5000)]), max_file_bytes=4000)
    assert err.value.status == 413
    with pytest.raises(UploadRejected) as err:  # no Content-Length (chunked): refused once it grows too large
        _read(_multipart([("files", "a.jpg", b"A" * 5000)]), max_total_bytes=3000)
    assert err.value.status == 413
    with pytest.raises(UploadRejected) as err:
        _read(_multipart([("files", f"{i}", b"x") for i in range(3)]), max_files=2)
    assert err.value.status == 413


def test_no_token_by_default(server):
    assert httpx.get(server.url + "/v1/model").status_code == 200


PHONE_PHOTOS = ["photo_8000x6000.jpg", "photo_12000x9000_108mp.jpg", "iphone_rotated.heic", "portrait.avif",
                "display_p3.jpg"]


def test_phone_photos_get_a_verdict_through_the_api(server):
    """48 and 108 MP JPEGs, an iPhone-style HEIC with EXIF rotation, an AVIF and a P3 JPEG: each gets a verdict."""
    files = [(name, hostile.build(name)) for name in PHONE_PHOTOS]
    r = post(server.url, files)
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["path"] for x in results] == PHONE_PHOTOS
    for x in results:
        assert x["error"] is None and x["verdict"] in ("ai", "real", "uncertain"), x
    heic = results[PHONE_PHOTOS.index("iphone_rotated.heic")]
    assert heic["faces"] and heic["faces"][0]["box"] is not None, "the HEIC was not turned upright"
