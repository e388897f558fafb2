"""Load the shipped model with its card, and turn images into calibrated verdicts.

``load_classifier()`` is the one entry point for the app, the CLI, notebooks
and tests. A ``Classifier`` is safe to share between threads (the Streamlit
server shares one across sessions): it holds no per-call state.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import calibration as cal
from .card import CARD_FILE, read_json, sha256_of
from .errors import ImageError, ModelError
from .faces import Box, crop_box, detect_faces, model_input
from .images import ImageSource, load_image
from .limits import MAX_FACES

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models"
SMALL_FACE_PX = 64  # below this the crop is upscaled and fine detail is invented

NO_FACE_WARNING = "No face found: the centre of the image was analysed instead, which is less reliable."


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
    """A trained network plus the calibration and decision rule from its card."""

    def __init__(self, model, card: dict, lite=None, *, load_model: Callable[[], Any] | None = None) -> None:
        """Give the Keras ``model``, or ``model=None`` and a ``load_model`` function that loads it.

        With a Lite copy (``lite``) the Keras model is only needed for heatmaps, so a loader
        lets start-up skip it (about a second) until the first heatmap asks for it.
        """
        if model is None and load_model is None:
            raise ValueError("Classifier needs a Keras model or a function that loads one")
        self._made: dict[str, Any] = {} if model is None else {"model": model}
        self._load_model = load_model
        self._lock = threading.RLock()  # reentrant: building Grad-CAM asks for the model
        self.lite = lite  # LiteNetwork with the same weights, or None: what computes verdicts when present
        self.card = card
        self.input_size = int(card["input"]["size"])
        self.a = float(card["calibration"]["a"])
        self.b = float(card["calibration"]["b"])
        self.threshold = float(card["threshold"])
        self.band = (float(card["uncertain_band"][0]), float(card["uncertain_band"][1]))

    def _once(self, name: str, make: Callable[[], Any]) -> Any:
        """``make()``'s result, built by the first caller only (sessions share one Classifier)."""
        if name not in self._made:
            with self._lock:
                if name not in self._made:
                    self._made[name] = make()
        return self._made[name]

    @property
    def model(self):
        """The Keras model: the source of truth, and what Grad-CAM differentiates (loaded once, on first use)."""
        return self._once("model", self._load_model)

    def _make_forward(self):
        import tensorflow as tf

        spec = tf.TensorSpec([None, self.input_size, self.input_size, 3], tf.float32)
        model = self.model
        return tf.function(lambda t: model(t, training=False), input_signature=[spec], reduce_retracing=True)

    def keras_logits(self, x: np.ndarray) -> np.ndarray:
        """Logits from the Keras model itself (the reference the Lite copy is checked against)."""
        forward = self._once("forward", self._make_forward)
        return forward(np.asarray(x, dtype=np.float32)).numpy().ravel().astype(np.float64)

    # -- numbers -------------------------------------------------------------------------
    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Raw network logits for a stack of uint8/float crops of the input size."""
        x = np.asarray(crops, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if len(x) == 0:
            return np.zeros(0)
        if self.lite is not None:
            return self.lite(x)
        return self.keras_logits(x)

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated P(AI-generated) for a stack of crops."""
        return cal.calibrate(self.logits(crops), self.a, self.b)

    def verdict_for(self, p_ai: float) -> str:
        return cal.verdict(p_ai, self.band)

    # -- images --------------------------------------------------------------------------
    def regions(self, rgb: np.ndarray) -> tuple[list[Box | None], list[str]]:
        """Faces to analyse (or [None] for the centre square) and warnings about them."""
        faces = detect_faces(rgb, max_faces=MAX_FACES + 1)
        warnings = []
        if len(faces) > MAX_FACES:
            warnings.append(f"More than {MAX_FACES} faces: only the {MAX_FACES} clearest were analysed.")
            faces = faces[:MAX_FACES]
        if not faces:
            return [None], [NO_FACE_WARNING]
        small = [f for f in faces if max(f.w, f.h) < SMALL_FACE_PX]
        if small:
            warnings.append(f"{len(small)} face(s) smaller than {SMALL_FACE_PX} px: those verdicts are less reliable.")
        return list(faces), warnings

    def predict(self, image: ImageSource, explain: bool = False) -> Prediction:
        """Classify one image (bytes, path, file object, PIL image or array).

        Raises ``ImageError`` (with a short human message) for input it refuses.
        """
        return self.predict_batch([image], explain=explain, raise_errors=True)[0]

    def predict_batch(
        self, images: Sequence[ImageSource], explain: bool = False, raise_errors: bool = False
    ) -> list[Prediction | ImageError]:
        """Classify several images with one network call; bad inputs give their ``ImageError``."""
        t0 = time.perf_counter()
        decoded: list[tuple[np.ndarray, list[Box | None], list[str]] | ImageError] = []
        for image in images:
            try:
                rgb = load_image(image)
                faces, warnings = self.regions(rgb)
                decoded.append((rgb, faces, warnings))
            except ImageError as err:
                if raise_errors:
                    raise
                decoded.append(err)
        crops = [model_input(d[0], f, self.input_size) for d in decoded if not isinstance(d, ImageError) for f in d[1]]
        p_all = self.probabilities(np.stack(crops)) if crops else np.zeros(0)
        out: list[Prediction | ImageError] = []
        k = 0
        for d in decoded:
            if isinstance(d, ImageError):
                out.append(d)
                continue
            rgb, faces, warnings = d
            results = []
            for face in faces:
                p = float(p_all[k])
                heat = self.heatmap(crops[k]) if explain else None
                k += 1
                results.append(FaceResult(
                    box=face.as_list() if face else None,
                    crop=crop_box(face, rgb.shape).as_list(),
                    p_ai=p,
                    verdict=self.verdict_for(p),
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
        """Grad-CAM of the AI logit over one crop, resized to the crop, in [0, 1]."""
        from .explain import make_gradcam_heatmap, make_gradcam_model, upsample

        gradcam = self._once("gradcam", lambda: make_gradcam_model(self.model))
        return upsample(make_gradcam_heatmap(gradcam, crop), crop.shape[:2])


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


def _verified(model_dir: Path, name: str, checksum: str | None, verify: bool) -> Path:
    """The path of a file the card names, once it exists and (if ``verify``) matches its checksum."""
    path = model_dir / name
    if not path.is_file():
        raise ModelError(f"The model file {path.name} is missing; reinstall or retrain the model.")
    if verify and sha256_of(path) != checksum:
        raise ModelError(
            f"The model file {path.name} does not match the checksum in its card: it is corrupt or was replaced."
        )
    return path


def load_keras_model(model_dir: Path, card: dict, verify: bool = True):
    """The Keras model a card names, checksum-verified and loaded in safe mode (no code from the file)."""
    path = _verified(model_dir, card.get("model_file", "model.keras"), card.get("sha256"), verify)
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ModelError(f"The model file {path.name} could not be loaded ({type(exc).__name__}).") from None


def load_classifier(model_dir: str | Path | None = None, verify: bool = True) -> Classifier:
    """Load the model in ``model_dir`` (default: ``models/``) safely, checking its checksums.

    Verdicts come from the TensorFlow Lite copy when the card names one (faster on a CPU);
    the Keras model, which Grad-CAM needs, is then loaded on the first heatmap. Both files are
    checksum-verified here, before anything parses them.
    """
    model_dir = Path(model_dir or model_dir_default())
    card = load_card(model_dir)
    _verified(model_dir, card.get("model_file", "model.keras"), card.get("sha256"), verify)  # before any parsing
    if "lite_file" not in card:
        return Classifier(load_keras_model(model_dir, card, verify=False), card)  # verified just above
    lite_path = _verified(model_dir, card["lite_file"], card.get("lite_sha256"), verify)
    from .lite import LiteNetwork

    try:
        lite = LiteNetwork(lite_path.read_bytes())
    except Exception as exc:  # TensorFlow Lite raises ValueError/RuntimeError for a bad flatbuffer
        raise ModelError(f"The model file {lite_path.name} could not be loaded ({type(exc).__name__}).") from None
    return Classifier(None, card, lite, load_model=lambda: load_keras_model(model_dir, card, verify=False))
