"""The home page's one-click analysis: train and score the current cohort with a preset as one
background job, then open the Interactions page on the result."""

from __future__ import annotations

import streamlit as st

from gxapp.analyses import pipeline
from gxapp.ui import interactions_view, jobs_panel, train_view, widgets

JOB_KEY, RESULT_KEY = "home_job_id", "home_result"


def one_click(cohort_key: str) -> None:
    """Preset picker, the **Run the demo analysis** button, the job's progress, and the jump to
    Interactions when it finishes."""
    jobs_panel.show_notice("home")
    done = st.session_state.pop(RESULT_KEY, None)
    if done:  # the job just finished: open its analysis on the Interactions page
        st.session_state["ia_run"] = st.session_state["ia_run_linked"] = done["run"]
        st.session_state[train_view.RUN_KEY] = st.session_state["ia_run_followed"] = done["run"]  # last trained
        st.session_state[interactions_view.RESULT_KEY] = done["interactions"]
        st.session_state["ia_analysis_linked"] = done["interactions"]
        link = {"cohort": cohort_key, "run": done["run"], "analysis": done["interactions"]}
        st.switch_page("pages/3_Interactions.py", query_params=link)  # a link copied from there opens this result
    names = list(pipeline.PRESETS)
    c1, c2 = st.columns([1, 2])
    name = c1.selectbox(
        "Preset",
        names,
        index=names.index(pipeline.DEFAULT_PRESET),
        format_func=lambda n: pipeline.PRESETS[n].label,
        key="home_preset",
        help="\n\n".join(f"**{p.label}**: {p.help}" for p in pipeline.PRESETS.values()),
    )
    c2.caption(pipeline.PRESETS[name].help)
    if st.button(
        "Run the demo analysis" if name == pipeline.DEFAULT_PRESET else f"Run: {pipeline.PRESETS[name].label}",
        type="primary",
        key="home_run",
        help="Trains the networks on the current cohort and scores every gene pair, then opens the ranked "
        "pairs on the Interactions page. Cached: a second click opens the same result at once.",
    ):
        with widgets.user_errors("Starting the analysis"):
            st.session_state[JOB_KEY] = jobs_panel.manager().submit(pipeline.job_spec(cohort_key, name)).id
    job_id = st.session_state.get(JOB_KEY)
    if job_id:
        jobs_panel.panel(job_id, JOB_KEY, RESULT_KEY, "home", "The analysis")
