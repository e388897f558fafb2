"""AI vs Reality: tell a real portrait photograph from an AI-generated one.

    from classifier import load_classifier
    clf = load_classifier()
    result = clf.predict("photo.jpg")
    result.verdict, result.p_ai, result.faces, result.warnings
    result.provenance.claim, result.pixel_verdict  # what the file declares; the pixels' verdict alone
"""

from .errors import ClassifierError, ImageError, ModelError
from .images import UPLOAD_EXTENSIONS, load_image
from .limits import MAX_FACES, MAX_PIXELS, MAX_UPLOAD_BYTES, MAX_UPLOAD_MB, SMALL_FACE_PX
from .predictor import Classifier, FaceResult, Prediction, load_card, load_classifier
from .render import VERDICT_COLOURS, VERDICT_LABELS, annotate

__all__ = [
    "MAX_FACES",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_MB",
    "SMALL_FACE_PX",
    "UPLOAD_EXTENSIONS",
    "Classifier",
    "ClassifierError",
    "FaceResult",
    "ImageError",
    "ModelError",
    "Prediction",
    "VERDICT_COLOURS",
    "VERDICT_LABELS",
    "annotate",
    "load_card",
    "load_classifier",
    "load_image",
]
