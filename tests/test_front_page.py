"""Home and the sidebar lead with sources the model never saw, and Home names every format an upload may be.

Why: the validation and test splits share their sources with training, so their 0.99+ figures read as
real-world accuracy; a photo from elsewhere is what the held-out families measure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from classifier import UPLOAD_EXTENSIONS
from classifier.images import FORMAT_NAMES

REPO = Path(__file__).resolve().parents[1]
SAME_FORMAT = {"JPG": "JPEG", "TIF": "TIFF"}


@pytest.fixture
def home(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("AIVR_MODEL_DIR", str(model_dir))
    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_every_accepted_format_is_named() -> None:
    names = {n for part in FORMAT_NAMES.upper().split(", ") for n in part.split("/")}
    missing = [e for e in UPLOAD_EXTENSIONS if SAME_FORMAT.get(e.upper(), e.upper()) not in names]
    assert not missing, f"FORMAT_NAMES lacks {missing}"


def test_home_lists_the_formats_and_leads_with_held_out_figures(home: AppTest, model_dir: Path) -> None:
    assert any(FORMAT_NAMES in c.value for c in home.caption), "Home does not list the accepted formats"
    text = [m.value for m in home.markdown]
    held = next(i for i, t in enumerate(text) if t.startswith("**On sources it never saw**"))
    trained = next(i for i, t in enumerate(text) if t.startswith("**On the sources it trained on**"))
    assert held < trained
    ev = json.loads((model_dir / "evaluation.json").read_text())
    worst = max((g for g in ev["held_out"]["groups"] if g["label"] == "ai"), key=lambda g: g["called_real"])
    assert f"{worst['called_real']:.0%}" in text[held] and worst["group"] in text[held]


def test_the_sidebar_shows_held_out_errors_before_test_figures(home: AppTest) -> None:
    labels = [m.label for m in home.sidebar.metric]
    assert labels[:2] == ["AI called real", "Real called AI"], labels
    assert labels.index("ROC-AUC") > 1
    assert any("Validation" in c.value for c in home.sidebar.caption)
