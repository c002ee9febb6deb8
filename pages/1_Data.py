"""Data: load a cohort from files, simulate one, or use the demo; QC; explore."""

import streamlit as st

from gxapp.analyses import cohorts
from gxapp.ui import cohort_view, forms, nav, session, widgets

st.set_page_config(page_title="gxapp · Data", page_icon="🧬", layout="wide")
nav.sidebar()
st.title("Data")

key, cohort = session.current_cohort()
demo_tab, sim_tab, files_tab = st.tabs(["Demo", "Simulate", "Files"])

with demo_tab:
    st.markdown("Ready-made cohorts with **planted** interactions, so every result can be checked against the truth.")
    c1, c2 = st.columns(2)
    if c1.button("Complex interactions (paper A)", type="primary", help="5,000 people, 10 genes, six planted pairs."):
        with widgets.user_errors("Loading the demo"):
            key = cohorts.demo().key
            session.set_current(key)
    if c2.button("Case/control with pathways (paper B)", help="2,000 people, 40 genes, pathways, annotated variants."):
        with widgets.user_errors("Loading the case/control demo"), st.spinner("Simulating…"):
            key = cohorts.demo_casecontrol().key
            session.set_current(key)

with sim_tab:
    is_real = cohort is not None and cohort.meta.get("source") != "simulation"
    submitted = forms.simulation_form(can_use_current=is_real)
    if submitted:
        params, on_current = submitted
        bar, update = widgets.progress_bar("Simulating")
        with widgets.user_errors("The simulation"):
            handle = (
                cohorts.simulate_on(key, params, progress=update)
                if on_current
                else cohorts.from_simulation(params, progress=update)
            )
            key = handle.key
            session.set_current(key)
            st.success(f"Cohort ready{' (from the cache)' if handle.cached else ''}.")
        bar.empty()

with files_tab:
    with widgets.user_errors("Reading the files"):
        submitted = forms.files_form()
        if submitted:
            spec, qc = submitted
            bar, update = widgets.progress_bar("Loading")
            try:
                handle = cohorts.from_files(spec, qc, progress=update)
            finally:
                bar.empty()
            key = handle.key
            session.set_current(key)
            st.success(
                f"Loaded{' from the cache' if handle.cached else ''}: "
                f"{handle.cohort.n_samples:,} samples, {handle.cohort.n_snps:,} SNPs, {handle.cohort.n_genes} genes."
            )

st.divider()
key, cohort = session.current_cohort()
if cohort is not None:
    cohort_view.show(key, cohort)
