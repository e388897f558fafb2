"""Saving a trained network: the Keras file (source of truth) and its LiteRT copy (what runs)."""

from __future__ import annotations

from pathlib import Path

from ..card import CARD_FILE, MODEL_FILE, sha256_of, write_json
from ..lite import LITE_FILE


def with_cam_output(model):
    """The same network with two more outputs: the class activation map and the pooled features.

    ``F . w`` without the bias is Grad-CAM's map for a GAP + one-logit head (see ``classifier.explain``);
    computing it inside the exported graph lets the runtime draw heatmaps without TensorFlow. The pooled
    1280-d features let the runtime say when a face looks unlike the training data (``classifier.novelty``).
    """
    import keras
    from keras import layers

    from .model import LAST_CONV_LAYER

    features = model.get_layer(LAST_CONV_LAYER).output
    kernel = model.get_layer("logit").get_weights()[0]  # (channels, 1)
    project = layers.Dense(1, use_bias=False, name="cam")
    cam = project(features)
    project.set_weights([kernel])
    pooled = model.get_layer("pool").output
    return keras.Model(model.inputs, [model.output, cam, pooled], name=f"{model.name}_with_cam")


def to_tflite(model) -> bytes:
    """Convert a Keras model (float32 weights, built-in ops only) to a LiteRT flatbuffer with the map output."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(with_cam_output(model))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # nothing that needs TensorFlow
    return converter.convert()


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
    """Write the LiteRT copy inference runs on, record its checksum, and save the card."""
    path = out_dir / LITE_FILE
    path.write_bytes(to_tflite(model))
    card["lite_file"] = LITE_FILE
    card["lite_sha256"] = sha256_of(path)
    card["lite_outputs"] = ["logit", "cam", "features"]
    write_json(out_dir / CARD_FILE, card)


def load_keras_model(model_dir: Path, card: dict, verify: bool = True):
    """The Keras model a card names, checksum-verified and loaded in safe mode (no code from the file)."""
    import keras

    from ..errors import ModelError
    from ..predictor import verified_path

    path = verified_path(model_dir, card.get("model_file", MODEL_FILE), card.get("sha256"), verify)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ModelError(f"The model file {path.name} could not be loaded ({type(exc).__name__}).") from None
