"""The sidebar: which model is serving and how good it measured, read from its artefacts."""

from __future__ import annotations

import streamlit as st

from . import state
from .state import dig, num, pct


def model_summary() -> None:
    """Model name, version and headline metrics (validation from the card, test from evaluation.json)."""
    card = state.card()
    if card is None:
        st.warning(f"No model card in `{state.model_dir().name}/`: train or install a model.", icon=":material/error:")
        return
    st.markdown(f"**{dig(card, 'name', default='Model')}**")
    st.caption(f"version {dig(card, 'version', default='?')} · {dig(card, 'architecture', default='?')} · "
               f"{dig(card, 'input', 'size', default='?')} px input")
    val = dig(card, "validation", default={})
    st.markdown("Validation")
    c1, c2 = st.columns(2)
    c1.metric("ROC-AUC", num(dig(val, "roc_auc")))
    c2.metric("Bal. accuracy", pct(dig(val, "balanced_accuracy")))
    ev = dig(state.evaluation(), "overall")
    if ev:
        st.markdown(f"Test split ({dig(ev, 'n', default='?')} images)")
        c1, c2 = st.columns(2)
        c1.metric("ROC-AUC", num(dig(ev, "roc_auc")))
        c2.metric("Bal. accuracy", pct(dig(ev, "balanced_accuracy")))
        c1, c2 = st.columns(2)
        c1.metric("ECE", num(dig(ev, "ece")),
                  help="Expected calibration error: 0 means the percentages can be taken at face value.")
        c2.metric("Uncertain", pct(dig(ev, "uncertain_fraction"), 0),
                  help="Share of test images in the uncertain band.")
    else:
        st.caption("Test-split evaluation not found (run `python -m classifier evaluate`).")
    st.caption("Images are analysed in memory and never stored.")
