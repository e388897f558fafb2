"""Analyse uploads and show the results: the Prediction page's building blocks.

Uploads are analysed in memory only. A finished analysis is kept in the
session's own state (keyed by the upload's id and the heatmap switch) so that
flipping a widget does not re-run the network; it disappears with the session
and is pruned as soon as the file is removed from the uploader. Nothing is
written to disk or logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from classifier import VERDICT_COLOURS, VERDICT_LABELS, Classifier, ImageError, Prediction, annotate, load_image

from .state import band_sentence, md_escape, pct

DISPLAY_MAX_SIDE = 1280  # the annotated picture is shown (and kept) no larger than this
GENERIC_ERROR = "This file could not be analysed because of an unexpected problem. The other files are unaffected."
WEBCAM_CAVEAT = ("Webcam frames are soft, noisy and compressed, unlike the portraits the model learned from: "
                 "treat a webcam verdict as a demonstration, not a measurement.")
PROOF_CAVEAT = "No detector is proof. A verdict is evidence to weigh, never a reason on its own to accuse anyone."
_CACHE_KEY = "_aivr_outcomes"


@dataclass
class Outcome:
    """One file's result: a prediction and its annotated picture, or an error message."""

    name: str
    prediction: Prediction | None = None
    picture: np.ndarray | None = None
    error: str | None = None


def analyse(clf: Classifier, name: str, data: bytes, explain: bool) -> Outcome:
    """Decode, predict and draw one upload; never raises."""
    try:
        rgb = load_image(data)
        pred = clf.predict(rgb, explain=explain)
        picture = annotate(rgb, pred, heatmaps=explain)
        return Outcome(name, pred, _shrink(picture))
    except ImageError as err:
        return Outcome(name, error=err.message)
    except Exception:  # a bug or an odd file: a short message, never a traceback
        return Outcome(name, error=GENERIC_ERROR)


def _shrink(rgb: np.ndarray) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    scale = DISPLAY_MAX_SIDE / max(h, w)
    if scale >= 1:
        return rgb
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def analyse_uploads(clf: Classifier, files: Sequence, explain: bool, scope: str,
                    progress: Callable[[int, int, str], None] | None = None) -> list[Outcome]:
    """Outcomes for Streamlit ``UploadedFile`` objects, reusing this session's earlier results.

    ``scope`` separates widgets (uploader vs camera) so pruning one does not drop the other's results.
    """
    cache: dict = st.session_state.setdefault(_CACHE_KEY, {})
    keys = [(scope, getattr(f, "file_id", None) or f"{f.name}:{f.size}", explain) for f in files]
    for k in [k for k in cache if k[0] == scope and k not in keys]:
        del cache[k]  # the user removed the file (or flipped the switch): forget it
    out = []
    for i, (f, key) in enumerate(zip(files, keys, strict=True)):
        if progress:
            progress(i, len(files), f.name)
        if key not in cache:
            cache[key] = analyse(clf, f.name, f.getvalue(), explain)
        out.append(cache[key])
    if progress:
        progress(len(files), len(files), "")
    return out


# -- showing results ---------------------------------------------------------------------------
def verdict_badge(verdict: str) -> str:
    r, g, b = VERDICT_COLOURS[verdict]
    return (f"<span style='background:rgb({r},{g},{b});color:#fff;padding:0.15em 0.7em;border-radius:0.5em;"
            f"font-weight:700;font-size:1.35em'>{VERDICT_LABELS[verdict]}</span>")


def show_outcome(outcome: Outcome, card: dict | None, webcam: bool = False) -> None:
    """The picture with boxes beside the verdict, probability meter, faces, warnings and caveats."""
    if outcome.error:
        st.error(f"**{md_escape(outcome.name)}**: {outcome.error}")
        return
    pred = outcome.prediction
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.image(outcome.picture, caption=outcome.name, output_format="JPEG", width="stretch")
        if any(f.heatmap is not None for f in pred.faces):
            st.caption("Heatmap (Grad-CAM): warm colours mark the regions that pushed the model towards "
                       "'AI-generated'; blue ones did not. Coarse, and a hint rather than an explanation.")
    with right:
        st.markdown(f"{verdict_badge(pred.verdict)}&nbsp; **{pct(pred.p_ai)}** chance of AI generation",
                    unsafe_allow_html=True)
        st.progress(float(np.clip(pred.p_ai, 0, 1)), text=f"Calibrated probability of AI generation: {pct(pred.p_ai)}")
        if len(pred.faces) > 1:
            st.markdown(f"**{len(pred.faces)} faces**: the most AI-like one decides the verdict.")
            st.dataframe(faces_frame(pred), hide_index=True, width="stretch",
                         column_config={"P(AI)": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                                                 max_value=1)})
        for w in pred.warnings:
            st.warning(w, icon=":material/warning:")
        if pred.verdict == "uncertain":
            st.caption(band_sentence(card))
        if webcam:
            st.caption(WEBCAM_CAVEAT)
        st.caption(PROOF_CAVEAT)
        st.caption(f"{pred.width}×{pred.height} px, analysed in {pred.seconds * 1000:.0f} ms.")


def faces_frame(pred: Prediction) -> pd.DataFrame:
    return pd.DataFrame([{"Face": i, "Verdict": VERDICT_LABELS[f.verdict], "P(AI)": round(f.p_ai, 4),
                          "Detector score": None if f.detector_score is None else round(f.detector_score, 2)}
                         for i, f in enumerate(pred.faces, 1)])


def results_frame(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """One row per file, for the sortable table and the CSV download."""
    rows = []
    for o in outcomes:
        p = o.prediction
        rows.append({
            "File": o.name,
            "Verdict": VERDICT_LABELS[p.verdict] if p else "Error",
            "P(AI)": round(p.p_ai, 4) if p else None,
            "Faces": len(p.faces) if p else 0,
            "Width": p.width if p else None,
            "Height": p.height if p else None,
            "Notes": "; ".join(p.warnings) if p else o.error,
        })
    return pd.DataFrame(rows, columns=["File", "Verdict", "P(AI)", "Faces", "Width", "Height", "Notes"])


def results_json(outcomes: Sequence[Outcome]) -> str:
    """The same results as JSON, with the per-face detail (keys as in the CLI's ``--json``)."""
    rows = [{"file": o.name, **o.prediction.to_dict(), "error": None} if o.prediction
            else {"file": o.name, "verdict": None, "p_ai": None, "faces": [], "warnings": [], "error": o.error}
            for o in outcomes]
    return json.dumps(rows, indent=1)


def show_table(outcomes: Sequence[Outcome]) -> None:
    """Sortable table of every file plus CSV and JSON downloads (which do not rerun the app)."""
    df = results_frame(outcomes)
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={"P(AI)": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
                                "Notes": st.column_config.TextColumn(width="large")})
    row = st.container(horizontal=True)
    row.download_button("Download CSV", df.to_csv(index=False), "ai-vs-reality-results.csv", "text/csv",
                       on_click="ignore", icon=":material/download:")
    row.download_button("Download JSON", results_json(outcomes), "ai-vs-reality-results.json", "application/json",
                       on_click="ignore", icon=":material/download:")
