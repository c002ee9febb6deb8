"""Altair chart builders: pure functions from data to a chart (testable without a browser),
shared by the app (gxapp/ui), the HTML report (gxapp.analyses.reports) and the benchmarks. Large
inputs are binned in numpy first so a chart holds a few hundred rows, not N. No streamlit here."""

from __future__ import annotations

from typing import Optional

import altair as alt
import numpy as np
import pandas as pd

WIDTH = "container"
# Data is binned/gridded in numpy before charting; the largest (decision surfaces, LD of 150 SNPs)
# stay well below this, which only guards against accidents.
alt.data_transformers.disable_max_rows()


def _hist_frame(values, bins=40, range_=None) -> pd.DataFrame:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return pd.DataFrame({"lo": [], "hi": [], "count": []})
    counts, edges = np.histogram(v, bins=bins, range=range_)
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "count": counts})


COUNT_AXIS = alt.Axis(tickMinStep=1, format="d")  # counts: whole ticks only (no 0.5 people)


def histogram(values, title: str, x_title: str, bins=40, range_=None, color="#4c78a8") -> alt.Chart:
    df = _hist_frame(values, bins, range_)
    return (
        alt.Chart(df, title=title)
        .mark_bar(color=color)
        .encode(
            x=alt.X("lo:Q", bin="binned", title=x_title),
            x2="hi:Q",
            y=alt.Y("count:Q", title="count", axis=COUNT_AXIS),
            tooltip=[
                alt.Tooltip("lo:Q", format=".3g", title="from"),
                alt.Tooltip("hi:Q", format=".3g", title="to"),
                "count:Q",
            ],
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
                y=alt.Y("count:Q", axis=COUNT_AXIS),
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
        enc["color"] = alt.Color(
            "planted:N",
            title=None,
            scale=alt.Scale(domain=["in a planted pair", "other"], range=["#f58518", "#4c78a8"]),
        )
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
            y=alt.Y("step:N", sort=None, title=None, axis=alt.Axis(labelLimit=280)),
            x=alt.X("removed:Q", title="removed", axis=alt.Axis(format=",d", tickMinStep=1)),
            tooltip=["step:N", "removed:Q"],
        )
        .properties(width=WIDTH, height=max(60, 28 * len(df)))
    )


def class_heatmap(mean_counts: np.ndarray, genes, classes) -> alt.Chart:
    """Mean variant count per gene (rows) and functional class (columns): the
    gene-centric encoding of paper B, averaged over samples."""
    g, c = np.meshgrid(np.arange(len(genes)), np.arange(len(classes)), indexing="ij")
    df = pd.DataFrame(
        {
            "gene": np.asarray(genes, dtype=object)[g.ravel()],
            "class": np.asarray(classes, dtype=object)[c.ravel()],
            "mean count": mean_counts.ravel(),
        }
    )
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
    base = alt.Chart(df).encode(
        x=alt.X("epoch:Q", title="epoch"),
        color=alt.Color("split:N", title=None, scale=alt.Scale(range=["#4c78a8", "#f58518"])),
    )
    members = base.mark_line(opacity=0.25, strokeWidth=1).encode(
        y=alt.Y("mse:Q", title="MSE", scale=alt.Scale(zero=False)),
        detail="member:N",
        tooltip=["split:N", "member:Q", "epoch:Q", alt.Tooltip("mse:Q", format=".4f")],
    )
    mean = base.mark_line(strokeWidth=3).encode(y=alt.Y("mean(mse):Q"))
    return alt.layer(members, mean, title=title).properties(width=WIDTH, height=280)


