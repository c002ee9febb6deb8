"""The Interactions page's Replication tab: carry the run to a second cohort and test its pairs
there (paper A, Eq. 5, Table 1, Fig. 7; docs/method.md#replication)."""

from __future__ import annotations

import streamlit as st

from gxapp import plots as charts
from gxapp.analyses import cohorts
from gxapp.analyses import replications as rp
from gxapp.ui import jobs_panel, session, widgets
from gxapp.ui.widgets import chart_with_downloads

JOB_KEY = "rep_job_id"
RESULT_KEY = "rep_result_key"
PAIR_CHOICES = {
    "fdr": "the discovery pairs at held-out FDR < the level",
    "all": "every gene pair",
    "list": "the pairs I choose",
}
COLUMNS = {
    "gene_a": "gene A",
    "gene_b": "gene B",
    "score_discovery": "discovery score",
    "q_discovery": "discovery q (held-out)",
    "p_topsnp_discovery": "discovery top-SNP p",
    "p_replication": "replication p (Eq. 5)",
    "q_replication": "replication q",
    "slope": "slope",
    "p_topsnp_replication": "replication top-SNP p",
    "n_snps_missing": "SNPs absent",
    "true": "planted",
    "note": "note",
}


def _others(cohort_key: str) -> list:
    return [m for m in cohorts.list_cohorts() if m["key"] != cohort_key]


def section(run_key: str, cohort_key: str, gene_pairs: list) -> None:
    st.markdown(
        "Carry this run to a **second cohort**: its genotypes are matched to this run's SNPs (by position and "
        "alleles, or id; swapped alleles flipped), turned into gene representations by this run's networks, and "
        "each pair's interaction predicted by networks fitted here is tested against the main-effect residual "
        "there (paper A, Eq. 5). The second cohort needs the same variants and a phenotype; it must not contain "
        "this run's individuals."
    )
    others = _others(cohort_key)
    if not others:
        st.info("No other cohort is loaded. Load the replication cohort on the Data page, or split a cohort below.")
    _split_button(cohort_key)
    if others:
        params, target = _form(others, gene_pairs)
        if params is not None:
            with widgets.user_errors("Starting the replication"):
                jobs_panel.start(rp.job_spec(run_key, target, params), rp.KIND, JOB_KEY, RESULT_KEY)
    job_id = st.session_state.get(JOB_KEY)
    if job_id:
        jobs_panel.panel(job_id, JOB_KEY, RESULT_KEY, "rep", "Replication")
    jobs_panel.show_notice("rep")
    done = rp.entries(run_key)
    if not done:
        return
    labels = {m["key"]: f"{m.get('label') or m['cohort'][:8]} — {m['n_pairs']} pairs ({m['created']})" for m in done}
    chosen = widgets.result_picker(
        "Replication", [m["key"] for m in done], RESULT_KEY, "rep_chosen", format_func=labels.get
    )
    with widgets.user_errors("Opening the replication"):
        res = rp.REPLICATIONS.load(chosen)
        _show(res)


def _split_button(cohort_key: str) -> None:
    with st.expander("No second cohort? Split this one into discovery and replication individuals"):
        st.caption(
            "Makes two cohorts of disjoint individuals (a seeded draw) and makes the discovery part current: "
            "train on it on the Train page, then replicate here in the replication part."
        )
        frac = st.slider("Replication share", 0.1, 0.5, 0.2, 0.05, key="rep_split_frac")
        if st.button("Split", key="rep_split"):
            with widgets.user_errors("Splitting the cohort"), st.spinner("Splitting…"):
                disc, rep = cohorts.split(cohort_key, float(frac))
                session.set_current(disc.key)
                st.session_state["ia_notice"] = (
                    "success",
                    f"Split done: the discovery part ({disc.cohort.n_samples:,} individuals) is now the current "
                    f"cohort, the replication part ({rep.cohort.n_samples:,}) is cached beside it. Train on the "
                    "discovery part, then replicate here.",
                )
                st.rerun()


