"""The model card: what the shipped model is, how it was made, how good it is.

It travels beside the model file in ``models/``. The app, the README and the
Insights page read their numbers from it (and from ``evaluation.json``), never
from text typed by hand. The model file's SHA-256 is recorded here and checked
at load, so a truncated or swapped file is caught before Keras parses it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from .data import Record, summarise

MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"
EVAL_FILE = "evaluation.json"
CARD_VERSION = "1.1.0"  # 1.1: 256 px input

KNOWN_LIMITS = [
    "Trained on 256 px portrait crops of 4 real and 6 AI sources; other generators, "
    "heavy edits, filters, screenshots and non-portraits are outside what it has seen.",
    "Webcam and phone photos are not in the training data; augmentation imitates them "
    "(noise, blur, JPEG, rescaling) but cannot replace them.",
    "Calibrated on a validation split with about 30 % AI images; the probability reflects that mix.",
    "Polished real photos are the weak spot. The real source named CelebA-HQ holds, by eye, aligned "
    "Flickr-style portraits (children included) much like FFHQ, the photo set StyleGAN2 learned to imitate; "
    "it and StyleGAN2 are the two least accurate sources and are confused with each other. Expect retouched, "
    "beauty-filtered or AI-upscaled real photos to be called AI more often.",
    "A verdict is evidence, not proof: never use it alone to accuse anyone.",
]


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_card(
    *,
    cfg: dict,
    augment: dict,
    records: list[Record],
    calibration: dict,
    threshold: float,
    band: tuple[float, float],
    val_metrics: dict,
    history: dict,
    train_seconds: float,
) -> dict:
    return {
        "name": "AI vs Reality portrait detector",
        "version": CARD_VERSION,
        "architecture": cfg["arch"],
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input": {
            "size": cfg["input_size"],
            "pixels": "RGB uint8 values as float32 in [0, 255]; normalised inside the model",
            "preprocessing": "classifier.faces.model_input: face box x1.8 square crop (centre square if no face), "
            "area-resized to input size",
        },
        "calibration": calibration,
        "threshold": threshold,
        "uncertain_band": list(band),
        "validation": val_metrics,
        "data": {
            "splits": "hash of source group (LFW person, SD 2.1 prompt, else file): 70/15/15",
            "sources": summarise(records),
        },
        "training": {"config": cfg, "augmentation": augment, "history": history, "seconds": round(train_seconds)},
        "known_limits": KNOWN_LIMITS,
    }


def save_model_and_card(model, card: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MODEL_FILE
    import keras

    # A fresh, uncompiled copy: the file carries weights only, no optimizer state (1/3 the size).
    bare = keras.Model.from_config(model.get_config())
    bare.set_weights(model.get_weights())
    bare.save(path)
    card["model_file"] = MODEL_FILE
    card["sha256"] = sha256_of(path)
    card["size_bytes"] = path.stat().st_size
    save_lite(bare, card, out_dir)


def save_lite(model, card: dict, out_dir: Path) -> None:
    """Write the TensorFlow Lite copy inference runs on, record its checksum, and save the card."""
    from .lite import LITE_FILE, to_tflite

    path = out_dir / LITE_FILE
    path.write_bytes(to_tflite(model))
    card["lite_file"] = LITE_FILE
    card["lite_sha256"] = sha256_of(path)
    write_json(out_dir / CARD_FILE, card)


def read_json(path: str | Path) -> dict:
    with open(path) as f:
        return json.load(f)


def write_json(path: str | Path, obj: dict) -> None:
    Path(path).write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")
