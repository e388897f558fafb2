"""Process-wide cached access to the model and the JSON artefacts written beside it.

The network is loaded once per server process (``st.cache_resource``) and shared
by every session; the card, evaluation and insights files are re-read only when
they change on disk (their mtime is part of the cache key). Every accessor
returns ``None`` or an error message instead of raising, so a page can say what
is missing rather than crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from classifier import Classifier, ModelError, load_classifier
from classifier.card import CARD_FILE, EVAL_FILE, INSIGHTS_FILE
from classifier.predictor import DEFAULT_MODEL_DIR, model_dir_default


def model_dir() -> Path:
    """The model folder the app serves: ``$AIVR_MODEL_DIR`` or ``models/``."""
    return model_dir_default()


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=2)
def _load(path: str, version: int | None = None) -> Classifier:
    """``version`` (the card's mtime) is only a cache key: a retrained model replaces the cached one."""
    clf = load_classifier(path)
    try:  # trace the network and wake the detector now, not on the first user's upload
        clf.predict(np.full((96, 96, 3), 128, np.uint8))
    except Exception:
        pass
    return clf


def get_classifier() -> tuple[Classifier | None, str | None]:
    """``(classifier, None)`` or ``(None, message)``; a failed load is retried on the next run."""
    card_path = model_dir() / CARD_FILE
    version = card_path.stat().st_mtime_ns if card_path.is_file() else None
    try:
        return _load(str(model_dir()), version), None
    except ModelError as err:
        return None, err.message
    except Exception as err:  # anything else: say so briefly, never a traceback
        return None, f"The model could not be loaded ({type(err).__name__})."


@st.cache_data(show_spinner=False, max_entries=16)
def _read_json(path: str, mtime_ns: int) -> dict | None:
    try:
        with open(path) as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def _artifact(name: str, fallback: bool = False) -> dict | None:
    folders = [model_dir()] + ([DEFAULT_MODEL_DIR] if fallback else [])
    for folder in folders:
        path = Path(folder) / name
        if path.is_file():
            return _read_json(str(path), path.stat().st_mtime_ns)
    return None


def card() -> dict | None:
    """The model card, without loading the network (the sidebar needs only this)."""
    return _artifact(CARD_FILE)


def evaluation() -> dict | None:
    """Test-split evaluation of the served model (``evaluation.json``), if it was run."""
    return _artifact(EVAL_FILE)


def family_folds() -> dict | None:
    """The family-fold runs (``family_folds.json``): protocol research, so ``models/`` is a fallback."""
    return _artifact("family_folds.json", fallback=True)


def insights() -> dict | None:
    """Dataset statistics (``insights.json``): they describe the data, so ``models/`` is a fallback."""
    return _artifact(INSIGHTS_FILE, fallback=True)


# -- small helpers the pages share --------------------------------------------------------------
def dig(obj: Any, *keys: Any, default: Any = None) -> Any:
    """``obj[k1][k2]...`` or ``default`` when any step is missing: artefacts may lack any key."""
    for k in keys:
        try:
            obj = obj[k]
        except (KeyError, IndexError, TypeError):
            return default
        if obj is None:
            return default
    return obj


def finite(x: Any) -> float | None:
    """``x`` as a finite float, or None: artefact values may be missing, null or NaN."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def change_interval(row: Any) -> tuple[float, float] | None:
    """A robustness row's 95 % interval for its change (``evaluate``), or None where the artefact has none, it is
    malformed, or the row is the clean one (nothing to compare)."""
    ci = dig(row, "delta_balanced_accuracy_ci95")
    if not isinstance(ci, (list, tuple)) or len(ci) != 2 or dig(row, "name") == "original":
        return None
    lo, hi = finite(ci[0]), finite(ci[1])
    return None if lo is None or hi is None else (lo, hi)


def pct(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage, or an em dash when it is missing."""
    try:
        return f"{float(x):.{digits}%}"
    except (TypeError, ValueError):
        return "—"


def num(x: Any, digits: int = 3) -> str:
    try:
        return f"{float(x):.{digits}f}"
    except (TypeError, ValueError):
        return "—"


def band(c: dict | None) -> tuple[float, float] | None:
    """The calibrated "uncertain" band ``(lo, hi)`` from the card."""
    b = dig(c, "uncertain_band")
    try:
        return float(b[0]), float(b[1])
    except (TypeError, ValueError, IndexError):
        return None


def band_sentence(c: dict | None) -> str:
    """What the three verdicts mean, with the band edges read from the card."""
    b = band(c)
    if b is None:
        return ("**Uncertain** means the calibrated probability falls in the middle band where the model "
                "cannot tell the classes apart reliably.")
    lo, hi = b
    return (f"**AI-generated** when the calibrated probability is at least {hi:.0%}, **Real** below {lo:.0%}, "
            f"and **Uncertain** in between: in that band the validation images were too mixed for a "
            f"confident call, so treat it as *no answer*, not as 50/50.")


def md_escape(text: str) -> str:
    """Escape user-supplied text (file names) before it goes into Markdown."""
    out = []
    for ch in str(text):
        out.append("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~$:" else ch)
    return "".join(out)


def ensure_navigation() -> None:
    """Make a page opened by its own URL run inside ``Home.py``'s navigation.

    Until ``st.navigation`` has been called once in the process, Streamlit guesses
    from the existence of ``pages/`` that this is a legacy multipage app; the first
    visitor of a deep link such as ``/prediction`` on a fresh server would then get
    the page alone (no page config, no sidebar, the folder's raw file list as
    menu). Clearing that guess and rerunning lets ``Home.py`` take over.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # internal API moved: the legacy mode is then at worst cosmetic
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def stamp() -> tuple:
    """Which versions of the artefacts are on disk: a cache key for anything drawn from them."""
    out = []
    for name, fallback in ((CARD_FILE, False), (EVAL_FILE, False), (INSIGHTS_FILE, True)):
        for folder in [model_dir()] + ([DEFAULT_MODEL_DIR] if fallback else []):
            path = Path(folder) / name
            if path.is_file():
                out.append((str(path), path.stat().st_mtime_ns))
                break
        else:
            out.append((name, None))
    return tuple(out)
