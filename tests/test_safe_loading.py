"""Safe model loading: checksum verified, Keras safe mode, clear ModelError, CLI exit 2 without traceback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli
from hostile import is_clean_message

from classifier import ModelError, load_card, load_classifier
from classifier.card import sha256_of


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory, model_dir):
    """A pristine copy of the model folder; tests copy it again before breaking it."""
    dst = tmp_path_factory.mktemp("model") / "m"
    shutil.copytree(model_dir, dst)
    return dst


@pytest.fixture
def broken(tmp_path, model_copy):
    dst = tmp_path / "m"
    shutil.copytree(model_copy, dst)
    return dst


def flip_byte(path, offset=None):
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_card_records_the_model_checksum(model_dir):
    """The card names the model file and its SHA-256, which matches the file on disk."""
    card = load_card(model_dir)
    path = model_dir / card["model_file"]
    assert path.is_file()
    assert card["sha256"] == sha256_of(path)


def test_one_flipped_byte_is_caught(broken):
    """Corrupting one byte of model.keras gives a ModelError mentioning the checksum."""
    flip_byte(broken / "model.keras")
    with pytest.raises(ModelError) as exc:
        load_classifier(broken)
    assert "checksum" in exc.value.message and is_clean_message(exc.value.message)


def test_missing_model_file(broken):
    """A deleted model file gives a ModelError saying it is missing."""
    (broken / "model.keras").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_classifier(broken)


def test_missing_and_corrupt_card(broken, tmp_path):
    """A missing or unparsable card gives a ModelError, not FileNotFoundError/JSONDecodeError."""
    (broken / "model_card.json").write_text("{ not json")
    with pytest.raises(ModelError, match="corrupt"):
        load_classifier(broken)
    (broken / "model_card.json").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_classifier(broken)
    with pytest.raises(ModelError):
        load_classifier(tmp_path / "no_such_dir")


def test_card_checksum_mismatch(broken):
    """A card whose checksum does not match (e.g. the model was swapped) is refused."""
    card = json.loads((broken / "model_card.json").read_text())
    card["sha256"] = "0" * 64
    (broken / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="checksum"):
        load_classifier(broken)


def test_unverified_garbage_model_is_a_model_error(broken):
    """Even with verify=False, a file Keras cannot parse gives ModelError, not a Keras exception,
    when the Keras model is first needed (verdicts come from the Lite copy, heatmaps from Keras)."""
    (broken / "model.keras").write_bytes(b"PK\x03\x04 this is not a keras archive")
    clf = load_classifier(broken, verify=False)
    with pytest.raises(ModelError, match="could not be loaded"):
        _ = clf.model


def test_keras_model_waits_for_the_first_heatmap(monkeypatch, model_dir, clf):
    """Verdicts need only the Lite copy: Keras loads the model once, on the first heatmap."""
    import keras

    calls = []
    real = clf.model  # load the shared model before load_model is replaced

    def spy(path, **kwargs):
        calls.append(path)
        return real

    monkeypatch.setattr(keras.saving, "load_model", spy)
    fresh = load_classifier(model_dir)
    crop = np.zeros((1, fresh.input_size, fresh.input_size, 3), np.uint8)
    fresh.probabilities(crop)
    assert calls == []
    fresh.heatmap(crop[0])
    fresh.heatmap(crop[0])
    assert len(calls) == 1


def test_loads_with_keras_safe_mode(monkeypatch, model_dir, clf):
    """load_classifier asks Keras for safe_mode=True and compile=False (no code from the file)."""
    import keras

    seen = {}
    real = clf.model  # load the shared model before load_model is replaced

    def spy(path, **kwargs):
        seen.update(kwargs)
        return real

    monkeypatch.setattr(keras.saving, "load_model", spy)
    _ = load_classifier(model_dir).model
    assert seen.get("safe_mode") is True and seen.get("compile") is False


def test_model_has_no_lambda_layers(clf):
    """The shipped network contains no Lambda layers (they would need unsafe deserialisation)."""
    names = {type(layer).__name__ for layer in clf.model._flatten_layers(include_self=True, recursive=True)}
    assert "Lambda" not in names and "TFOpLambda" not in names, names


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_cli_exits_2_with_one_line_error(broken, cli_env, portrait_jpeg, damage):
    """The CLI with a corrupt or missing model exits 2 and prints one line, no traceback."""
    if damage == "flip":
        flip_byte(broken / "model.keras")
    else:
        (broken / "model.keras").unlink()
    img = broken / "face.jpg"
    img.write_bytes(portrait_jpeg)
    proc = run_cli(["--model-dir", str(broken), "predict", str(img), "--json"], env=cli_env, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout == ""
    # Exactly one line: the package must not import Keras/TensorFlow (whose start-up log lines
    # ignore TF_CPP_MIN_LOG_LEVEL) before the model passes its checks.
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("error: The model file") and "Traceback" not in proc.stderr
