"""Train: ensembles of gene interaction networks, in the background, cached."""

import streamlit as st

from gxapp.analyses import runs
from gxapp.ui import jobs_panel, nav, path_view, session, train_view, widgets

st.set_page_config(page_title="gxapp · Train", page_icon="🧬", layout="wide")
nav.sidebar()
st.title("Train")

key, cohort = session.current_cohort()
if cohort is None:
    st.stop()
st.markdown(
    f"Cohort: **{cohort.meta.get('label', key[:8])}** — {cohort.n_samples:,} samples, "
    f"{cohort.n_snps:,} SNPs, {cohort.n_genes} genes. {train_view.device_caption()}"
)
jobs_panel.show_notice("train")

params = train_view.params_form()
if params is not None:
    with widgets.user_errors("Starting the training"):
        if jobs_panel.start(runs.job_spec(key, params), runs.KIND, train_view.JOB_KEY, train_view.RUN_KEY):
            st.success("Loaded from the cache: this exact run was trained before.")

job_id = st.session_state.get(train_view.JOB_KEY)
if job_id:
    jobs_panel.panel(job_id, train_view.JOB_KEY, train_view.RUN_KEY, "train", "Training")
jobs_panel.others("train", exclude=job_id)

with st.expander("Sparsity what-if: several λ values as one job", expanded=False):
    path_view.path_form(key)

st.header("Runs on this cohort")
entries = train_view.runs_table(key)
if entries:
    keys = [m["key"] for m in entries]
    current = st.session_state.get(train_view.RUN_KEY)
    chosen = st.selectbox(
        "Show run",
        keys,
        index=keys.index(current) if current in keys else 0,
        format_func=lambda k: widgets.run_label(next(m for m in entries if m["key"] == k)),
    )
    c1, _ = st.columns([1, 4])
    if c1.button("Delete run", help="Removes its weights from cache/."):
        runs.delete(chosen)
        st.session_state.pop(train_view.RUN_KEY, None)
        st.rerun()
    run = train_view.load(chosen)
    if run is not None:
        st.session_state[train_view.RUN_KEY] = chosen
        train_view.show_run(run)

if entries:
    st.header("Compare runs")
    path_view.compare_view(key, entries)
