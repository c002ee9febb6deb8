"""Altair chart builders: pure functions from data to a chart (testable
without a browser). Large inputs are binned in numpy first so the browser
receives a few hundred rows, not N."""
from __future__ import annotations

from typing import Optional

import altair as alt
import numpy as np
import pandas as pd

WIDTH = "container"


def _hist_frame(values, bins=40, range_=None) -> pd.DataFrame:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return pd.DataFrame({"lo": [], "hi": [], "count": []})
    counts, edges = np.histogram(v, bins=bins, range=range_)
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts})


def histogram(values, title: str, x_title: str, bins=40, range_=None, color="#4c78a8") -> alt.Chart:
    df = _hist_frame(values, bins, range_)
    return (
        alt.Chart(df, title=title)
        .mark_bar(color=color)
        .encode(
            x=alt.X("lo:Q", bin="binned", title=x_title),
            x2="hi:Q",
            y=alt.Y("count:Q", title="count"),
            tooltip=[alt.Tooltip("lo:Q", format=".3g", title="from"), alt.Tooltip("hi:Q", format=".3g", title="to"), "count:Q"],
        )
        .properties(width=WIDTH, height=220)
    )


def maf_histogram(maf) -> alt.Chart:
    return histogram(maf, "Minor allele frequency", "MAF", bins=25, range_=(0.0, 0.5))


def phenotype_chart(y, trait: str) -> alt.Chart:
    y = np.asarray(y, dtype=np.float64)
    if trait == "binary":
        ok = y[np.isfinite(y)]
        df = pd.DataFrame({"status": ["control", "case"], "count": [int((ok == 0).sum()), int((ok == 1).sum())]})
        return (
            alt.Chart(df, title="Phenotype (case/control)")
            .mark_bar()
            .encode(
                x=alt.X("status:N", title=None, sort=["control", "case"]),
                y=alt.Y("count:Q"),
                color=alt.Color("status:N", legend=None, scale=alt.Scale(range=["#4c78a8", "#e45756"])),
                tooltip=["status:N", "count:Q"],
            )
            .properties(width=WIDTH, height=220)
        )
    return histogram(y, "Phenotype", "phenotype value", bins=40, color="#72b7b2")


def snps_per_gene_chart(counts: pd.Series, highlight: Optional[set] = None) -> alt.Chart:
    """Bar chart of SNPs per gene; genes in ``highlight`` (e.g. in a planted pair) are coloured."""
    df = pd.DataFrame({"gene": counts.index.astype(str), "snps": counts.to_numpy()})
    df["planted"] = df["gene"].isin(highlight or set()).map({True: "in a planted pair", False: "other"})
    many = len(df) > 40
    enc = dict(
        x=alt.X("gene:N", sort=None, title="gene", axis=alt.Axis(labels=not many)),
        y=alt.Y("snps:Q", title="SNPs"),
        tooltip=["gene:N", "snps:Q"],
    )
    if highlight:
        enc["color"] = alt.Color("planted:N", title=None, scale=alt.Scale(domain=["in a planted pair", "other"],
                                                                          range=["#f58518", "#4c78a8"]))
    return alt.Chart(df, title="SNPs per gene").mark_bar().encode(**enc).properties(width=WIDTH, height=240)


def ld_heatmap(r2: np.ndarray, snp_ids, gene: str) -> alt.Chart:
    n = len(snp_ids)
    ids = [str(s) for s in snp_ids]
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    df = pd.DataFrame({"snp_a": np.asarray(ids)[ii.ravel()], "snp_b": np.asarray(ids)[jj.ravel()], "r2": r2.ravel()})
    axis = alt.Axis(labels=n <= 40, ticks=n <= 40, title=None)
    return (
        alt.Chart(df, title=f"LD (r²) within {gene}")
        .mark_rect()
        .encode(
            x=alt.X("snp_a:N", sort=ids, axis=axis),
            y=alt.Y("snp_b:N", sort=ids, axis=axis),
            color=alt.Color("r2:Q", scale=alt.Scale(domain=[0, 1], scheme="reds"), title="r²"),
            tooltip=["snp_a:N", "snp_b:N", alt.Tooltip("r2:Q", format=".2f")],
        )
        .properties(width=WIDTH, height=360)
    )


