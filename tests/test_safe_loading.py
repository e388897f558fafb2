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


def test_card_records_the_model_checksums(model_dir):
    """The card names both model files and their SHA-256, which match the files on disk."""
    card = load_card(model_dir)
    for name, digest in ((card["model_file"], card["sha256"]), (card["lite_file"], card["lite_sha256"])):
        assert (model_dir / name).is_file()
        assert digest == sha256_of(model_dir / name)


def test_models_folder_stays_small(model_dir):
    """Everything under models/ (the shipped model, and the protocol model it may quote) is under 30 MB."""
    total = sum(f.stat().st_size for f in model_dir.rglob("*") if f.is_file())
    assert total < 30e6, f"models/ holds {total / 1e6:.1f} MB"


def test_one_flipped_byte_is_caught(broken):
    """Corrupting one byte of model.tflite (what the runtime runs) gives a ModelError mentioning the checksum."""
    flip_byte(broken / "model.tflite")
    with pytest.raises(ModelError) as exc:
        load_classifier(broken)
    assert "checksum" in exc.value.message and is_clean_message(exc.value.message)


def test_missing_model_file(broken):
    """A deleted model file gives a ModelError saying it is missing."""
    (broken / "model.tflite").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_classifier(broken)


def test_runtime_never_reads_the_keras_file(broken):
    """Verdicts and heatmaps need only the LiteRT file: a missing Keras file changes nothing."""
    (broken / "model.keras").unlink()
    clf = load_classifier(broken)
    crop = np.zeros((clf.input_size, clf.input_size, 3), np.uint8)
    assert clf.heatmap(crop).shape == crop.shape[:2]


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
    card["lite_sha256"] = "0" * 64
    (broken / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="checksum"):
        load_classifier(broken)


def test_unverified_garbage_model_is_a_model_error(broken):
    """Even with verify=False, a file LiteRT cannot parse gives ModelError, not a runtime exception."""
    (broken / "model.tflite").write_bytes(b"TFL3 this is not a flatbuffer" * 10)
    with pytest.raises(ModelError, match="could not be loaded"):
        load_classifier(broken, verify=False)


def test_keras_file_loads_in_safe_mode(monkeypatch, model_dir, keras_model):
    """Training's loader asks Keras for safe_mode=True and compile=False (no code from the file)."""
    import keras

    from classifier.training.export import load_keras_model

    seen = {}

    def spy(path, **kwargs):
        seen.update(kwargs)
        return keras_model

    monkeypatch.setattr(keras.saving, "load_model", spy)
    load_keras_model(model_dir, load_card(model_dir))
    assert seen.get("safe_mode") is True and seen.get("compile") is False


def test_keras_garbage_is_a_model_error(broken, keras_model):
    from classifier.training.export import load_keras_model

    (broken / "model.keras").write_bytes(b"PK\x03\x04 this is not a keras archive")
    with pytest.raises(ModelError, match="could not be loaded"):
        load_keras_model(broken, load_card(broken), verify=False)


def test_model_has_no_lambda_layers(keras_model):
    """The shipped network contains no Lambda layers (they would need unsafe deserialisation)."""
    names = {type(layer).__name__ for layer in keras_model._flatten_layers(include_self=True, recursive=True)}
    assert "Lambda" not in names and "TFOpLambda" not in names, names


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_cli_exits_2_with_one_line_error(broken, cli_env, portrait_jpeg, damage):
    """The CLI with a corrupt or missing model exits 2 and prints one line, no traceback."""
    if damage == "flip":
        flip_byte(broken / "model.tflite")
    else:
        (broken / "model.tflite").unlink()
    img = broken / "face.jpg"
    img.write_bytes(portrait_jpeg)
    proc = run_cli(["--model-dir", str(broken), "predict", str(img), "--json"], env=cli_env, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("error: The model file") and "Traceback" not in proc.stderr
