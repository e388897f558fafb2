"""Network builders: freezing the first layers keeps them exactly as loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from classifier.training.model import freeze_through, make_small_cnn  # noqa: E402


def test_freeze_through_marks_a_prefix_of_layers() -> None:
    model = make_small_cnn(32, width=4)
    names = [layer.name for layer in model.layers]
    k = freeze_through(model, "bn1a")
    assert k == names.index("bn1a") + 1
    assert [layer.trainable for layer in model.layers] == [False] * k + [True] * (len(names) - k)


def test_freeze_through_nothing_or_an_unknown_layer() -> None:
    model = make_small_cnn(32, width=4)
    assert freeze_through(model, None) == 0
    assert all(layer.trainable for layer in model.layers)
    with pytest.raises(ValueError, match="no layer named"):
        freeze_through(model, "no_such_layer")


def test_a_training_step_leaves_frozen_weights_and_batchnorm_statistics_alone() -> None:
    keras.utils.set_random_seed(0)
    model = make_small_cnn(32, width=4)
    k = freeze_through(model, "bn0b")  # includes BatchNorm moving statistics
    frozen = {w.path: w.numpy() for layer in model.layers[:k] for w in layer.weights}
    trained = {w.path: w.numpy() for w in model.get_layer("conv2a").weights}
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    model.train_on_batch(rng.uniform(0, 255, (8, 32, 32, 3)).astype("float32"), rng.integers(0, 2, 8).astype("float32"))
    assert frozen, "expected the frozen layers to hold weights"
    for layer in model.layers[:k]:
        for w in layer.weights:
            np.testing.assert_array_equal(w.numpy(), frozen[w.path], err_msg=w.path)
    assert any(not np.array_equal(w.numpy(), trained[w.path]) for w in model.get_layer("conv2a").weights)


def cfg(*argv: str):
    """The TrainConfig that ``python -m classifier train ARGV`` would use."""
    from classifier.cli import build_parser, train_config

    return train_config(build_parser().parse_args(["train", *argv]))


def test_train_command_line_freezes_the_backbone_by_default_but_not_a_scratch_cnn() -> None:
    assert cfg().freeze_through == "block3_add"
    assert cfg("--freeze-through", "none").freeze_through is None
    assert cfg("--freeze-through", "block6_add", "--epochs", "3").freeze_through == "block6_add"
    assert cfg("--arch", "small_cnn").freeze_through is None


def test_train_command_line_passes_the_weight_average() -> None:
    from classifier.training.train import TrainConfig

    assert cfg() == TrainConfig()
    assert cfg("--ema", "0.995", "--epochs", "15").ema_momentum == 0.995


def test_make_train_retrains_the_shipped_recipe() -> None:
    """``make train`` must rebuild the model that ships, not an older recipe: its flags give the card's config."""
    import dataclasses
    import json
    import re
    import shlex

    root = Path(__file__).resolve().parents[1]
    recipe = re.search(r"^RECIPE := (.*)$", (root / "Makefile").read_text(), re.M)
    assert recipe, "the Makefile names the shipped recipe in RECIPE"
    shipped = json.loads((root / "models" / "model_card.json").read_text())["training"]["config"]
    made = dataclasses.asdict(cfg(*shlex.split(recipe.group(1))))
    differ = {k: (made[k], v) for k, v in shipped.items()
              if k in made and (list(made[k]) if isinstance(made[k], tuple) else made[k]) != v}
    assert not differ, f"make train's recipe differs from the shipped card: {differ}"


def test_train_command_line_passes_population_balancing() -> None:
    assert cfg().split_populations is False
    assert cfg("--populations").split_populations is True


def test_train_command_line_passes_the_source_reweighting() -> None:
    assert cfg().reweight_power is None
    assert cfg("--reweight", "1").reweight_power == 1.0


def test_train_command_line_passes_the_fine_tune_options(tmp_path) -> None:
    c = cfg("--init-from", str(tmp_path), "--lr", "1e-4", "--warmup", "40", "--views", "2", "--degrade", "0.5",
            "--sim-focus", "celebahq_roeishc:ffhq")
    assert (c.init_from, c.learning_rate, c.warmup_steps) == (str(tmp_path.resolve()), 1e-4, 40)
    assert (c.views, c.degrade, c.sim_focus) == (2, 0.5, ("celebahq_roeishc:ffhq",))
    assert (cfg().init_from, cfg().views, cfg().degrade, cfg().sim_focus) == (None, 1, 1.0, ())


