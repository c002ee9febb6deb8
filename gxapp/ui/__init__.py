"""The streamlit-aware part of gxapp: session helpers, widgets and forms (the
chart builders they draw are in gxapp.plots). Pages import from here; the science does not."""
