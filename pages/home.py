"""Home: what the app does, how to use it, what a verdict means."""

import streamlit as st

from classifier import SMALL_FACE_PX
from classifier.images import FORMAT_NAMES
from ui import findings, state
from ui.state import dig, num, pct

state.ensure_navigation()

card = state.card()

st.title("AI vs Reality")
st.markdown("#### Is this portrait a photograph of a real person, or was it made by an image generator?")
st.markdown(
    "Upload a portrait (or take a webcam snapshot) and the app finds each face, asks a neural network trained on "
    "real photographs and on images from GANs and diffusion models, and answers with a **calibrated probability**, "
    "a **verdict**, and a **heatmap** of the regions that drove it."
)

st.subheader("How to use it")
c1, c2, c3 = st.columns(3)
with c1.container(border=True):
    st.markdown("**1. Bring a portrait**")
    st.caption(f"{FORMAT_NAMES}: one or many at once, or a webcam snapshot.")
with c2.container(border=True):
    st.markdown("**2. Read the verdict**")
    st.caption("Each face is boxed in the verdict's colour, with the probability that it is AI-generated.")
with c3.container(border=True):
    st.markdown("**3. Weigh it**")
    st.caption("Switch on the heatmap to see what the model looked at, and read the caveats beside the result.")
st.page_link("pages/prediction.py", label="Try it on the Prediction page", icon=":material/image_search:")

st.subheader("What the file says about itself")
st.markdown(
    "Beside the pixels, the app reads what the file declares: signed Content Credentials (C2PA), the IPTC source "
    "type, generator settings, Stable Diffusion's invisible watermark and camera EXIF. A file that declares it was "
    "made or edited by AI is called AI-generated whatever its pixels say, while a camera claim is only shown beside "
    "the verdict, and a file without metadata proves nothing, since most platforms strip it."
)

st.subheader("What the verdict means")
v1, v2, v3 = st.columns(3)
v1.markdown(":red-background[**AI-generated**]  \nThe model is confident the face was synthesised.")
v2.markdown(":orange-background[**Uncertain**]  \nThe evidence is mixed, the face is under "
            f"{SMALL_FACE_PX} px (too small to judge), or it looks unlike anything the model learned from (a "
            "wider band applies): treat it as *no answer*.")
v3.markdown(":green-background[**Real**]  \nThe model finds no sign of generation.")
st.markdown(state.band_sentence(card))

st.subheader("How well it works")
ev = state.evaluation()
held = findings.held_out_sentence(ev, card)
if held:
    st.markdown("**On sources it never saw**, which is what a photo from anywhere else is: " + held)
    st.dataframe(findings.generalisation_rows(ev, card), hide_index=True, width="stretch")
else:
    st.caption("This model has not been measured on sources it never saw (`python -m classifier evaluate`).")
overall = dig(ev, "overall")
if overall:
    st.markdown(
        f"**On the sources it trained on** (the test split: {dig(overall, 'n', default='?')} images it never trained "
        f"or tuned on, from the same cameras and generators): ROC-AUC {num(dig(overall, 'roc_auc'))}, balanced "
        f"accuracy {pct(dig(overall, 'balanced_accuracy'))}, real photos called AI "
        f"{pct(dig(overall, 'real_called_ai'))}. Expect the first figures, not these, on a new generator."
    )
if card:
    st.caption(
        f"Validation, which set the threshold: ROC-AUC {num(dig(card, 'validation', 'roc_auc'))}, balanced accuracy "
        f"{pct(dig(card, 'validation', 'balanced_accuracy'))}; "
        f"{pct(dig(card, 'validation', 'uncertain_fraction'), 0)} of its images fell in the uncertain band."
    )
st.info(
    "A verdict is evidence, not proof. New generators, heavy editing, filters, screenshots and webcam frames all "
    "make the model less reliable. Never use it alone to accuse anyone.",
    icon=":material/info:",
)

st.subheader("Explore")
e1, e2 = st.columns(2)
with e1:
    st.page_link("pages/insights.py", label="Insights", icon=":material/insights:")
    st.caption("The dataset, its shortcut risks, and how the model was evaluated: ROC, calibration, robustness.")
with e2:
    st.page_link("pages/takeaways.py", label="Takeaways", icon=":material/lightbulb:")
    st.caption("What we learned, what the model cannot do, and how to use it responsibly.")

st.caption("Privacy: images are analysed in memory on this server and never stored or logged.")
