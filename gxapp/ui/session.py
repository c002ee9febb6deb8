"""Session helpers: which cohort is current, shared read-only cohort objects,
and the demo cohort that every page falls back to."""

from __future__ import annotations

import streamlit as st

from gxapp.analyses import cohorts
from gxapp.data.cohort import Cohort
from gxapp.errors import GxError

KEY = "cohort_key"


@st.cache_resource(max_entries=4, show_spinner=False)
def get_cohort(key: str) -> Cohort:
    """A cached cohort, shared read-only across sessions (never mutate it)."""
    return cohorts.open_cohort(key)


@st.cache_resource(show_spinner=False)
def _demo_key() -> str:
    return cohorts.demo().key


def current_key():
    return st.session_state.get(KEY)


def set_current(key: str) -> None:
    st.session_state[KEY] = key


def current_cohort(load_demo: bool = True):
    """(key, cohort) of the session's cohort; loads the demo on first use."""
    key = current_key()
    if key is not None and not cohorts.store().exists(key):
        key = None  # deleted meanwhile
    if key is None and load_demo:
        with st.spinner("Preparing the demo cohort (first start only: a few seconds)…"):
            key = _demo_key()
        set_current(key)
    if key is None:
        return None, None
    try:
        return key, get_cohort(key)
    except GxError as exc:
        st.error(f"The current cohort could not be opened: {exc}")
        st.session_state.pop(KEY, None)
        return None, None


def cohort_label(meta: dict) -> str:
    s = meta.get("summary", {})
    return (
        f"{meta.get('label') or meta.get('key', '')[:8]} — {s.get('n_samples', '?'):,} samples, "
        f"{s.get('n_snps', '?'):,} SNPs, {s.get('n_genes', '?')} genes"
    )
