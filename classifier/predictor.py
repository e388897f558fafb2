"""Load the shipped model with its card, and turn images into calibrated verdicts.

``load_classifier()`` is the one entry point for the app, the CLI, notebooks
and tests. A ``Classifier`` is safe to share between threads (the Streamlit
server shares one across sessions): it holds no per-call state.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import calibration as cal
from .card import CARD_FILE, read_json, sha256_of
from .conditions import Region, Rule, Scene, assess, judge, rule_for
from .errors import ImageError, ModelError
from .explain import cam_heatmap, upsample
from .faces import Framing, content_box, crop_box, detect_faces, model_input
from .images import ImageSource, encoded_bytes, load_image_with_quality
from .limits import MAX_FACES
from .lite import LiteNetwork
from .novelty import FeatureModel, featureless, load_feature_model
from .provenance import NONE, Provenance, decide, read_provenance

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models"
INTAKE_THREADS = 4  # most threads decoding and detecting faces at once in a batch (one per core up to this)


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
    pixel_verdict: str | None = None  # the pixels' verdict alone; ``verdict`` also weighs the file's declaration
    provenance: Provenance = NONE  # what the file declares (C2PA, IPTC, generator metadata, watermark, EXIF)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "p_ai": round(self.p_ai, 4), "faces": [f.to_dict() for f in self.faces],
                "warnings": list(self.warnings), "width": self.width, "height": self.height,
                "pixel_verdict": self.pixel_verdict or self.verdict, "provenance": self.provenance.to_dict()}


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
        self.conditions = card.get("conditions") or {}  # the fitted conditions' cuts and bands (conditions.TABLE)

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
        names = [name for name, on in (("compressed", compressed), ("enlarged", enlarged)) if on]
        return rule_for(self.conditions, (self.threshold, self.band), names)

    def condition_rules(self) -> dict[str, Rule]:
        """The rule each condition in the card gets on its own (the main one where its fit could not protect)."""
        return {name: rule_for(self.conditions, (self.threshold, self.band), [name]) for name in self.conditions}

    def verdict_for(self, p_ai: float, conditions: Collection[str] = ()) -> str:
        """The verdict for a calibrated P(AI) of a face in ``conditions`` (names in ``conditions.TABLE``: each
        may bring its own fitted rule, a wider band, or forbid an AI verdict); the probability is reported as
        computed whatever the verdict."""
        return judge(p_ai, conditions, self.conditions, (self.threshold, self.band))

    # -- images --------------------------------------------------------------------------
    def predict(self, image: ImageSource, explain: bool = False) -> Prediction:
        """Classify one image (bytes, path, file object, PIL image or array).

        Raises ``ImageError`` (with a short human message) for input it refuses.
        """
        return self.predict_batch([image], explain=explain, raise_errors=True)[0]

    def _intake(self, image: ImageSource) -> tuple[np.ndarray, Scene, Provenance] | ImageError:
        """Decode one image and find its faces: the pixels and the ``Scene`` the image-wide conditions read."""
        try:
            data = encoded_bytes(image)  # read once: the pixels and the provenance come from the same bytes
            rgb, quality = load_image_with_quality(image if data is None else data)
            inner = content_box(rgb)  # once per image: the conditions, the crops and their reported boxes
            found = detect_faces(rgb, max_faces=MAX_FACES + 1)
            faces = tuple(found[:MAX_FACES]) or (None,)  # no face: the centre square
            scene = Scene(rgb.shape, inner, self.framing, self.input_size, quality, len(found), faces)
            return rgb, scene, read_provenance(data, rgb)
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
        crops = [model_input(d[0], f, self.input_size, self.framing, d[1].inner)
                 for d in decoded if not isinstance(d, ImageError) for f in d[1].faces]
        p_all, cams, novel = self.outputs(np.stack(crops) if crops else np.zeros(0), explain)  # one network call
        out: list[Prediction | ImageError] = []
        k = 0
        for d in decoded:
            if isinstance(d, ImageError):
                out.append(d)
                continue
            rgb, scene, provenance = d
            regions = [Region(face, crop_box(face, rgb.shape, self.framing, scene.inner), self.input_size,
                              bool(novel[k + i])) for i, face in enumerate(scene.faces)]
            warnings, conditions = assess(scene, regions)
            results = []
            for region, names in zip(regions, conditions, strict=True):
                p, face = float(p_all[k]), region.face
                heat = upsample(cam_heatmap(cams[k]), crops[k].shape[:2]) if cams is not None else None
                k += 1
                results.append(FaceResult(
                    box=face.as_list() if face else None,
                    crop=region.square.as_list(),
                    p_ai=p,
                    verdict=self.verdict_for(p, names),
                    detector_score=face.score if face else None,
                    heatmap=heat,
                ))
            top = max(results, key=lambda r: r.p_ai)
            verdict, notes = decide(top.verdict, top.p_ai, provenance)  # a declared AI file is AI-generated
            out.append(Prediction(verdict, top.p_ai, results, [*warnings, *notes], rgb.shape[1], rgb.shape[0],
                                  pixel_verdict=top.verdict, provenance=provenance))
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