def r2_chart(metrics: dict) -> alt.Chart:
    """Test R² of the interaction ensemble, its members, the main-effect network
    and an additive OLS on each gene's top SNP."""
    rows = [
        ("interaction ensemble", metrics["r2_ensemble"]),
        ("main-effect network", metrics["r2_main"]),
        ("top-SNP OLS (additive)", metrics["r2_topsnp_ols"]),
    ]
    df = pd.DataFrame(rows, columns=["model", "R²"])
    members = pd.DataFrame({"model": "interaction ensemble", "R²": metrics.get("r2_members", [])})
    order = [r[0] for r in rows]
    bars = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y("model:N", sort=order, title=None, axis=alt.Axis(labelLimit=300, labelOverlap=False)),
            x=alt.X("R²:Q", title="test R²"),
            color=alt.Color("model:N", legend=None, sort=order),
            tooltip=["model:N", alt.Tooltip("R²:Q", format=".4f")],
        )
    )
    dots = (
        alt.Chart(members)
        .mark_tick(color="black", thickness=1, size=18)
        .encode(
            y=alt.Y("model:N", sort=order), x="R²:Q", tooltip=[alt.Tooltip("R²:Q", format=".4f", title="member R²")]
        )
    )
    # one 40-px band per model: a fixed total height let Vega drop a label when the chart was drawn short
    return alt.layer(bars, dots, title="Test R² (ticks: individual members)").properties(
        width=WIDTH, height=alt.Step(40)
    )


# ---- Interactions page ------------------------------------------------------------------
def gene_order(scores: np.ndarray, names, how: str = "cohort") -> list:
    """Gene order for the heatmap: ``"cohort"`` (as loaded), ``"score"`` (largest total pair score
    first) or ``"cluster"`` (average-linkage clustering of the genes' score profiles, optimal leaf
    order: genes that interact with the same partners sit together)."""
    names = [str(n) for n in names]
    S = np.nan_to_num(np.asarray(scores, dtype=np.float64))
    if how == "score":
        return [names[k] for k in np.argsort(-S.sum(axis=1), kind="stable")]
    if how == "cluster" and len(names) > 2:
        from scipy.cluster.hierarchy import leaves_list, linkage
        from scipy.spatial.distance import pdist

        z = linkage(pdist(S), method="average", optimal_ordering=True)  # rows = each gene's score profile
        return [names[k] for k in leaves_list(z)]
    return names


def score_heatmap(
    scores: np.ndarray,
    names,
    true_pairs=(),
    title="Interaction scores (mean |SII|)",
    order: str = "cohort",
    top: int = 0,
) -> alt.Chart:
    """M × M heatmap of pair scores; planted pairs (simulations) outlined in red, the ``top``
    highest-scoring pairs in white; genes in ``order`` (:func:`gene_order`). Labels are shown up to
    80 genes (above, hover a cell)."""
    names = [str(n) for n in names]
    M = len(names)
    i, j = np.meshgrid(np.arange(M), np.arange(M), indexing="ij")
    off = i.ravel() != j.ravel()
    true = {tuple(sorted(p)) for p in true_pairs}
    df = pd.DataFrame(
        {
            "gene_a": np.asarray(names, dtype=object)[i.ravel()[off]],
            "gene_b": np.asarray(names, dtype=object)[j.ravel()[off]],
            "score": scores[i.ravel()[off], j.ravel()[off]],
        }
    )
    df["planted"] = [tuple(sorted((a, b))) in true for a, b in zip(df["gene_a"], df["gene_b"])]
    iu = np.triu_indices(M, 1)
    rank = np.argsort(-np.nan_to_num(scores[iu]), kind="stable")[: max(0, int(top))]
    best = {tuple(sorted((names[iu[0][k]], names[iu[1][k]]))) for k in rank}
    df["top"] = [tuple(sorted((a, b))) in best for a, b in zip(df["gene_a"], df["gene_b"])]
    sort = gene_order(scores, names, order)
    axis = alt.Axis(labels=M <= 80, ticks=M <= 80, labelFontSize=11 if M <= 30 else 8)
    base = alt.Chart(df).encode(
        x=alt.X("gene_a:N", sort=sort, title=None, axis=axis), y=alt.Y("gene_b:N", sort=sort, title=None, axis=axis)
    )
    rect = base.mark_rect().encode(
        color=alt.Color("score:Q", scale=alt.Scale(scheme="viridis"), title="score"),
        tooltip=["gene_a:N", "gene_b:N", alt.Tooltip("score:Q", format=".4g"), "planted:N"],
    )
    layers = [rect]
    size = 120 if M <= 20 else max(12, int(120 * (20 / M) ** 2))
    if best:
        layers.append(
            base.transform_filter(alt.datum.top).mark_point(
                shape="square", color="white", size=size, filled=False, strokeWidth=1.5
            )
        )
    if true:
        layers.append(
            base.transform_filter(alt.datum.planted).mark_point(
                shape="square", color="red", size=size, filled=False, strokeWidth=2
            )
        )
    side = max(320, min(34 * M, 900))
    return alt.layer(*layers, title=title).properties(width=side, height=side)


