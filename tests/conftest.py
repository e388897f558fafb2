"""Shared fixtures: the model under test (loaded once), a real portrait, the dataset.

Which model is tested: ``$AIVR_MODEL_DIR`` if set, else the shipped ``models/``.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # lets test modules import the helper module ``hostile``
    sys.path.insert(0, str(TESTS))


def pytest_configure(config: pytest.Config) -> None:
    known = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for line in ("slow: takes more than a minute; deselect with -m 'not slow'",
                 "dataset: needs ../shared/data/portraits (skipped when absent)"):
        if line.split(":", 1)[0] not in known:
            config.addinivalue_line("markers", line)


def resolve_model_dir() -> Path:
    env = os.environ.get("AIVR_MODEL_DIR")
    if env:
        return Path(env).resolve()
    return REPO / "models"


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The model folder under test; skips model tests when none exists yet."""
    path = resolve_model_dir()
    if not (path / "model_card.json").is_file():
        if os.environ.get("CI"):  # the shipped model is part of the product: CI must not skip past it
            pytest.fail(f"no trained model in {path}")
        pytest.skip(f"no trained model in {path} (train one or set AIVR_MODEL_DIR)")
    return path


@pytest.fixture(scope="session")
def clf(model_dir: Path):
    """One Classifier for the whole session: loading costs seconds, tests must share it."""
    from classifier import load_classifier

    return load_classifier(model_dir)


@pytest.fixture(scope="session")
def keras_model(model_dir: Path):
    """The Keras source-of-truth model (training's reference; the runtime never loads it)."""
    pytest.importorskip("keras", reason="TensorFlow/Keras not installed: the runtime-only install")
    from classifier import load_card
    from classifier.training.export import load_keras_model

    return load_keras_model(model_dir, load_card(model_dir))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real photograph (NASA, public domain) that ships inside scikit-image: 512x512 RGB."""
    from skimage import data

    return data.astronaut()


def jpeg_bytes(rgb: np.ndarray, quality: int = 90, **kwargs) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="session")
def portrait_jpeg(astronaut: np.ndarray) -> bytes:
    """The astronaut as JPEG bytes, made in memory (nothing binary is committed)."""
    return jpeg_bytes(astronaut)


@pytest.fixture(scope="session")
def cli_env(model_dir: Path) -> dict:
    """Environment for ``python -m classifier`` subprocesses: this checkout, this model."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["AIVR_MODEL_DIR"] = str(model_dir)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def run_cli(args: list[str], env: dict, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m classifier ARGS`` and return the completed process (text mode)."""
    return subprocess.run([sys.executable, "-m", "classifier", *args], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def dataset_root() -> Path:
    """The labelled portraits, or a skip saying why the dataset tests did not run."""
    from classifier.dataset import data_dir, dataset_available

    if not dataset_available():
        pytest.skip(f"dataset not present at {data_dir()} (set AIVR_DATA); dataset quality tests skipped")
    return data_dir()


def fixed_test_sample(records, per_source: int) -> list:
    """``per_source`` test-split records per source, chosen by a hash of the path (stable, unbiased)."""
    by_source = defaultdict(list)
    for r in records:
        if r.split == "test":
            by_source[r.source].append(r)
    sample = []
    for source in sorted(by_source):
        rs = sorted(by_source[source], key=lambda r: hashlib.sha256(r.path.encode()).hexdigest())
        sample.extend(rs[:per_source])
    return sample
