"""The image conditions that change how a verdict is reached, in one table (``TABLE``).

A portrait can carry less evidence than the photos the network learned from: it sits in a frame, its face is
tiny, its square had to be enlarged, the file was compressed hard, or it looks unlike anything in training.
Each such condition is one ``Condition``: how it is detected, what it does to the verdict, and the sentence
the user reads. The predictor walks the table for every image (``assess``) and judges each face by the
conditions it is in (``judge``); a new condition is a new row, not a new branch.

What a condition can do to a verdict, strongest evidence needed last:

- ``fitted``: judge by the cut and band fitted on validation photos put in that condition, where the card has
  them (``python -m classifier conditions``; the card's ``conditions``). Why: recompression and enlargement
  wash out the fine traces generators leave, so an AI image's score falls while a real photo's barely moves
  (test split, 3.0.0: JPEG q50 took AI images called real from 1.6 to 4.9 %, real photos called AI stayed at
  0.2 %), and one cut fitted on clean photos misses AI images it could catch. The fit uses the main rule's
  choosers and limits; a real photo the main cut already calls AI in that condition does not count against a
  lower cut (``calibration.false_ai_allowance``). A condition for which no cut keeps real photos within the
  limits (``protective`` false) keeps the main rule, and a card without ``conditions`` keeps it everywhere.
  In several fitted conditions the stricter cut applies: calling a real person's photo AI is the costly error.
- ``widens``: the uncertain band widened halfway to certainty (``calibration.widened_band``): far from the
  validation data the calibrated probability overstates its evidence.
- ``never_ai``: an *AI-generated* verdict becomes *uncertain*; the probability is still reported.
- none of these: the verdict is reached as usual and the user is only told (a frame cropped away, no face).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from . import calibration as cal
from .compression import COMPRESSED_WARNING, is_heavily_compressed
from .faces import Box, Framing, enclosed
from .limits import MAX_FACES, SMALL_FACE_PX
from .novelty import NOVEL_WARNING

Rule = tuple[float, tuple[float, float]]  # the AI cut and the uncertain band (its upper edge >= the cut)

# A square enlarged more than this to reach the network's input is judged with its own rule: training enlarged
# squares up to 1 / 0.75 (the smallest crop scale of training.augment.AugmentConfig), never more.
ENLARGE_LIMIT = 4 / 3

NO_FACE_WARNING = "No face found: the centre of the image was analysed instead, which is less reliable."
CROWDED_WARNING = f"More than {MAX_FACES} faces: only the {MAX_FACES} clearest were analysed."
SMALL_FACE_WARNING = ("{n} face(s) smaller than {px} px: too little to judge, so they are never called AI "
                      "(uncertain at most).")
FRAMED_WARNING = ("The picture sits inside a frame, bars or a page, or beside a caption band: only the picture itself "
                  "was analysed.")
SMALL_PAGE_WARNING = ("The picture sits inside a frame or on a page and is under {px} px: only the picture was "
                      "analysed, enlarged, which blurs the fine detail generators leave: treat the verdict with care.")
SMALL_FRAMED_WARNING = ("The picture has flat bars along its edges and is under {px} px, so the bars were "
                        "analysed with it; flat edges pull verdicts towards real: treat 'real' with care.")
ENLARGED_WARNING = ("{n} face(s) came from a square of at most {px} px, enlarged for the network: enlarging blurs the "
                    "fine traces generators leave, and small, tight AI portraits then often look real, so the "
                    "uncertain band is wider for them.")


@dataclass(frozen=True)
class Scene:
    """One image as the intake saw it: what the image-wide conditions are read from."""

    shape: tuple[int, ...]  # the decoded image's (height, width, channels)
    inner: Box  # the picture inside any frame (``faces.content_box``)
    framing: Framing  # the crop geometry the network was trained with (from its card)
    input_size: int  # the network's square input, px
    quality: int | None  # the JPEG quality the file was saved at (``compression.jpeg_quality``); None: not a JPEG
    detected: int  # faces the detector found, before the ``MAX_FACES`` cut
    faces: tuple[Box | None, ...]  # the regions analysed: the faces kept, or (None,) for the centre square


@dataclass(frozen=True)
class Region:
    """One analysed region: what the per-face conditions are read from."""

    face: Box | None  # the detected face; None: the centre square of a face-less image
    square: Box  # the square the network saw (``faces.crop_box``)
    input_size: int
    novel: bool  # unlike the training faces (``novelty``), or all but blank


def is_small(face: Box | None) -> bool:
    """A detected face under ``SMALL_FACE_PX`` on its longer side (None, the centre square, is not a face)."""
    return face is not None and max(face.w, face.h) < SMALL_FACE_PX


def is_enlarged(crop: Box, size: int) -> bool:
    """Whether the square the network sees had to be enlarged more than ``ENLARGE_LIMIT`` to reach ``size``.

    Why: training enlarged its squares 1.33x at most (crop-scale jitter; every dataset image holds the 256 px
    window), and on the test split's centre two-thirds (171 px, enlarged 1.5x: a close crop or a profile
    picture) 2.8.0's ranking held (ROC-AUC 0.990) but its probabilities fell: 27 % of AI images scored under
    the cut, most of them between 0.05 and 0.8, while 92 % of real ones stayed under 0.05.
    """
    return min(crop.w, crop.h) * ENLARGE_LIMIT < size


def is_framed(scene: Scene) -> bool:
    """A frame, bars, a page or a caption band was found round the picture (``faces.content_box``)."""
    return (scene.inner.w, scene.inner.h) != tuple(scene.shape[1::-1][:2])


def frame_warning(scene: Scene, n: int = 1) -> str:
    """Which of ``faces.crop_box``'s three cases the framed picture fell in: a large picture is analysed alone,
    a small one enclosed by a frame alone but enlarged, a small one between bars with its bars."""
    inner, px = scene.inner, scene.framing.min_side
    if min(inner.w, inner.h) >= px:
        return FRAMED_WARNING
    return (SMALL_PAGE_WARNING if enclosed(inner, scene.shape) else SMALL_FRAMED_WARNING).format(px=px)


def enlarged_px(size: int) -> int:
    """The largest square side that counts as enlarged for an input of ``size`` px (191 for 256)."""
    return math.ceil(size / ENLARGE_LIMIT) - 1


@dataclass(frozen=True)
class Condition:
    """One row of the table: a condition, how it is detected, what it does to the verdict, what the user reads."""

    name: str
    scope: Literal["image", "face"]  # read once per image (from a ``Scene``) or per face (from a ``Region``)
    detected_by: str  # ``detect`` in words, for docs/architecture.md
    detect: Callable[[Scene], bool] | Callable[[Region], bool]
    warning: Callable[[Scene, int], str]  # the sentence, given the image and how many of its faces are in it
    fitted: bool = False  # judged by the cut and band fitted for it (the card's ``conditions[name]``)
    widens: bool = False  # the uncertain band widened (``calibration.widened_band``)
    never_ai: bool = False  # "ai" becomes "uncertain"

    @property
    def effect(self) -> str:
        """The rule in words, for tables (docs/architecture.md)."""
        parts = [("its own fitted cut and band" if self.fitted else ""), ("wider band" if self.widens else ""),
                 ("never called AI" if self.never_ai else "")]
        return ", ".join(p for p in parts if p) or "warning only"


# The order is the order of the warnings a user reads.
TABLE: tuple[Condition, ...] = (
    Condition("framed", "image", "a flat frame, bars, a page or a caption band round the picture "
              "(`faces.content_box`); `faces.crop_box` keeps the square inside it", is_framed, frame_warning),
    Condition("crowded", "image", "more faces than `limits.MAX_FACES`: the clearest are analysed",
              lambda s: s.detected > MAX_FACES, lambda s, n: CROWDED_WARNING),
    Condition("no_face", "image", "no face found: the centre square is analysed",
              lambda s: s.faces == (None,), lambda s, n: NO_FACE_WARNING),
    Condition("small", "face", "the face's longer side is under `limits.SMALL_FACE_PX`",
              lambda r: is_small(r.face), lambda s, n: SMALL_FACE_WARNING.format(n=n, px=SMALL_FACE_PX),
              never_ai=True),
    Condition("compressed", "image", "the JPEG quality read from the file's quantisation table is under "
              "`compression.HEAVY_BELOW`", lambda s: is_heavily_compressed(s.quality),
              lambda s, n: COMPRESSED_WARNING.format(q=s.quality), fitted=True, widens=True),
    Condition("unfamiliar", "face", "the face's features lie far from the training faces', or the crop is all "
              "but blank (`novelty`)", lambda r: r.novel, lambda s, n: NOVEL_WARNING.format(n=n), widens=True),
    Condition("enlarged", "face", "the square is enlarged more than `ENLARGE_LIMIT` to reach the network's input",
              lambda r: is_enlarged(r.square, r.input_size),
              lambda s, n: ENLARGED_WARNING.format(n=n, px=enlarged_px(s.input_size)), fitted=True, widens=True),
)
BY_NAME = {c.name: c for c in TABLE}
CONDITIONS = tuple(c.name for c in TABLE if c.fitted)  # those with a fitted rule (training.conditions fits them)


def assess(scene: Scene, regions: Sequence[Region]) -> tuple[list[str], list[frozenset[str]]]:
    """Walk the table: the image's warnings, in table order, and the names of the conditions each region is in."""
    warnings: list[str] = []
    found: list[set[str]] = [set() for _ in regions]
    for c in TABLE:
        hits = [c.detect(scene)] * len(regions) if c.scope == "image" else [c.detect(r) for r in regions]
        if any(hits):
            warnings.append(c.warning(scene, sum(hits) if c.scope == "face" else 1))
            for names, hit in zip(found, hits, strict=True):
                if hit:
                    names.add(c.name)
    return warnings, [frozenset(names) for names in found]