def gene_partners_chart(scores: np.ndarray, names, gene: str, true_pairs=(), top: int = 30) -> alt.Chart:
    """One gene's interaction scores with every other gene, strongest first (zoom of the heatmap)."""
    names = [str(n) for n in names]
    k = names.index(str(gene))
    true = {tuple(sorted(p)) for p in true_pairs}
    df = pd.DataFrame({"partner": names, "score": np.asarray(scores)[k]}).drop(index=k)
    df["planted"] = [tuple(sorted((str(gene), b))) in true for b in df["partner"]]
    df = df.sort_values("score", ascending=False).head(top)
    return (
        alt.Chart(df, title=f"{gene}: interaction score with each partner")
        .mark_bar()
        .encode(
            y=alt.Y("partner:N", sort=None, title=None, axis=alt.Axis(labelLimit=200, labelOverlap=False)),
            x=alt.X("score:Q", title="score"),
            color=alt.Color(
                "planted:N",
                scale=alt.Scale(domain=[True, False], range=["#e45756", "#4c78a8"]),
                legend=alt.Legend(title="planted") if true else None,
            ),
            tooltip=["partner:N", alt.Tooltip("score:Q", format=".4g"), "planted:N"],
        )
        .properties(width=WIDTH, height=alt.Step(16))
    )


def _upper(a: np.ndarray) -> np.ndarray:
    iu = np.triu_indices(a.shape[-1], 1)
    return a[..., iu[0], iu[1]]


def qq_plot(observed: np.ndarray, null: np.ndarray) -> alt.Chart:
    """Observed pair scores against the permutation null's quantiles (paper A Fig. 6b)."""
    obs = np.sort(_upper(observed))
    nul = np.sort(_upper(null).ravel())
    probs = (np.arange(1, len(obs) + 1) - 0.5) / len(obs)
    df = pd.DataFrame({"null quantile": np.quantile(nul, probs), "observed": obs})
    hi = float(max(df.max().max(), 1e-12))
    line = (
        alt.Chart(pd.DataFrame({"x": [0, hi], "y": [0, hi]}))
        .mark_line(color="grey", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    pts = (
        alt.Chart(df)
        .mark_circle(size=40, color="#4c78a8")
        .encode(
            x=alt.X("null quantile:Q", title="permutation null quantile"),
            y=alt.Y("observed:Q", title="observed score"),
            tooltip=[alt.Tooltip("null quantile:Q", format=".4g"), alt.Tooltip("observed:Q", format=".4g")],
        )
    )
    return alt.layer(line, pts, title="Q-Q plot: observed vs permuted scores").properties(width=WIDTH, height=300)


def score_histograms(observed: np.ndarray, null: np.ndarray, bins: int = 30) -> alt.Chart:
    """Observed scores and permutation-null scores (density), as in paper A Fig. 6a."""
    obs, nul = _upper(observed), _upper(null).ravel()
    edges = np.histogram_bin_edges(np.concatenate([obs, nul]), bins=bins)
    frames = []
    for name, v in (("observed", obs), ("permuted", nul)):
        c, _ = np.histogram(v, bins=edges, density=True)
        frames.append(pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "density": c, "scores": name}))
    df = pd.concat(frames)
    return (
        alt.Chart(df, title="Observed vs permuted scores")
        .mark_bar(opacity=0.55)
        .encode(
            x=alt.X("lo:Q", bin="binned", title="score"),
            x2="hi:Q",
            y=alt.Y("density:Q", stack=None),
            color=alt.Color("scores:N", title=None, scale=alt.Scale(range=["#f58518", "#4c78a8"])),
            tooltip=["scores:N", alt.Tooltip("density:Q", format=".3g")],
        )
        .properties(width=WIDTH, height=260)
    )