def test_train_command_line_passes_the_head_refit_and_recipes_compare_on_it() -> None:
    from classifier.training.evaluate import same_recipe

    assert cfg().head_refit_c is None and cfg("--head-refit", "0.3").head_refit_c == 0.3
    assert not same_recipe({"epochs": 12}, {"epochs": 12, "head_refit_c": 0.3})
    assert same_recipe({"epochs": 12, "head_refit_c": 0.3}, {"epochs": 12, "head_refit_c": 0.3, "held_out": False})


def test_degradation_scale_changes_only_the_detail_destroying_steps() -> None:
    from classifier.training.augment import AugmentConfig

    base, half = AugmentConfig(), AugmentConfig().degraded(0.5)
    assert (half.p_blur, half.p_rescale, half.p_noise, half.p_jpeg) == pytest.approx(
        (base.p_blur / 2, base.p_rescale / 2, base.p_noise / 2, base.p_jpeg / 2))
    assert (half.p_polish, half.p_rotate, half.jpeg_quality) == (base.p_polish, base.p_rotate, base.jpeg_quality)
    assert base.degraded(1.0) == base


def test_recipes_written_before_an_option_existed_compare_as_its_default() -> None:
    from classifier.training.evaluate import same_recipe

    old = {"epochs": 12, "held_out": True}
    assert same_recipe(old, {"epochs": 12, "held_out": False, "views": 1, "degrade": 1.0, "sim_focus": []})
    assert not same_recipe(old, {"epochs": 12, "held_out": False, "views": 2})
    assert not same_recipe(old, {"epochs": 12, "init_from": "/somewhere"})


def test_focused_fakes_form_a_sampling_group_of_their_own() -> None:
    from classifier.training.simulate import SIM_SOURCE
    from classifier.training.train import SIM_FOCUS_SOURCE, sim_fake_groups

    assert sim_fake_groups(5, 2) == [SIM_SOURCE] * 3 + [SIM_FOCUS_SOURCE] * 2
    assert sim_fake_groups(3, 0) == [SIM_SOURCE] * 3


def test_focused_fakes_reconstruct_each_focus_photo_with_every_decoder() -> None:
    from classifier.training.simulate import DECODERS, simulated_fakes

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(6)]
    y = np.array([0, 0, 0, 0, 1, 1])
    fakes, origin, log = simulated_fakes(images, y, ["a", "a", "b", "b", "x", "x"], n=2, steps=1, seed=0,
                                         focus=[1, 3])
    assert len(fakes) == len(origin) == 2 + 2 * len(DECODERS)
    assert origin[2:] == [1, 3] * len(DECODERS) and log["focus"] == 2 * len(DECODERS)
    assert all(y[i] == 0 for i in origin) and all(f.shape == (128, 128, 3) for f in fakes)


def test_train_command_line_passes_the_zoom_out_to_the_augmentation() -> None:
    assert cfg().zoom_out == 0.0 and cfg().augmentation().p_zoom_out == 0.0
    assert cfg("--zoom-out", "0.25").augmentation().p_zoom_out == 0.25


def test_zoom_out_makes_a_small_face_inside_the_native_window() -> None:
    import cv2

    from classifier.faces import Box
    from classifier.training.augment import AugmentConfig, zoom_out

    rgb = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    face = Box(70, 60, 120, 140)
    for seed in range(20):
        out, box = zoom_out(rgb, face, np.random.default_rng(seed), AugmentConfig(), 256)
        assert out.shape == (256, 256, 3) and out.dtype == np.uint8
        assert 30 - 2 <= max(box.w, box.h) <= 72 + 2  # the face is as small as asked
        assert 0 <= box.x and box.x + box.w <= 256 and 0 <= box.y and box.y + box.h <= 256
    # At a fixed size the placed picture is the original shrunk, pixel for pixel away from its feathered edge.
    fixed = AugmentConfig(zoom_face_px=(56.0, 56.0))  # 140 px face -> factor 0.4 -> a 102 px picture
    out, box = zoom_out(rgb, face, np.random.default_rng(3), fixed, 256)
    left, top = box.x - int(70 * 0.4), box.y - int(60 * 0.4)
    shrunk = cv2.resize(rgb, (102, 102), interpolation=cv2.INTER_AREA).astype(int)
    placed = out[top : top + 102, left : left + 102].astype(int)
    assert np.abs(placed[12:-12, 12:-12] - shrunk[12:-12, 12:-12]).max() <= 1
    big = Box(10, 10, 20, 20)  # already small: left alone
    out, box = zoom_out(rgb, big, np.random.default_rng(0), AugmentConfig(), 256)
    assert out is rgb and box == big


