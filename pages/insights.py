"""Insights: the dataset, its shortcut risks, training, and the held-out evaluation, as charts."""

import io
from collections.abc import Callable

import cv2
import numpy as np
import pandas as pd
import streamlit as st

from classifier.dataset import data_dir, dataset_available, sample_images
from ui import charts, findings, state
from ui.state import dig, num, pct

state.ensure_navigation()

card, ev, ins = state.card(), state.evaluation(), state.insights()
STAMP = state.stamp()


@st.cache_data(show_spinner=False, max_entries=64)
def render(name: str, stamp: tuple, _build: Callable, _args: tuple) -> bytes | None:
    """PNG of one chart, drawn once per artefact version (``stamp``) rather than on every visit."""
    fig = _build(*_args)
    if fig is None:
        return None
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return buf.getvalue()


def show(name: str, build: Callable, *args, caption: str = "") -> None:
    """A chart with its caption, or a note when the artefact lacked what it needs."""
    png = render(name, STAMP, build, args)
    if png is None:
        st.info("Not available in the current artefacts.", icon=":material/info:")
        return
    st.image(png, width="stretch")
    if caption:
        st.caption(caption)


@st.cache_data(show_spinner="Loading sample images…", max_entries=2)
def samples(root: str) -> dict:
    """Two images per source, grouped by source (cached: the dataset does not change under us)."""
    out: dict = {}
    for r, img in sample_images(per_source=2, seed=1, data=root):
        out.setdefault((r.source, r.label), []).append(cv2.resize(img, (160, 160), interpolation=cv2.INTER_AREA))
    gap = np.full((160, 6, 3), 255, np.uint8)
    return {k: np.hstack([v[0], gap, v[1]]) if len(v) > 1 else v[0] for k, v in out.items()}


st.title("Insights")
st.markdown("What the model learned from, where it could cheat, and how it did on images it never saw.")

# -- dataset ---------------------------------------------------------------------------------------
st.header("The dataset")
sources = dig(card, "data", "sources", default=[])
if not sources:
    st.info("The model card is missing, so the dataset composition cannot be shown.", icon=":material/info:")
else:
    counts = findings.dataset_counts(card)
    c = st.columns(4)
    c[0].metric("Real photos", f"{counts['real']:,}")
    c[1].metric("AI images", f"{counts['ai']:,}")
    c[2].metric("Sources", counts["sources"])
    c[3].metric("AI generators", counts["generators"])
    show("composition", charts.composition, sources,
         caption=findings.composition_note(card) + " Green: real, red: AI. Splits are made per person or prompt, "
         "so near-duplicates never straddle train and test.")
    with st.expander("Sources, generators and licences"):
        st.dataframe(pd.DataFrame(sources), hide_index=True, width="stretch")

if dataset_available():
    st.subheader("Samples")
    st.caption("Two random images per source, read from the local dataset (never copied into the app).")
    groups = list(samples(str(data_dir())).items())
    for start in range(0, len(groups), 5):
        for col, ((source, label), pair) in zip(st.columns(5), groups[start:start + 5], strict=False):
            col.image(pair, width="stretch")
            col.caption(f"{source} ({'AI' if label == 'ai' else label})")
else:
    st.caption("Sample images appear here when the dataset is present locally (set `AIVR_DATA`).")

# -- shortcut risks ---------------------------------------------------------------------------------
st.header("Shortcut risks: image statistics per source")
if not ins:
    st.info("`models/insights.json` is missing: generate it with `python -m classifier.insights` "
            "(needs the dataset).", icon=":material/info:")
else:
    st.caption(f"Measured on {dig(ins, 'n_images', default='?')} images ({dig(ins, 'per_source', default='?')} "
               "per source). Look for a box that stands apart from the others of its class: that statistic alone "
               "could tell its source, and so its label.")
    show("image_stats", charts.image_stats, dig(ins, "sources", default=[]))
    for note in findings.shortcut_notes(ins, card):
        st.markdown(f"- {note}")

    st.subheader("Frequency spectrum: real vs AI")
    show("spectra", charts.spectra, dig(ins, "spectrum", default={}),
         caption="Each panel is the average 2-D Fourier spectrum (centre: coarse shapes, edges: fine detail). "
         "Look at the difference panel: red structure away from the centre is energy that generated images have "
         "and photographs lack.")
    show("radial", charts.radial, dig(ins, "radial", default={}), dig(ins, "sources", default=[]),
         caption=findings.spectrum_note(ins))

# -- training --------------------------------------------------------------------------------------
st.header("Training")
hist = dig(card, "training", "history", default={})
cfg = dig(card, "training", "config", default={})
arch, epochs, secs = (dig(card, "architecture", default="The network"), dig(cfg, "epochs", default="?"),
                      dig(card, "training", "seconds", default="?"))
show("history", charts.history, hist if isinstance(hist, dict) else {},
     caption=f"{arch} fine-tuned for {epochs} epoch(s) in {secs} s on CPU. Training numbers are on augmented images, "
     "so they can sit below validation; look for validation loss turning up (over-fitting).")

