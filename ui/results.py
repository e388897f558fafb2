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
from classifier.provenance import decide

from .state import band_sentence, md_escape, pct

DISPLAY_MAX_SIDE = 1280  # the annotated picture is shown (and kept) no larger than this
GENERIC_ERROR = "This file could not be analysed because of an unexpected problem. The other files are unaffected."
WEBCAM_CAVEAT = ("Webcam frames are soft, noisy and compressed, unlike the portraits the model learned from: "
                 "treat a webcam verdict as a demonstration, not a measurement.")
PROOF_CAVEAT = "No detector is proof. A verdict is evidence to weigh, never a reason on its own to accuse anyone."
NO_PROVENANCE = ("The file declares nothing about where it came from. That proves nothing: most platforms and "
                 "messaging apps strip metadata, and screenshots never had any.")
CLAIM_SENTENCES = {
    "ai": "The file **declares it was AI-generated**, so the verdict is *AI-generated* whatever the pixels say.",
    "ai-edited": "The file **declares it was edited with AI**, so the verdict is *AI-generated* (edited with AI) "
                 "whatever the pixels say.",
    "capture": "The file **claims a camera capture**. That never makes a verdict *Real* on its own (metadata is "
               "easy to copy or forge): the verdict above is the pixels'.",
}
KIND_LABELS = {"c2pa": "Content Credentials (C2PA)", "iptc": "IPTC source type", "metadata": "Generator metadata",
               "watermark": "Invisible watermark", "exif": "Camera EXIF"}
TRUST_LABELS = {True: "signature valid, signer trusted", False: "signature not trusted", None: "unsigned"}
CLAIM_LABELS = {"ai": "AI-generated", "ai-edited": "edited with AI", "capture": "capture", None: "no claim"}
TABLE_CLAIMS = {"ai": "declares AI", "ai-edited": "declares AI edit", "capture": "claims capture", None: "—"}
_CACHE_KEY = "_aivr_outcomes"


@dataclass
class Outcome:
    """One file's result: a prediction and its annotated picture, or an error message."""

    name: str
    prediction: Prediction | None = None
    picture: np.ndarray | None = None
    error: str | None = None


def analyse(clf: Classifier, name: str, data: bytes, explain: bool) -> Outcome:
    """Decode, predict and draw one upload; never raises. The bytes themselves are predicted, so that what
    the file declares (``classifier.provenance``) is read as well as its pixels."""
    try:
        pred = clf.predict(data, explain=explain)
        rgb = load_image(data)
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
        if pred.provenance.declares_ai:
            pixels = VERDICT_LABELS[pred.pixel_verdict or pred.verdict].lower()
            st.markdown(f"{verdict_badge(pred.verdict)}&nbsp; declared by the file; the pixels alone give "
                        f"**{pct(pred.p_ai)}** chance of AI generation ({pixels})", unsafe_allow_html=True)
        else:
            st.markdown(f"{verdict_badge(pred.verdict)}&nbsp; **{pct(pred.p_ai)}** chance of AI generation",
                        unsafe_allow_html=True)
        st.progress(float(np.clip(pred.p_ai, 0, 1)), text=f"Calibrated probability of AI generation: {pct(pred.p_ai)}")
        if len(pred.faces) > 1:
            st.markdown(f"**{len(pred.faces)} faces**: the most AI-like one decides the verdict.")
            st.dataframe(faces_frame(pred), hide_index=True, width="stretch",
                         column_config={"P(AI)": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                                                 max_value=1)})
        notes = provenance_notes(pred)
        for w in pred.warnings:
            if w not in notes:
                st.warning(w, icon=":material/warning:")
        show_provenance(pred, notes)
        if pred.verdict == "uncertain":
            st.caption(band_sentence(card))
        if webcam:
            st.caption(WEBCAM_CAVEAT)
        st.caption(PROOF_CAVEAT)
        st.caption(f"{pred.width}×{pred.height} px, analysed in {pred.seconds * 1000:.0f} ms.")


def provenance_notes(pred: Prediction) -> list[str]:
    """The sentences ``decide`` added to the warnings: shown in the Provenance part, not twice."""
    return decide(pred.pixel_verdict or pred.verdict, pred.p_ai, pred.provenance)[1]


def show_provenance(pred: Prediction, notes: Sequence[str] = ()) -> None:
    """The compact "Provenance" part: what the file declares, from which evidence, trusted or not."""
    prov = pred.provenance
    with st.container(border=True):
        st.markdown("**Provenance**: what the file itself declares")
        if not prov.evidence:
            st.caption(NO_PROVENANCE)
            return
        if prov.claim in CLAIM_SENTENCES:
            st.markdown(CLAIM_SENTENCES[prov.claim])
        for e in prov.evidence:
            trust = "not checked" if e.kind == "c2pa" and e.trusted is None else TRUST_LABELS[e.trusted]
            st.caption(f"**{KIND_LABELS.get(e.kind, e.kind)}** ({CLAIM_LABELS.get(e.claim, e.claim)}; {trust}): "
                       f"{md_escape(e.detail)}")
        conflict = [n for n in notes if n not in prov.warnings] if prov.claim == "capture" else []
        for note in [*conflict, *prov.warnings]:  # a declaration's own sentence is the one above
            st.warning(note, icon=":material/warning:")


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
            "Provenance": TABLE_CLAIMS[p.provenance.claim] if p else None,
            "Faces": len(p.faces) if p else 0,
            "Width": p.width if p else None,
            "Height": p.height if p else None,
            "Notes": "; ".join(p.warnings) if p else o.error,
        })
    return pd.DataFrame(rows, columns=["File", "Verdict", "P(AI)", "Provenance", "Faces", "Width", "Height", "Notes"])


def results_json(outcomes: Sequence[Outcome]) -> str:
    """The same results as JSON, with the per-face detail (keys as in the CLI's ``--json``)."""
    rows = [{"file": o.name, **o.prediction.to_dict(), "error": None} if o.prediction
            else {"file": o.name, "verdict": None, "p_ai": None, "faces": [], "warnings": [], "pixel_verdict": None,
                  "provenance": {"claim": None, "evidence": []}, "error": o.error}
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