def null_distribution(null_scores: np.ndarray, observed: float, title: str) -> alt.Chart:
    """A pair's (or the max-T) null distribution with the observed score marked (paper A Fig. 2b)."""
    hist = histogram(null_scores, title, "score", bins=25, color="#9ecae9")
    rule = (
        alt.Chart(pd.DataFrame({"observed": [float(observed)]}))
        .mark_rule(color="red", strokeWidth=2)
        .encode(x="observed:Q", tooltip=[alt.Tooltip("observed:Q", format=".4g")])
    )
    return alt.layer(hist, rule)


def surface_chart(grid: pd.DataFrame, points: pd.DataFrame, gene_a: str, gene_b: str) -> alt.Chart:
    """Interaction surface h − h_i − h_j with individuals coloured low/medium/high (paper A Fig. 7b)."""
    step_a = float(np.diff(np.unique(grid["g_a"]))[0]) if grid["g_a"].nunique() > 1 else 1.0
    step_b = float(np.diff(np.unique(grid["g_b"]))[0]) if grid["g_b"].nunique() > 1 else 1.0
    g = grid.assign(a2=grid["g_a"] + step_a, b2=grid["g_b"] + step_b)
    lim = float(np.abs(grid["interaction"]).max()) or 1.0
    inside = points["g_a"].between(grid["g_a"].min(), grid["g_a"].max() + step_a) & points["g_b"].between(
        grid["g_b"].min(), grid["g_b"].max() + step_b
    )
    points = points[inside]  # the surface covers the central 98 % of each gene; outliers are not drawn on it
    rect = (
        alt.Chart(g)
        .mark_rect(opacity=0.9)
        .encode(
            x=alt.X("g_a:Q", title=f"{gene_a} representation", scale=alt.Scale(zero=False, nice=False)),
            x2="a2:Q",
            y=alt.Y("g_b:Q", title=f"{gene_b} representation", scale=alt.Scale(zero=False, nice=False)),
            y2="b2:Q",
            color=alt.Color(
                "interaction:Q", scale=alt.Scale(scheme="blueorange", domain=[-lim, lim]), title="interaction"
            ),
        )
    )
    pts = (
        alt.Chart(points)
        .mark_circle(size=14, opacity=0.6, stroke="black", strokeWidth=0.3)
        .encode(
            x="g_a:Q",
            y="g_b:Q",
            fill=alt.Fill(
                "group:N",
                title="individuals",
                sort=["low", "medium", "high"],
                scale=alt.Scale(domain=["low", "medium", "high"], range=["#3b4cc0", "#b07aa1", "#f1c40f"]),
            ),
            tooltip=[alt.Tooltip("interaction:Q", format=".3f"), "group:N"],
        )
    )
    return (
        alt.layer(rect, pts, title=f"Interaction surface {gene_a} × {gene_b}")
        .resolve_scale(color="independent")
        .properties(width=WIDTH, height=380)
    )


