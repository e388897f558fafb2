"""Reading how hard a JPEG was compressed, and what the verdict does with it."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from conftest import jpeg_bytes
from PIL import Image

from classifier.compression import (
    COMPRESSED_WARNING,
    HEAVY_BELOW,
    is_heavily_compressed,
    jpeg_quality,
    quality_from_tables,
)

MARK = COMPRESSED_WARNING.split("{q}")[1][:30]


@pytest.mark.parametrize("quality", [1, 5, 20, 35, 50, 60, 69, 70, 75, 90, 95, 100])
def test_the_quality_pillow_was_asked_for_is_read_back(astronaut, quality: int) -> None:
    assert jpeg_quality(jpeg_bytes(astronaut, quality)) == pytest.approx(quality, abs=1)


def test_opencv_files_read_the_same(astronaut) -> None:
    ok, enc = cv2.imencode(".jpg", astronaut[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 45])
    assert ok and jpeg_quality(enc.tobytes()) == pytest.approx(45, abs=1)


def test_other_formats_and_junk_have_no_quality(astronaut) -> None:
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, "PNG")
    assert jpeg_quality(buf.getvalue()) is None
    assert jpeg_quality(b"not an image at all") is None
    assert jpeg_quality(b"") is None
    assert quality_from_tables(None) is None and quality_from_tables({0: [1, 2, 3]}) is None


def test_only_heavy_compression_counts() -> None:
    assert is_heavily_compressed(HEAVY_BELOW - 1) and not is_heavily_compressed(HEAVY_BELOW)
    assert not is_heavily_compressed(None)


def test_a_heavily_compressed_upload_gets_its_rule_the_wider_band_and_a_warning(clf, astronaut) -> None:
    from classifier import calibration as cal
    from classifier.conditions import is_enlarged
    from classifier.faces import Box

    fine = clf.predict(jpeg_bytes(astronaut, 90))
    assert not any(MARK in w for w in fine.warnings)
    heavy = clf.predict(jpeg_bytes(astronaut, 40))
    assert any(MARK in w and "about 40 of 100" in w for w in heavy.warnings), heavy.warnings
    face = heavy.faces[0]
    assert not is_enlarged(Box(*face.crop), clf.input_size)  # so the compressed rule alone applies
    assert face.verdict == cal.verdict(face.p_ai, cal.widened_band(clf.rule(compressed=True)[1]))
    # the same pixels handed over as an array carry no file, so no claim about compression is made
    decoded = np.asarray(Image.open(io.BytesIO(jpeg_bytes(astronaut, 40))).convert("RGB"))
    assert not any(MARK in w for w in clf.predict(decoded).warnings)


def test_evaluate_judges_its_recompressed_checks_as_the_app_would() -> None:
    """The robustness checks hand the pipeline arrays, so ``evaluate`` must say which quality each check's file
    would carry: the app reads it from the header and widens the band below ``HEAVY_BELOW``."""
    from classifier.training.augment import jpeg_roundtrip
    from classifier.training.evaluate import ROBUSTNESS, SAVED_QUALITY

    assert set(SAVED_QUALITY) <= set(ROBUSTNESS)
    assert is_heavily_compressed(SAVED_QUALITY["jpeg_q50"]) and not is_heavily_compressed(SAVED_QUALITY["webcam_like"])
    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), (0, 0), 2.0)
    for name, quality in SAVED_QUALITY.items():  # the check really is that quality: the same pixels as a re-save
        ok, enc = cv2.imencode(".jpg", photo[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert jpeg_quality(enc.tobytes()) == quality
        if name == "jpeg_q50":
            assert np.array_equal(ROBUSTNESS[name](photo), jpeg_roundtrip(photo, quality))
