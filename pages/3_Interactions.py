"""Interactions: Shapley interaction scores between genes, permutation p-values,
FDR and max-T, classical tests side by side, and the shape of an interaction."""

import streamlit as st

from gxapp.analyses import interactions as ia
from gxapp.analyses import runs
from gxapp.ui import interactions_view as view
from gxapp.ui import jobs_panel, nav, session, train_view, widgets

st.set_page_config(page_title="gxapp · Interactions", page_icon="🧬", layout="wide")
nav.sidebar()
st.title("Interactions")

key, cohort = session.current_cohort()
if cohort is None:
    st.stop()
jobs_panel.show_notice("ia")
run_entries = runs.entries(key)
if not run_entries:
    st.info("No trained run on this cohort yet: train one on the Train page first.")
    st.page_link("pages/2_Train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()
run_keys = [m["key"] for m in run_entries]
labels = {m["key"]: widgets.run_label(m) for m in run_entries}
linked = session.from_url("run", lambda k: k in run_keys)
if linked and st.session_state.get("ia_run_linked") != linked:  # a shared link or a reload: open that run
    st.session_state["ia_run"] = st.session_state["ia_run_linked"] = linked
trained = st.session_state.get(train_view.RUN_KEY)  # the run last trained or opened on the Train page
if trained in run_keys and st.session_state.get("ia_run_followed") != trained:
    st.session_state["ia_run"] = st.session_state["ia_run_followed"] = trained
run_key = st.selectbox(
    "Run", run_keys, format_func=labels.get, key="ia_run", help="A trained ensemble of this cohort (Train page)."
)
session.to_url("run", run_key)

params = view.params_form()
if params is not None:
    with widgets.user_errors("Starting the analysis"):
        jobs_panel.start(ia.job_spec(run_key, params), ia.KIND, view.JOB_KEY, view.RESULT_KEY)

job_id = st.session_state.get(view.JOB_KEY)
if job_id:
    jobs_panel.panel(job_id, view.JOB_KEY, view.RESULT_KEY, "ia", "Scoring")

results = ia.entries(run_key)
linked = session.from_url("analysis", lambda k: any(m["key"] == k for m in results))
if linked and st.session_state.get("ia_analysis_linked") != linked:
    st.session_state[view.RESULT_KEY] = st.session_state["ia_analysis_linked"] = linked
if not results:
    st.info("Press **Score interactions** (B = 0 is quick: scores and classical tests only).")
    st.stop()
chosen = widgets.result_picker(
    "Analysis",
    [m["key"] for m in results],
    view.RESULT_KEY,
    "ia_chosen",
    format_func=lambda k: next(
        f"{m['params']['index']}, B={m['params']['permutations']} (Perm {m['params']['perm_method']}) · "
        f"{widgets.when(m['created'])}"
        for m in results
        if m["key"] == k
    ),
    help="Scored analyses of this run, newest first; a newly finished one is shown.",
)
session.to_url("analysis", chosen)
with widgets.user_errors("Opening the analysis"):
    res = ia.load(chosen)
    st.header("Ranked gene pairs")
    fdr, p, top = view.significance_controls()
    view.ranked_table(res, fdr, p, top)
    view.report_download(chosen, fdr, p)
    view.plots(res)
