"""End-to-end test in a real browser.

Starts ``streamlit run Home.py`` headless on a free localhost port and drives Debian's
Chromium (``/usr/bin/chromium``) through Playwright. It opens every page, uploads a real
portrait on Prediction and waits for the verdict, then takes a photo with the camera widget,
Chromium's fake webcam playing a video made here from the same portrait, and waits for that
verdict too. Any Streamlit exception box or "Traceback" on a page fails the test.

Screenshots go to a temporary folder and to ``artifacts/e2e/`` (git-ignored); the ones in ``docs/`` come
from ``scripts/screenshots.py`` (``make docs``), which drives the app with this module's helpers.

Without ``/usr/bin/chromium`` the test is skipped, except under CI (``CI`` set), where it fails:
``.ci/run`` installs Debian's ``chromium``. Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("AIVR_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
ARTIFACTS = ROOT / "artifacts" / "e2e"

SERVER_START_S = 180  # cold start of Streamlit on a busy 2-core machine
PAGE_SETTLE_S = 180  # first page that imports TensorFlow / loads the model
VERDICT_S = 240  # upload/photo -> face detection -> network -> rendered verdict

# A verdict as the Prediction page shows it: the word, then at once its percentage, with only
# spacing/punctuation between ("Uncertain 55.8%", "Real — 21.7%", "AI-generated: 87 %",
# "Uncertain (p = 48 %)"). Deliberately no words in between, so that an explanation such as
# "AI-generated when the probability is at least 90%, Real below 23%" never counts as a verdict.
VERDICT_RE = re.compile(
    r"\b(AI-generated|Real|Uncertain)\b[\s:;,.|·•—–()\[\]-]{0,8}(?:p\s*=\s*|p_ai\s*=\s*)?\d{1,3}(?:[.,]\d+)?\s?%"
)
EXPECTED_PAGES = ("insights", "prediction", "takeaways")
DECLARED_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
                b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
                b'trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>')

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: the browser test must run; .ci/run installs Debian's chromium)")
    pytest.skip(reason)


# --------------------------------------------------------------------------- test inputs


def _portrait() -> np.ndarray:
    """A real photographic portrait: NASA's public-domain astronaut (Eileen Collins), 512x512 RGB."""
    from skimage import data

    return data.astronaut()


