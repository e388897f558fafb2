"""Aligned fakes: the Keras port of the latent-diffusion autoencoders, the photo picks, the batch pairing.

The reference (``tests/fixtures/taesd_roundtrips.npz``) was made once with PyTorch 2.13 and the public
``madebyollin/taesd`` architecture (``load_state_dict`` strict, so every weight has its place): a
64x64 crop of skimage's astronaut and its round trip through each family, stored as float16. The port
must reproduce it within 1e-3 (float16 storage alone rounds by up to 2.4e-4 near 1.0; a wrong padding,
a missing GroupNorm branch or a transposed kernel is off by 1e-2 or more).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from classifier.training.aligned import pick_photos, pixel_key, with_focus
from classifier.training.data import FAMILY_FOLDS, balanced_indices, fold_decoders, fold_sources, protocol_split
from classifier.training.taesd import FAMILIES, WEIGHTS_DIR, read_zip_torch_state_dict
from classifier.training.train import TrainConfig, _batches, pair_augmentation, paired_indices, paired_positions

FIXTURE = Path(__file__).parent / "fixtures" / "taesd_roundtrips.npz"
TOLERANCE = 1e-3
needs_weights = pytest.mark.skipif(not (WEIGHTS_DIR / "taesd_encoder.safetensors").is_file(),
                                   reason=f"the TAESD weights are not at {WEIGHTS_DIR} (../shared/weights/taesd)")


@needs_weights
@pytest.mark.parametrize("family", list(FAMILIES))
def test_port_reproduces_the_reference_round_trip(family: str) -> None:
    from classifier.training.taesd import RoundTrip

    ref = np.load(FIXTURE)
    x = ref["input"]
    out = RoundTrip(family)(x[None].astype(np.float32) / 255.0)[0]
    assert out.shape == x.shape
    assert np.abs(out - ref[family].astype(np.float32)).max() < TOLERANCE
    # and it is a real round trip, not the input: the decoder's traces are there
    assert np.abs(out - x / 255.0).mean() > 0.005


@needs_weights
def test_round_trip_keeps_any_size() -> None:
    from classifier.training.taesd import RoundTrip

    img = np.asarray(np.load(FIXTURE)["input"])[:60, :52]  # not a multiple of 8: edge-padded, then cut back
    (fake,) = RoundTrip("taesd").uint8([img])
    assert fake.shape == img.shape and fake.dtype == np.uint8


def test_zip_checkpoint_reader_refuses_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("evil/data.pkl", pickle.dumps({"w": Evil()}))
    path = tmp_path / "evil.pth"
    path.write_bytes(buf.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="forbidden"):
        read_zip_torch_state_dict(path)


def test_picks_are_disjoint_deterministic_and_fold_stable() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.3).astype(int)
    sources = [f"s{k % 4}" if label == 0 else "ai" for k, label in enumerate(y)]
    every = pick_photos(y, sources, tuple(FAMILIES), 100, seed=1)
    assert every.keys() == set(FAMILIES)
    flat = np.concatenate(list(every.values()))
    assert len(flat) == len(set(flat.tolist())) == 500 and (y[flat] == 0).all()
    assert {k: v.tolist() for k, v in pick_photos(y, sources, tuple(FAMILIES), 100, seed=1).items()} == \
        {k: v.tolist() for k, v in every.items()}
    # a fold without the FLUX decoders pairs the other families with the very same photos (cache hits)
    kept = tuple(f for f in FAMILIES if f not in fold_decoders(["no_flux"]))
    some = pick_photos(y, sources, kept, 100, seed=1)
    assert set(some) == set(kept) and all(np.array_equal(some[f], every[f]) for f in kept)


def test_pixel_key_is_content_only() -> None:
    a = np.zeros((8, 8, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    assert pixel_key(a) == pixel_key(a.copy()) != pixel_key(b)


def test_pairing_shows_each_fake_beside_its_own_real_photo() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1])
    partner = np.array([-1, -1, -1, -1, 2, 3, -1])  # fakes 4, 5 were made from real photos 2, 3
    idx = np.array([4, 0, 6, 1, 5, 0])
    out = paired_indices(idx, y, partner)
    assert out.tolist() == [4, 2, 6, 3, 5, 0]
    assert (y[out] == y[idx]).all()  # class counts unchanged
    out2, twin = paired_positions(idx, y, partner)
    assert out2.tolist() == out.tolist()
    assert twin.tolist() == [0, 0, 2, 4, 4, 5]  # position 1 shows fake 0's photo, position 3 fake 4's


def test_focus_photos_get_a_fake_from_every_family() -> None:
    picks = {"taesd": np.array([1, 5]), "taesdxl": np.array([2, 7])}
    out = with_focus(picks, [5, 9])
    assert out["taesd"].tolist() == [1, 5, 9]  # 5 was already picked: once, not twice
    assert out["taesdxl"].tolist() == [2, 5, 7, 9]
    assert with_focus(picks, []) is picks


def _pair_views(same_view: bool, pair_degrade: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One training batch of real photos and 'fakes' that are pixel copies of them, paired; and, per
    batch position, the position of the fake it is paired with."""
    rng = np.random.default_rng(0)
    reals = [rng.integers(0, 256, (96, 96, 3), dtype=np.uint8) for _ in range(4)]
    images = reals + [r.copy() for r in reals]
    y, partner = np.array([0] * 4 + [1] * 4), np.array([-1] * 4 + [0, 1, 2, 3])
    cfg = TrainConfig(input_size=64, batch_size=8, steps_per_epoch=1, pair_aligned=True, pair_same_view=same_view,
                      pair_degrade=pair_degrade)
    weights = np.full(8, 1 / 8)
    batches = _batches(images, [None] * 8, y, np.zeros(8, bool), weights, cfg, ["r"] * 4 + ["a"] * 4, partner)
    x, _ = batches[0]
    twin = paired_positions(balanced_indices(weights, 8, np.random.default_rng([cfg.seed, 0, 0])), y, partner)[1]
    return x, twin