@pytest.mark.parametrize("option", ["p_zoom_out", "p_close", "p_caption"])
def test_an_augmentation_off_draws_the_same_views_as_before(option: str) -> None:
    """The option off must not move the random stream (older recipes stay reproducible); on, it changes the view."""
    from classifier.faces import Box, Framing
    from classifier.training.augment import AugmentConfig, augment

    rgb = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    face, framing = Box(70, 60, 120, 140), Framing(2.6, 256)
    a = augment(rgb, face, 256, np.random.default_rng(5), 0.0, AugmentConfig(), framing)
    b = augment(rgb, face, 256, np.random.default_rng(5), 0.0, AugmentConfig(**{option: 0.0}), framing)
    c = augment(rgb, face, 256, np.random.default_rng(5), 0.0, AugmentConfig(**{option: 1.0}), framing)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_frame_goes_round_the_photo_and_the_face_box_follows() -> None:
    """Frames, letterbox bars and canvases: the photo itself untouched (or only shrunk), the rest one flat colour."""
    from classifier.faces import Box
    from classifier.training.augment import add_frame

    rgb = np.random.default_rng(0).integers(1, 255, (240, 200, 3), dtype=np.uint8)
    face = Box(70, 60, 80, 100)
    seen = set()
    for seed in range(40):
        out, box = add_frame(rgb, face, np.random.default_rng(seed))
        if out.shape == rgb.shape:  # on a canvas: shrunk by one factor, inside the picture
            scale = box.w / face.w
            assert 0.55 <= scale <= 0.97 and abs(box.h / face.h - scale) < 0.03
            assert 0 <= box.x and box.x + box.w <= 200 and 0 <= box.y and box.y + box.h <= 240
            seen.add("canvas")
            continue
        dy, dx = box.y - face.y, box.x - face.x
        assert (box.w, box.h) == (face.w, face.h)
        assert np.array_equal(out[dy : dy + 240, dx : dx + 200], rgb), "the photo itself is untouched"
        band = np.ones(out.shape[:2], bool)
        band[dy : dy + 240, dx : dx + 200] = False
        assert band.any() and (out[band] == out[band][0]).all(), "the added bands are one flat colour"
        seen.add("frame" if dy and dx else "bars")
    assert seen == {"frame", "bars", "canvas"}
    out, none = add_frame(rgb, None, np.random.default_rng(1))
    assert none is None and out.dtype == np.uint8


def test_on_canvas_pastes_the_shrunk_photo_where_asked_on_a_flat_page() -> None:
    import cv2

    from classifier.training.augment import on_canvas

    rgb = np.random.default_rng(0).integers(0, 256, (100, 120, 3), dtype=np.uint8)
    out, (x0, y0) = on_canvas(rgb, 0.5, (1, 2, 3), at=(1.0, 0.0))
    assert out.shape == rgb.shape and (x0, y0) == (60, 0)
    assert np.array_equal(out[:50, 60:], cv2.resize(rgb, (60, 50), interpolation=cv2.INTER_AREA))
    assert (out[50:] == (1, 2, 3)).all() and (out[:, :60] == (1, 2, 3)).all()