def _webcam_frame(width: int = 640, height: int = 480) -> Image.Image:
    """The portrait as a 4:3 webcam frame: scaled to the frame height, centred on a grey wall."""
    face = Image.fromarray(_portrait()).resize((height, height), Image.Resampling.LANCZOS)
    frame = Image.new("RGB", (width, height), (118, 118, 112))
    frame.paste(face, ((width - height) // 2, 0))
    return frame


def write_y4m(path: Path, frame: Image.Image, n_frames: int = 6, fps: int = 30, seed: int = 0) -> Path:
    """Write a Y4M (YUV 4:2:0) video that Chromium's fake capture device can play in a loop.

    Each frame carries a little sensor-like noise so it looks like a live camera, not a still.
    """
    width, height = frame.size
    assert width % 2 == 0 and height % 2 == 0
    rng = np.random.default_rng(seed)
    base = np.asarray(frame, dtype=np.int16)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(n_frames):
            noisy = np.clip(base + rng.integers(-3, 4, size=base.shape), 0, 255).astype(np.uint8)
            ycc = np.asarray(Image.fromarray(noisy).convert("YCbCr"), dtype=np.float32)
            y = ycc[..., 0]
            # 4:2:0: average each 2x2 block of the chroma planes
            cb = ycc[..., 1].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
            cr = ycc[..., 2].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
            f.write(b"FRAME\n")
            for plane in (y, cb, cr):
                f.write(np.clip(np.rint(plane), 0, 255).astype(np.uint8).tobytes())
    return path


def test_y4m_writer_is_well_formed(tmp_path):
    """The fake-webcam video is valid 4:2:0 Y4M (cheap check that runs without a browser)."""
    path = write_y4m(tmp_path / "cam.y4m", Image.new("RGB", (64, 48), (200, 30, 30)), n_frames=3)
    raw = path.read_bytes()
    header, _, rest = raw.partition(b"\n")
    assert header == b"YUV4MPEG2 W64 H48 F30:1 Ip A1:1 C420jpeg"
    frame_bytes = 64 * 48 + 2 * (32 * 24)
    assert len(rest) == 3 * (len(b"FRAME\n") + frame_bytes)
    first = rest[len(b"FRAME\n") : len(b"FRAME\n") + frame_bytes]
    y = np.frombuffer(first[: 64 * 48], dtype=np.uint8)
    cr = np.frombuffer(first[-32 * 24 :], dtype=np.uint8)
    assert 70 < y.mean() < 100 and cr.mean() > 200  # red: dim luma, strong red-difference chroma


# --------------------------------------------------------------------------- the app server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """Start the Streamlit app on a free localhost port; yield its base URL; stop it."""
    if not (ROOT / "Home.py").exists():
        pytest.fail("Home.py is missing: the app entry point must exist")
    model_dir = Path(_server_env().get("AIVR_MODEL_DIR") or ROOT / "models")
    if not (model_dir / "model_card.json").is_file():
        _unavailable(f"no trained model in {model_dir} (train one with `make train` or set AIVR_MODEL_DIR)")
    with running_app(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@contextlib.contextmanager
def running_app(log_path: Path) -> Iterator[str]:
    """``streamlit run Home.py`` on a free localhost port: its base URL while it serves; then SIGTERM, and it
    must exit 0 promptly. Also used by ``scripts/screenshots.py`` (``make docs``)."""
    env = _server_env()
    port = _free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "Home.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def server_log() -> str:
        return log_path.read_text(errors="replace")[-6000:]

    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with status {proc.returncode} before serving:\n{server_log()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer on {url} within {SERVER_START_S} s:\n{server_log()}")
            time.sleep(0.5)
        yield url
    finally:
        stopped = None
        if proc.poll() is None:
            proc.terminate()  # SIGTERM, as a supervisor stops a service: it must exit 0, promptly
            try:
                stopped = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / "streamlit-server.log")
        assert stopped == 0, f"the app server did not exit 0 within 10 s of SIGTERM ({stopped}):\n{server_log()}"


# --------------------------------------------------------------------------- browser helpers


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    video = write_y4m(tmp_path_factory.mktemp("webcam") / "portrait.y4m", _webcam_frame())
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, device_scale_factor=1)
    context.grant_permissions(["camera"], origin=app_url)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))  # type: ignore[attr-defined]
    yield pg
    context.close()


def wait_for_app_idle(page, timeout_s: float = PAGE_SETTLE_S, quiet_s: float = 1.5) -> None:
    """Wait until the app is rendered and the script has stopped running for ``quiet_s`` seconds."""
    page.wait_for_selector('[data-testid="stApp"]', state="attached", timeout=timeout_s * 1000)
    page.wait_for_selector('[data-testid="stMain"], [data-testid="stAppViewContainer"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"] [data-testid^="stStatusWidgetRunning"]').count()
        skeleton = page.locator('[data-testid="stSkeleton"]').count()
        # before the first script run the main area is still empty: that is not "idle"
        rendered = page.locator('[data-testid="stMain"] [data-testid="stElementContainer"]').count()
        if running == 0 and skeleton == 0 and rendered > 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(250)
    raise AssertionError(f"the app was still running after {timeout_s} s")


