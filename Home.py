"""Entry point: ``streamlit run Home.py``.

Sets up the page once, declares the pages (``st.navigation`` ignores the
automatic ``pages/`` discovery, so titles, icons and order are ours), puts the
model's identity and headline numbers in the sidebar, then runs the chosen page.
"""

import streamlit as st

from ui.sidebar import model_summary

st.set_page_config(page_title="AI vs Reality", page_icon=":material/face_retouching_off:", layout="wide",
                   initial_sidebar_state="expanded")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/prediction.py", title="Prediction", icon=":material/image_search:"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
    st.Page("pages/takeaways.py", title="Takeaways", icon=":material/lightbulb:"),
]

page = st.navigation(PAGES)
with st.sidebar:
    model_summary()
page.run()
