"""Sidebar navigation. Pages stay in Streamlit's file-based routing (so deep
links like /Data work); only the labels are ours, because the default
sidebar would call the home page "app"."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ("app.py", "Home", "🏠"),
    ("pages/1_Data.py", "Data", "📊"),
    ("pages/2_Train.py", "Train", "🏋️"),
    ("pages/3_Interactions.py", "Interactions", "🔗"),
    ("pages/4_Epistasis.py", "Epistasis", "🧪"),
]


def sidebar() -> None:
    with st.sidebar:
        st.markdown("### 🧬 gxapp")
        for path, label, icon in PAGES:
            if (ROOT / path).exists():
                st.page_link(path, label=label, icon=icon)
