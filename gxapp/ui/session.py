"""Session helpers: which cohort is current, shared read-only cohort objects,
and the demo cohort that every page falls back to."""

from __future__ import annotations

import re
from typing import Optional

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


_KEY_RE = re.compile(r"^[0-9a-f]{32}$")  # a cache key; anything else in a URL is ignored


def from_url(name: str, exists) -> Optional[str]:
    """The cache key in the URL query ``?name=…`` when it is well formed and ``exists(key)``."""
    value = st.query_params.get(name)
    if value and _KEY_RE.match(str(value)) and exists(value):
        return str(value)
    return None


def to_url(name: str, key: Optional[str]) -> None:
    """Keep ``?name=key`` in the address bar (a reload or a shared link opens the same view)."""
    if key and st.query_params.get(name) != key:
        st.query_params[name] = key


def current_key():
    key = st.session_state.get(KEY)
    if key is None:  # a fresh session (reload, shared link): the URL says which cohort
        key = from_url("cohort", cohorts.store().exists)
        if key is not None:
            st.session_state[KEY] = key
    return key


def set_current(key: str) -> None:
    st.session_state[KEY] = key
    to_url("cohort", key)


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
    to_url("cohort", key)
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
