"""Interactions page pieces: the analysis form, the ranked table with
significance, and the plots of paper A (heatmap, Q-Q, FDR histogram, null
distribution, interaction surface, PR curves)."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
import streamlit as st

from gxapp import plots as charts
from gxapp.analyses import interactions as ia
from gxapp.analyses import surfaces
from gxapp.genenet.metrics import p_to_score, pair_labels, precision_recall_curve_pairs
from gxapp.genenet.tree_peer import XGBoostPeerParams
from gxapp.ui import jobs_panel, widgets
from gxapp.ui.widgets import chart_with_downloads
from gxapp.wording import GLOBAL_LINE, HELDOUT_LINE

D = ia.InteractionParams()  # the declared defaults
_TREES = XGBoostPeerParams()  # the boosted-tree peer's fixed model
_PERM = {"R": "Perm R (permuted main-effect residual)", "T": "Perm T (permuted phenotype)"}

# Table columns: (header, tooltip) — what each test is, in a geneticist's words (docs/method.md#classical-tests).
_NN_COLUMNS = {
    "p": ("p", HELDOUT_LINE),
    "q": (
        "q (FDR)",
        "Benjamini–Hochberg q of the held-out test over the candidate pairs (the network's highest-scoring "
        "pairs, as many as genes, at least 10); blank for the other pairs, whose p still stands on its own.",
    ),
    "slope": (
        "held-out slope",
        "Slope of the test individuals' phenotype on the interaction pattern learned on the training "
        "individuals (1: the pattern's full size holds in new individuals; near 0: it does not).",
    ),
    "p_global": ("p global (Perm I)", GLOBAL_LINE),
    "q_global": ("q global (Perm I)", "Perm I's FDR estimate (valid under the global null only)."),
    "p_maxt": ("p max-T (Perm I)", "Perm I's max-T adjusted p: against the largest null score of any pair."),
}
_PEER_COLUMNS = {
    "p_topsnp": (
        "p top-SNP OLS",
        "Classical epistasis test on each gene's most associated SNP: linear regression "
        "y ~ a + b + a×b, t-test of the a×b term (Cui et al. Eq. 4). Not corrected across pairs.",
    ),
    "p_pca": (
        "p PCA OLS",
        "The same regression with each gene summarised by the first principal component of its SNPs.",
    ),
    "p_snppair": (
        "p SNP-pair (PLINK)",
        "PLINK --epistasis: every SNP of one gene against every SNP of the other, y ~ a + b + a×b; "
        "the smallest p, Bonferroni-corrected within the gene pair.",
    ),
    "score_lasso_topsnp": (
        "Lasso |γ| top-SNP",
        "Lasso regression on every gene's top SNP plus all pairwise products of them, penalty chosen by "
        "cross-validation: the size of this pair's product coefficient (per SD of the product; 0 = dropped).",
    ),
    "p_lasso_topsnp": (
        "p Lasso top-SNP",
        "Permutation p of the Lasso product coefficient: the Lasso refitted, same penalty, on B permuted "
        "phenotypes ({perm}). Small B gives coarse p; see the method notes on calibration.",
    ),
    "score_lasso_pca": (
        "Lasso |γ| PCA",
        "The same Lasso with each gene summarised by the first principal component of its SNPs.",
    ),
    "p_lasso_pca": ("p Lasso PCA", "Permutation p of the PCA Lasso product coefficient ({perm})."),
    "score_xgb_topsnp": (
        "XGBoost SHAP top-SNP",
        f"Boosted regression trees (XGBoost, {_TREES.n_trees} trees of depth {_TREES.max_depth}) on every "
        "gene's top SNP: the mean size, "
        "over the scored individuals, of the two genes' SHAP interaction value — how much the trees' "
        "prediction depends on the two SNPs jointly beyond their separate effects.",
    ),
    "p_xgb_topsnp": (
        "p XGBoost top-SNP",
        "Permutation p of the XGBoost interaction score: the trees refitted on B permuted phenotypes "
        "({perm}). Trees also turn strong main effects into interaction values, so these p-values "
        "can be too small; read them as a ranking.",
    ),
    "score_xgb_pca": (
        "XGBoost SHAP PCA",
        "The same boosted trees with each gene summarised by the first principal component of its SNPs.",
    ),
    "p_xgb_pca": ("p XGBoost PCA", "Permutation p of the PCA XGBoost interaction score ({perm})."),
    "nn_only": (
        "only NN",
        f"Called by the network (FDR q < {ia.NN_ONLY_FDR:g}) and by none of the classical tests at "
        f"p < {ia.NN_ONLY_P:g} (the lists below the table follow the thresholds set above).",
    ),
}
# The page starts without Perm I: the held-out test gives every pair its p and q in seconds; B > 0 adds
# paper A's global permutation test (B × E more networks).
UI_PERMUTATIONS = 0
TYPE_WORDS = {"max": "max(g_A, g_B)", "sqdiff": "(g_A − g_B)²", "product": "g_A · g_B"}  # planted types
JOB_KEY = "ia_job_id"
SURF_JOB, SURF_RESULT = "surface_job_id", "surface_result"
RESULT_KEY = "ia_result_key"


def reachable_line(B: Optional[int] = None, n_pairs: Optional[int] = None, candidates: Optional[int] = None) -> str:
    """What the numbers can reach: Perm I's floor 1/(B+1) for the chosen B, and that the held-out p/q have
    none (docs/method.md#permutation-test)."""
    if B is None:
        floors = ", ".join(f"B = {b}: {1 / (b + 1):.3f}" for b in (10, 20, 50, 100))
        return (
            "What B can reach: a Perm I p-value is never below 1/(B+1) ("
            + floors
            + "), so with few permutations no pair can pass a strict global threshold. The per-pair p and q "
            "(held-out test) need no permutations and have no such floor."
        )
    held = f"held-out q is Benjamini–Hochberg over the top {candidates} of {n_pairs} pairs (no floor)"
    if not B:
        return f"Smallest reachable: {held}; no permutations, so no Perm I p, q or max-T."
    return (
        f"Smallest reachable: Perm I p = 1/(B+1) = {1 / (B + 1):.3g} with B = {B}; {held}. Perm I's q pools "
        "the null scores of all pairs: FDR(t) = mean over permutations of #{null scores ≥ t} / #{observed ≥ t}."
    )


def _apply_preset() -> None:
    from gxapp.analyses import pipeline

    name = st.session_state.get("ia_preset")
    if name in pipeline.PRESETS:
        st.session_state["ia_B"] = pipeline.PRESETS[name].interactions.permutations


def params_form():
    from gxapp.analyses import pipeline

    st.selectbox(
        "Preset",
        [None, *pipeline.PRESETS],
        format_func=lambda n: (
            "— my own settings —"
            if n is None
            else f"{pipeline.PRESETS[n].label} (B = {pipeline.PRESETS[n].interactions.permutations})"
        ),
        key="ia_preset",
        on_change=_apply_preset,
        help="Fills the permutations below as the presets of the home page do; every knob stays yours.",
    )
    with st.form("interactions"):
        c1, c2, c3, c4 = st.columns(4)
        index = c1.selectbox(
            "Index",
            ["SII", "BII", "STII"],
            key="ia_index",
            help="SII: Shapley interaction index (default). BII: Banzhaf (subsets uniform). "
            "STII: Shapley-Taylor, as the paper's public code computes it.",
        )
        B = c2.number_input(
            "Permutations B",
            0,
            1000,
            widgets.preset_default("ia_B", UI_PERMUTATIONS),
            key="ia_B",
            help="Paper A's permutation test (Perm I): ensembles retrained on B phenotypes without "
            "interactions, for a global p, q and max-T (paper: 50; each costs as much as the run). 0 skips it: "
            "the per-pair p and q come from the held-out test, which needs no permutations. Raising B later "
            "reuses the permutations already trained.",
        )
        method = c3.selectbox(
            "Permutation",
            ["I", "R", "T"],
            key="ia_perm",
            format_func={"I": "Perm I (main effects kept)", "R": "Perm R (residual)", "T": "Perm T (phenotype)"}.get,
            help="Perm I is calibrated for neural networks; R and T are shown for comparison "
            "(both anti-conservative, paper A Fig. 8).",
        )
        rows = c4.number_input(
            "Individuals scored",
            10,
            1_000_000,
            D.max_rows,
            key="ia_rows",
            help="Test individuals over which mean |SII| is taken (a recorded random sample).",
        )
        st.caption(reachable_line())
        submitted = st.form_submit_button("Score interactions", type="primary", key="ia_submit")
    if not submitted:
        return None
    return ia.InteractionParams(permutations=int(B), perm_method=method, index=index, max_rows=int(rows))


def significance_controls():
    c1, c2, c3 = st.columns(3)
    fdr = c1.number_input(
        "FDR threshold (q)",
        0.0,
        1.0,
        0.1,
        step=0.05,
        key="ia_fdr",
        help="Pairs with q below this are called (paper: 0.1).",
    )
    p = c2.number_input(
        "p threshold",
        0.0,
        1.0,
        0.05,
        step=0.01,
        key="ia_p",
        help="Pairs with held-out p below this are marked, and a classical test 'finds' a pair below it (paper: 0.05).",
    )
    top = c3.number_input("Rows shown", 5, 100_000, 50, key="ia_top")
    return fdr, p, top


def ranked_table(res: ia.InteractionResult, fdr: float, p: float, top: int) -> pd.DataFrame:
    df = res.table.copy()
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    df["significant"] = df["q"] < fdr
    df["p < threshold"] = df["p"] < p
    c1, c2 = st.columns([3, 1])
    find = c1.text_input(
        "Find genes",
        key="ia_find",
        placeholder="e.g. APOE or G07",
        help="Shows the pairs with a gene whose name "
        "contains this text (case-insensitive); ranks stay the overall ranks.",
    ).strip()
    shown = df
    if find:
        hit = df["gene_a"].str.contains(find, case=False, regex=False) | df["gene_b"].str.contains(
            find, case=False, regex=False
        )
        shown = df[hit]
        if not len(shown):
            st.info(f"No pair has a gene matching '{find}'.")
    pages = max(1, int(np.ceil(len(shown) / max(1, int(top)))))
    page = c2.number_input(f"Page (of {pages})", 1, pages, 1, key="ia_page") if pages > 1 else 1
    start = (int(page) - 1) * int(top)
    cfg = {c: st.column_config.NumberColumn(format="%.3g") for c in ("score", "se")}
    for c, (label, tip) in _NN_COLUMNS.items():
        cfg[c] = st.column_config.NumberColumn(label, help=tip, format="%.3g")
    cfg["significant"] = st.column_config.CheckboxColumn("called", help=f"Held-out q below the FDR threshold {fdr:g}.")
    perm = _PERM.get(res.meta.get("peer_settings", {}).get("perm_method", D.peer_perm_method), "")
    for c, (label, tip) in _PEER_COLUMNS.items():
        if c == "nn_only":
            cfg[c] = st.column_config.CheckboxColumn(label, help=tip)
        elif c in df:
            cfg[c] = st.column_config.NumberColumn(label, help=tip.format(perm=perm), format="%.3g")
    cfg["score"] = st.column_config.ProgressColumn(
        "score", format="%.4g", min_value=0.0, max_value=float(df["score"].max() or 1.0)
    )
    page_df = shown.iloc[start : start + int(top)]
    page_df = page_df.drop(columns=[c for c in page_df.columns if df[c].isna().all()])  # e.g. Perm I at B = 0
    cfg["gene_a"] = st.column_config.TextColumn("gene A")
    cfg["gene_b"] = st.column_config.TextColumn("gene B")
    if "type" in page_df:
        cfg["type"] = st.column_config.TextColumn("planted type", width="medium")
    cfg["true"] = st.column_config.CheckboxColumn("planted")
    # empty cells say "—" (a pair outside the held-out candidates has no q), never "None"
    styled = page_df.style.format(na_rep="—", precision=3, subset=page_df.select_dtypes("number").columns)
    st.dataframe(styled, hide_index=True, width="stretch", column_config=cfg)
    n_sig = int((df["q"] < fdr).sum())
    held = res.meta.get("heldout_rows", {})
    st.caption(
        f"**{n_sig} pair(s) at FDR < {fdr:g}** by the held-out test ({held.get('n_test', '?')} test individuals, "
        f"q over the top {res.meta.get('candidates', len(df))} pairs). " + HELDOUT_LINE
    )
    caution = ia.heldout_caution(len(res.gene_names))
    if caution:
        st.warning(caution)
    B = res.null.shape[0]
    st.caption(reachable_line(B, len(df), res.meta.get("candidates", len(df))))
    if B:
        st.caption(
            f"Perm {res.params.perm_method} (B = {B}): {int((df['q_global'] < fdr).sum())} pair(s) at global "
            f"q < {fdr:g}, {int((df['p_maxt'] < p).sum())} at max-T p < {p:g}. " + GLOBAL_LINE
        )
        if B < 20:
            st.warning(
                f"Only B = {B} permutations: Perm I p-values cannot go below 1/(B+1) = {1 / (B + 1):.3f}. "
                "Use B ≥ 50 for the global test."
            )
    only_nn = df[ia.only_nn(df, fdr, p)]
    only_peer = df[ia.only_peer(df, fdr, p)]
    c1, c2 = st.columns(2)
    c1.markdown(
        f"**Found only by the NN** ({len(only_nn)}; no classical test at p < {p:g}): "
        + (", ".join(f"{a}×{b}" for a, b in zip(only_nn.gene_a, only_nn.gene_b)) or "none")
    )
    c2.markdown(
        f"**Found only by a classical test** ({len(only_peer)}): "
        + (", ".join(f"{a}×{b}" for a, b in zip(only_peer.gene_a, only_peer.gene_b)) or "none")
    )
    st.download_button(
        "Download the table (CSV)",
        df.to_csv(index=False),
        file_name=f"interactions_{res.key[:8]}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    return df


def plots(res: ia.InteractionResult) -> None:
    truth = res.meta.get("truth") or {}
    names = res.gene_names
    # keyed and tracked, so the open tab survives reruns (a job starting or finishing in a tab)
    tabs = st.tabs(
        ["Heatmap", "Q-Q & FDR", "Null distribution", "Interaction surface", "Against the truth", "Replication"],
        key="ia_tabs",
        on_change="rerun",
    )
    with tabs[0]:
        c1, c2, c3 = st.columns(3)
        order = c1.selectbox(
            "Gene order",
            ["cohort", "score", "cluster"],
            format_func={"cohort": "as loaded", "score": "by total score", "cluster": "clustered"}.get,
            key="ia_heat_order",
            help="Clustered: genes that interact with the same partners sit together (average linkage).",
        )
        top = c2.number_input(
            "Top pairs outlined", 0, 100, min(10, len(res.table)), key="ia_heat_top", help="Outlined in white."
        )
        zoom = c3.selectbox(
            "Zoom to a gene",
            [None] + list(names),
            format_func=lambda g: "— all genes —" if g is None else g,
            key="ia_heat_zoom",
            help="One gene's scores with every partner, strongest first.",
        )
        if zoom is None:
            chart_with_downloads(
                charts.score_heatmap(
                    res.observed,
                    names,
                    truth.get("pairs", []),
                    title=f"Interaction scores (mean |{res.params.index}|)",
                    order=order,
                    top=int(top),
                ),
                "heatmap",
            )
            st.caption(
                f"Outlined: white = the {int(top)} highest-scoring pairs"
                + ("; red = the planted pairs (simulation)" if truth.get("pairs") else "")
                + ". The diagonal (a gene with itself) is left blank."
            )
        else:
            chart_with_downloads(charts.gene_partners_chart(res.observed, names, zoom, truth.get("pairs", [])), "gene")
    with tabs[1]:
        if not res.null.shape[0]:
            st.info("Run with B > 0 permutations to see the Q-Q plot and the FDR histogram.")
        else:
            c1, c2 = st.columns(2)
            chart_with_downloads(charts.qq_plot(res.observed, res.null), "qq_plot", c1)
            chart_with_downloads(charts.score_histograms(res.observed, res.null), "fdr_histogram", c2)
    with tabs[2]:
        if not res.null.shape[0]:
            st.info("Run with B > 0 permutations to see null distributions.")
        else:
            pair = _pair_picker(res, "null_pair")
            i, j = names.index(pair[0]), names.index(pair[1])
            c1, c2 = st.columns(2)
            chart_with_downloads(
                charts.null_distribution(res.null[:, i, j], res.observed[i, j], f"Null of {pair[0]} × {pair[1]}"),
                "null_pair",
                c1,
            )
            iu = np.triu_indices(len(names), 1)
            chart_with_downloads(
                charts.null_distribution(
                    res.null[:, iu[0], iu[1]].max(axis=1),
                    res.observed[i, j],
                    "max-T null (largest score per permutation)",
                ),
                "null_maxt",
                c2,
            )
    with tabs[3]:
        pair = _pair_picker(res, "surface_pair")
        params = surfaces.SurfaceParams(gene_a=pair[0], gene_b=pair[1])
        skey = surfaces.key(res.run_key, params)
        jobs_panel.show_notice("surface")
        if not surfaces.SURFACES.store().exists(skey):
            if st.button(
                "Fit the surface",
                key="surface_go",
                help="Fits h(g_i, g_j) and h_i(g_i) + h_j(g_j) on the training rows in the background "
                "(seconds; cached once fitted).",
            ):
                with widgets.user_errors("Fitting the interaction surface"):
                    jobs_panel.start(surfaces.job_spec(res.run_key, params), surfaces.KIND, SURF_JOB, SURF_RESULT)
            job_id = st.session_state.get(SURF_JOB)
            if job_id:
                jobs_panel.panel(job_id, SURF_JOB, SURF_RESULT, "surface", "The surface fit")
        else:
            with widgets.user_errors("Opening the interaction surface"):
                surf = surfaces.load(skey).surface
                chart_with_downloads(charts.surface_chart(surf.grid, surf.points, surf.gene_a, surf.gene_b), "surface")
                st.caption(
                    f"Training R²: joint h {surf.r2_joint:.4f} vs additive {surf.r2_additive:.4f}. "
                    "Background: h − h_i − h_j; points: individuals by predicted interaction (tertiles)."
                )
    with tabs[4]:
        _truth(res, truth)
    with tabs[5]:
        from gxapp.ui import replication_view

        replication_view.section(res.run_key, res.meta.get("cohort"), list(zip(res.table.gene_a, res.table.gene_b)))


def _pair_picker(res, key):
    opts = list(zip(res.table.gene_a, res.table.gene_b))
    return st.selectbox(
        "Gene pair", opts, format_func=lambda p: f"{p[0]} × {p[1]}", key=key, help="Ordered by the NN score."
    )


def _truth(res, truth) -> None:
    metrics = res.meta.get("metrics")
    if not metrics:
        st.info("This cohort has no planted truth (only simulations do).")
        return
    rows = [
        {
            "method": m,
            "AP": v["AP"],
            "AUROC": v["AUROC"],
            **{f"AP, {TYPE_WORDS.get(t, t)} pairs": a for t, a in (v.get("AP_by_type") or {}).items()},
        }
        for m, v in metrics.items()
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.3f") for c in rows[0] if c != "method"},
    )
    fdp = (metrics.get("NN") or {}).get("fdp") or {}
    lines = [
        f"**{name}** at q < {f['level']:g}: {f['called']} pair(s) called, {f['planted']} of them planted "
        f"(of {len(truth['pairs'])}) — realised false discovery proportion **{f['fdp']:.2f}** (nominal {f['level']:g})"
        for name, f in (("Held-out test", fdp.get("held-out q")), ("Perm I (global null)", fdp.get("Perm I q")))
        if f
    ]
    if lines:
        st.markdown("  \n".join(lines))
    labels = pair_labels(res.gene_names, truth["pairs"])
    curves = {
        "NN": precision_recall_curve_pairs(res.observed, labels),
        "top-SNP": precision_recall_curve_pairs(p_to_score(res.peers["p_topsnp"]), labels),
        "PCA": precision_recall_curve_pairs(p_to_score(res.peers["p_pca"]), labels),
        "SNP-pair": precision_recall_curve_pairs(p_to_score(res.peers["p_snppair_min"]), labels),
        **{
            label: precision_recall_curve_pairs(res.peers[f"score_{stem}"], labels)
            for stem, label in ia.PERM_PEERS.items()
            if f"score_{stem}" in res.peers
        },
    }
    chart_with_downloads(charts.pr_curves(curves), "precision_recall")
    st.caption(
        f"{len(truth['pairs'])} planted pairs among {len(res.table)}; random AP = "
        f"{len(truth['pairs']) / len(res.table):.3f}."
    )


def report_download(analysis_key: str, fdr: float, p: float) -> None:
    """One self-contained HTML file of this analysis (cohort, QC, run, ranked pairs, every chart,
    provenance) to share: built on request (a few seconds), cached."""
    from gxapp.analyses import reports

    if st.button(
        "Build the shareable report (HTML)",
        key="ia_report",
        help="One file with the cohort and QC, the run, the ranked pairs, every chart and the provenance; "
        "opens offline in any browser.",
    ):
        st.session_state["ia_report_for"] = (analysis_key, fdr, p)
    if st.session_state.get("ia_report_for") == (analysis_key, fdr, p):
        with st.spinner("Rendering every chart…"):
            rep = reports.get(analysis_key, reports.ReportParams(fdr=float(fdr), p=float(p)))
        st.download_button(
            "Download the report",
            rep.html,
            file_name=f"gxapp_report_{analysis_key[:8]}.html",
            mime="text/html",
            icon=":material/download:",
            key="ia_report_download",
        )
