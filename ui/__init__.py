"""Streamlit glue shared by the pages: cached loading, result widgets, charts.

It lives outside ``pages/`` because every file there is a page, and outside
``classifier/`` because the classifier must not depend on Streamlit.
"""
