"""Load the shipped model with its card, and turn images into calibrated verdicts.

``load_classifier()`` is the one entry point for the app, the CLI, notebooks
and tests. A ``Classifier`` is safe to share between threads (the Streamlit
server shares one across sessions): it holds no per-call state.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import calibration as cal
from .card import CARD_FILE, read_json, sha256_of
from .compression import COMPRESSED_WARNING, is_heavily_compressed
from .conditions import Rule, rule_for
from .errors import ImageError, ModelError
from .explain import cam_heatmap, upsample
from .faces import Box, Framing, content_box, crop_box, detect_faces, enclosed, model_input
from .images import ImageSource, load_image_with_quality
from .limits import MAX_FACES, SMALL_FACE_PX
from .lite import LiteNetwork
from .novelty import NOVEL_WARNING, FeatureModel, featureless, load_feature_model

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models"
INTAKE_THREADS = 4  # most threads decoding and detecting faces at once in a batch (one per core up to this)


def is_small(face: Box | None) -> bool:
    """A detected face under ``SMALL_FACE_PX`` on its longer side (None, the centre square, is not a face)."""
    return face is not None and max(face.w, face.h) < SMALL_FACE_PX


NO_FACE_WARNING = "No face found: the centre of the image was analysed instead, which is less reliable."
FRAMED_WARNING = ("The picture sits inside a frame, bars or a page, or beside a caption band: only the picture itself "
                  "was analysed.")
SMALL_PAGE_WARNING = ("The picture sits inside a frame or on a page and is under {px} px: only the picture was "
                      "analysed, enlarged, which blurs the fine detail generators leave: treat the verdict with care.")
SMALL_FRAMED_WARNING = ("The picture has flat bars along its edges and is under {px} px, so the bars were "
                        "analysed with it; flat edges pull verdicts towards real: treat 'real' with care.")
# A square enlarged more than this to reach the network's input is judged with the wider band: training enlarged
# squares up to 1 / 0.75 (the smallest crop scale of training.augment.AugmentConfig), never more.
ENLARGE_LIMIT = 4 / 3
ENLARGED_WARNING = ("{n} face(s) came from a square of at most {px} px, enlarged for the network: enlarging blurs the "
                    "fine traces generators leave, and small, tight AI portraits then often look real, so the "
                    "uncertain band is wider for them.")


def is_enlarged(crop: Box, size: int) -> bool:
    """Whether the square the network sees had to be enlarged more than ``ENLARGE_LIMIT`` to reach ``size``.

    Why: training enlarged its squares 1.33x at most (crop-scale jitter; every dataset image holds the 256 px
    window), and on the test split's centre two-thirds (171 px, enlarged 1.5x: a close crop or a profile
    picture) 2.8.0's ranking held (ROC-AUC 0.990) but its probabilities fell: 27 % of AI images scored under
    the cut, most of them between 0.05 and 0.8, while 92 % of real ones stayed under 0.05. The wider band turns
    part of those misses into *uncertain* (AI images called real: 19.8 -> 11.8 %, real ones called AI: none
    either way; ``evaluate``).
    """
    return min(crop.w, crop.h) * ENLARGE_LIMIT < size


def frame_warnings(inner: Box, image_shape: tuple[int, ...], framing: Framing) -> list[str]:
    """What to tell the user when the image is a picture inside a frame (``inner``: its ``faces.content_box``).

    The three cases are ``faces.crop_box``'s: a large picture is analysed alone, a small one enclosed by a frame
    alone but enlarged, a small one between bars with its bars."""
    if (inner.w, inner.h) == tuple(image_shape[1::-1][:2]):
        return []
    if min(inner.w, inner.h) >= framing.min_side:
        return [FRAMED_WARNING]
    if enclosed(inner, image_shape):
        return [SMALL_PAGE_WARNING.format(px=framing.min_side)]
    return [SMALL_FRAMED_WARNING.format(px=framing.min_side)]


@dataclass
class FaceResult:
    """One analysed region: a detected face, or the image centre when none was found."""

    box: list[int] | None  # detected face (x, y, w, h); None when no face was found
    crop: list[int]  # the square region the network saw (x, y, w, h)
    p_ai: float
    verdict: str
    detector_score: float | None = None
    heatmap: np.ndarray | None = field(default=None, repr=False)  # crop-sized, 0..1

    def to_dict(self) -> dict:
        return {"box": self.box, "crop": self.crop, "p_ai": round(self.p_ai, 4), "verdict": self.verdict,
                "detector_score": None if self.detector_score is None else round(self.detector_score, 3)}


@dataclass
class Prediction:
    """The answer for one image: the most AI-like face decides the image's verdict."""

    verdict: str
    p_ai: float
    faces: list[FaceResult]
    warnings: list[str]
    width: int
    height: int
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "p_ai": round(self.p_ai, 4), "faces": [f.to_dict() for f in self.faces],
                "warnings": list(self.warnings), "width": self.width, "height": self.height}


