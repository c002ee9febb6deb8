"""Epistasis: compare logreg / biosparse / dense / linear architectures by
cross-validated AUC, with learning curves and sparsity sweeps (paper B)."""

import streamlit as st

from gxapp.analyses import comparisons as cmp
from gxapp.ui import epistasis_view as view
from gxapp.ui import jobs_panel, nav, session, widgets

st.set_page_config(page_title="gxapp · Epistasis", page_icon="🧬", layout="wide")
nav.sidebar()
st.title("Epistasis")

key, cohort = session.current_cohort()
if cohort is None:
    st.stop()
st.markdown(
    f"Cohort: **{cohort.meta.get('label', key[:8])}** — {cohort.n_samples:,} samples, {cohort.n_genes} genes, "
    f"{'annotated variants' if cohort.variants is not None else 'SNP genotypes (summarised per gene by MAF bin)'}"
    f", {len(cohort.pathways or {})} pathways."
)
if cohort.trait != "binary":
    st.warning(
        "This page compares case/control classifiers and the current cohort's trait is quantitative. "
        "Load the case/control demo (Data page) or a case/control cohort."
    )
    if st.button(
        "Make the case/control demo the current cohort",
        type="primary",
        help="Every page then works on it (Data, Train, Interactions too); switch back on the Data or Home page.",
    ):
        with widgets.user_errors("Loading the case/control demo"), st.spinner("Simulating…"):
            from gxapp.analyses import cohorts

            previous = cohort.meta.get("label", key[:8])
            session.set_current(cohorts.demo_casecontrol().key)
            st.session_state["epi_notice"] = (
                "info",
                f"The current cohort of every page is now the case/control demo (was: {previous}).",
            )
            st.rerun()
    st.stop()

jobs_panel.show_notice("epi")
view.truth_panel(cohort.truth)
view.demo_story(key)  # the case/control demo: its learning curve, computed once in the background
# keyed and tracked: a toggle or a finished job in a tab keeps that tab open
compare_tab, types_tab = st.tabs(["Compare architectures", "Epistasis types"], key="epi_tabs", on_change="rerun")
with compare_tab:
    params = view.params_form(has_pathways=bool(cohort.pathways), has_variants=cohort.variants is not None)
    if params is not None:
        with widgets.user_errors("Starting the comparison"):
            jobs_panel.start(cmp.job_spec(key, params), cmp.KIND, view.JOB_KEY, view.RESULT_KEY)
    job_id = st.session_state.get(view.JOB_KEY)
    if job_id:
        # a learning curve is drawn size by size while it runs
        jobs_panel.panel(
            job_id, view.JOB_KEY, view.RESULT_KEY, "epi", "The comparison", partial=view.show_partial(cohort.n_samples)
        )
    results = cmp.entries(key)
    if results:
        chosen = widgets.result_picker(
            "Result",
            [m["key"] for m in results],
            view.RESULT_KEY,
            "epi_chosen",
            format_func=lambda k: next(
                f"{view.ANALYSIS_LABELS[m['analysis']]} — {', '.join(m['params']['models'])} ({m['created']})"
                for m in results
                if m["key"] == k
            ),
            help="Comparisons of this cohort, newest first; a newly finished one is shown.",
        )
        with widgets.user_errors("Opening the result"):
            res = cmp.load(chosen)
            {
                "compare": view.show_compare,
                "learning_curve": view.show_learning_curve,
                "sparsity_sweep": view.show_sweep,
            }[res.analysis](res.data)
with types_tab:
    view.epistasis_types()
