"""Retake the screenshots in docs/ from the running app, so they show the model that ships.

    .venv/bin/python scripts/screenshots.py [--out docs]        (make docs runs it)

Starts ``streamlit run Home.py`` on a free local port (the model in ``models/`` or ``$AIVR_MODEL_DIR``) and
drives Debian's Chromium (``/usr/bin/chromium``, or ``$AIVR_CHROMIUM``) through Playwright with the end-to-end
test's helpers and flags (no background networking, no component updates: nothing leaves the machine). It saves
Home and Prediction (NASA's public-domain astronaut portrait uploaded, its verdict shown) at 1280x1000, then
writes ``screenshots.json`` beside them: the model version they show, which a test compares with the card.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

# The end-to-end test's browser helpers: one way to start, drive and wait for the app.
from test_e2e_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    VERDICT_RE,
    _portrait,
    _server_env,
    assert_no_exception,
    main_text,
    running_app,
    wait_for_app_idle,
    wait_for_new_verdict,
)

from classifier.card import CARD_FILE, read_json  # noqa: E402

VIEWPORT = {"width": 1280, "height": 1000}


def take(out: Path) -> dict:
    """Save home.png and prediction.png in ``out``; what they show (model version, files)."""
    from playwright.sync_api import sync_playwright

    model_dir = Path(_server_env().get("AIVR_MODEL_DIR") or ROOT / "models")
    card = read_json(model_dir / CARD_FILE)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, running_app(Path(tmp) / "server.log") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=VIEWPORT, device_scale_factor=1).new_page()
        page.set_default_timeout(120_000)
        page.goto(url + "/")
        wait_for_app_idle(page)
        assert_no_exception(page, "Home")
        page.screenshot(path=str(out / "home.png"))
        page.goto(url + "/prediction")
        wait_for_app_idle(page)
        portrait = Path(tmp) / "astronaut.jpg"
        Image.fromarray(_portrait()).save(portrait, quality=92)
        before = len(VERDICT_RE.findall(main_text(page)))
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(portrait))
        wait_for_new_verdict(page, before, "Prediction")
        wait_for_app_idle(page)
        assert_no_exception(page, "Prediction")
        page.screenshot(path=str(out / "prediction.png"))
        browser.close()
    record = {"version": card.get("version"), "lite_sha256": card.get("lite_sha256"),
              "files": ["home.png", "prediction.png"], "viewport": VIEWPORT}
    (out / "screenshots.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: apt-get install chromium (or set AIVR_CHROMIUM)", file=sys.stderr)
        return 1
    record = take(args.out)
    print(f"screenshots of model {record['version']} in {args.out}: {', '.join(record['files'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
