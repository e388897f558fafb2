"""The head refit (deep feature reweighting): folds, the folded-back head, cross-fitting, the features it sees."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is a training dependency")

from classifier.training.refit import cross_fitted_logits, fit_head, fold_of, keep_network  # noqa: E402


def _toy(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Two classes, two groups each; feature 0 carries the label, feature 1 only says which group."""
    rng = np.random.default_rng(seed)
    groups = ["real_a"] * 200 + ["real_b"] * 20 + ["ai_a"] * 100 + ["ai_b"] * 100
    y = np.array([0] * 220 + [1] * 200)
    x = rng.normal(size=(len(y), 3))
    x[:, 0] += np.where(y == 1, 2.0, -2.0)
    x[:, 1] += np.array([5.0 if g == "real_b" else 0.0 for g in groups])
    return x * np.array([3.0, 0.5, 10.0]) + np.array([100.0, -4.0, 7.0]), y, groups


def test_folds_are_stable_and_keep_a_group_together() -> None:
    groups = [f"g{i % 37}" for i in range(500)]
    folds = fold_of(groups)
    assert np.array_equal(folds, fold_of(groups))
    assert set(np.unique(folds)) == {0, 1, 2, 3, 4}
    for g in set(groups):
        assert len({f for f, h in zip(folds, groups, strict=True) if h == g}) == 1


def test_the_head_is_folded_back_onto_raw_features() -> None:
    from sklearn.linear_model import LogisticRegression

    from classifier.training.data import sampling_weights

    x, y, groups = _toy()
    w, b = fit_head(x, y, groups, c=0.3)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    ref = LogisticRegression(C=0.3, max_iter=5000).fit(
        (x - mean) / scale, y, sample_weight=sampling_weights(y, groups) * len(y))
    assert np.allclose(x @ w + b, ref.decision_function((x - mean) / scale), atol=1e-6)
    assert np.mean((x @ w + b > 0) == y) > 0.95


