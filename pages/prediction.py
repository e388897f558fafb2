"""Prediction: upload portraits or take a webcam snapshot, get a calibrated verdict per face."""

import streamlit as st

from classifier import MAX_UPLOAD_MB, UPLOAD_EXTENSIONS
from ui import state
from ui.results import analyse_uploads, show_outcome, show_table
from ui.state import md_escape

state.ensure_navigation()

st.title("Prediction")
st.caption("Images are analysed in memory and never stored or logged; they are forgotten when you leave.")

clf, problem = state.get_classifier()
if clf is None:
    st.error(f"The model is not available: {problem}", icon=":material/error:")
    st.stop()
card = clf.card

explain = st.toggle("Show heatmaps", value=False,
                    help="Grad-CAM: tints each face by how strongly each region pushed the model towards "
                         "'AI-generated'. Coarse, and it takes a little longer.")
with st.expander("How to read the result"):
    st.markdown(state.band_sentence(card))
    st.markdown(
        "- The percentage is a **calibrated probability**: among validation images given about 80 %, about 80 % "
        "were AI-generated.\n"
        "- When there are several faces, each gets its own box and number; the most AI-like face decides.\n"
        "- Webcam frames, heavy JPEG compression, filters, screenshots and tiny faces lower reliability. A file "
        "saved at low JPEG quality, or a face enlarged from a small picture, gets a wider *uncertain* band and a "
        "warning, and is judged by the cut and band fitted on validation photos put in that condition: a small "
        "real photo is then often *uncertain* rather than *real*, because there the score alone cannot tell.\n"
        "- Generators the model never saw can fool it. **No detector is proof.**"
    )
    st.markdown(
        "**Provenance: what the file itself declares.** Beside the pixels, the app reads signed Content Credentials "
        "(C2PA), the IPTC digital source type, generator parameters (AUTOMATIC1111/Forge, ComfyUI, InvokeAI, "
        "NovelAI), the invisible Stable Diffusion watermark and camera EXIF.\n"
        "- A file that **declares AI generation** is called *AI-generated* whatever the pixels say, even when its "
        "signature cannot be trusted (nobody labels a real photo AI by accident); the pixel probability is still "
        "shown, and the reason says where the declaration came from.\n"
        "- A file that **declares an AI edit** (a composite, inpainting) is also called *AI-generated*, with "
        "\"edited with AI\" in the reason: it is not a faithful photograph either.\n"
        "- A **camera claim never makes a verdict *Real***: it is shown beside the pixel verdict, and flagged when "
        "the pixels look AI-generated.\n"
        "- Content Credentials whose signature fails, or whose image changed after signing, get a warning.\n"
        "- **No metadata proves nothing**: most platforms strip it."
    )

upload_tab, webcam_tab = st.tabs(["Upload", "Webcam"])

with upload_tab:
    files = st.file_uploader(
        "Portrait images", type=list(UPLOAD_EXTENSIONS), accept_multiple_files=True, max_upload_size=MAX_UPLOAD_MB,
        help=f"JPEG, PNG, WebP, HEIC, AVIF, BMP, TIFF or GIF (first frame), up to {MAX_UPLOAD_MB} MB each.",
    )
    if files and len(files) == 1:
        show_outcome(analyse_uploads(clf, files, explain, "upload")[0], card)
    elif files:
        with st.status(f"Analysing {len(files)} images…", expanded=False) as status:
            bar = st.progress(0.0)

            def report(i: int, n: int, name: str) -> None:
                bar.progress(i / n, text=f"{i} of {n} done" + (f": now {name}" if name else ""))

            outcomes = analyse_uploads(clf, files, explain, "upload", report)
            failed = sum(o.error is not None for o in outcomes)
            status.update(label=f"Analysed {len(files)} images" + (f" ({failed} could not be read)" if failed else ""),
                          state="error" if failed == len(files) else "complete")
        show_table(outcomes)
        for o in outcomes:
            if o.error:
                show_outcome(o, card)
        for o in outcomes:
            if not o.error:
                with st.expander(md_escape(o.name), expanded=len(outcomes) <= 3):
                    show_outcome(o, card)

with webcam_tab:
    st.caption("Your browser asks for camera access; the snapshot goes only to this server's memory.")
    shot = st.camera_input("Take a snapshot", width=520)
    if shot is not None:
        show_outcome(analyse_uploads(clf, [shot], explain, "webcam")[0], card, webcam=True)
