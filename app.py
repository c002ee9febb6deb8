"""gxapp home: what it does, the current cohort, cached cohorts and runs."""

import pandas as pd
import streamlit as st

from gxapp.analyses import cohorts, runs
from gxapp.ui import nav, pipeline_view, session, widgets

st.set_page_config(page_title="gxapp · gene–gene interactions", page_icon="🧬", layout="wide")
nav.sidebar()

st.title("gxapp")
st.markdown(
    "Find **gene–gene interactions (epistasis)** with neural networks. Genes become nodes of a network "
    "(each gene's SNPs feed only its own node); Shapley interaction scores between the nodes, with permutation "
    "p-values, show which pairs of genes act together on the phenotype. Based on Cui et al. 2022 (*Commun. Biol.*) "
    "and Verplaetse et al. 2023 (*Genome Biol.*)."
)
st.markdown(
    "1. **Data** — load PLINK / VCF / tables with a phenotype, or simulate a cohort with planted interactions.  \n"
    "2. **Train** — ensembles of gene interaction networks.  \n"
    "3. **Interactions** — Shapley interaction scores, permutation p-values, FDR, heatmaps.  \n"
    "4. **Epistasis** — compare logreg / biosparse / dense architectures by cross-validated AUC."
)

with widgets.user_errors("Loading the demo cohort"):
    key, cohort = session.current_cohort()
    if cohort is not None:
        st.header("Current cohort")
        st.markdown(f"**{cohort.meta.get('label', key[:8])}**")
        widgets.cohort_metrics(cohort)
        st.page_link("pages/1_Data.py", label="Explore it on the Data page", icon=":material/dataset:")
        if cohort.phenotype is not None:
            pipeline_view.one_click(key)

c1, c2, _ = st.columns([1, 1, 2])
if c1.button("Load demo cohort", type="primary", help="Paper A's complex scenario: 10 genes, six planted pairs."):
    with widgets.user_errors("Loading the demo"):
        session.set_current(cohorts.demo().key)
        st.rerun()
if c2.button(
    "Load case/control demo", help="Paper B flavour: 40 genes in pathways, annotated variants, cases/controls."
):
    with widgets.user_errors("Loading the case/control demo"), st.spinner("Simulating…"):
        session.set_current(cohorts.demo_casecontrol().key)
        st.rerun()

st.header("Cached cohorts")
entries = cohorts.list_cohorts()
if not entries:
    st.info("No cohort cached yet.")
else:
    table = pd.DataFrame(
        [
            {
                "Cohort": m.get("label"),
                "Source": m.get("source"),
                "Individuals": m.get("summary", {}).get("n_samples"),
                "SNPs": m.get("summary", {}).get("n_snps"),
                "Genes": m.get("summary", {}).get("n_genes"),
                "Created": widgets.when(m.get("created")),
                "Key": str(m.get("key", ""))[:10],
            }
            for m in entries
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    keys = [m["key"] for m in entries]
    labels = {m["key"]: session.cohort_label(m) for m in entries}
    c1, c2, c3 = st.columns([3, 1, 1])
    chosen = c1.selectbox("Cohort", keys, format_func=labels.get, index=keys.index(key) if key in keys else 0)
    if c2.button("Make current"):
        session.set_current(chosen)
        st.rerun()
    if c3.button("Delete", help="Removes it from cache/ (it can be rebuilt from its inputs)."):
        cohorts.delete_cohort(chosen)
        if chosen == key:
            st.session_state.pop(session.KEY, None)
        st.rerun()

st.header("Trained runs")
all_runs = runs.entries()
if not all_runs:
    st.info("No trained run yet: train one on the Train page.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Cohort": m.get("label"),
                    "Networks (E)": m.get("params", {}).get("ensemble"),
                    "λ": m.get("l1_used"),
                    "Test R², interaction ensemble": m.get("metrics", {}).get("r2_ensemble"),
                    "Test R², main-effect network": m.get("metrics", {}).get("r2_main"),
                    "Device": m.get("device"),
                    "Created": widgets.when(m.get("created")),
                    "Key": str(m.get("key", ""))[:10],
                }
                for m in all_runs
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.page_link("pages/2_Train.py", label="Open the Train page", icon=":material/model_training:")