def assert_no_exception(page, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    if boxes.count():
        raise AssertionError(f"Streamlit exception on {where}:\n" + "\n---\n".join(boxes.all_inner_texts()))
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, f"a traceback is shown on {where}:\n{body[-3000:]}"
    errors = getattr(page, "console_errors", [])
    assert not errors, f"JavaScript errors on {where}: {errors}"


def main_text(page) -> str:
    """The visible text of the main area (hidden tabs excluded)."""
    main = page.locator('[data-testid="stMain"]')
    return main.inner_text() if main.count() else page.locator("body").inner_text()


def wait_for_new_verdict(page, before: int, where: str, timeout_s: float = VERDICT_S) -> str:
    """Wait until more verdicts are visible than ``before``; return the newest one's text."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert_no_exception(page, where)
        matches = list(VERDICT_RE.finditer(main_text(page)))
        if len(matches) > before:
            return matches[-1].group(0)
        page.wait_for_timeout(500)
    visible = main_text(page)[-3000:]
    raise AssertionError(f"no verdict appeared on {where} within {timeout_s} s; visible text:\n{visible}")


def wait_for_text(page, needle: str, where: str, timeout_s: float = VERDICT_S) -> None:
    """Wait until ``needle`` is visible in the main area."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert_no_exception(page, where)
        if needle in main_text(page):
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{needle!r} did not appear on {where} within {timeout_s} s:\n{main_text(page)[-3000:]}")


def shot(page, tmp_dir: Path, name: str) -> Path:
    out = tmp_dir / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out, ARTIFACTS / out.name)
    return out


def page_urls(page, app_url) -> dict[str, str]:
    """Every page of the navigation, by name: read from the app's nav links, else the expected paths."""
    links = page.locator('a[data-testid="stSidebarNavLink"], a[data-testid="stTopNavLink"]')
    urls: dict[str, str] = {"home": app_url + "/"}
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href") or ""
        path = href.split("://", 1)[-1].split("/", 1)[-1] if "://" in href else href.lstrip("/")
        urls[path.strip("/").lower() or "home"] = f"{app_url}/{path.strip('/')}"
    for name in EXPECTED_PAGES:
        urls.setdefault(name, f"{app_url}/{name}")
    return urls


def open_tab(page, pattern: str) -> bool:
    tab = page.get_by_role("tab", name=re.compile(pattern, re.IGNORECASE))
    if tab.count():
        tab.first.click()
        page.wait_for_timeout(300)
        return True
    return False


# --------------------------------------------------------------------------- the test


def test_every_page_upload_and_webcam_in_chromium(page, app_url, tmp_path):
    try:
        _walk_the_app(page, app_url, tmp_path)
    except BaseException:
        try:
            print(f"failure screenshot: {shot(page, tmp_path, 'failure')} (also in {ARTIFACTS})")
        except Exception as exc:  # the browser may be gone; the original error matters more
            print(f"no failure screenshot: {exc}")
        raise