def test_same_view_pairs_differ_only_in_the_fake() -> None:
    # The fakes are pixel copies of their real photos, so under one shared view each pair is identical
    x, twin = _pair_views(same_view=True)
    pairs = [(k, f) for k, f in enumerate(twin) if f != k]
    assert pairs
    assert all(np.array_equal(x[k], x[f]) for k, f in pairs)
    x, twin = _pair_views(same_view=False)  # independent views: the pairs no longer match
    assert not any(np.array_equal(x[k], x[f]) for k, f in enumerate(twin) if f != k)


def test_pair_views_can_keep_the_decoders_traces() -> None:
    # Unpaired views keep every degradation; a pair's view at pair_degrade 0 is never resampled, blurred,
    # noised, JPEG-compressed or polished, so a fake's traces reach the network
    aug = TrainConfig(rescale=0.7).augmentation()
    light = pair_augmentation(aug, 0.0)
    assert (light.p_rescale, light.p_blur, light.p_noise, light.p_jpeg, light.p_polish, light.p_rotate) == (0,) * 6
    assert light.aspect == (1.0, 1.0) and light.crop_scale == (1.0, aug.crop_scale[1])  # never interpolated
    assert (light.p_flip, light.p_colour, light.crop_shift) == (aug.p_flip, aug.p_colour, aug.crop_shift)
    assert pair_augmentation(aug, 1.0) == aug
    x, twin = _pair_views(same_view=True, pair_degrade=0.0)  # still one shared view per pair
    assert all(np.array_equal(x[k], x[f]) for k, f in enumerate(twin) if f != k)


def test_fold_split_removes_every_source_of_the_fold() -> None:
    from classifier.training.data import Record

    recs = [Record(f"{s}/{k}.jpg", "ai", s, "", "", str(k), "train")
            for s in ("gan_boredhumans_basemax", "sd21_sdfd", "flux1dev_sfhqt2i") for k in range(3)]
    roles = protocol_split(recs, held_out=False, folds=("no_gan", "no_flux"))
    assert {r.source for r in roles["heldout"]} == {"gan_boredhumans_basemax", "flux1dev_sfhqt2i"}
    assert {r.source for r in roles["train"]} == {"sd21_sdfd"}
    assert fold_sources(["no_gan"]) == set(FAMILY_FOLDS["no_gan"].sources)
    assert fold_decoders(["no_flux"]) == {"taef1", "taef2"}


def test_aligned_weight_leans_the_ai_class_towards_the_aligned_fakes() -> None:
    from classifier.training.aligned import ALIGNED_SOURCE
    from classifier.training.data import sampling_weights

    y = np.array([0, 0, 1, 1, 1, 1])
    groups = ["r", "r", "sd", "sd", ALIGNED_SOURCE, ALIGNED_SOURCE]
    cfg = TrainConfig(aligned_weight=3.0)
    w = sampling_weights(y, groups, cfg.group_scale())
    assert np.isclose(w[y == 0].sum(), 0.5)  # the classes stay balanced
    assert np.isclose(w[4:].sum(), 3 * w[2:4].sum())
    assert cfg.group_scale({ALIGNED_SOURCE: 0.5, "sd": 2.0}) == {ALIGNED_SOURCE: 1.5, "sd": 2.0}
    assert TrainConfig().group_scale() == {}