def rule_from(entry: dict) -> Rule:
    """A condition's (cut, band) from its card entry."""
    lo, hi = entry["uncertain_band"]
    return float(entry["threshold"]), (float(lo), float(hi))


def rule_for(rules: dict | None, base: Rule, names: Iterable[str] = ()) -> Rule:
    """The rule for a face in the conditions ``names``: the main one (``base``), or that of each fitted condition
    it is in, the stricter (higher cut) where several apply. A condition whose fit found no cut that keeps real
    photos within the limits (``protective`` false), or that the card lacks, counts as the main rule."""
    found = [rule_from(rules[name]) if rules[name].get("protective", True) else base
             for name in names if rules and name in rules and name in CONDITIONS]
    return max(found, key=lambda r: r[0]) if found else base


def judge(p_ai: float, names: Collection[str], rules: dict | None, base: Rule) -> str:
    """The verdict for a calibrated P(AI) of a face in the conditions ``names`` (the rest of the table's
    effects: the fitted rule, the widened band, never AI)."""
    on = [BY_NAME[name] for name in names]
    _, band = rule_for(rules, base, names)
    verdict = cal.verdict(p_ai, cal.widened_band(band) if any(c.widens for c in on) else band)
    return "uncertain" if verdict == "ai" and any(c.never_ai for c in on) else verdict