def _walk_the_app(page, app_url, tmp_path) -> None:
    t0 = time.monotonic()

    # 1. Home, and the navigation to every other page
    page.goto(app_url + "/")
    wait_for_app_idle(page)
    assert_no_exception(page, "Home")
    assert main_text(page).strip(), "the Home page is empty"
    shot(page, tmp_path, "home")
    urls = page_urls(page, app_url)
    missing = [n for n in EXPECTED_PAGES if not any(n in key for key in urls)]
    assert not missing, f"pages missing from the navigation: {missing} (found {sorted(urls)})"

    for name in ("insights", "takeaways"):
        url = next(u for key, u in urls.items() if name in key)
        page.goto(url)
        wait_for_app_idle(page)
        assert_no_exception(page, name)
        assert len(main_text(page).strip()) > 40, f"the {name} page shows almost nothing"
        shot(page, tmp_path, name)

    # 2. Prediction: upload a real portrait, see a verdict
    prediction_url = next(u for key, u in urls.items() if "prediction" in key)
    page.goto(prediction_url)
    wait_for_app_idle(page)
    assert_no_exception(page, "Prediction")
    open_tab(page, r"upload|file|image")
    portrait = tmp_path / "astronaut.jpg"
    Image.fromarray(_portrait()).save(portrait, quality=92)
    before = len(VERDICT_RE.findall(main_text(page)))
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
    try:
        uploader.wait_for(state="attached", timeout=60_000)
    except Exception:
        raise AssertionError(f"no file uploader on Prediction; visible text:\n{main_text(page)[-3000:]}") from None
    uploader.set_input_files(str(portrait))
    verdict = wait_for_new_verdict(page, before, "Prediction (upload)")
    wait_for_app_idle(page)
    assert_no_exception(page, "Prediction (upload)")
    print(f"upload verdict: {verdict!r}")
    shot(page, tmp_path, "prediction")

    # 2b. The same portrait in a file that declares AI generation (IPTC trainedAlgorithmicMedia in its XMP):
    # the verdict turns AI-generated and the Provenance part says why
    declared = tmp_path / "declared.jpg"
    Image.fromarray(_portrait()).save(declared, quality=92, xmp=DECLARED_XMP)
    uploader.set_input_files(str(declared))
    wait_for_text(page, "declares it was AI-generated", "Prediction (declared AI upload)")
    wait_for_app_idle(page)
    assert_no_exception(page, "Prediction (declared AI upload)")
    text = main_text(page)
    assert "Provenance" in text and "AI-generated" in text and "declared by the file" in text, text[-3000:]
    shot(page, tmp_path, "prediction-declared")

    # 3. Webcam: Chromium's fake camera plays the portrait video; take the photo, see a verdict
    open_tab(page, r"webcam|camera")
    camera = page.locator('[data-testid="stCameraInput"]')
    if not camera.count() or not camera.first.is_visible():
        # the page may keep the camera off until asked (a toggle or checkbox)
        switch = page.get_by_label(re.compile(r"camera|webcam", re.IGNORECASE))
        if switch.count():
            switch.first.click(force=True)
            wait_for_app_idle(page)
    camera = page.locator('[data-testid="stCameraInput"]').first
    camera.wait_for(state="visible", timeout=60_000)
    before = len(VERDICT_RE.findall(main_text(page)))
    take = camera.get_by_role("button", name=re.compile(r"take photo", re.IGNORECASE))
    take.wait_for(state="visible", timeout=60_000)
    # the button is enabled once the fake stream is playing
    page.wait_for_function(
        "el => !el.disabled && el.getAttribute('aria-disabled') !== 'true'",
        arg=take.element_handle(),
        timeout=60_000,
    )
    page.wait_for_timeout(1000)  # a few frames into the stream
    take.click()
    verdict = wait_for_new_verdict(page, before, "Prediction (webcam)")
    wait_for_app_idle(page)
    assert_no_exception(page, "Prediction (webcam)")
    print(f"webcam verdict: {verdict!r}")
    shot(page, tmp_path, "prediction-webcam")
    print(f"browser test took {time.monotonic() - t0:.1f} s; screenshots in {tmp_path} and {ARTIFACTS}")


def test_concurrent_sessions_on_the_real_server(browser, app_url, tmp_path):
    """Several browser sessions upload at the same moment, in two rounds (each round a fresh page
    load, so a fresh session): the server, with one cached model shared by all sessions, answers
    every one of them, with no exception shown anywhere."""
    sessions, rounds = 4, 2
    portrait = tmp_path / "astronaut.jpg"
    Image.fromarray(_portrait()).save(portrait, quality=92)
    contexts = [browser.new_context(viewport={"width": 1280, "height": 1000}) for _ in range(sessions)]
    try:
        pages = [c.new_page() for c in contexts]
        for r in range(rounds):
            for pg in pages:
                pg.set_default_timeout(60_000)
                pg.goto(app_url + "/prediction")
                wait_for_app_idle(pg)
            before = [len(VERDICT_RE.findall(main_text(pg))) for pg in pages]
            for pg in pages:  # all uploads go out before any answer is awaited
                pg.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(portrait))
            for k, pg in enumerate(pages):
                wait_for_new_verdict(pg, before[k], f"session {k}, round {r}")
    finally:
        for c in contexts:
            c.close()
