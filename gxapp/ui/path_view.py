"""Sparsity what-ifs on the Train page: several λ values trained as one background job, and any
runs of the cohort compared side by side (test R², AP on simulations, top pairs as a bump chart,
rank agreement)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gxapp import plots as charts
from gxapp.analyses import paths, runs
from gxapp.errors import GxError
from gxapp.ui import jobs_panel, widgets
from gxapp.ui.widgets import chart_with_downloads

JOB_KEY, RESULT_KEY = "path_job_id", "path_result"


def path_form(cohort_key: str) -> None:
    """λ values typed (or the suggested log grid) and the ensemble size; submit starts one job."""
    jobs_panel.show_notice("path")
    with st.form("path"):
        c1, c2 = st.columns([3, 1])
        text = c1.text_input(
            "L1 strengths λ",
            ", ".join(f"{v:g}" for v in paths.DEFAULT_L1_VALUES),
            key="path_values",
            help="Sparsity values to try, typed (commas or spaces; e.g. 3e-5, 1e-4, 3e-4). Larger λ: sparser "
            "networks, fewer SNPs per gene. All are trained as one batch: three values cost about as much as "
            "one run of three times the ensemble.",
        )
        E = c2.number_input(
            "Ensemble size", 1, 100, runs.RunParams.ensemble, key="path_E", help="Networks per λ (as on Train)."
        )
        submitted = st.form_submit_button("Train the sparsity path", key="path_submit")
    if submitted:
        with widgets.user_errors("Starting the sparsity path"):
            values = paths.parse_l1_values(text)
            spec = paths.job_spec(cohort_key, values, runs.RunParams(ensemble=int(E)))
            st.session_state[JOB_KEY] = jobs_panel.manager().submit(spec).id
    job_id = st.session_state.get(JOB_KEY)
    if job_id:
        jobs_panel.panel(job_id, JOB_KEY, RESULT_KEY, "path", "The sparsity path")


def compare_view(cohort_key: str, entries: list) -> None:
    """Pick two or more runs (default: the last path's) and see them side by side."""
    keys = [m["key"] for m in entries]
    if len(keys) < 2:
        st.caption("Train a second run (or a sparsity path) to compare runs side by side.")
        return
    latest = [k for k in (st.session_state.get(RESULT_KEY) or []) if k in keys]
    if latest and st.session_state.get("path_compare_followed") != latest:  # a path just finished: show it
        st.session_state["path_compare"] = st.session_state["path_compare_followed"] = latest
    if "path_compare" not in st.session_state or not set(st.session_state["path_compare"]) <= set(keys):
        st.session_state["path_compare"] = keys[:2]
    labels = {m["key"]: widgets.run_label(m) for m in entries}
    chosen = st.multiselect(
        "Runs to compare",
        keys,
        format_func=labels.get,
        key="path_compare",
        help="Any cached runs of this cohort; runs not scored yet are scored first (no permutations, seconds).",
    )
    if len(chosen) < 2:
        st.info("Choose at least two runs.")
        return
    top = st.slider("Top pairs followed", 3, 20, 10, key="path_top", help="Pairs in any run's top k are drawn.")
    try:
        with st.spinner("Scoring the runs not scored yet…"):
            cmp = _compare(tuple(chosen), int(top))
    except GxError as exc:
        st.error(f"Could not compare these runs: {exc}")
        return
    table = cmp["table"].drop(columns=["key"])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "λ": st.column_config.NumberColumn(format="%.0e"),
            "test R²": st.column_config.NumberColumn(format="%.3f"),
            "AP (planted pairs)": st.column_config.NumberColumn(format="%.3f", help="Simulations only."),
            "AUROC": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    c1, c2 = st.columns([3, 2])
    with c1:
        chart_with_downloads(charts.bump_chart(cmp["ranks"], cmp["order"]), "sparsity_bump")
    with c2:
        chart_with_downloads(charts.agreement_heatmap(cmp["agreement"]), "rank_agreement")
    st.download_button(
        "Download the comparison (CSV)",
        pd.concat([table.assign(part="runs"), cmp["ranks"].assign(part="ranks")]).to_csv(index=False),
        file_name="runs_compared.csv",
        mime="text/csv",
    )


@st.cache_data(max_entries=8, show_spinner=False)
def _compare(run_keys: tuple, top: int) -> dict:
    return paths.compare_runs(list(run_keys), top=top)
