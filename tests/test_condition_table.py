"""The condition table (``classifier.conditions.TABLE``) decides exactly as the per-case branches it replaced.

Until 2026-12-06 the predictor had one branch and one warning constant per special case (frames, crowds, no
face, small faces, compressed files, unfamiliar and enlarged faces). ``old_decisions`` below is those branches
as they were, kept as the oracle: on a test-split sample (a photo per source, as stored and in four
conditions) and on the hostile corpus with a real portrait in every condition, the table must give the
same verdict for every face, the same image verdict and the same warnings, in the same order. (A one-off run
against the commit before the table, 12 test images per source in 11 degradations plus the hostile corpus,
2,389 images, found no difference either.)
"""

from __future__ import annotations

import math

import cv2
import hostile
import numpy as np
import pytest
from conftest import fixed_test_sample, jpeg_bytes

from classifier import calibration as cal
from classifier.compression import COMPRESSED_WARNING, is_heavily_compressed
from classifier.conditions import (
    ENLARGE_LIMIT,
    ENLARGED_WARNING,
    FRAMED_WARNING,
    NO_FACE_WARNING,
    SMALL_FRAMED_WARNING,
    SMALL_PAGE_WARNING,
    TABLE,
    rule_for,
)
from classifier.faces import content_box, crop_box, detect_faces, enclosed, model_input
from classifier.images import load_image_with_quality
from classifier.limits import MAX_FACES, SMALL_FACE_PX
from classifier.novelty import NOVEL_WARNING

PER_SOURCE = 1  # test-split images per source, each also put in the conditions of TEST_SPLIT_VIEWS
TEST_SPLIT_VIEWS = ("as stored", "compressed", "close crop (enlarged)", "white frame", "small between bars")


def old_decisions(clf, image) -> tuple[str, list[str], list[str]]:
    """The image verdict, the face verdicts and the warnings as the predictor's branches made them before the
    table (its ``regions``, ``frame_warnings``, ``_intake``, ``predict_batch`` and ``verdict_for``)."""
    rgb, quality = load_image_with_quality(image)
    inner = content_box(rgb)
    warnings: list[str] = []
    if (inner.w, inner.h) != tuple(rgb.shape[1::-1][:2]):
        if min(inner.w, inner.h) >= clf.framing.min_side:
            warnings.append(FRAMED_WARNING)
        elif enclosed(inner, rgb.shape):
            warnings.append(SMALL_PAGE_WARNING.format(px=clf.framing.min_side))
        else:
            warnings.append(SMALL_FRAMED_WARNING.format(px=clf.framing.min_side))
    faces = detect_faces(rgb, max_faces=MAX_FACES + 1)
    if len(faces) > MAX_FACES:
        warnings.append(f"More than {MAX_FACES} faces: only the {MAX_FACES} clearest were analysed.")
        faces = faces[:MAX_FACES]
    if not faces:
        faces = [None]
        warnings.append(NO_FACE_WARNING)
    small = [f is not None and max(f.w, f.h) < SMALL_FACE_PX for f in faces]
    if any(small):
        warnings.append(f"{sum(small)} face(s) smaller than {SMALL_FACE_PX} px: too little to judge, so they are "
                        "never called AI (uncertain at most).")
    compressed = is_heavily_compressed(quality)
    if compressed:
        warnings.append(COMPRESSED_WARNING.format(q=quality))
    crops = np.stack([model_input(rgb, f, clf.input_size, clf.framing, inner) for f in faces])
    p, _, novel = clf.outputs(crops)
    if novel.any():
        warnings.append(NOVEL_WARNING.format(n=int(novel.sum())))
    squares = [crop_box(f, rgb.shape, clf.framing, inner) for f in faces]
    enlarged = [min(s.w, s.h) * ENLARGE_LIMIT < clf.input_size for s in squares]
    if any(enlarged):
        px = math.ceil(clf.input_size / ENLARGE_LIMIT) - 1
        warnings.append(ENLARGED_WARNING.format(n=sum(enlarged), px=px))
    verdicts = []
    for pi, is_small, nov, enl in zip(p, small, novel, enlarged, strict=True):
        names = [n for n, on in (("compressed", compressed), ("enlarged", enl)) if on]
        _, band = rule_for(clf.conditions, (clf.threshold, clf.band), names)
        v = cal.verdict(float(pi), cal.widened_band(band) if (nov or compressed or enl) else band)
        verdicts.append("uncertain" if v == "ai" and is_small else v)
    return verdicts[int(np.argmax(p))], verdicts, warnings


