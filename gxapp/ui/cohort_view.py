"""What the Data page shows about the current cohort: charts, QC report,
LD heatmap, planted truth, downloads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from gxapp import plots as charts
from gxapp.data.cohort import Cohort
from gxapp.data.io.export import export_zip
from gxapp.data.io.variants import CLASSES, gene_centric_tensor
from gxapp.data.ld import ld_r2
from gxapp.data.preprocess import prepare
from gxapp.data.prune import PruneReport, describe_prune
from gxapp.data.structure import describe_pca
from gxapp.errors import GxError
from gxapp.ui import widgets
from gxapp.ui.widgets import cohort_metrics
from gxapp.wording import QC_STEP_NAMES, qc_table

LD_MAX_SAMPLES = 3_000
LD_MAX_SNPS = 150


@st.cache_data(max_entries=2, show_spinner="Packing the cohort…")
def _zip(key: str, _cohort: Cohort) -> bytes:
    return export_zip(_cohort)


def _planted_genes(cohort: Cohort) -> set:
    return {g for pair in (cohort.truth or {}).get("pairs", []) for g in pair}


def show(key: str, cohort: Cohort) -> None:
    meta = cohort.meta
    st.subheader(meta.get("label") or "Current cohort")
    st.caption(f"source: {meta.get('source', '?')} · trait: {cohort.trait} · cohort key `{key[:12]}`")
    cohort_metrics(cohort)
    for w in (meta.get("mapping") or {}).get("warnings", []) or []:
        st.warning(w)
    dropped = (meta.get("qc") or {}).get("dropped_genes") or meta.get("dropped_genes") or []
    if dropped:
        st.info(
            f"{len(dropped)} gene(s) had no SNP left and were dropped: {', '.join(map(str, dropped[:20]))}"
            f"{' …' if len(dropped) > 20 else ''}"
        )

    overview, qc_tab, ld_tab, pop_tab, genes_tab, dl_tab = st.tabs(
        ["Overview", "QC report", "LD", "Population structure", "Genes & truth", "Download"]
    )
    with overview:
        st.altair_chart(charts.snps_per_gene_chart(cohort.snps_per_gene(), _planted_genes(cohort)), width="stretch")
        c1, c2 = st.columns(2)
        c1.altair_chart(charts.maf_histogram(cohort.maf()), width="stretch")
        if cohort.phenotype is not None:
            c2.altair_chart(charts.phenotype_chart(cohort.phenotype, cohort.trait), width="stretch")
        else:
            c2.info("No phenotype loaded: add a phenotype file (or simulate one) before training.")
    with qc_tab:
        _qc(meta)
        _preprocessing(key, cohort)
    with ld_tab:
        _pruning(meta)
        _ld(cohort)
    with pop_tab:
        _structure(cohort)
    with genes_tab:
        _genes(cohort)
    with dl_tab:
        st.markdown(
            "PLINK `.bed/.bim/.fam`, `phenotype.tsv`, `genes.tsv` and, when present, `truth.json`, "
            "`covariates.tsv`, `variants.tsv`, `pathways.gmt`."
        )
        if st.toggle("Prepare the download", help="Packs the QC'd cohort as a zip (a few seconds for large cohorts)."):
            st.download_button(
                "Download cohort (.zip)",
                _zip(key, cohort),
                file_name=f"gxapp_cohort_{key[:8]}.zip",
                mime="application/zip",
                type="primary",
            )


PREPROCESSING_NAMES = {
    "trait": "Trait",
    "covariates_used": "Covariates regressed out",
    "covariates_dropped_constant": "Covariates dropped (constant)",
    "covariates_fit_on": "Covariate coefficients fitted on",
    "covariates_available": "Covariates in the file",
    "inverse_normal": "Rank-based inverse-normal transform",
    "phenotype_transform": "Phenotype as the model sees it",
    "split_seed": "Split seed",
    "test_fraction": "Test fraction",
    "train_fraction": "Training fraction",
    "stratified": "Split stratified by case/control",
    "n_train": "Training individuals",
    "n_test": "Test individuals",
    "snp_means_from": "SNP means taken from",
    "genotype_values": "Genotype values",
    "n_missing_imputed": "Missing genotypes imputed",
    "case_fraction_train": "Case fraction (training)",
    "case_fraction_test": "Case fraction (test)",
}

# What each planted interaction type is (paper A Eqs. 1-2, paper B Fig. 3; docs/method.md#simulators).
INTERACTION_TYPES = {
    "max": "max(g_A, g_B): the stronger of the two genes acts",
    "sqdiff": "(g_A − g_B)²: a mismatch between the two genes acts",
    "product": "g_A · g_B: the classical multiplicative interaction",
    "topsnp_product": "product of the two genes' top SNPs (the simple scenario)",
    "positive": "risk only when both genes are hit",
    "negative": "protection only when both genes are hit",
    "reciprocal": "either gene alone raises risk; together they cancel (XOR)",
    "additive": "each gene adds its own risk (no interaction)",
}


def _qc(meta: dict) -> None:
    qc = meta.get("qc")
    if not qc:
        st.info(
            "Simulated cohorts are generated clean (biallelic SNPs with MAF ≥ 0.01, no missing calls): "
            "no QC step applies."
        )
        return
    steps = qc.get("steps", [])
    if steps:
        if any(s["removed"] for s in steps):
            named = [dict(s, step=QC_STEP_NAMES.get(s["step"], s["step"])) for s in steps]
            st.altair_chart(charts.qc_chart(named), width="stretch")
        else:
            st.success("QC removed nothing: every sample and SNP passed every step.")
        st.dataframe(qc_table(steps), hide_index=True, width="stretch")
    for line in (describe_prune(meta.get("prune")), describe_pca(meta.get("pca"))):
        if line:
            st.markdown(f"- {line}.")
    ids = (meta.get("load_report") or {}).get("variant_ids")
    if ids:
        from gxapp.data.io.genotypes import describe_variant_ids

        st.markdown(f"**Variant ids:** {describe_variant_ids(ids)}.")
    rep = {
        **meta.get("load_report", {}),
        **{k: v for k, v in (meta.get("mapping") or {}).items() if k not in ("genes_without_snps", "warnings")},
    }
    if rep:
        with st.expander("Loading and SNP → gene mapping"):
            widgets.facts(rep)


@st.cache_data(max_entries=4, show_spinner=False)
def _prepared_summary(key: str, _cohort: Cohort):
    p = prepare(_cohort)
    rep = {k: v for k, v in p.report.items() if k not in ("snp_means", "covariate_coef")}
    return p.y, rep


def _preprocessing(key: str, cohort: Cohort) -> None:
    st.markdown("#### Model-ready data")
    st.caption(
        "What training will see (method: docs/method.md#preprocessing): covariates regressed out by OLS and "
        "a rank-based inverse-normal transform for quantitative traits; SNPs mean-imputed and centred with the "
        "training rows' means; a 90/10 train/test split with a recorded seed."
    )
    if cohort.phenotype is None:
        st.info("No phenotype yet.")
        return
    try:
        y, rep = _prepared_summary(key, cohort)
    except GxError as exc:
        st.warning(f"Not ready for training: {exc}")
        return
    c1, c2 = st.columns(2)
    c1.altair_chart(
        charts.phenotype_chart(y, cohort.trait).properties(title="Phenotype as the model sees it"), width="stretch"
    )
    with c2:
        widgets.facts(rep, PREPROCESSING_NAMES)


def _pruning(meta: dict) -> None:
    info = meta.get("prune")
    if not info or not info.get("genes"):
        st.caption(
            "No LD pruning was applied (simulated cohorts keep every SNP; for files choose it in "
            "Files → LD pruning and population structure)."
        )
        return
    st.markdown(f"**{describe_prune(info)}.** Method: docs/method.md#ld-pruning.")
    table = PruneReport.from_dict(info).table
    st.altair_chart(charts.pruning_chart(table), width="stretch")
    with st.expander("SNPs kept per gene (table)"):
        st.dataframe(
            table.rename(
                columns={
                    "gene": "Gene",
                    "snps_before": "SNPs before",
                    "snps_kept": "SNPs kept",
                    "variance_kept": "Variance kept",
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={"Variance kept": st.column_config.NumberColumn(format="percent")},
        )


def _structure(cohort: Cohort) -> None:
    info = cohort.meta.get("pca") or {}
    pcs = [c for c in (cohort.covariates.columns if cohort.covariates is not None else []) if str(c) in ("PC1", "PC2")]
    if info:
        st.markdown(f"{describe_pca(info)}. Method: docs/method.md#population-structure.")
    elif cohort.meta.get("source") == "simulation":
        st.info(
            "Simulated cohorts come from one population: no genotype PCs are needed. For files, the number of "
            "PCs (default 10, as in paper A) is set in Files → LD pruning and population structure."
        )
    if len(pcs) < 2:
        return
    scores = cohort.covariates[["PC1", "PC2"]]
    options = []
    if "population" in cohort.samples.columns:
        options.append("population")
    if cohort.phenotype is not None:
        options.append("phenotype")
    options.append("none")
    colour_by = st.radio(
        "Colour by", options, horizontal=True, help="A population column of the sample file, or the phenotype."
    )
    colour = None
    if colour_by == "population":
        colour = cohort.samples["population"].astype(str)
    elif colour_by == "phenotype":
        y = cohort.phenotype
        colour = np.where(y == 1, "case", "control") if cohort.trait == "binary" else y
    c1, c2 = st.columns(2)
    c1.altair_chart(charts.pc_scatter(scores, colour, colour_by), width="stretch")
    if info.get("explained"):
        c2.altair_chart(charts.scree_chart(info["explained"]), width="stretch")


def _ld(cohort: Cohort) -> None:
    gene = st.selectbox("Gene", cohort.gene_names, help="r² between the gene's SNPs (dosages, mean-imputed).")
    idx = np.asarray(cohort.gene_snps[gene])[:LD_MAX_SNPS]
    rows = np.arange(cohort.n_samples)
    if len(rows) > LD_MAX_SAMPLES:
        rows = np.random.default_rng(0).choice(rows, LD_MAX_SAMPLES, replace=False)
    r2 = ld_r2(cohort.genotypes[np.ix_(rows, idx)])
    st.altair_chart(charts.ld_heatmap(r2, cohort.snps["snp"].iloc[idx], gene), width="stretch")
    if len(cohort.gene_snps[gene]) > LD_MAX_SNPS:
        st.caption(f"First {LD_MAX_SNPS} of {len(cohort.gene_snps[gene])} SNPs shown.")
    if cohort.n_samples > LD_MAX_SAMPLES:
        st.caption(f"Estimated on {LD_MAX_SAMPLES:,} random individuals.")


def _genes(cohort: Cohort) -> None:
    df = cohort.genes.copy()
    df["snps"] = df["gene"].map(lambda g: len(cohort.gene_snps[g]))
    if cohort.pathways:
        member = {}
        for pw, gs in cohort.pathways.items():
            for g in gs:
                member.setdefault(g, []).append(pw)
        df["pathways"] = df["gene"].map(lambda g: ", ".join(member.get(g, [])))
    names = {"gene": "Gene", "chrom": "Chromosome", "start": "Start", "end": "End", "snps": "SNPs"}
    st.dataframe(df.rename(columns={**names, "pathways": "Pathways"}), hide_index=True, width="stretch")
    if cohort.variants is not None:
        tensor = gene_centric_tensor(cohort.variants, cohort.samples["iid"], cohort.gene_names)
        used = [j for j in range(len(CLASSES)) if tensor[:, :, j].any()]
        st.altair_chart(
            charts.class_heatmap(tensor[:, :, used].mean(axis=0), cohort.gene_names, [CLASSES[j] for j in used]),
            width="stretch",
        )
    if cohort.truth:
        t = cohort.truth
        pairs = pd.DataFrame(t.get("pairs", []), columns=["gene A", "gene B"])
        if len(pairs):
            types = [t.get("types", {}).get(f"{a}|{b}", "") for a, b in t["pairs"]]
            pairs["interaction"] = types
            simple = t.get("scenario") == "simple"
            pairs["what it means"] = [
                INTERACTION_TYPES.get("topsnp_product" if simple and k == "product" else k, "") for k in types
            ]
        st.markdown(f"**Planted truth** — scenario: {t.get('scenario')}")
        st.dataframe(pairs, hide_index=True)