def qc_chart(steps: list) -> alt.Chart:
    """What each QC step removed (bars), in the order the steps ran."""
    df = pd.DataFrame([{"step": s["step"], "removed": s["removed"]} for s in steps])
    return (
        alt.Chart(df, title="Removed by QC")
        .mark_bar(color="#e45756")
        .encode(
            y=alt.Y("step:N", sort=None, title=None),
            x=alt.X("removed:Q", title="removed"),
            tooltip=["step:N", "removed:Q"],
        )
        .properties(width=WIDTH, height=max(60, 28 * len(df)))
    )


def class_heatmap(mean_counts: np.ndarray, genes, classes) -> alt.Chart:
    """Mean variant count per gene (rows) and functional class (columns): the
    gene-centric encoding of paper B, averaged over samples."""
    g, c = np.meshgrid(np.arange(len(genes)), np.arange(len(classes)), indexing="ij")
    df = pd.DataFrame({"gene": np.asarray(genes, dtype=object)[g.ravel()],
                       "class": np.asarray(classes, dtype=object)[c.ravel()],
                       "mean count": mean_counts.ravel()})
    return (
        alt.Chart(df, title="Gene-centric features: mean count per gene and class")
        .mark_rect()
        .encode(
            x=alt.X("class:N", sort=list(classes), title=None),
            y=alt.Y("gene:N", sort=list(genes), title=None, axis=alt.Axis(labels=len(genes) <= 60)),
            color=alt.Color("mean count:Q", scale=alt.Scale(scheme="blues")),
            tooltip=["gene:N", "class:N", alt.Tooltip("mean count:Q", format=".3f")],
        )
        .properties(width=WIDTH, height=max(200, min(12 * len(genes), 700)))
    )


def loss_curves(train_loss: np.ndarray, val_loss: np.ndarray, title: str = "Training curves") -> alt.Chart:
    """Per-epoch MSE of every ensemble member (thin lines) and their mean (thick),
    training and validation side by side. Arrays are (epochs, members), NaN after
    a member stopped early."""
    frames = []
    for name, arr in (("training", train_loss), ("validation", val_loss)):
        arr = np.asarray(arr, dtype=np.float64)
        e, k = np.meshgrid(np.arange(1, arr.shape[0] + 1), np.arange(arr.shape[1]), indexing="ij")
        df = pd.DataFrame({"epoch": e.ravel(), "member": k.ravel(), "mse": arr.ravel(), "split": name})
        frames.append(df[np.isfinite(df["mse"])])
    df = pd.concat(frames, ignore_index=True)
    base = alt.Chart(df).encode(x=alt.X("epoch:Q", title="epoch"),
                                color=alt.Color("split:N", title=None, scale=alt.Scale(range=["#4c78a8", "#f58518"])))
    members = base.mark_line(opacity=0.25, strokeWidth=1).encode(
        y=alt.Y("mse:Q", title="MSE", scale=alt.Scale(zero=False)), detail="member:N",
        tooltip=["split:N", "member:Q", "epoch:Q", alt.Tooltip("mse:Q", format=".4f")])
    mean = base.mark_line(strokeWidth=3).encode(y=alt.Y("mean(mse):Q"))
    return alt.layer(members, mean, title=title).properties(width=WIDTH, height=280)


def r2_chart(metrics: dict) -> alt.Chart:
    """Test R² of the interaction ensemble, its members, the main-effect network
    and an additive OLS on each gene's top SNP."""
    rows = [("interaction ensemble", metrics["r2_ensemble"]), ("main-effect network", metrics["r2_main"]),
            ("top-SNP OLS (additive)", metrics["r2_topsnp_ols"])]
    df = pd.DataFrame(rows, columns=["model", "R²"])
    members = pd.DataFrame({"model": "interaction ensemble", "R²": metrics.get("r2_members", [])})
    order = [r[0] for r in rows]
    bars = alt.Chart(df).mark_bar().encode(
        y=alt.Y("model:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)), x=alt.X("R²:Q", title="test R²"),
        color=alt.Color("model:N", legend=None, sort=order),
        tooltip=["model:N", alt.Tooltip("R²:Q", format=".4f")])
    dots = alt.Chart(members).mark_tick(color="black", thickness=1, size=18).encode(
        y=alt.Y("model:N", sort=order), x="R²:Q", tooltip=[alt.Tooltip("R²:Q", format=".4f", title="member R²")])
    return alt.layer(bars, dots, title="Test R² (ticks: individual members)").properties(width=WIDTH, height=150)
