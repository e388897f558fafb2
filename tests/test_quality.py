"""Quality floors: a real photo is not called AI (offline), and a fixed test-split sample is classified well.

These are floors that catch a broken or shortcut-driven model, not the evaluation itself
(``python -m classifier evaluate`` measures the full test split).
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest
from conftest import fixed_test_sample, jpeg_bytes

PER_SOURCE = 20  # test-split images per source in the fixed sample
ACCURACY_FLOOR = 0.80
BALANCED_FLOOR = 0.80
SOURCE_FLOOR = 0.50  # any single source below chance means the model is broken for it


def variants(rgb: np.ndarray) -> dict[str, object]:
    """The astronaut as a user might upload it: original, re-compressed, smaller, gray, webcam-like."""
    h, w = rgb.shape[:2]
    half = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    gray = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    noise = np.random.default_rng(0).normal(0, 6, rgb.shape)
    soft = cv2.GaussianBlur(rgb, (0, 0), 1.2).astype(np.float64) + noise
    webcam = jpeg_bytes(np.clip(soft, 0, 255).astype(np.uint8), quality=70)
    return {
        "original_png_pixels": rgb,
        "jpeg_q90": jpeg_bytes(rgb, quality=90),
        "jpeg_q50": jpeg_bytes(rgb, quality=50),
        "half_scale_jpeg": jpeg_bytes(half, quality=90),
        "grayscale": gray,
        "webcam_like": webcam,
    }


VARIANTS = ["original_png_pixels", "jpeg_q90", "jpeg_q50", "half_scale_jpeg", "grayscale", "webcam_like"]
# At half scale the astronaut's face is 44x52 px. Below SMALL_FACE_PX the product never calls a face AI
# (too little evidence; the predictor says so in a warning), so the verdict tests above hold by that rule. The
# model itself is tested here on the probability: 2.8.0 failed it (p_ai 0.87 over its 0.80 cut; 2.6.0: 0.26);
# 3.0.0 (EfficientNet-Lite0) passes, so the check is a plain test again.


@pytest.mark.parametrize("variant", VARIANTS)
def test_real_portrait_is_not_called_ai(clf, astronaut, variant):
    """skimage's astronaut is a real photograph: its verdict must not be "ai", also after JPEG q50,
    half-scale, grayscale and webcam-like degradation."""
    pred = clf.predict(variants(astronaut)[variant])
    print(f"\nastronaut {variant}: p_ai={pred.p_ai:.3f} verdict={pred.verdict} band={clf.band}")
    assert len(pred.faces) == 1 and pred.faces[0].box is not None, "the astronaut's face was not found"
    assert pred.verdict != "ai", f"real photo ({variant}) called AI: p_ai={pred.p_ai:.3f} >= {clf.band[1]:.3f}"


def test_half_scale_real_portrait_scores_below_the_cut(clf, astronaut):
    """The model, not the small-face rule: the half-scale astronaut's probability is under the AI edge."""
    pred = clf.predict(variants(astronaut)["half_scale_jpeg"])
    assert pred.p_ai < clf.band[1], f"p_ai={pred.p_ai:.3f} >= {clf.band[1]:.3f}"


def test_real_portrait_verdict_does_not_flip(clf, astronaut):
    """Re-compression, resizing, graying or webcam-like softening never turns "real" into "ai"."""
    verdicts = {k: clf.predict(v).verdict for k, v in variants(astronaut).items()}
    assert not ({"ai", "real"} <= set(verdicts.values())), f"verdict flips across re-encodings: {verdicts}"