def assert_same(clf, images: dict[str, object]) -> None:
    names = list(images)
    now = clf.predict_batch([images[n] for n in names])
    for name, pred in zip(names, now, strict=True):
        if isinstance(pred, Exception):
            with pytest.raises(type(pred)):
                old_decisions(clf, images[name])
            continue
        verdict, faces, warnings = old_decisions(clf, images[name])
        assert (pred.verdict, [f.verdict for f in pred.faces], pred.warnings) == (verdict, faces, warnings), name


def in_conditions(rgb: np.ndarray) -> dict[str, object]:
    """One image in each condition the table knows, as an upload would bring it."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w // 3, h // 3), interpolation=cv2.INTER_AREA)
    page = np.full((h, w, 3), 235, np.uint8)
    page[h // 3 : h // 3 + small.shape[0], w // 3 : w // 3 + small.shape[1]] = small
    bars = np.zeros((small.shape[0] + 40, small.shape[1], 3), np.uint8)
    bars[20:-20] = small
    return {
        "as stored": rgb,
        "compressed": jpeg_bytes(rgb, 40),
        "close crop (enlarged)": np.ascontiguousarray(rgb[h // 5 : h - h // 5, w // 5 : w - w // 5]),
        "white frame": cv2.copyMakeBorder(rgb, 24, 24, 24, 24, cv2.BORDER_CONSTANT, value=(255, 255, 255)),
        "small on a page": page,
        "small between bars": bars,
        "tiny faces": cv2.resize(np.tile(rgb, (3, 3, 1)), (w, h), interpolation=cv2.INTER_AREA),
    }


def test_every_condition_in_the_table_is_exercised(clf, astronaut) -> None:
    """The images below reach every row of the table, so the comparisons are not vacuous."""
    from classifier.conditions import Region, Scene, assess

    seen: set[str] = set()
    extra = [hostile.build("faces_4x4.jpg"), hostile.build("noface_noise.png")]
    for image in [*in_conditions(astronaut).values(), *extra]:
        rgb, quality = load_image_with_quality(image)
        inner = content_box(rgb)
        found = detect_faces(rgb, max_faces=MAX_FACES + 1)
        faces = tuple(found[:MAX_FACES]) or (None,)
        scene = Scene(rgb.shape, inner, clf.framing, clf.input_size, quality, len(found), faces)
        crops = np.stack([model_input(rgb, f, clf.input_size, clf.framing, inner) for f in faces])
        novel = clf.outputs(crops)[2]
        regions = [Region(f, crop_box(f, rgb.shape, clf.framing, inner), clf.input_size, bool(n))
                   for f, n in zip(faces, novel, strict=True)]
        seen |= set().union(*assess(scene, regions)[1])
    assert seen == {c.name for c in TABLE}, f"never reached: {({c.name for c in TABLE}) - seen}"


def test_the_table_decides_as_the_branches_did_on_the_hostile_corpus(clf, astronaut) -> None:
    images = {name: hostile.build(name) for name in hostile.GOOD}
    images.update({f"astronaut, {k}": v for k, v in in_conditions(astronaut).items()})
    assert_same(clf, images)


@pytest.mark.dataset
def test_the_table_decides_as_the_branches_did_on_the_test_split(clf, dataset_root) -> None:
    from classifier.images import load_image
    from classifier.training.data import read_manifest

    sample = fixed_test_sample(read_manifest(dataset_root), PER_SOURCE)
    images = {}
    for r in sample:
        views = in_conditions(load_image(dataset_root / r.path))
        images.update({f"{r.path}, {k}": views[k] for k in TEST_SPLIT_VIEWS})
    assert_same(clf, images)
