"""The "unlike the training data" warning: a whitened feature distance with a validation-percentile threshold."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from classifier import ModelError, load_classifier
from classifier import calibration as cal
from classifier.novelty import NOVEL_WARNING, load_feature_model
from classifier.training.novelty import fit_feature_model

MARK = NOVEL_WARNING.split("{n}")[1][:30]


def test_threshold_flags_about_the_chosen_share_of_validation_and_far_points():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(8, 64))
    train = rng.normal(size=(4000, 8)) @ basis + rng.normal(scale=0.05, size=(4000, 64))
    val = rng.normal(size=(2000, 8)) @ basis + rng.normal(scale=0.05, size=(2000, 64))
    fm = fit_feature_model(train, val, k=8, percentile=99.0)
    assert 0.005 <= fm.is_novel(val).mean() <= 0.015
    assert fm.is_novel(val[:1] + 10 * basis[:1]).all()  # far along a direction the data varies in


def test_a_face_off_the_training_subspace_is_novel_even_at_an_ordinary_whitened_distance():
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.normal(size=(64, 9)))[0].T  # orthonormal: 8 directions the data uses, 1 it never does
    train = rng.normal(size=(4000, 8)) @ basis[:8] + rng.normal(scale=0.05, size=(4000, 64))
    val = rng.normal(size=(2000, 8)) @ basis[:8] + rng.normal(scale=0.05, size=(2000, 64))
    fm = fit_feature_model(train, val, k=8, percentile=99.0)
    odd = val[:1] + 3.0 * basis[8]
    assert fm.distance(odd)[0] < fm.threshold < fm.distance(val[:1] + 10 * basis[:1])[0]
    assert fm.residual(odd)[0] > fm.residual_threshold and fm.is_novel(odd).all()


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    fm = fit_feature_model(rng.normal(size=(200, 16)), rng.normal(size=(100, 16)), k=4)
    fm.save(tmp_path / "s.npz")
    back = load_feature_model(tmp_path / "s.npz")
    x = rng.normal(size=(5, 16))
    np.testing.assert_allclose(back.distance(x), fm.distance(x))
    assert back.threshold == fm.threshold and back.residual_threshold == fm.residual_threshold
    np.testing.assert_allclose(back.residual(x), fm.residual(x))


def test_a_statistics_file_from_before_the_residual_keeps_only_the_whitened_distance(tmp_path):
    rng = np.random.default_rng(3)
    fm = fit_feature_model(rng.normal(size=(200, 16)), rng.normal(size=(100, 16)), k=4)
    np.savez(tmp_path / "old.npz", mean=fm.mean, components=fm.components, scales=fm.scales,
             threshold=np.array(fm.threshold))
    assert load_feature_model(tmp_path / "old.npz").residual_threshold == float("inf")


def test_shipped_model_warns_on_a_blank_image_not_on_a_real_portrait(clf, portrait_jpeg):
    assert clf.novelty is not None, "the shipped card names no feature statistics (run `python -m classifier novelty`)"
    assert not any(MARK in w for w in clf.predict(portrait_jpeg).warnings)
    blank = clf.predict(np.full((300, 400, 3), 128, np.uint8))
    assert any(MARK in w for w in blank.warnings), blank.warnings
    assert blank.faces[0].verdict == cal.verdict(blank.faces[0].p_ai, cal.widened_band(clf.band)), \
        "a flagged region is judged with the wider band"


def test_flat_crops_count_as_unlike_the_training_photos(astronaut):
    """Blank, black or a flat fill carry no evidence: flagged whatever the feature distance says; photos are not."""
    from classifier.novelty import featureless

    flat = np.stack([np.full((64, 64, 3), v, np.uint8) for v in (0, 128, 255)])
    assert featureless(flat).all()
    nearly = np.clip(flat[1].astype(int) + np.random.default_rng(0).integers(-1, 2, flat[1].shape), 0, 255)
    assert featureless(nearly[None]).all()  # JPEG-level noise on a flat fill is still flat
    assert not featureless(astronaut[None, :64, :64]).any()
    assert featureless(np.zeros((0, 8, 8, 3))).shape == (0,)


def test_corrupt_feature_statistics_are_refused(tmp_path, model_dir):
    broken = tmp_path / "m"
    shutil.copytree(model_dir, broken)
    path = broken / load_classifier(model_dir).card["feature_stats_file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_classifier(broken)