def test_a_small_face_is_never_called_ai_but_keeps_its_probability(clf, astronaut):
    """A face under SMALL_FACE_PX is "uncertain" at most, says why, and still reports the model's probability."""
    from classifier import SMALL_FACE_PX
    from classifier.conditions import is_small
    from classifier.faces import Box

    hi = clf.band[1]
    assert is_small(Box(0, 0, SMALL_FACE_PX - 1, SMALL_FACE_PX - 1)) and clf.verdict_for(hi, ["small"]) == "uncertain"
    assert not is_small(Box(0, 0, SMALL_FACE_PX, 40)) and clf.verdict_for(hi) == "ai"  # the longer side counts
    assert not is_small(None)  # the centre square of a face-less image is judged as before
    assert clf.verdict_for(0.0, ["small"]) == "real"  # only an AI call is held back
    small = cv2.resize(astronaut, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    pred = clf.predict(small)
    assert pred.faces and all(max(f.box[2:]) < SMALL_FACE_PX for f in pred.faces if f.box)
    assert any(f"smaller than {SMALL_FACE_PX} px" in w for w in pred.warnings)
    assert pred.p_ai == max(f.p_ai for f in pred.faces)


@pytest.mark.dataset
def test_test_split_sample_accuracy(clf, dataset_root):
    """A fixed sample of the untouched TEST split (20 per source) is classified above the floors."""
    from classifier.calibration import balanced_accuracy
    from classifier.training.data import read_manifest
    from classifier.training.evaluate import trained_sources

    # A model is judged on its own sources here; sources added to the data later, or held out by the
    # protocol, are measured by ``evaluate`` as unseen sources instead.
    known = trained_sources(clf.card)
    sample = fixed_test_sample([r for r in read_manifest(dataset_root) if r.source in known], PER_SOURCE)
    assert len(sample) >= 5 * PER_SOURCE, "the test split is unexpectedly small"
    preds = []
    for i in range(0, len(sample), 40):
        chunk = sample[i : i + 40]
        out = clf.predict_batch([dataset_root / r.path for r in chunk])
        for r, p in zip(chunk, out, strict=True):
            assert not isinstance(p, Exception), f"{r.path}: {p}"
        preds.extend(out)
    y = np.array([r.y for r in sample])
    p_ai = np.array([p.p_ai for p in preds])
    pred = p_ai >= clf.threshold
    acc = float((pred == y).mean())
    bal = balanced_accuracy(y, pred)
    per_source = {}
    for source in sorted({r.source for r in sample}):
        m = np.array([r.source == source for r in sample])
        per_source[source] = float((pred[m] == y[m]).mean())
    uncertain = float(np.mean([p.verdict == "uncertain" for p in preds]))
    report = (f"test-split sample n={len(sample)}: accuracy={acc:.3f} balanced={bal:.3f} "
              f"uncertain={uncertain:.2f} per source={ {k: round(v, 2) for k, v in per_source.items()} }")
    print("\n" + report)
    assert acc >= ACCURACY_FLOOR, f"accuracy below the {ACCURACY_FLOOR} floor: {report}"
    assert bal >= BALANCED_FLOOR, f"balanced accuracy below the {BALANCED_FLOOR} floor: {report}"
    worst = min(per_source, key=per_source.get)
    assert per_source[worst] >= SOURCE_FLOOR, f"source {worst} below {SOURCE_FLOOR}: {report}"


SHRUNK_CALLED_AI_CEILING = 0.02


@pytest.mark.dataset
@pytest.mark.parametrize("scale", [0.5, 0.35])
def test_shrunk_real_photos_are_rarely_called_ai(clf, dataset_root, scale):
    """Real photos shrunk (smaller faces, fewer pixels of evidence) are rarely called AI: a fixed sample of the
    real test photos of the model's own sources and of the held-out studio headshots, at half and a third size."""
    from classifier.images import load_image
    from classifier.training.data import REAL_HELD_OUT_SOURCES, read_manifest
    from classifier.training.evaluate import trained_sources

    records = read_manifest(dataset_root)
    known = trained_sources(clf.card)
    studio = [r for r in records if r.source in REAL_HELD_OUT_SOURCES]
    studio = sorted(studio, key=lambda r: hashlib.sha256(r.path.encode()).hexdigest())[:60]
    sample = [r for r in fixed_test_sample([r for r in records if r.source in known], PER_SOURCE) if r.y == 0]
    sample += studio
    assert len(sample) >= 150, "the real sample is unexpectedly small"
    called = []
    for r in sample:
        rgb = load_image(dataset_root / r.path)
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # The probability, not the verdict: faces under SMALL_FACE_PX are never called AI by rule.
        called.append(clf.predict(small).p_ai >= clf.band[1])
    rate = float(np.mean(called))
    print(f"\nshrunk x{scale}: {rate:.3f} of {len(sample)} real photos called AI")
    assert rate <= SHRUNK_CALLED_AI_CEILING, f"{rate:.3f} of {len(sample)} shrunk real photos called AI"


@pytest.mark.parametrize("frame", ["white_frame", "black_bars", "on_page"])
def test_a_frame_round_a_portrait_leaves_its_probability_alone(clf, astronaut, frame):
    """Flat edges were a real-photo cue in the data: a frame hid most AI images from 2.8.0. The crop now stays
    inside the picture, so a frame, letterbox bars or a page margin leave the network the same pixels.

    The face box is the plain photo's, moved by the frame: the detector itself may place a box a few pixels
    apart on the framed image, and this network's score moves with a crop a few percent larger or smaller
    (the astronaut: p_ai 0.008-0.08), which is another matter than the frame."""
    from classifier.faces import Box, model_input
    from classifier.training.augment import framed

    face = Box(*clf.predict(astronaut).faces[0].box)
    cx, cy = face.x + face.w // 2, face.y + face.h // 2
    x0, y0 = max(0, cx - 160), max(0, cy - 160)  # a 320 px picture: it holds the network's window whole
    tight = np.ascontiguousarray(astronaut[y0 : y0 + 320, x0 : x0 + 320])
    box = Box(face.x - x0, face.y - y0, face.w, face.h)
    top, left, colour = {"white_frame": (10, 10, (255, 255, 255)), "black_bars": (40, 0, (0, 0, 0)),
                         "on_page": (60, 60, (235, 235, 235))}[frame]
    wrapped = framed(tight, top, top, left, left, colour)
    moved = Box(box.x + left, box.y + top, box.w, box.h)
    p_plain = clf.outputs(model_input(tight, box, clf.input_size, clf.framing)[None])[0][0]
    p_framed = clf.outputs(model_input(wrapped, moved, clf.input_size, clf.framing)[None])[0][0]
    assert abs(p_plain - p_framed) < 1e-6, f"{frame}: p_ai {p_plain:.5f} -> {p_framed:.5f}"


def test_the_user_is_told_whether_a_frame_was_left_out_or_analysed(clf, astronaut):
    """A frame round a large picture is cropped away (said so); a small picture on a page is analysed alone but
    enlarged (said so); bars beside a small one are analysed with it, and a 'real' verdict then deserves care
    (said so too). A photo without a frame gets none of these sentences."""
    from classifier.conditions import FRAMED_WARNING, SMALL_FRAMED_WARNING, SMALL_PAGE_WARNING
    from classifier.training.augment import framed, on_canvas

    bars, page_ = (w.format(px=clf.framing.min_side) for w in (SMALL_FRAMED_WARNING, SMALL_PAGE_WARNING))
    plain = clf.predict(astronaut).warnings
    assert not {FRAMED_WARNING, bars, page_} & set(plain)
    assert FRAMED_WARNING in clf.predict(framed(astronaut, 20, 20, 20, 20, (255, 255, 255))).warnings
    from classifier.training.evaluate import ROBUSTNESS

    captioned = clf.predict(ROBUSTNESS["caption_bar"](astronaut))
    assert FRAMED_WARNING in captioned.warnings
    assert all(f.crop[1] + f.crop[3] <= astronaut.shape[0] for f in captioned.faces), "the band is left out"
    small = np.ascontiguousarray(astronaut[:200, 150:350])
    page, _ = on_canvas(small, 0.6, (235, 235, 235))
    assert page_ in clf.predict(page).warnings
    assert bars in clf.predict(framed(small, 30, 30, 0, 0, (0, 0, 0))).warnings


def test_an_enlarged_face_gets_the_wider_band_and_a_warning(clf, astronaut):
    """A close crop under the window is enlarged for the network, and enlarged AI faces score low (27 % of the
    test split's AI images under the cut on its centre two-thirds), so its verdict uses the wider band."""
    from classifier import calibration as cal
    from classifier.conditions import ENLARGE_LIMIT, ENLARGED_WARNING, is_enlarged
    from classifier.faces import Box
    from classifier.training.augment import AugmentConfig

    assert ENLARGE_LIMIT == pytest.approx(1 / AugmentConfig().crop_scale[0]), "beyond what training enlarged"
    assert is_enlarged(Box(0, 0, 190, 190), 256) and not is_enlarged(Box(0, 0, 192, 192), 256)
    assert not is_enlarged(Box(0, 0, 300, 300), 256)
    mark = ENLARGED_WARNING.split("{px}")[1][:30]
    assert not any(mark in w for w in clf.predict(astronaut).warnings)
    small = clf.predict(np.ascontiguousarray(astronaut[20:200, 150:330]))
    assert any(mark in w for w in small.warnings), small.warnings
    face = small.faces[0]
    assert face.crop[2] < 192 and face.verdict == cal.verdict(face.p_ai, cal.widened_band(clf.rule(enlarged=True)[1]))
