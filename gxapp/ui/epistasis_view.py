"""Epistasis page pieces: the comparison form, results (AUC table, box plots,
t-test matrix, learning curves, sparsity sweep) and the epistasis-types panel."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from gxapp import epistasis as epi
from gxapp import plots as charts
from gxapp.analyses import comparisons as cmp
from gxapp.ui import widgets
from gxapp.ui.widgets import chart_with_downloads

JOB_KEY = "epi_job_id"
RESULT_KEY = "epi_result_key"
D = cmp.ComparisonParams()  # the declared defaults
ANALYSIS_LABELS = {
    "compare": "Compare architectures",
    "learning_curve": "Learning curve (sample size)",
    "sparsity_sweep": "Sparsity sweep (wiring degree)",
}
MODEL_HELP = (
    "logreg: gene neurons → output (additive). biosparse: genes → their pathway neuron (tanh) → output. "
    "dense: genes → fully connected hidden layer. linear: biosparse without nonlinearity (control). "
    "ensemble: K randomly wired biosparse nets. l2/l1: penalised logistic regression on the per-gene features. "
    "l2-snps/l1-snps: the same on every SNP's dosage (paper B's baselines; slower)."
)


# The comparison's presets (paper B: 10 repeats of 3-fold CV), named as the home page's.
EPI_PRESETS = {
    "quick": ("Quick look", 3, 1),
    "demo": ("Lab-meeting demo", 3, 3),
    "paper": ("Paper protocol", 3, 10),
}


def _apply_preset() -> None:
    name = st.session_state.get("epi_preset")
    if name in EPI_PRESETS:
        _, folds, repeats = EPI_PRESETS[name]
        st.session_state.update(epi_folds=folds, epi_repeats=repeats)


def params_form(has_pathways: bool, has_variants: bool = False):
    st.selectbox(
        "Preset",
        [None, *EPI_PRESETS],
        format_func=lambda n: (
            "— my own settings —"
            if n is None
            else f"{EPI_PRESETS[n][0]} ({EPI_PRESETS[n][2]} × {EPI_PRESETS[n][1]}-fold CV)"
        ),
        key="epi_preset",
        on_change=_apply_preset,
        help="Quick look: one repeat of 3-fold CV (seconds); Lab-meeting demo: 3 repeats (the default); Paper "
        "protocol: paper B's 10 repeats of 3-fold CV. Fills the form; every knob stays yours.",
    )
    with st.form("epistasis"):
        analysis = st.radio(
            "Analysis", list(ANALYSIS_LABELS), format_func=ANALYSIS_LABELS.get, horizontal=True, key="epi_analysis"
        )
        models = st.multiselect("Models", list(epi.MODELS), default=list(D.models), key="epi_models", help=MODEL_HELP)
        c1, c2, c3, c4 = st.columns(4)
        folds = c1.number_input(
            "Folds k",
            2,
            10,
            widgets.preset_default("epi_folds", D.folds),
            key="epi_folds",
            help="Stratified k-fold CV (paper: 3).",
        )
        repeats = c2.number_input(
            "Repeats R",
            1,
            20,
            widgets.preset_default("epi_repeats", D.repeats),
            key="epi_repeats",
            help="Repeats of the k-fold split (paper: 10); same splits for every model.",
        )
        sparsity = c3.slider(
            "Genes connected",
            0.05,
            1.0,
            D.sparsity,
            step=0.05,
            key="epi_sparsity",
            help="Fraction of genes wired to pathway neurons in biosparse/linear/ensemble nets.",
        )
        wiring = c4.selectbox(
            "Wiring",
            list(epi.WIRINGS),
            index=0 if has_pathways else 1,
            key="epi_wiring",
            help="pathway: from the cohort's GMT; random: same number of connections, random.",
        )
        c1, c2 = st.columns(2)
        seed = c1.number_input("Seed", 0, 2**31 - 1, D.seed, key="epi_seed", help="Splits, wirings and initialisation.")
        gene_pcs = c2.number_input(
            "Gene PCs",
            0,
            20,
            D.gene_pcs,
            key="epi_gene_pcs",
            disabled=has_variants,
            help="SNP genotypes without annotated variants: each gene's first K principal components of its SNP "
            "dosages, beside its MAF-bin sums — they keep a strong single SNP that a bin sum dilutes. Computed on "
            "every sample without the phenotype. Annotated variants keep paper B's class counts.",
        )
        submitted = st.form_submit_button("Run", type="primary", key="epi_submit")
    if not submitted:
        return None
    return cmp.ComparisonParams(
        analysis=analysis,
        models=tuple(models),
        folds=int(folds),
        repeats=int(repeats),
        sparsity=float(sparsity),
        wiring=wiring,
        seed=int(seed),
        gene_pcs=D.gene_pcs if has_variants else int(gene_pcs),
    )


def wiring_note(res: dict) -> None:
    """The notice that random wiring stood in for missing gene sets (docs/method.md#architecture-comparison)."""
    first = next(iter((res.get("results") or {}).values()), {})  # a learning curve: its first size
    settings = res.get("settings") or (res.get("comparison") or first).get("settings") or {}
    if settings.get("wiring_note"):
        st.info(settings["wiring_note"][0].upper() + settings["wiring_note"][1:] + ".")


def show_compare(res: dict) -> None:
    wiring_note(res)
    models = list(res["models"])
    table = pd.DataFrame(
        [
            {
                "model": m,
                "AUC mean": v["auc_mean"],
                "AUC sd": v["auc_sd"],
                "parameters": v["n_params"],
                "kind": v["kind"],
            }
            for m, v in res["models"].items()
        ]
    )
    best = table.loc[table["AUC mean"].idxmax(), "model"]
    st.markdown(
        f"**{best}** has the highest mean AUC ({table['AUC mean'].max():.3f}) over "
        f"{res['repeats']} × {res['folds']} CV on {res['n_samples']:,} samples "
        f"({res['n_cases']:,} cases)."
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "AUC mean": st.column_config.NumberColumn(format="%.4f"),
            "AUC sd": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    c1, c2 = st.columns(2)
    chart_with_downloads(charts.auc_boxplot({m: v["aucs"] for m, v in res["models"].items()}), "auc_boxplot", c1)
    chart_with_downloads(charts.ttest_matrix(res["ttest"], models), "ttest_matrix", c2)
    tt = pd.DataFrame(res["ttest"])
    st.download_button(
        "Download AUCs per fold (CSV)",
        pd.DataFrame(
            [
                {"model": m, "repeat": s[0], "fold": s[1], "auc": a}
                for m, v in res["models"].items()
                for s, a in zip(res["splits"], v["aucs"])
            ]
        ).to_csv(index=False),
        file_name="aucs.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    st.download_button(
        "Download t-tests (CSV)",
        tt.to_csv(index=False),
        file_name="ttests.csv",
        mime="text/csv",
        icon=":material/download:",
    )


def story(table: pd.DataFrame) -> str:
    """Paper B's story in one sentence, read off the curve (docs/method.md#learning-curve)."""
    if "kind" not in table:  # a curve stored before the kind column
        return ""
    c = epi.crossover(table)
    small, large = c["small"], c["large"]
    head = (
        f"At **{small['n']:,}** samples **{small['model']}** is best (AUC {small['auc']:.3f}); at "
        f"**{large['n']:,}**, **{large['model']}** ({large['auc']:.3f})."
    )
    if "large_network" not in c:
        return head
    net, add = c["large_network"], c["large_additive"]
    if c["crossover_n"]:
        return (
            head + f" **Additive wins small, the networks win large**: from {c['crossover_n']:,} samples on, a network "
            f"is ahead of every additive model ({net['model']} {net['auc']:.3f} vs {add['model']} {add['auc']:.3f} "
            "at the largest size) — paper B's crossover."
        )
    if c.get("networks_lead_everywhere"):
        return head + " A network is ahead of every additive model at every size: no crossover within these sizes."
    return (
        head + f" No crossover within these sizes: the additive models stay ahead ({add['model']} {add['auc']:.3f} vs "
        f"{net['model']} {net['auc']:.3f} at the largest size) — more samples, or a stronger interaction, are needed "
        "for the networks to pay off."
    )


def show_partial(n_max: int):
    """Draws a learning curve still being computed (what the job published so far)."""

    def draw(curve) -> None:
        if not isinstance(curve, epi.LearningCurve) or not curve.fractions:
            return
        table = curve.table()
        n_net = table.loc[table["kind"] == "network", "fraction"].nunique()
        st.caption(
            f"The curve so far: additive models at {table.loc[table['kind'] == 'additive', 'fraction'].nunique()} "
            f"sample size(s), networks at {n_net} — each size is drawn as its networks finish (the smaller sizes "
            "usually first)."
        )
        st.altair_chart(charts.learning_curve_chart(table, n_max=n_max), width="stretch")

    return draw


def show_learning_curve(res: dict) -> None:
    wiring_note(res)
    table = pd.DataFrame(res["table"])
    sentence = story(table)
    if sentence:
        st.markdown(sentence)
    chart_with_downloads(charts.learning_curve_chart(table), "learning_curve")
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("Download (CSV)", table.to_csv(index=False), file_name="learning_curve.csv", mime="text/csv")
    largest = max(res["results"], key=float)  # the full cohort (or the largest subset): the comparison itself
    st.subheader(f"The comparison at {res['results'][largest]['n_samples']:,} samples")
    show_compare(res["results"][largest])


TYPE_WORDS = {
    "positive": "risk only when both genes are hit",
    "negative": "protection only when both genes are hit",
    "reciprocal": "each gene alone raises the risk, together they cancel (XOR-like)",
    "additive": "the two genes add up",
}


def truth_panel(truth: dict) -> None:
    """What the case/control simulator planted: the interacting pairs with their epistasis type
    and log-odds, and the genes with additive effects (docs/method.md#simulators)."""
    if not truth or truth.get("scenario") != "casecontrol":
        return
    with st.expander(f"Planted truth (simulation): {len(truth.get('pairs', []))} interacting gene pairs"):
        rows = []
        for a, b in truth.get("pairs", []):
            k = f"{a}|{b}"
            kind = truth.get("types", {}).get(k, "")
            rows.append(
                {
                    "gene A": a,
                    "gene B": b,
                    "epistasis": kind,
                    "what it means": TYPE_WORDS.get(kind, ""),
                    "log-odds": truth.get("weights", {}).get(k),
                    "pathway": truth.get("pair_pathways", {}).get(k, ""),
                }
            )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        add = truth.get("additive_genes") or {}
        if add:
            st.caption(
                "Additive genes: " + ", ".join(f"{g} (log-odds {w:g})" for g, w in add.items()) + ". A gene is "
                "'hit' when its damaging-variant burden is above the threshold that hits ~30 % of people."
            )


def demo_story(cohort_key: str) -> None:
    """The case/control demo opens on paper B's learning curve: started in the background on first
    open (once per session), cached for everyone afterwards."""
    from gxapp import cache
    from gxapp.analyses import cohorts
    from gxapp.ui import jobs_panel

    if cohort_key != cohorts.demo_casecontrol_key() or st.session_state.get(JOB_KEY):
        return
    spec = cmp.job_spec(cohort_key, cmp.DEMO_STORY)
    if cache.Store(cmp.KIND).exists(spec.key) or st.session_state.get("epi_story_started"):
        return
    st.session_state["epi_story_started"] = True
    jobs_panel.start(spec, cmp.KIND, JOB_KEY, RESULT_KEY)
    st.info(
        "The case/control demo opens with paper B's learning curve (1 × 3-fold CV at five sample sizes, "
        "under a minute, once: it is cached). Meanwhile, set up your own comparison below."
    )


def show_sweep(res: dict) -> None:
    wiring_note(res)
    table = pd.DataFrame(res["table"])
    chart_with_downloads(charts.sweep_chart(table), "sparsity_sweep")
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("Download (CSV)", table.to_csv(index=False), file_name="sparsity_sweep.csv", mime="text/csv")


@st.cache_data(show_spinner="Fitting the three heads on toy data…")
def _surfaces(effect: float):
    s = epi.decision_surfaces(grid=25, effect=effect)
    return s.grid, s.summary


def epistasis_types() -> None:
    st.markdown(
        "Two genes, each either hit or not; which head can express which kind of epistasis "
        "(paper B, Fig. 3)? **logreg** only adds effects; **biosparse** (both genes into one tanh "
        "pathway neuron) can saturate (positive/negative epistasis); **dense** can express all, "
        "including reciprocal sign (XOR-like)."
    )
    effect = st.select_slider("Effect size (log-odds)", [1.0, 2.0, 3.0, 4.0], 3.0, key="epi_effect")
    if st.toggle("Fit and show the decision surfaces", key="epi_surf"):
        grid, summary = _surfaces(float(effect))
        chart_with_downloads(charts.decision_surfaces_chart(grid), "decision_surfaces")
        st.dataframe(summary.pivot(index="type", columns="head", values="expresses"), width="stretch")
