"""One image's result as a row: the shapes the CLI, the HTTP API and both scan engines write.

Every output goes through these pure functions so the shapes cannot drift apart:
``result_row`` is the ``predict --json`` contract (design.md) and the HTTP API's result object;
``scan_row`` is its flat form, one CSV or Parquet row per image.
"""

from __future__ import annotations

from typing import Any

from .errors import ClassifierError

SCAN_COLUMNS = ("path", "verdict", "p_ai", "faces", "warnings", "error", "provenance")


def predict_one(clf, source) -> tuple[Any, str | None]:
    """``(Prediction, None)`` or ``(None, message)``: a bad input never stops a run of many.

    One image at a time on purpose: ``predict_batch`` keeps every decoded image of its batch in
    memory until the last is done, and a batch of 50 MP photos would hold gigabytes.
    """
    try:
        return clf.predict(source), None
    except ClassifierError as err:
        return None, err.message
    except Exception as err:  # the run goes on; say what broke without a traceback or a path
        return None, f"unexpected error: {type(err).__name__}"


def result_row(path: str, pred=None, error: str | None = None) -> dict:
    """``{"path", "verdict", "p_ai", "faces", "warnings", "width", "height", "pixel_verdict", "provenance",
    "error"}`` for one input (``provenance``: ``{"claim", "evidence"}``, see ``classifier.provenance``)."""
    if pred is None:
        return {"path": path, "verdict": None, "p_ai": None, "faces": [], "warnings": [], "width": None,
                "height": None, "pixel_verdict": None, "provenance": {"claim": None, "evidence": []}, "error": error}
    return {"path": path, **pred.to_dict(), "error": None}


def scan_row(path: str, pred=None, error: str | None = None) -> dict:
    """The flat row of ``SCAN_COLUMNS``: face count instead of faces, warnings joined by "; ", and the
    provenance claim alone ("ai", "ai-edited", "capture" or empty)."""
    row = result_row(path, pred, error)
    return {"path": row["path"], "verdict": row["verdict"], "p_ai": row["p_ai"], "faces": len(row["faces"]),
            "warnings": "; ".join(row["warnings"]), "error": row["error"], "provenance": row["provenance"]["claim"]}