def test_frames_are_drawn_only_when_asked_and_more_often_for_ai_images() -> None:
    """Off, the random stream does not move (older recipes replay); on, it changes the view."""
    from classifier.faces import Box, Framing
    from classifier.training.augment import AugmentConfig, augment
    from classifier.training.train import _p_frame

    rgb = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    face, framing = Box(70, 60, 120, 140), Framing(2.6, 256)
    a = augment(rgb, face, 256, np.random.default_rng(5), 0.0, AugmentConfig(), framing)
    b = augment(rgb, face, 256, np.random.default_rng(5), 0.0, AugmentConfig(), framing, 0.0)
    c = augment(rgb, face, 256, np.random.default_rng(5), 0.0, AugmentConfig(), framing, 1.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (cfg().frame_ai, cfg().frame_real) == (0.0, 0.0)
    framed = cfg("--frame", "0.35", "0.1")
    assert (_p_frame(framed, 1), _p_frame(framed, 0)) == (0.35, 0.1)


def test_the_robustness_checks_include_flat_edges() -> None:
    """A white frame and a canvas: 2.8.0 let a thin frame hide most AI images (flat edges were a real-photo cue)."""
    from classifier.training.evaluate import ROBUSTNESS

    rgb = np.random.default_rng(0).integers(1, 250, (200, 250, 3), dtype=np.uint8)
    framed = ROBUSTNESS["white_frame"](rgb)
    assert framed.shape == (216, 266, 3) and np.array_equal(framed[8:-8, 8:-8], rgb)
    assert (framed[:8] == 255).all() and (framed[:, -8:] == 255).all()
    page = ROBUSTNESS["on_canvas"](rgb)
    assert page.shape == rgb.shape and (page[:20] == 235).all() and (page[-20:] == 235).all()


def test_the_robustness_checks_include_a_close_crop_and_a_caption_bar() -> None:
    """A close crop is smaller than the window (so it is enlarged); a caption bar is cut away like a frame."""
    from classifier.faces import Box, content_box
    from classifier.training.evaluate import ROBUSTNESS

    rgb = np.random.default_rng(0).integers(1, 250, (240, 300, 3), dtype=np.uint8)
    close = ROBUSTNESS["close_crop"](rgb)
    assert close.shape == (160, 200, 3) and np.array_equal(close, rgb[40:200, 50:250])
    post = ROBUSTNESS["caption_bar"](rgb)
    assert post.shape == (288, 300, 3) and np.array_equal(post[:240], rgb)
    assert (post[240:] < 100).any() and (post[240:] == 255).mean() > 0.8, "dark text on a white bar"
    assert content_box(post) == Box(0, 0, 300, 240), "the caption band is left out of the square"


def test_product_verdicts_use_the_wider_band_where_asked() -> None:
    from classifier import calibration as cal
    from classifier.training.evaluate import product_verdicts

    band = (0.6, 0.8)
    lo, hi = cal.widened_band(band)
    p = np.array([0.5, 0.5, 0.85, 0.85, lo - 0.01, 0.95])
    wide = np.array([False, True, False, True, True, True])
    assert list(product_verdicts(p, wide, band)) == ["real", "uncertain", "ai", "uncertain", "real", "ai"]


def test_train_command_line_passes_the_cutmix_share() -> None:
    assert cfg().cutmix == 0.0
    assert cfg("--cutmix", "0.5").cutmix == 0.5


def test_cutmix_labels_follow_the_pasted_area_and_partners_come_from_other_sources() -> None:
    from classifier.training.augment import cutmix

    x = np.zeros((6, 16, 16, 3), np.uint8)
    x[3:] = 255  # the AI views are white, so a view's white share is the AI share of its pixels
    y = np.array([0, 0, 0, 1, 1, 1])
    groups = np.array(["a", "a", "b", "c", "c", "d"])
    for seed in range(10):
        mixed, labels = cutmix(x, y, groups, 1.0, np.random.default_rng(seed))
        assert labels.dtype == np.float32 and mixed.shape == x.shape
        np.testing.assert_allclose(labels, (mixed == 255).mean(axis=(1, 2, 3)), atol=1e-6)
        assert all(0.1 <= (mixed[i] != x[i]).mean() <= 0.65 for i in (0, 1) if labels[i] > 0)
    assert np.array_equal(x[:, 0, 0], np.where(y[:, None] == 1, 255, 0).repeat(3, 1)), "the input is not modified"

    # Every view a value of its own: a pasted pixel shows which view it came from, never one of the same source.
    marked = np.arange(1, 7, dtype=np.uint8)[:, None, None, None] * np.ones((1, 16, 16, 3), np.uint8)
    for seed in range(10):
        mixed, _ = cutmix(marked, y, groups, 1.0, np.random.default_rng(seed))
        for i in range(6):
            donors = set(np.unique(mixed[i]).tolist()) - {i + 1}
            assert len(donors) == 1, "each view got one patch"
            assert groups[donors.pop() - 1] != groups[i]


def test_cutmix_leaves_views_alone_when_off_or_when_every_view_shares_a_source() -> None:
    from classifier.training.augment import cutmix

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    y = np.array([0, 1, 0, 1])
    for groups, p in ((np.array(["a", "b", "c", "d"]), 0.0), (np.array(["s"] * 4), 1.0)):
        mixed, labels = cutmix(x, y, groups, p, np.random.default_rng(1))
        assert np.array_equal(mixed, x) and np.array_equal(labels, y.astype(np.float32))


def test_same_label_cutmix_mixes_sources_but_never_labels() -> None:
    from classifier.training.augment import cutmix

    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    groups = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    mixed, labels = cutmix(x, y, groups, 1.0, np.random.default_rng(0), same_label=True)
    assert np.array_equal(labels, y.astype(np.float32))
    assert all(not np.array_equal(mixed[i], x[i]) for i in range(8)), "every view found a partner"
    assert cfg("--cutmix", "0.5", "--cutmix-same-label").cutmix_same_label


def test_train_command_line_passes_the_mixstyle_share() -> None:
    assert cfg().mixstyle == 0.0
    assert cfg("--mixstyle", "0.5").mixstyle == 0.5


def _views_with_their_own_style(n: int = 6) -> np.ndarray:
    """Feature maps whose views differ in per-channel mean and spread, as styles do."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(n, 5, 5, 3))
    return (base * np.arange(1, n + 1)[:, None, None, None] + 10 * np.arange(n)[:, None, None, None]).astype("float32")


def _is_mix(out: tuple, own: tuple, other: tuple) -> bool:
    """Whether statistics ``out`` = (mean, std) per channel are lam * ``own`` + (1 - lam) * ``other``, one lam."""
    lam = (out[0] - other[0]) / (own[0] - other[0]) if own is not other else np.ones(len(out[0]))
    return bool(np.allclose(lam, lam[0], atol=1e-3) and -1e-3 <= lam[0] <= 1 + 1e-3
                and np.allclose(out[1], lam[0] * own[1] + (1 - lam[0]) * other[1], rtol=1e-3, atol=1e-3))


def _normalised(v: np.ndarray) -> np.ndarray:
    return (v - v.mean(axis=(0, 1))) / v.std(axis=(0, 1))


def test_mixstyle_moves_each_views_statistics_towards_another_views_and_keeps_its_content() -> None:
    from classifier.training.mixstyle import MixStyle

    x = _views_with_their_own_style()
    stats = [(v.mean(axis=(0, 1)), v.std(axis=(0, 1))) for v in x]
    out = MixStyle(1.0, seed=3)(x, training=True).numpy()
    assert not np.allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-2), "with p = 1 the statistics change"
    for i, v in enumerate(out):
        got = (v.mean(axis=(0, 1)), v.std(axis=(0, 1)))
        assert any(_is_mix(got, stats[i], other) for other in stats), f"view {i}: not a mix of two views' statistics"
        np.testing.assert_allclose(_normalised(v), _normalised(x[i]), atol=1e-3)  # the content is the view's own


def test_mixstyle_is_the_identity_at_inference_or_when_off() -> None:
    from classifier.training.mixstyle import MixStyle

    x = _views_with_their_own_style()
    np.testing.assert_array_equal(MixStyle(1.0, seed=0)(x, training=False).numpy(), x)
    np.testing.assert_array_equal(MixStyle(0.0, seed=0)(x, training=True).numpy(), x)


def test_the_saved_network_drops_the_mixstyle_layers_and_scores_the_same() -> None:
    from classifier.training.mixstyle import MIXSTYLE_AFTER, MixStyle, style_mixer
    from classifier.training.model import make_model
    from classifier.training.train import TrainConfig, without_training_layers

    keras.utils.set_random_seed(0)
    mixed = make_model(64, style_mixer=style_mixer(1.0, seed=0))
    assert sorted(layer.name for layer in mixed.layers if isinstance(layer, MixStyle)) == sorted(
        f"{b}_mixstyle" for b in MIXSTYLE_AFTER)
    plain = without_training_layers(mixed, TrainConfig(input_size=64, mixstyle=1.0))
    assert not any(isinstance(layer, MixStyle) for layer in plain.layers)
    x = np.random.default_rng(1).uniform(0, 255, (3, 64, 64, 3)).astype("float32")
    np.testing.assert_array_equal(plain(x, training=False).numpy(), mixed(x, training=False).numpy())
    assert not np.allclose(mixed(x, training=True).numpy(), mixed(x, training=False).numpy())
    assert without_training_layers(plain, TrainConfig(input_size=64)) is plain


def test_copying_weights_by_name_refuses_a_graph_with_other_layers() -> None:
    from classifier.training.model import copy_weights_by_name, make_model

    with pytest.raises(ValueError, match="without a partner"):
        copy_weights_by_name(make_model(64), make_small_cnn(64, width=4))


def test_a_fine_tune_at_another_input_size_or_with_mixstyle_starts_from_the_parents_weights(tmp_path) -> None:
    from classifier.card import MODEL_FILE
    from classifier.training.mixstyle import MixStyle
    from classifier.training.model import make_model
    from classifier.training.train import TrainConfig, make_network

    keras.utils.set_random_seed(0)
    parent = make_model(64)
    parent.save(tmp_path / MODEL_FILE)
    for size, mix in ((96, 0.0), (64, 0.5)):
        child = make_network(TrainConfig(init_from=str(tmp_path), input_size=size, freeze_through=None, mixstyle=mix))
        assert child.input_shape[1] == size
        assert any(isinstance(layer, MixStyle) for layer in child.layers) == bool(mix)
        for layer in parent.layers:
            for a, b in zip(layer.get_weights(), child.get_layer(layer.name).get_weights(), strict=True):
                np.testing.assert_array_equal(a, b, err_msg=layer.name)


def test_train_command_line_passes_close_crops_and_captions_to_the_augmentation() -> None:
    assert (cfg().close_crop, cfg().caption) == (0.0, 0.0)
    asked = cfg("--close-crop", "0.3", "--caption", "0.2").augmentation()
    assert (asked.p_close, asked.p_caption) == (0.3, 0.2)


def test_train_command_line_sets_the_rescale_probability_on_its_own() -> None:
    # Unset, the rescale follows --degrade as before; set, it overrides only the rescale.
    assert cfg("--degrade", "0.5").augmentation().p_rescale == pytest.approx(0.2)
    asked = cfg("--degrade", "0.5", "--rescale", "0.7").augmentation()
    assert (asked.p_rescale, asked.p_blur) == (pytest.approx(0.7), pytest.approx(0.15))


def test_a_close_crop_is_smaller_than_the_window_and_so_enlarged() -> None:
    from classifier.conditions import is_enlarged
    from classifier.faces import Box, Framing
    from classifier.training.augment import AugmentConfig, jittered_crop

    rgb = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    face, framing = Box(70, 60, 120, 140), Framing(2.6, 256)
    close = AugmentConfig(p_close=1.0, aspect=(1.0, 1.0))
    sides = [jittered_crop(rgb, face, np.random.default_rng(s), close, framing).shape[0] for s in range(30)]
    assert all(128 <= side <= 192 for side in sides)
    assert sum(is_enlarged(Box(0, 0, side, side), 256) for side in sides) >= 25  # mostly beyond the jitter


def test_a_caption_band_adds_text_above_or_below_and_the_face_box_follows() -> None:
    from classifier.faces import Box
    from classifier.training.augment import add_caption

    rgb = np.random.default_rng(0).integers(1, 255, (200, 160, 3), dtype=np.uint8)
    face = Box(40, 50, 60, 80)
    seen = set()
    for seed in range(20):
        out, box = add_caption(rgb, face, np.random.default_rng(seed))
        bh = out.shape[0] - 200
        assert out.shape[1] == 160 and 20 <= bh <= 50
        top = box.y - face.y
        assert top in (0, bh) and (box.x, box.w, box.h) == (face.x, face.w, face.h)
        assert np.array_equal(out[top : top + 200], rgb), "the photo itself is untouched"
        band = out[:bh] if top else out[200:]
        assert len(np.unique(band.reshape(-1, 3), axis=0)) > 2, "the band carries text, not a flat colour"
        seen.add("above" if top else "below")
    assert seen == {"above", "below"}


def test_the_worst_real_source_is_the_one_with_most_photos_called_ai() -> None:
    from classifier.training.evaluate import worst_real_source

    sources = np.array(["a", "a", "b", "b", "b", "gan"])
    y = np.array([0, 0, 0, 0, 0, 1])
    called = np.array([False, True, False, False, True, True])
    assert worst_real_source(sources, y, called) == {"worst_real_source": "a", "worst_real_source_false_ai": 0.5}
