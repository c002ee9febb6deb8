"""Train page pieces: the hyper-parameter form, the live job panel, and the
view of a finished run."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from gxapp import plots as charts
from gxapp.analyses import runs
from gxapp.errors import GxError
from gxapp.genenet.train import STEPS_PER_EPOCH, resolve_threads
from gxapp.ui import widgets

JOB_KEY = "train_job_id"
RUN_KEY = "train_run_key"
D = runs.RunParams()  # the declared defaults


def _threads(n: int) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


def device_caption() -> str:
    from gxapp import execute

    ex = execute.current()
    if ex.kind == "dask":
        n = ex.n_workers
        return (
            f"Training on the **Dask cluster** ({n} worker{'s' * (n != 1)}; each uses its GPU when it has one): "
            "see Compute in the sidebar."
        )
    if torch.cuda.is_available():
        return f"Training on **CUDA** ({torch.cuda.get_device_name(0)})."
    threads = _threads(resolve_threads(None))
    return f"Training on the **CPU** ({threads}); a CUDA GPU is used automatically when present."


def _apply_preset() -> None:
    """Put the chosen preset's run settings into the form's widgets (before they are drawn)."""
    from gxapp.analyses import pipeline

    name = st.session_state.get("tr_preset")
    if name in pipeline.PRESETS:
        p = pipeline.PRESETS[name].run
        st.session_state.update(
            tr_ensemble=p.ensemble, tr_l1=f"{p.l1:g}", tr_epochs=p.max_epochs, tr_patience=p.patience
        )


def params_form():
    """The knobs, in one form: one submit means one run. Returns RunParams or None."""
    from gxapp.analyses import pipeline

    st.selectbox(
        "Preset",
        [None, *pipeline.PRESETS],
        format_func=lambda n: "— my own settings —" if n is None else pipeline.PRESETS[n].label,
        key="tr_preset",
        on_change=_apply_preset,
        help="\n\n".join(f"**{p.label}**: {p.help}" for p in pipeline.PRESETS.values())
        + "\n\nA preset fills the form below; every knob stays yours.",
    )
    with st.form("train"):
        c1, c2, c3 = st.columns(3)
        ensemble = c1.number_input(
            "Ensemble size",
            1,
            200,
            widgets.preset_default("tr_ensemble", D.ensemble),
            key="tr_ensemble",
            help="Networks differing only in initialisation; scores are averaged. Paper: 50.",
        )
        l1_text = c2.text_input(
            "Sparsity λ (L1)",
            widgets.preset_default("tr_l1", f"{D.l1:g}"),
            key="tr_l1",
            help="L1 penalty on all weights, typed (e.g. 3e-4; 0 = none): larger λ zeroes more SNP and gene "
            "weights. To try several values at once use the sparsity what-if below.",
        )
        l1_cv = c3.checkbox(
            f"Choose λ by {D.cv_folds}-fold CV",
            D.l1_cv,
            key="tr_l1cv",
            help="Cross-validates λ on the training rows (paper A); ~20 extra small trainings.",
        )
        c1, c2, c3, c4 = st.columns(4)
        gh = c1.number_input(
            "Gene hidden units",
            0,
            256,
            D.gene_hidden,
            key="tr_gh",
            help="Per-gene MLP width (m_i → h → 1); 0 = linear gene node (paper's public code).",
        )
        hh = c2.number_input(
            "Head hidden units",
            1,
            1024,
            D.head_hidden,
            key="tr_hh",
            help="Width of the MLP over the gene nodes (M → H → 1).",
        )
        epochs = c3.number_input(
            "Max epochs",
            1,
            5000,
            widgets.preset_default("tr_epochs", D.max_epochs),
            key="tr_epochs",
            help="Each member stops early after `patience` epochs without validation gain.",
        )
        patience = c4.number_input(
            "Patience",
            1,
            500,
            widgets.preset_default("tr_patience", D.patience),
            key="tr_patience",
            help="Epochs without improvement of the validation loss before a member stops.",
        )
        c1, c0, c2, c3, c4 = st.columns(5)
        lr = c1.number_input("Learning rate", 1e-5, 1.0, D.lr, format="%.4f", key="tr_lr", help="Adam step size.")
        snp_scale = c0.number_input(
            "SNP scale",
            0.1,
            100.0,
            float(D.snp_scale),
            step=0.5,
            key="tr_snp_scale",
            help="Genotypes enter the gene layer multiplied by this: the SNP weights learn this many times faster "
            "than the head and their L1 penalty is this many times lighter, so a gene whose signal sits on a rare "
            "variant is learned before early stopping. 1 = paper A; the default was chosen by measurement "
            "(docs/method.md#networks).",
        )
        batch = c2.number_input(
            "Batch size (0 = automatic)",
            0,
            1_000_000,
            D.batch_size or 0,
            key="tr_batch",
            help=f"Rows per Adam step. 0 (default): the fitting rows / {STEPS_PER_EPOCH}, so that every cohort size "
            f"gets {STEPS_PER_EPOCH} steps per epoch. Paper A's 30,000 was set for ~300k UK Biobank rows: on a "
            "smaller cohort it means one step per epoch and undertrained networks.",
        )
        seed = c3.number_input(
            "Seed", 0, 2**31 - 1, D.seed, key="tr_seed", help="Initialisation, split and batch order."
        )
        device = c4.selectbox(
            "Device", ["auto", "cpu", "cuda"], key="tr_device", help="auto: the GPU when there is one."
        )
        submitted = st.form_submit_button("Train", type="primary", key="tr_submit")
    if not submitted:
        return None
    try:
        l1 = float(str(l1_text).strip())
    except ValueError:
        st.error(f"Sparsity λ: expected a number such as 1e-4, got '{l1_text}'.")
        return None
    return runs.RunParams(
        ensemble=int(ensemble),
        l1=float(l1),
        l1_cv=bool(l1_cv),
        gene_hidden=int(gh),
        head_hidden=int(hh),
        snp_scale=float(snp_scale),
        max_epochs=int(epochs),
        patience=int(patience),
        lr=float(lr),
        batch_size=int(batch) or None,
        seed=int(seed),
        device=device,
    )


def show_run(run: runs.Run) -> None:
    m = run.metrics
    st.subheader("Result")
    c = st.columns(4)
    c[0].metric("Test R², interaction ensemble", f"{m['r2_ensemble']:.4f}")
    c[1].metric(
        "Test R², main-effect network",
        f"{m['r2_main']:.4f}",
        help="Same gene layer, linear head: no interactions (the null model of the permutation test).",
    )
    c[2].metric("Test R², top-SNP OLS", f"{m['r2_topsnp_ols']:.4f}", help="OLS on each gene's most associated SNP.")
    c[3].metric(
        "Training time",
        f"{run.meta.get('timings', {}).get('total_s', 0):.1f} s",
        help=f"device {run.meta.get('device')}, {run.meta.get('threads')} threads",
    )
    st.altair_chart(charts.r2_chart(m), width="stretch")
    c1, c2 = st.columns(2)
    c1.altair_chart(
        charts.loss_curves(run.interaction.train_loss, run.interaction.val_loss, "Interaction ensemble: MSE per epoch"),
        width="stretch",
    )
    c2.altair_chart(
        charts.loss_curves(run.main.train_loss, run.main.val_loss, "Main-effect network: MSE per epoch"),
        width="stretch",
    )
    with st.expander("Parameters and provenance"):
        meta = run.meta
        info = {
            "run": run.key,
            "cohort": meta.get("cohort"),
            "λ used": meta.get("l1_used"),
            "λ by CV (mean val MSE)": meta.get("l1_cv"),
            "parameters per network": meta.get("n_params"),
            "train / test rows": f"{meta.get('n_train')} / {meta.get('n_test')}",
            "preprocessing": meta.get("preprocessing"),
            "parameters": meta.get("params"),
            "versions": meta.get("versions"),
            "created": meta.get("created"),
        }
        widgets.facts(info)


def runs_table(cohort_key: str):
    entries = runs.entries(cohort_key)
    if not entries:
        st.info("No run for this cohort yet.")
        return None
    rows = []
    for m in entries:
        p, met = m.get("params", {}), m.get("metrics", {})
        rows.append(
            {
                "Created": widgets.when(m.get("created")),
                "Networks (E)": p.get("ensemble"),
                "λ": m.get("l1_used"),
                "Gene layer width": p.get("gene_hidden"),
                "Head width": p.get("head_hidden"),
                "SNP scale": p.get("snp_scale", 1.0),
                "Seed": p.get("seed"),
                "R² ensemble": met.get("r2_ensemble"),
                "R² main": met.get("r2_main"),
                "Device": m.get("device"),
                "Seconds": m.get("timings", {}).get("total_s"),
                "Key": m["key"][:10],
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "R² ensemble": st.column_config.NumberColumn(format="%.4f"),
            "R² main": st.column_config.NumberColumn(format="%.4f"),
        },
    )
    return entries


def load(key: str):
    try:
        return runs.load(key)
    except GxError as exc:
        st.error(str(exc))
        return None
