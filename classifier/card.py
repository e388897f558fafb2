"""The model card's files: names, checksums, JSON reading (the runtime part; no training code).

The card travels beside the model files in ``models/``. The app, the README and the
Insights page read their numbers from it (and from ``evaluation.json``), never
from text typed by hand. The model files' SHA-256 are recorded there and checked
at load, so a truncated or swapped file is caught before anything parses it.
Building a card is training's job: ``classifier.training.modelcard``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"
EVAL_FILE = "evaluation.json"
INSIGHTS_FILE = "insights.json"
# Beside a model trained on every source: the protocol model of the same recipe, trained without the
# held-out sources, whose held-out figures the card quotes (a model cannot be measured on what it saw).
PROTOCOL_DIR = "protocol"


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: str | Path) -> dict:
    with open(path) as f:
        return json.load(f)


def write_json(path: str | Path, obj: dict) -> None:
    Path(path).write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")
