"""Sidebar navigation. Pages stay in Streamlit's file-based routing (so deep
links like /Data work); only the labels are ours, because the default
sidebar would call the home page "app"."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Data.py", "Data", ":material/dataset:"),
    ("pages/2_Train.py", "Train", ":material/model_training:"),
    ("pages/3_Interactions.py", "Interactions", ":material/hub:"),
    ("pages/4_Epistasis.py", "Epistasis", ":material/compare:"),
]


def sidebar() -> None:
    with st.sidebar:
        st.markdown("### gxapp")
        st.caption("gene–gene interactions with neural networks")
        for path, label, icon in PAGES:
            if (ROOT / path).exists():
                st.page_link(path, label=label, icon=icon)
    from gxapp.ui import compute_view

    compute_view.sidebar_panel()