# -- evaluation ------------------------------------------------------------------------------------
st.header("Evaluation on the test split (the sources it trained on)")
o = dig(ev, "overall")
if not o:
    st.info("`evaluation.json` is not there yet: run `python -m classifier evaluate` to measure the model on the "
            "test split it never trained or tuned on.", icon=":material/info:")
else:
    m = st.columns(6)
    m[0].metric("Test images", dig(o, "n", default="—"))
    m[1].metric("ROC-AUC", num(dig(o, "roc_auc")))
    m[2].metric("Accuracy", pct(dig(o, "accuracy")))
    m[3].metric("Balanced acc.", pct(dig(o, "balanced_accuracy")))
    m[4].metric("Calibration error", num(dig(o, "ece")))
    m[5].metric("Uncertain", pct(dig(o, "uncertain_fraction"), 0))
    at_threshold = (f"A probability of at least {pct(dig(o, 'threshold'), 0)} counts as AI (the uncertain band is not "
                    "set apart here).")
    left, right = st.columns(2)
    with left:
        st.subheader("Confusion matrix")
        show("confusion", charts.confusion, dig(o, "confusion", default={}),
             caption=f"{at_threshold} The bottom-left cell is the costly one: real people called AI.")
    with right:
        st.subheader("ROC curve")
        show("roc", charts.roc, dig(ev, "roc", default={}), dig(o, "roc_auc"),
             caption="How many AI images are caught (up) for each share of real photos falsely flagged (right). "
             "The closer to the top-left corner, the better; the diagonal is guessing.")
    left, right = st.columns(2)
    with left:
        st.subheader("Reliability")
        show("reliability", charts.reliability, dig(ev, "reliability", default=[]),
             caption="When the model says 70 %, are 70 % of those images AI? Points on the diagonal mean the "
             "percentage can be taken at face value; the bars show how many images fell in each bin.")
    with right:
        st.subheader("Robustness")
        show("robustness", charts.robustness, dig(ev, "robustness", default=[]),
             caption="The same test images re-compressed, rescaled or turned gray, judged at the cut the app uses "
             "(for a heavily compressed file, the cut fitted on compressed validation photos). A bar as long as the "
             "clean one means the model does not rely on that property. The whiskers: where the change could land on "
             "another sample of the same sources (95 %, from resampling the test images).")
    left, right = st.columns(2)
    with left:
        st.subheader("Per source")
        show("per_source", charts.accuracy_bars, findings.source_rows(ev), "source",
             caption=f"Green: share of real photos called real; red: share of AI images called AI. {at_threshold}")
    with right:
        st.subheader("Per generator")
        show("per_generator", charts.accuracy_bars, dig(ev, "per_generator", default=[]), "generator",
             "roc_auc_vs_real", "AUC",
             caption="Which generators slip through. AUC compares each generator's images with all real test photos.")
    st.header("Generalisation: sources the model never saw")
    gen = findings.generalisation_rows(ev)
    if not gen:
        st.info("This model's evaluation has no held-out sources (it was trained on every source, or was evaluated "
                "before the protocol existed).", icon=":material/info:")
    else:
        held = dig(ev, "held_out", "sources", default={})
        st.markdown("Whole sources kept out of training and calibration, the source-held-out protocol: "
                    + "; ".join(f"`{k}` ({v})" for k, v in held.items()) + ".")
        st.caption(findings.held_out_provenance(ev))
        left, right = st.columns(2)
        with left:
            st.dataframe(pd.DataFrame(gen), hide_index=True, width="stretch")
        with right:
            show("held_out", charts.verdict_shares, dig(ev, "held_out", "groups", default=[]),
                 caption="What a user would be told about photos from sources the model never saw. Real families "
                 "should be green; the red part of a real family is the costly error.")
        for line in findings.generalisation_findings(ev):
            st.markdown(f"- {line}")
    if line := findings.group_photo_sentence(ev):
        st.markdown(line)
    folds = findings.family_fold_rows(state.family_folds())
    if folds:
        st.subheader("Family folds: whole generator families held out")
        st.dataframe(pd.DataFrame(folds), hide_index=True, width="stretch")
        st.caption("Research runs, not the shipped model: each holds out every source of a family (all GANs; "
                   "all FLUX) and that family's decoders, so it measures distance rather than kinship. A recipe is "
                   "judged on its worse fold. Details: docs/generalisation.md.")
    cands = dig(ev, "candidates", default=[])
    if cands:
        st.subheader("Candidates tried")
        st.dataframe(pd.DataFrame(cands), hide_index=True, width="stretch")
        st.caption("Every recipe tried, failures included. The selection rule looks at the held-out sources first "
                   "(the worst held-out family decides), then the worst validation source. The test split never "
                   "ranks: it only vetoes, passing over a model that misses a release limit there "
                   "(`release_gate_failed`).")
