"""The sidebar: which model is serving and how good it measured, read from its artefacts.

Sources the model never saw come first: the validation and test splits share their sources with training, so
their 0.99+ figures read as real-world accuracy when they are not (issue 44).
"""

from __future__ import annotations

import streamlit as st

from . import state
from .findings import held_out_headline
from .state import dig, num, pct


def model_summary() -> None:
    """Model name and version, then the held-out figures, then the test split, then validation."""
    card = state.card()
    if card is None:
        st.warning(f"No model card in `{state.model_dir().name}/`: train or install a model.", icon=":material/error:")
        return
    st.markdown(f"**{dig(card, 'name', default='Model')}**")
    st.caption(f"version {dig(card, 'version', default='?')} · {dig(card, 'architecture', default='?')} · "
               f"{dig(card, 'input', 'size', default='?')} px input")
    ev = state.evaluation()
    held = held_out_headline(ev, card)
    if held:
        st.markdown(f"On sources it never saw ({held['families']} families)")
        c1, c2 = st.columns(2)
        if held["ai_called_real"]:
            group, share = held["ai_called_real"]
            c1.metric("AI called real", pct(share, 0), help=f"The worst unseen generator family: {group}.")
        if held["real_called_ai"]:
            group, share = held["real_called_ai"]
            c2.metric("Real called AI", pct(share, 1), help=f"The worst unseen real source: {group}.")
    overall = dig(ev, "overall")
    if overall:
        st.markdown(f"Test split, sources it trained on ({dig(overall, 'n', default='?')} images)")
        c1, c2 = st.columns(2)
        c1.metric("ROC-AUC", num(dig(overall, "roc_auc")))
        c2.metric("Bal. accuracy", pct(dig(overall, "balanced_accuracy")))
        c1, c2 = st.columns(2)
        c1.metric("ECE", num(dig(overall, "ece")),
                  help="Expected calibration error: 0 means the percentages can be taken at face value.")
        c2.metric("Uncertain", pct(dig(overall, "uncertain_fraction"), 0),
                  help="Share of test images in the uncertain band.")
    else:
        st.caption("Test-split evaluation not found (run `python -m classifier evaluate`).")
    val = dig(card, "validation", default={})
    st.caption(f"Validation (used to set the threshold): ROC-AUC {num(dig(val, 'roc_auc'))}, balanced accuracy "
               f"{pct(dig(val, 'balanced_accuracy'))}.")
    st.caption("Images are analysed in memory and never stored.")