def _form(others: list, gene_pairs: list):
    with st.form("replicate"):
        keys = [m["key"] for m in others]
        c1, c2 = st.columns([2, 1])
        target = c1.selectbox(
            "Replication cohort",
            keys,
            format_func=lambda k: session.cohort_label(next(m for m in others if m["key"] == k)),
            help="Any other loaded cohort with the same variants and a phenotype of the same kind.",
            key="rep_target",
        )
        which = c2.radio("Pairs to test", list(PAIR_CHOICES), format_func=PAIR_CHOICES.get, key="rep_which")
        c3, c4 = st.columns([1, 2])
        fdr = c3.number_input(
            "FDR level",
            0.01,
            1.0,
            0.1,
            0.01,
            key="rep_fdr",
            help="With 'discovery pairs': test the pairs whose held-out q is below this level.",
        )
        pairs = c4.multiselect(
            "Chosen pairs",
            [f"{a}:{b}" for a, b in gene_pairs],
            format_func=lambda v: v.replace(":", " × "),
            key="rep_pairs",
            help="With 'the pairs I choose'.",
        )
        if not st.form_submit_button("Replicate", type="primary"):
            return None, None
    if which == "list" and not pairs:
        st.warning("Choose at least one pair, or test every pair.")
        return None, None
    return rp.ReplicationParams(pairs=which, fdr=float(fdr), chosen=tuple(pairs) if which == "list" else ()), target


def _show(res: rp.ReplicationResult) -> None:
    t = res.table
    m = res.snp_match
    hits = int((t["q_replication"] < 0.1).sum())
    st.markdown(
        f"**{hits} of {len(t)}** pair(s) replicate (replication q < 0.1) in **{res.meta.get('n_replication', 0):,}** "
        f"individuals. SNPs: {m.get('n_snps', 0) - m.get('missing', 0)} of {m.get('n_snps', 0)} matched "
        f"({m.get('flipped', 0)} with swapped alleles flipped, {m.get('missing', 0)} absent"
        + (f", e.g. {', '.join(m['missing_examples'])}" if m.get("missing_examples") else "")
        + ")."
    )
    shown = t[[c for c in COLUMNS if c in t]].rename(columns=COLUMNS)
    fmt = {v: st.column_config.NumberColumn(format="%.3g") for k, v in COLUMNS.items() if k.startswith(("p_", "q_"))}
    fmt["discovery score"] = st.column_config.NumberColumn(format="%.4f")
    fmt["slope"] = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(shown, hide_index=True, width="stretch", column_config=fmt)
    st.download_button(
        "Table (CSV)",
        data=t.to_csv(index=False).encode(),
        file_name="replication.csv",
        mime="text/csv",
        icon=":material/download:",
        key="rep_csv",
    )
    drawn = set(res.points["pair"])
    tested = [f"{a} × {b}" for a, b in zip(t["gene_a"], t["gene_b"]) if f"{a} × {b}" in drawn]  # by replication p
    if not tested:
        return
    pair = st.selectbox("Pair", tested, key="rep_pair", help="Its replication scatter (Fig. 7a) and surface (Fig. 7b).")
    c1, c2 = st.columns(2)
    chart_with_downloads(charts.replication_scatter(res.points, pair), "replication_scatter", c1)
    a, b = pair.split(" × ")
    if c2.toggle("Show its interaction surface (discovery)", key="rep_surface"):
        from gxapp.analyses import surfaces

        with widgets.user_errors("Fitting the interaction surface"), st.spinner("Fitting the surface (cached)…"):
            surf = surfaces.get(res.meta["run"], surfaces.SurfaceParams(gene_a=a, gene_b=b)).surface
        chart_with_downloads(charts.surface_chart(surf.grid, surf.points, a, b), "replication_surface", c2)
    row = t[(t["gene_a"] == a) & (t["gene_b"] == b)].iloc[0]
    st.caption(
        f"{pair}: slope {row['slope']:.3f}, one-sided p {row['p_replication']:.3g} (Eq. 5, HC3 standard error); "
        f"top-SNP p in the replication cohort {row['p_topsnp_replication']:.3g}. Points: a sample of the "
        "replication individuals by tertile of the predicted interaction; line: least squares."
    )
