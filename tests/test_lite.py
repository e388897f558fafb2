"""The LiteRT copy that computes verdicts and heatmaps: same numbers as Keras, checked like the model file."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from classifier import load_classifier
from classifier.card import sha256_of
from classifier.faces import detect_faces, model_input


def test_card_names_the_lite_copy_and_its_checksum(clf, model_dir):
    assert clf.lite.has_cam, "the shipped LiteRT file has no heatmap output (run: python -m classifier export)"
    assert clf.card["lite_sha256"] == sha256_of(model_dir / clf.card["lite_file"])


def test_lite_logits_equal_keras_logits(clf, keras_model, astronaut):
    """Same weights, same graph (views included): the two runtimes agree far below anything a verdict could notice."""
    size = clf.input_size
    face = detect_faces(astronaut)[0]
    rng = np.random.default_rng(0)
    crops = np.stack([model_input(astronaut, face, size), model_input(astronaut, None, size),
                      rng.integers(0, 256, (size, size, 3), dtype=np.uint8)]).astype(np.float32)
    from classifier.training.export import views_of
    from classifier.training.train import logits_of

    keras_logits = logits_of(keras_model, crops, views=views_of(clf.card))  # the card's views, as exported
    lite_logits = np.concatenate([clf.lite(crops), clf.lite(crops[:1])])  # two batch sizes, one interpreter
    np.testing.assert_allclose(lite_logits, np.concatenate([keras_logits, keras_logits[:1]]), atol=1e-4)
    assert np.ptp(keras_logits) > 0.5  # the three crops really differ, so agreement means something


@pytest.fixture
def broken_lite(tmp_path, model_dir):
    dst = tmp_path / "m"
    shutil.copytree(model_dir, dst)
    return dst / "model.tflite"


def test_export_repairs_a_missing_lite_copy(broken_lite, keras_model):
    """``export`` needs only the Keras file, so it can rebuild the copy that load_classifier refuses without."""
    from classifier import cli

    card_before = (broken_lite.parent / "model_card.json").read_text()
    broken_lite.unlink()
    assert cli.main(["--model-dir", str(broken_lite.parent), "export"]) == 0
    clf = load_classifier(broken_lite.parent)
    assert clf.lite.has_cam and "lite_sha256" in card_before


def test_predict_frames_faces_as_the_card_says(clf, astronaut):
    """The runtime crops with the framing the card records (the one training used), not a constant."""
    import copy

    from classifier.faces import Framing, crop_box
    from classifier.predictor import Classifier

    for framing in (Framing(1.8, 0), Framing(2.6, clf.input_size), Framing(3.5, 0)):
        card = copy.deepcopy(clf.card)
        card["input"]["framing"] = framing.as_dict()
        other = Classifier(clf.lite, card)
        face = detect_faces(astronaut)[0]
        got = other.predict(astronaut).faces[0]
        assert got.crop == crop_box(face, astronaut.shape, framing).as_list()
        expected = other.probabilities(model_input(astronaut, face, clf.input_size, framing))[0]
        assert got.p_ai == pytest.approx(float(expected), abs=1e-6)


def test_mirror_views_average_the_crop_and_its_mirror_image(keras_model, astronaut):
    """A two-view export scores a crop as the mean logit of it and its mirror image, maps flipped back."""
    from classifier.lite import LiteNetwork
    from classifier.training.export import to_tflite
    from classifier.training.gradcam import make_gradcam_model

    size = keras_model.inputs[0].shape[1]
    face = detect_faces(astronaut)[0]
    crop = model_input(astronaut, face, size).astype(np.float32)
    two = LiteNetwork(to_tflite(keras_model, views=2))
    logits, cams = two.run(np.stack([crop, crop[:, ::-1]]))
    single = keras_model(np.stack([crop, crop[:, ::-1]]), training=False).numpy().ravel()
    assert logits[0] == pytest.approx(single.mean(), abs=1e-4)
    assert logits[1] == pytest.approx(logits[0], abs=1e-4)  # a mirrored crop gets the same verdict
    np.testing.assert_allclose(cams[1], cams[0][:, ::-1], atol=1e-3)  # and the mirrored map
    reference = make_gradcam_model(keras_model, views=2)(crop[None]).numpy()[0]
    got = np.maximum(cams[0], 0)
    np.testing.assert_allclose(got / got.max(), reference / reference.max(), atol=1e-3)
