"""Shared widgets: error display, progress bars wired to library callbacks,
and the cohort summary card."""

from __future__ import annotations

import logging
import traceback
from contextlib import contextmanager
from typing import Optional

import pandas as pd
import streamlit as st

from gxapp.data.cohort import Cohort
from gxapp.errors import Cancelled, GxError

log = logging.getLogger("gxapp.ui")


@contextmanager
def user_errors(what: str = "That"):
    """Show library errors as a message, never as a traceback; the page goes on."""
    try:
        yield
    except Cancelled:
        st.warning(f"{what} was cancelled.")
    except GxError as exc:
        st.error(str(exc), icon=":material/error:")
    except MemoryError:
        st.error(f"{what} ran out of memory: use fewer samples, SNPs or genes.", icon=":material/error:")
    except Exception as exc:  # unexpected: keep the app usable, log the trace for developers
        log.error("unexpected error\n%s", traceback.format_exc())
        st.error(
            f"{what} failed unexpectedly ({type(exc).__name__}: {exc}). "
            f"The app is still usable; details are in the server log.",
            icon=":material/error:",
        )


def progress_bar(label: str):
    """A ``progress(fraction, message)`` callback drawing a Streamlit progress bar."""
    bar = st.progress(0.0, text=label)

    def update(fraction: float, message: str = "") -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"{label}: {message}" if message else label)

    return bar, update


def cohort_metrics(cohort: Cohort) -> None:
    s = cohort.summary()
    cols = st.columns(5)
    cols[0].metric("Samples", f"{s['n_samples']:,}")
    cols[1].metric("SNPs", f"{s['n_snps']:,}")
    cols[2].metric("Genes", f"{s['n_genes']:,}")
    if s["trait"] == "binary":
        cols[3].metric("Cases / controls", f"{s.get('n_cases', 0):,} / {s.get('n_controls', 0):,}")
    else:
        cols[3].metric("With phenotype", "—" if s["n_with_phenotype"] is None else f"{s['n_with_phenotype']:,}")
    truth = cohort.truth or {}
    cols[4].metric(
        "Planted pairs",
        len(truth.get("pairs", [])) if cohort.truth else "—",
        help="Gene pairs with a simulated interaction (known truth, for scoring methods).",
    )


def chart_with_downloads(chart, name: str, container=None) -> None:
    """Draw an Altair chart with SVG and PNG download buttons (rendered on click)."""
    from gxapp.plots import to_png, to_svg

    box = container or st
    box.altair_chart(chart, width="stretch")
    row = box.container(horizontal=True, gap="small")  # buttons keep their natural width in narrow columns
    row.download_button(
        "SVG",
        data=lambda: to_svg(chart),
        file_name=f"{name}.svg",
        mime="image/svg+xml",
        key=f"svg_{name}",
        icon=":material/download:",
    )
    row.download_button(
        "PNG",
        data=lambda: to_png(chart),
        file_name=f"{name}.png",
        mime="image/png",
        key=f"png_{name}",
        icon=":material/download:",
    )


def result_picker(label: str, keys: list, result_key: str, widget_key: str, format_func, help=None):
    """A select box over cached results that jumps to a result once, when a job has just put it
    in ``st.session_state[result_key]``; afterwards the user's own choice stands."""
    current = st.session_state.get(result_key)
    followed = f"{widget_key}_followed"
    if current in keys and st.session_state.get(followed) != current:
        st.session_state[widget_key] = current  # a newly finished result: show it
        st.session_state[followed] = current
    if st.session_state.get(widget_key) not in keys:
        st.session_state[widget_key] = keys[0]
    return st.selectbox(label, keys, key=widget_key, format_func=format_func, help=help)


def when(created: str) -> str:
    """A stored ``created`` timestamp (ISO, UTC) as ``2026-12-01 16:55 UTC``."""
    text = str(created or "")
    return f"{text[:10]} {text[11:16]} UTC" if len(text) >= 16 and text[10] == "T" else text


def run_label(m: dict) -> str:
    """A run in words first, its key last: ``E=10, λ=0.0001, R² 0.296 · 2026-12-01 16:55 UTC · cad71426fb``."""
    lam = "CV" if m["params"].get("l1_cv") else f"{m.get('l1_used', m['params'].get('l1')):g}"
    r2 = (m.get("metrics") or {}).get("r2_ensemble")
    r2_text = f", test R² {r2:.3f}" if r2 is not None else ""
    return f"E={m['params']['ensemble']}, λ={lam}{r2_text} · {when(m.get('created'))} · {m['key'][:10]}"


def facts(d: dict, names: Optional[dict] = None) -> None:
    """A dict of facts (a load report, preprocessing) as a two-column table in words, not raw JSON:
    keys become phrases, lists are joined, nested dicts are flattened one level, missing values say so."""
    names = names or {}
    rows = []
    for k, v in d.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                rows.append((f"{names.get(k, _phrase(k))}: {_phrase(k2)}", _fact(v2)))
        else:
            rows.append((names.get(k, _phrase(k)), _fact(v)))
    st.dataframe(pd.DataFrame(rows, columns=["", "value"]), hide_index=True, width="stretch")


def _phrase(key) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _fact(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v[:20])) + (f" (+{len(v) - 20} more)" if len(v) > 20 else "") if v else "none"
    return str(v)


def preset_default(key: str, default):
    """A widget's default, or None when a preset already put its value in the session state (Streamlit
    warns when a widget gets both)."""
    return None if key in st.session_state else default