class Classifier:
    """A trained network (its LiteRT copy) plus the calibration and decision rule from its card."""

    def __init__(self, lite: LiteNetwork, card: dict, novelty: FeatureModel | None = None) -> None:
        self.lite = lite
        self.card = card
        self.novelty = novelty if lite.has_features else None  # None: no novelty warnings
        self.input_size = int(card["input"]["size"])
        self.framing = Framing.from_card(card)  # the crop geometry the network was trained with
        self.a = float(card["calibration"]["a"])
        self.b = float(card["calibration"]["b"])
        self.threshold = float(card["threshold"])
        self.band = (float(card["uncertain_band"][0]), float(card["uncertain_band"][1]))
        self.conditions = card.get("conditions") or {}  # cuts and bands for compressed files and enlarged faces

    # -- numbers -------------------------------------------------------------------------
    @staticmethod
    def _stack(crops: np.ndarray) -> np.ndarray:
        x = np.asarray(crops, dtype=np.float32)
        return x[None] if x.ndim == 3 else x

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Raw network logits for a stack of uint8/float crops of the input size."""
        x = self._stack(crops)
        return np.zeros(0) if len(x) == 0 else self.lite(x)

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated P(AI-generated) for a stack of crops."""
        return cal.calibrate(self.logits(crops), self.a, self.b)

    def probabilities_and_maps(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated P(AI) and raw activation maps (N, h, w) in one network call."""
        x = self._stack(crops)
        if not self.lite.has_cam:
            raise ModelError("This model file has no heatmap output; run `python -m classifier export`.")
        logits, cams = self.lite.run(x)
        return cal.calibrate(logits, self.a, self.b), cams

    def outputs(self, crops: np.ndarray, explain: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Calibrated P(AI), raw activation maps (only with ``explain``) and novelty flags, in one network call."""
        x = self._stack(crops)
        if len(x) == 0:
            return np.zeros(0), None, np.zeros(0, bool)
        if explain and not self.lite.has_cam:
            raise ModelError("This model file has no heatmap output; run `python -m classifier export`.")
        logits, maps, feats = self.lite.run_all(x)
        novel = featureless(x)
        if self.novelty is not None and feats is not None:
            novel |= self.novelty.is_novel(feats)
        return cal.calibrate(logits, self.a, self.b), (maps if explain else None), novel

    def rule(self, compressed: bool = False, enlarged: bool = False) -> Rule:
        """The AI cut and uncertain band for a face from a heavily compressed file and/or an enlarged square
        (``conditions.rule_for``: fitted on validation photos in that condition), else the main ones."""
        return rule_for(self.conditions, (self.threshold, self.band), compressed, enlarged)

    def condition_rules(self) -> dict[str, Rule]:
        """The rule each condition in the card gets on its own (the main one where its fit could not protect)."""
        return {name: self.rule(**{name: True}) for name in self.conditions}

    def verdict_for(self, p_ai: float, face: Box | None = None, novel: bool = False, compressed: bool = False,
                    enlarged: bool = False) -> str:
        """The verdict for a calibrated P(AI); a ``face`` under ``SMALL_FACE_PX`` is "uncertain" at most. A face
        from a heavily ``compressed`` file or an ``enlarged`` square is judged by its condition's rule
        (``rule``), and any unfamiliar one (those, or ``novel``: unlike the training data) with that band
        widened (``widened_band``).

        Why: the calibration and the cut were fitted on faces of 100 px and more, like the training photos;
        a face of a few dozen pixels holds too little of the evidence to call a person's photo AI-made (group
        and press photos), and far from the training data the probability overstates its evidence. The
        probability is still reported as computed.
        """
        _, band = self.rule(compressed, enlarged)
        unfamiliar = novel or compressed or enlarged
        verdict = cal.verdict(p_ai, cal.widened_band(band) if unfamiliar else band)
        return "uncertain" if verdict == "ai" and is_small(face) else verdict

    # -- images --------------------------------------------------------------------------
    def regions(self, rgb: np.ndarray, inner: Box | None = None) -> tuple[list[Box | None], list[str]]:
        """Faces to analyse (or [None] for the centre square) and warnings about them and the frame, if any
        (``inner``: the image's ``content_box``)."""
        faces = detect_faces(rgb, max_faces=MAX_FACES + 1)
        warnings = frame_warnings(inner or content_box(rgb), rgb.shape, self.framing)
        if len(faces) > MAX_FACES:
            warnings.append(f"More than {MAX_FACES} faces: only the {MAX_FACES} clearest were analysed.")
            faces = faces[:MAX_FACES]
        if not faces:
            return [None], [*warnings, NO_FACE_WARNING]
        small = [f for f in faces if is_small(f)]
        if small:
            warnings.append(f"{len(small)} face(s) smaller than {SMALL_FACE_PX} px: too little to judge, so they are "
                            "never called AI (uncertain at most).")
        return list(faces), warnings

    def predict(self, image: ImageSource, explain: bool = False) -> Prediction:
        """Classify one image (bytes, path, file object, PIL image or array).

        Raises ``ImageError`` (with a short human message) for input it refuses.
        """
        return self.predict_batch([image], explain=explain, raise_errors=True)[0]

    def _intake(self, image: ImageSource) -> tuple[np.ndarray, Box, list[Box | None], list[str], bool] | ImageError:
        """Decode one image and find its faces: the image, its content box, the regions, their warnings and
        whether the file was heavily compressed (``compression.is_heavily_compressed``)."""
        try:
            rgb, quality = load_image_with_quality(image)
            inner = content_box(rgb)  # once per image: the warnings, the crops and their reported boxes
            faces, warnings = self.regions(rgb, inner)
            compressed = is_heavily_compressed(quality)
            if compressed:
                warnings = [*warnings, COMPRESSED_WARNING.format(q=quality)]
            return rgb, inner, faces, warnings, compressed
        except ImageError as err:
            return err

    def _intake_all(self, images: Sequence[ImageSource]) -> list:
        """``_intake`` for each image, in order, on up to one thread per core: decoding and face detection
        release the GIL, and in a batch of 256 px portraits they were a third of the time (7.7 of 27 ms a
        photo on 2 cores, all on one core while the network waited)."""
        workers = min(len(images), os.cpu_count() or 1, INTAKE_THREADS)
        if workers < 2:
            return [self._intake(image) for image in images]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(self._intake, images))

    def predict_batch(
        self, images: Sequence[ImageSource], explain: bool = False, raise_errors: bool = False
    ) -> list[Prediction | ImageError]:
        """Classify several images with one network call; bad inputs give their ``ImageError``."""
        t0 = time.perf_counter()
        decoded = self._intake_all(images)
        if raise_errors:
            for d in decoded:
                if isinstance(d, ImageError):
                    raise d
        crops = [model_input(d[0], f, self.input_size, self.framing, d[1])
                 for d in decoded if not isinstance(d, ImageError) for f in d[2]]
        p_all, cams, novel = self.outputs(np.stack(crops) if crops else np.zeros(0), explain)  # one network call
        out: list[Prediction | ImageError] = []
        k = 0
        for d in decoded:
            if isinstance(d, ImageError):
                out.append(d)
                continue
            rgb, inner, faces, warnings, compressed = d
            results = []
            n_novel = int(novel[k : k + len(faces)].sum())
            if n_novel:
                warnings = [*warnings, NOVEL_WARNING.format(n=n_novel)]
            squares = [crop_box(face, rgb.shape, self.framing, inner) for face in faces]
            enlarged = [is_enlarged(sq, self.input_size) for sq in squares]
            if any(enlarged):
                px = math.ceil(self.input_size / ENLARGE_LIMIT) - 1
                warnings = [*warnings, ENLARGED_WARNING.format(n=sum(enlarged), px=px)]
            for face, square, enlarged_face in zip(faces, squares, enlarged, strict=True):
                p, novel_face = float(p_all[k]), bool(novel[k])
                heat = upsample(cam_heatmap(cams[k]), crops[k].shape[:2]) if cams is not None else None
                k += 1
                results.append(FaceResult(
                    box=face.as_list() if face else None,
                    crop=square.as_list(),
                    p_ai=p,
                    verdict=self.verdict_for(p, face, novel_face, compressed, enlarged_face),
                    detector_score=face.score if face else None,
                    heatmap=heat,
                ))
            top = max(results, key=lambda r: r.p_ai)
            out.append(Prediction(top.verdict, top.p_ai, results, warnings, rgb.shape[1], rgb.shape[0]))
        elapsed = time.perf_counter() - t0
        for p in out:
            if isinstance(p, Prediction):
                p.seconds = elapsed / max(1, len(out))
        return out

    def heatmap(self, crop: np.ndarray) -> np.ndarray:
        """The class activation map of the AI logit over one crop, resized to the crop, in [0, 1]."""
        _, cams = self.probabilities_and_maps(crop)
        return upsample(cam_heatmap(cams[0]), np.asarray(crop).shape[:2])


