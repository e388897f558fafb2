"""Where the labelled portraits live, and a few of them for the app to show (runtime: a CSV and paths only).

The images are never part of the repository: they are read from the folder given on the command line or in
``AIVR_DATA`` (default ``../shared/data/portraits`` beside the repository). Training reads the full manifest
with its splits (``classifier.training.data``); the Insights page only needs to know whether the folder is
there and to show two images per source, which is all this module does, so the app stays off training code.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from .images import load_image

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "portraits"


def data_dir(path: str | Path | None = None) -> Path:
    """The dataset root: the argument, else ``$AIVR_DATA``, else the shared folder."""
    return Path(path or os.environ.get("AIVR_DATA") or DEFAULT_DATA_DIR)


def dataset_available(path: str | Path | None = None) -> bool:
    return (data_dir(path) / "manifest.csv").is_file()


@dataclass(frozen=True)
class Entry:
    """One manifest line, as much of it as showing an image needs."""

    path: str  # relative to the data root
    label: str  # "real" | "ai"
    source: str


class HasSource(Protocol):
    path: str
    source: str


Row = TypeVar("Row", bound=HasSource)


def sample_by_source(rows: Sequence[Row], per_source: int, seed: int = 0) -> dict[str, list[Row]]:
    """A fixed random sample of up to ``per_source`` rows from each source (sorted by path first), so the same
    seed picks the same images wherever the manifest is read."""
    by_source: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_source[r.source].append(r)
    rng = np.random.default_rng(seed)
    out = {}
    for source in sorted(by_source):
        ordered = sorted(by_source[source], key=lambda r: r.path)
        idx = np.sort(rng.choice(len(ordered), min(per_source, len(ordered)), replace=False))
        out[source] = [ordered[i] for i in idx]
    return out


def sample_images(per_source: int = 3, seed: int = 0,
                  data: str | Path | None = None) -> list[tuple[Entry, np.ndarray]]:
    """A few decoded images per source, for a sample grid; empty when the dataset is absent."""
    if not dataset_available(data):
        return []
    root = data_dir(data)
    with open(root / "manifest.csv", newline="") as f:
        entries = [Entry(r["path"], r["label"], r["source"]) for r in csv.DictReader(f)]
    out = []
    for rows in sample_by_source(entries, per_source, seed).values():
        for r in rows:
            try:
                out.append((r, load_image(root / r.path)))
            except Exception:  # noqa: BLE001 - one unreadable file should not empty the grid
                continue
    return out
