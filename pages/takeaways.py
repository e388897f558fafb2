"""Takeaways: what the numbers say, what the model cannot do, and how to use it responsibly."""

import streamlit as st

from ui import findings, state
from ui.state import dig

state.ensure_navigation()

card, ev, ins = state.card(), state.evaluation(), state.insights()

st.title("Takeaways")

st.header("What we found")
found = findings.evaluation_findings(ev, card)
if found:
    for line in found:
        st.markdown(f"- {line}")
else:
    st.info("The held-out evaluation (`evaluation.json`) is not available yet; run `python -m classifier evaluate`.",
            icon=":material/info:")
    if dig(card, "validation"):
        st.markdown(f"- {state.band_sentence(card)}")
gen = findings.generalisation_rows(ev)
if gen:
    st.subheader("Sources it never saw")
    st.markdown("The numbers above are on the model's own sources. On whole sources kept out of training "
                "(the held-out protocol) it does this:")
    st.table(gen)
    st.caption(findings.held_out_provenance(ev))
    for line in findings.generalisation_findings(ev):
        st.markdown(f"- {line}")
notes = findings.shortcut_notes(ins, card)
spec = findings.spectrum_note(ins)
if notes or spec:
    st.subheader("The data can cheat")
    comp = findings.composition_note(card)
    for line in ([comp] if comp else []) + notes + ([spec] if spec else []):
        st.markdown(f"- {line}")
st.page_link("pages/insights.py", label="See the charts on the Insights page", icon=":material/insights:")

st.header("What the model cannot do")
limits = [x for x in dig(card, "known_limits", default=[]) if isinstance(x, str)]
general = [
    "**Unseen generators.** It learned from the generators in its training data; a new model or a new version can "
    "fool it, and per-generator accuracy on the Insights page shows how unevenly even known ones are caught.",
    "**Heavy edits.** Retouching, beauty filters, face swaps, inpainting or a generated background around a real "
    "face are not what it was trained to recognise.",
    "**Non-portraits.** Landscapes, objects, drawings, screenshots of screens: with no face found it analyses the "
    "image centre and says so, but the answer means little.",
]
for line in general + limits:
    st.markdown(f"- {line}")

st.header("Responsible use")
st.markdown(
    "- Treat a verdict as **one piece of evidence**. Look for provenance, context, metadata and the original source.\n"
    "- **Never accuse anyone on its word alone.** Real people's photos are sometimes called AI, and the cost of "
    "that error falls on them.\n"
    "- *Uncertain* means *no answer*. Do not round it up or down.\n"
    "- Uploads are analysed in memory and never stored; do not upload images you have no right to process."
)

st.header("What would make it better")
st.markdown(
    "- **More generators and fresher ones**, each from more than one source, so generator and source are no longer "
    "the same thing.\n"
    "- **Real photos that look like the app's inputs**: phone and webcam pictures, social-media re-compressions, "
    "so the model meets them in training rather than only through augmentation.\n"
    "- **Generator images at the size they were made.** A generator's own traces (a latent decoder's 8 px pattern, "
    "a GAN's up-sampling) survive only there; the AI images here were shrunk about 4x, which erases them, so the "
    "model learns each generator's *look*, and a new generator has a new look. Matched pairs (real photos "
    "round-tripped through five latent-diffusion decoders, or redrawn by a GAN up-sampler) did not help on such "
    "shrunk images (docs/generalisation.md).\n"
    "- **A local branch beside the whole-face network.** A network cut short, whose outputs each see a patch, ranked "
    "GAN faces it never trained on far better than the whole-face one (ROC-AUC 0.87-0.92 against 0.29-0.46 in the "
    "no-GAN fold), but it calls clean studio portraits AI; it needs a fusion rule and clean real photos before it "
    "can ship (docs/generalisation.md).\n"
    "- **A larger input and a bigger backbone**, trained longer on a GPU, and an ensemble with a frequency-domain "
    "detector.\n"
    "- **Provenance signals** (C2PA content credentials, watermarks) where they exist: they answer the question "
    "directly rather than by inference."
)