def pr_curves(curves: dict) -> alt.Chart:
    """Precision-recall curves of several methods against the planted pairs."""
    frames = [
        pd.DataFrame(
            {
                "recall": c["recall"],
                "precision": c["precision"],
                "method": f"{name} (AP {c['ap']:.2f})",
                # the path in threshold order (sklearn lists recall decreasing): ties in recall keep their
                # order instead of being re-sorted by x, which drew spikes
                "step": np.arange(len(c["recall"]))[::-1],
            }
        )
        for name, c in curves.items()
    ]
    df = pd.concat(frames, ignore_index=True)
    return (
        # step-before over ascending recall: between two recalls the precision reached at the next one, the
        # area AP sums (step-after drew a constant score as precision 1 up to recall 1)
        alt.Chart(df, title="Precision-recall against the planted pairs")
        .mark_line(interpolate="step-before", point=True)
        .encode(
            x=alt.X("recall:Q", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("method:N", title=None, legend=alt.Legend(labelLimit=260)),
            order=alt.Order("step:Q"),
            tooltip=["method:N", alt.Tooltip("recall:Q", format=".2f"), alt.Tooltip("precision:Q", format=".2f")],
        )
        .properties(width=WIDTH, height=300)
    )


# ---- export --------------------------------------------------------------------------------
def to_svg(chart) -> str:
    """The chart as SVG, rendered offline by vl-convert."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_fixed_width(chart).to_json())


def to_png(chart, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(_fixed_width(chart).to_json(), scale=scale)


def _fixed_width(chart, width: int = 720):
    """'container' width has no meaning outside a page: give exports a fixed width."""
    spec = chart.to_dict()
    if spec.get("width") == "container" or "width" not in spec:
        return chart.properties(width=width)
    return chart


# ---- Epistasis page -------------------------------------------------------------------------
# One colour per architecture on every Epistasis chart (box plot, learning curve, sweep).
MODEL_COLOURS = {
    "logreg": "#4c78a8",
    "biosparse": "#f58518",
    "dense": "#54a24b",
    "linear": "#b279a2",
    "ensemble": "#e45756",
    "l2": "#72b7b2",
    "l1": "#9d755d",
    "l2-snps": "#439894",
    "l1-snps": "#d67195",
}


def _model_scale(models) -> alt.Scale:
    """One colour per model, the same in every chart; the legend lists only the models drawn."""
    present = list(dict.fromkeys(models))
    extra = [m for m in present if m not in MODEL_COLOURS]
    spare = ["#bab0ac", "#eeca3b", "#ff9da6", "#79706e", "#8cd17d", "#b6992d"]
    colour = {**MODEL_COLOURS, **{m: spare[i % len(spare)] for i, m in enumerate(extra)}}
    domain = [m for m in MODEL_COLOURS if m in present] + extra
    return alt.Scale(domain=domain, range=[colour[m] for m in domain])


def auc_boxplot(aucs_by_model: dict) -> alt.Chart:
    """Cross-validated ROC AUC per model (one point per fold × repeat)."""
    df = pd.DataFrame([{"model": m, "AUC": a} for m, v in aucs_by_model.items() for a in v])
    order = list(aucs_by_model)
    box = (
        alt.Chart(df)
        .mark_boxplot(extent="min-max", size=28)
        .encode(
            x=alt.X("model:N", sort=order, title=None),
            y=alt.Y("AUC:Q", scale=alt.Scale(zero=False), title="ROC AUC"),
            color=alt.Color("model:N", legend=None, scale=_model_scale(order)),
        )
    )
    pts = (
        alt.Chart(df)
        .mark_circle(size=18, color="black", opacity=0.5)
        .encode(x=alt.X("model:N", sort=order), y="AUC:Q", tooltip=["model:N", alt.Tooltip("AUC:Q", format=".3f")])
    )
    return alt.layer(box, pts, title="Cross-validated ROC AUC").properties(width=WIDTH, height=300)


def ttest_matrix(tests: list, models: list) -> alt.Chart:
    """Corrected resampled t-test (Nadeau & Bengio) p-values between every pair of models."""
    rows = []
    for t in tests:
        p = t["p"] if isinstance(t["p"], (int, float)) else float("nan")
        rows.append({"row": t["model_a"], "col": t["model_b"], "p": p, "t": t["t"]})
        rows.append(
            {
                "row": t["model_b"],
                "col": t["model_a"],
                "p": p,
                "t": -t["t"] if isinstance(t["t"], (int, float)) else t["t"],
            }
        )
    df = pd.DataFrame(rows)
    df["label"] = df["p"].map(lambda v: f"{v:.3f}" if np.isfinite(v) else "")
    axis = alt.Axis(labelOverlap=False, labelLimit=200)
    base = alt.Chart(df).encode(
        x=alt.X("col:N", sort=models, title=None, axis=axis), y=alt.Y("row:N", sort=models, title=None, axis=axis)
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "p:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 0.2], clamp=True, reverse=False), title="p"
        ),
        tooltip=["row:N", "col:N", alt.Tooltip("t:Q", format=".2f"), alt.Tooltip("p:Q", format=".3g")],
    )
    text = base.mark_text(fontSize=11).encode(text="label:N")
    return alt.layer(rect, text, title="Corrected t-test p (row vs column)").properties(
        width=WIDTH, height=alt.Step(40)
    )


def learning_curve_chart(table: pd.DataFrame, n_max: Optional[int] = None) -> alt.Chart:
    """AUC mean ± sd per model against the number of samples (paper B Fig. 2); ``n_max``: fix the
    x axis at [0, n_max] (a curve still being drawn keeps its axis as sizes come in)."""
    df = table.assign(lo=table["auc_mean"] - table["auc_sd"], hi=table["auc_mean"] + table["auc_sd"])
    scale = alt.Scale(domain=[0, int(n_max)]) if n_max else alt.Undefined
    base = alt.Chart(df).encode(
        x=alt.X("n_samples:Q", title="samples", scale=scale),
        color=alt.Color("model:N", title=None, scale=_model_scale(df["model"])),
    )
    dash = (  # networks solid, additive baselines dashed
        {"strokeDash": alt.StrokeDash("kind:N", title=None, sort=["network", "additive"])} if "kind" in df else {}
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("auc_mean:Q", scale=alt.Scale(zero=False), title="ROC AUC"),
        **dash,
        tooltip=[
            "model:N",
            "n_samples:Q",
            alt.Tooltip("auc_mean:Q", format=".3f"),
            alt.Tooltip("auc_sd:Q", format=".3f"),
        ],
    )
    band = base.mark_errorbar().encode(y=alt.Y("lo:Q", title="ROC AUC"), y2="hi:Q")
    return alt.layer(band, line, title="Learning curves (mean ± sd over folds)").properties(width=WIDTH, height=300)


def sweep_chart(table: pd.DataFrame) -> alt.Chart:
    """AUC against the fraction of genes wired, per wiring (paper B Figs. 4-5)."""
    df = table.copy()
    df["wiring"] = df.get("wiring", df["model"]).fillna(df["model"])
    # the fully connected network and the additive baselines connect every gene: drawn at 1
    df["degree"] = pd.to_numeric(df.get("degree", 1.0), errors="coerce").fillna(1.0)
    df = df.assign(lo=df["auc_mean"] - df["auc_sd"], hi=df["auc_mean"] + df["auc_sd"])
    base = alt.Chart(df).encode(
        x=alt.X("degree:Q", title="fraction of genes connected", scale=alt.Scale(domain=[0, 1.05])),
        color=alt.Color("wiring:N", title=None),
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("auc_mean:Q", scale=alt.Scale(zero=False), title="ROC AUC"),
        tooltip=[
            "model:N",
            alt.Tooltip("auc_mean:Q", format=".3f"),
            alt.Tooltip("auc_sd:Q", format=".3f"),
            "n_params:Q",
        ],
    )
    band = base.mark_errorbar().encode(y=alt.Y("lo:Q", title="ROC AUC"), y2="hi:Q")
    return alt.layer(band, line, title="Sparsity sweep (mean ± sd over folds)").properties(width=WIDTH, height=300)


def decision_surfaces_chart(grid: pd.DataFrame) -> alt.Chart:
    """P(case) over two genes' burdens, per epistasis type (rows) and head (columns) — paper B Fig. 3."""
    g = grid.copy()
    step = float(np.diff(np.unique(g["x"]))[0]) if g["x"].nunique() > 1 else 1.0
    g = g.assign(x2=g["x"] + step, y2=g["y"] + step)
    heads = list(dict.fromkeys(g["head"]))
    return (
        alt.Chart(g)
        .mark_rect()
        .encode(
            x=alt.X("x:Q", title="gene A", scale=alt.Scale(nice=False)),
            x2="x2:Q",
            y=alt.Y("y:Q", title="gene B", scale=alt.Scale(nice=False)),
            y2="y2:Q",
            color=alt.Color("p:Q", scale=alt.Scale(scheme="redblue", reverse=True, domain=[0, 1]), title="P(case)"),
        )
        .properties(width=140, height=140)
        .facet(row=alt.Row("type:N", title=None), column=alt.Column("head:N", sort=heads, title=None))
    )


def replication_scatter(points: pd.DataFrame, pair: str) -> alt.Chart:
    """Paper A Fig. 7a: in the replication cohort, the interaction predicted by the discovery
    networks (h − h_i − h_j) against the main-effect residual, individuals by tertile of the prediction."""
    d = points[points["pair"] == pair]
    base = alt.Chart(d)
    pts = base.mark_circle(size=14, opacity=0.5).encode(
        x=alt.X("predicted:Q", title="predicted interaction (discovery networks)", scale=alt.Scale(zero=False)),
        y=alt.Y("residual:Q", title="main-effect residual (replication cohort)", scale=alt.Scale(zero=False)),
        color=alt.Color(
            "group:N",
            title="individuals",
            sort=["low", "medium", "high"],
            scale=alt.Scale(domain=["low", "medium", "high"], range=["#3b4cc0", "#b07aa1", "#f1c40f"]),
        ),
        tooltip=[alt.Tooltip("predicted:Q", format=".3f"), alt.Tooltip("residual:Q", format=".3f"), "group:N"],
    )
    line = (
        base.transform_regression("predicted", "residual")
        .mark_line(color="black", strokeWidth=2)
        .encode(x="predicted:Q", y="residual:Q")
    )
    return alt.layer(pts, line, title=f"Replication of {pair}").properties(width=WIDTH, height=360)


def pc_scatter(scores: pd.DataFrame, color: Optional[pd.Series] = None, color_title: str = "", max_points: int = 5000):
    """PC1 against PC2, one point per individual (an even subsample above ``max_points``), coloured by a
    population label (nominal) or the phenotype (quantitative)."""
    df = scores[["PC1", "PC2"]].copy()
    if color is not None:
        df["colour"] = np.asarray(color)
    if len(df) > max_points:
        df = df.iloc[np.linspace(0, len(df) - 1, max_points).round().astype(np.int64)]
    enc = dict(
        x=alt.X("PC1:Q", title="PC1", scale=alt.Scale(zero=False)),
        y=alt.Y("PC2:Q", title="PC2", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("PC1:Q", format=".2f"), alt.Tooltip("PC2:Q", format=".2f")],
    )
    if color is not None:
        nominal = not pd.api.types.is_numeric_dtype(df["colour"])
        enc["color"] = alt.Color(
            f"colour:{'N' if nominal else 'Q'}",
            title=color_title,
            scale=alt.Scale(scheme="category10" if nominal else "viridis"),
        )
        enc["tooltip"].append(alt.Tooltip(f"colour:{'N' if nominal else 'Q'}", title=color_title))
    return (
        alt.Chart(df, title="Genotype principal components")
        .mark_circle(size=14, opacity=0.6)
        .encode(**enc)
        .properties(width=WIDTH, height=320)
    )


def scree_chart(explained) -> alt.Chart:
    """Share of the standardised genotype variance per PC."""
    ex = np.asarray(explained, dtype=np.float64)
    df = pd.DataFrame({"PC": [f"PC{i + 1}" for i in range(ex.size)], "share": ex})
    return (
        alt.Chart(df, title="Scree plot")
        .mark_line(point=True)
        .encode(
            x=alt.X("PC:N", sort=None, title=None),
            y=alt.Y("share:Q", title="share of genotype variance", axis=alt.Axis(format="%")),
            tooltip=["PC:N", alt.Tooltip("share:Q", format=".2%")],
        )
        .properties(width=WIDTH, height=320)
    )


def pruning_chart(table: pd.DataFrame) -> alt.Chart:
    """SNPs per gene before and after LD pruning (kept in colour, pruned in grey)."""
    df = table.assign(pruned=table["snps_before"] - table["snps_kept"])
    long = df.melt(id_vars=["gene", "variance_kept"], value_vars=["snps_kept", "pruned"], var_name="part")
    long["part"] = long["part"].map({"snps_kept": "kept", "pruned": "pruned"})
    many = len(df) > 40
    return (
        alt.Chart(long, title="LD pruning: SNPs kept per gene")
        .mark_bar()
        .encode(
            x=alt.X("gene:N", sort=None, title="gene", axis=alt.Axis(labels=not many)),
            y=alt.Y("value:Q", title="SNPs", stack=True),
            color=alt.Color(
                "part:N", title=None, scale=alt.Scale(domain=["kept", "pruned"], range=["#4c78a8", "#c7c7c7"])
            ),
            tooltip=[
                "gene:N",
                "part:N",
                alt.Tooltip("value:Q", title="SNPs"),
                alt.Tooltip("variance_kept:Q", format=".0%", title="variance kept"),
            ],
        )
        .properties(width=WIDTH, height=240)
    )


def bump_chart(ranks: pd.DataFrame, order: list) -> alt.Chart:
    """Rank of each gene pair (lines) across runs (x, in ``order``): the top pairs of any run."""
    n = int(ranks["rank"].max()) if len(ranks) else 1
    base = alt.Chart(ranks, title="Top gene pairs across runs (rank 1 = strongest)")
    enc = dict(
        x=alt.X("run:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=200)),
        y=alt.Y("rank:Q", scale=alt.Scale(reverse=True, domain=[1, max(n, 2)]), title="rank"),
        color=alt.Color(
            "pair:N",
            title="gene pair",
            scale=alt.Scale(scheme="category20"),
            legend=alt.Legend(columns=1, labelLimit=200, symbolLimit=0),
        ),
        tooltip=["pair:N", "run:N", "rank:Q"],
    )
    n_pairs = ranks["pair"].nunique() if len(ranks) else 1
    return (base.mark_line(point=True).encode(**enc)).properties(width=WIDTH, height=max(360, 24 * n_pairs))


def agreement_heatmap(agreement: pd.DataFrame) -> alt.Chart:
    """Spearman correlation between the runs' pair scores."""
    long = agreement.reset_index(names="run a").melt(id_vars="run a", var_name="run b", value_name="rho")
    order = list(agreement.index)
    base = alt.Chart(long, title="Rank agreement (Spearman ρ of the pair scores)")
    rect = base.mark_rect().encode(
        x=alt.X("run a:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=160, labelOverlap=False)),
        y=alt.Y("run b:N", sort=order, title=None, axis=alt.Axis(labelLimit=160, labelOverlap=False)),
        color=alt.Color("rho:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue"), title="ρ"),
        tooltip=["run a:N", "run b:N", alt.Tooltip("rho:Q", format=".2f")],
    )
    text = base.mark_text().encode(
        x=alt.X("run a:N", sort=order), y=alt.Y("run b:N", sort=order), text=alt.Text("rho:Q", format=".2f")
    )
    return (rect + text).properties(width=WIDTH, height=360)
