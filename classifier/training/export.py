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


def to_tflite(model, views: int = 1) -> bytes:
    """Convert a Keras model (float32 weights, built-in ops only) to a LiteRT flatbuffer with the map output."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(with_views(with_cam_output(model), views))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # nothing that needs TensorFlow
    return converter.convert()


def with_views(exported, views: int):
    """``views=2``: score each crop and its mirror image in one batch and average the logits, the maps (the
    mirror's flipped back, which is Grad-CAM of the averaged logit) and the pooled features, so the runtime
    gets the two-view verdict from the same single call as before. ``views=1``: the network as it is."""
    import keras

    if views == 1:
        return exported
    if views != 2:
        raise ValueError(f"views must be 1 or 2, not {views}")
    x = keras.Input(exported.inputs[0].shape[1:], name="pixels")
    logit, cam, pooled = exported(keras.ops.concatenate([x, keras.ops.flip(x, axis=2)], axis=0))

    def mean_of_views(t, flip: bool):
        first, mirrored = keras.ops.split(t, 2, axis=0)
        return (first + (keras.ops.flip(mirrored, axis=2) if flip else mirrored)) / 2.0

    outputs = [mean_of_views(logit, False), mean_of_views(cam, True), mean_of_views(pooled, False)]
    return keras.Model(x, outputs, name=f"{exported.name}_mirror_views")


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
    path.write_bytes(to_tflite(model, views_of(card)))
    card["lite_file"] = LITE_FILE
    card["lite_sha256"] = sha256_of(path)
    card["lite_outputs"] = ["logit", "cam", "features"]
    write_json(out_dir / CARD_FILE, card)


def views_of(card: dict) -> int:
    """How many views of each crop the model averages: 2 (the crop and its mirror image) or 1 (cards before 2.6)."""
    return int(card.get("input", {}).get("views", 1))


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
