"""The streamlit-aware part of gxapp: session helpers, widgets, forms and
Altair chart builders. Pages import from here; the science does not."""