def test_every_group_weighs_the_same_whatever_its_size() -> None:
    """A 20-image real group that looks AI-like on the label feature but stands apart on another: an
    unweighted head lets the 200-image groups decide and calls most of it AI; the balanced head does not."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    groups = ["real_a"] * 200 + ["real_b"] * 20 + ["ai_a"] * 100 + ["ai_b"] * 100
    y = np.array([0] * 220 + [1] * 200)
    small = np.array([g == "real_b" for g in groups])
    x = rng.normal(size=(len(y), 3))
    x[:, 0] += np.where(y == 1, 2.0, -2.0) + 4.0 * small  # the small group sits with the AI images here
    x[:, 1] += 2.0 * small  # and apart from everything here
    w, b = fit_head(x, y, groups, c=1.0)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    plain = LogisticRegression(C=1.0, max_iter=5000).fit((x - mean) / scale, y)
    called_real_plain = np.mean(plain.decision_function((x[small] - mean) / scale) < 0)
    called_real = np.mean(x[small] @ w + b < 0)
    assert called_real >= 0.7 and called_real > called_real_plain + 0.3


def test_cross_fitted_logits_come_from_heads_that_never_saw_the_image() -> None:
    x, y, groups = _toy(2)
    folds = fold_of([f"{g}{i}" for i, g in enumerate(groups)])
    oof = cross_fitted_logits(x, y, groups, folds, c=0.3)
    k = 0
    fit = folds != k
    w, b = fit_head(x[fit], y[fit], [g for g, f in zip(groups, fit, strict=True) if f], 0.3)
    assert np.allclose(oof[~fit], x[~fit] @ w + b)
    full_w, full_b = fit_head(x, y, groups, 0.3)
    assert not np.allclose(oof, x @ full_w + full_b)  # not the head fitted on everything
    first = np.arange(len(y)) < 100
    assert np.allclose(cross_fitted_logits(x, y, groups, folds, c=0.3, scored=first), oof[first])


def test_pooled_features_average_the_mirror_view_as_the_export_does() -> None:
    pytest.importorskip("keras", reason="TensorFlow/Keras not installed")
    import keras

    from classifier.training.model import make_small_cnn
    from classifier.training.refit import pooled_features

    keras.utils.set_random_seed(0)
    model = make_small_cnn(input_size=32, width=4)
    x = np.random.default_rng(0).uniform(0, 255, size=(3, 32, 32, 3)).astype(np.float32)
    trunk = keras.Model(model.inputs, model.get_layer("pool").output)
    one = trunk(x).numpy()
    two = (one + trunk(x[:, :, ::-1].copy()).numpy()) / 2
    assert np.allclose(pooled_features(model, x, views=1), one, atol=1e-5)
    assert np.allclose(pooled_features(model, x, views=2), two, atol=1e-5)
    assert not np.allclose(one, two)


def test_a_cards_recipe_is_rebuilt_with_later_options_at_their_defaults() -> None:
    from classifier.training.refit import recipe_of
    from classifier.training.train import TrainConfig

    cfg = recipe_of({"epochs": 3, "sim_focus": ["celebahq_roeishc:ffhq"], "an_option_since_removed": 1})
    assert cfg.epochs == 3 and cfg.sim_focus == ("celebahq_roeishc:ffhq",)
    assert cfg.views == TrainConfig().views and cfg.head_refit_c is None


def test_augmented_crops_are_the_recipes_and_reproducible() -> None:
    from classifier.training.refit import augmented_inputs, recipe_of

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (300, 280, 3), dtype=np.uint8) for _ in range(4)]
    cfg = recipe_of({"input_size": 64})
    a = augmented_inputs(images, [None] * 4, np.array([0, 1, 0, 1]), cfg, seed=5)
    assert a.shape == (4, 64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, augmented_inputs(images, [None] * 4, np.array([0, 1, 0, 1]), cfg, seed=5))
    assert not np.array_equal(a, augmented_inputs(images, [None] * 4, np.array([0, 1, 0, 1]), cfg, seed=6))


def test_row_weights_scale_each_rows_pull() -> None:
    x, y, groups = _toy(3)
    w, b = fit_head(x, y, groups, c=0.3)
    w1, b1 = fit_head(x, y, groups, c=0.3, row_weight=np.ones(len(y)))
    assert np.allclose(w, w1) and np.isclose(b, b1)
    light = np.where(np.arange(len(y)) % 2 == 0, 1.0, 0.1)
    w2, _ = fit_head(x, y, groups, c=0.3, row_weight=light)
    assert not np.allclose(w, w2)


def test_degraded_photos_only_lose_detail_and_are_reproducible() -> None:
    import cv2

    from classifier.faces import LEGACY_FRAMING
    from classifier.training.refit import degraded_image, degraded_inputs

    rng = np.random.default_rng(0)
    # a smooth photo with fine texture on top: downsizing and recompression take the texture away
    smooth = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (240, 200), interpolation=cv2.INTER_CUBIC)
    photo = np.clip(smooth.astype(int) + rng.integers(-20, 21, smooth.shape), 0, 255).astype(np.uint8)
    for seed in range(8):
        out = degraded_image(photo, np.random.default_rng(seed))
        assert out.shape == photo.shape and out.dtype == np.uint8
        detail = np.abs(np.diff(out.astype(int), axis=1)).mean()
        assert detail < np.abs(np.diff(photo.astype(int), axis=1)).mean()  # never sharper, never noisier
        assert np.abs(out.astype(int) - photo.astype(int)).mean() < 20  # the same picture
    images = [photo, photo[:, ::-1].copy()]
    a = degraded_inputs(images, [None, None], 64, LEGACY_FRAMING, seed=3)
    assert a.shape == (2, 64, 64, 3)
    assert np.array_equal(a, degraded_inputs(images, [None, None], 64, LEGACY_FRAMING, seed=3))
    assert not np.array_equal(a, degraded_inputs(images, [None, None], 64, LEGACY_FRAMING, seed=4))


def test_refit_refuses_an_unknown_kind_of_augmented_crop(tmp_path) -> None:
    from classifier.training.refit import refit_head

    with pytest.raises(ValueError, match="augmented_kind"):
        refit_head(tmp_path, tmp_path / "out", 0.3, augmented_views=1, augmented_kind="mystery")


def test_the_network_before_a_head_refit_is_kept(tmp_path) -> None:
    """train --head-refit overwrites its folder; the network as trained is copied aside first, untouched."""
    run = tmp_path / "ft_aligned"
    run.mkdir()
    (run / "model.keras").write_bytes(b"network")
    (run / "model_card.json").write_text('{"version": "x"}')
    kept = keep_network(run, tmp_path / "networks")
    assert kept == tmp_path / "networks" / "ft_aligned"
    assert (kept / "model.keras").read_bytes() == b"network"
    assert (kept / "model_card.json").read_text() == '{"version": "x"}'
    assert not (kept / "model.tflite").exists(), "a file the run lacks is not made up"
    (run / "model.keras").write_bytes(b"refitted")  # what the refit then does to the run's folder
    assert (kept / "model.keras").read_bytes() == b"network"