def model_dir_default() -> Path:
    return Path(os.environ.get("AIVR_MODEL_DIR") or DEFAULT_MODEL_DIR)


def load_card(model_dir: str | Path | None = None) -> dict:
    """The model card as a dict; ``ModelError`` if it is missing or unreadable."""
    path = Path(model_dir or model_dir_default()) / CARD_FILE
    try:
        return read_json(path)
    except FileNotFoundError:
        raise ModelError(f"The model card is missing ({path.name}); reinstall or retrain the model.") from None
    except ValueError:
        raise ModelError(f"The model card ({path.name}) is corrupt; reinstall or retrain the model.") from None


def verified_path(model_dir: Path, name: str, checksum: str | None, verify: bool) -> Path:
    """The path of a file the card names, once it exists and (if ``verify``) matches its checksum."""
    path = model_dir / name
    if not path.is_file():
        raise ModelError(f"The model file {path.name} is missing; reinstall or retrain the model.")
    if verify and sha256_of(path) != checksum:
        raise ModelError(
            f"The model file {path.name} does not match the checksum in its card: it is corrupt or was replaced."
        )
    return path


def load_classifier(model_dir: str | Path | None = None, verify: bool = True) -> Classifier:
    """Load the model in ``model_dir`` (default: ``models/``), checking its checksum first.

    Verdicts and heatmaps both come from the LiteRT copy the card names (``lite_file``); the
    Keras file beside it is the training source of truth and is never loaded here.
    """
    model_dir = Path(model_dir or model_dir_default())
    card = load_card(model_dir)
    if "lite_file" not in card:
        raise ModelError("The model card names no LiteRT model file; run `python -m classifier export`.")
    lite_path = verified_path(model_dir, card["lite_file"], card.get("lite_sha256"), verify)
    try:
        lite = LiteNetwork(lite_path.read_bytes())
    except Exception as exc:  # LiteRT raises ValueError/RuntimeError for a bad flatbuffer
        raise ModelError(f"The model file {lite_path.name} could not be loaded ({type(exc).__name__}).") from None
    novelty = None
    if card.get("feature_stats_file"):
        stats_path = verified_path(model_dir, card["feature_stats_file"], card.get("feature_stats_sha256"), verify)
        try:
            novelty = load_feature_model(stats_path)
        except (OSError, ValueError, KeyError):
            raise ModelError(f"The model file {stats_path.name} could not be loaded.") from None
    return Classifier(lite, card, novelty)
