"""A shareable report of one interaction analysis: one self-contained HTML file (every chart an inline
SVG, no script, no web font, nothing fetched), cached like every other result (docs/method.md#reports).

Sections: the cohort (source, size, QC, pruning, PCs), the run (parameters, test R², training
curves), the analysis (parameters, the ranked pairs with the held-out p/q and every classical peer,
what is significant), the charts (score heatmap, Q-Q against the permutation null, precision-recall
against a planted truth), timings and provenance (keys, versions, the parameters of each step).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from gxapp import __version__, plots
from gxapp.analyses.base import Analysis, Result
from gxapp.genenet.metrics import p_to_score, pair_labels, precision_recall_curve_pairs
from gxapp.params import Integral as _Int
from gxapp.params import Interval, Params, Real
from gxapp.progress import check_cancel, report

KIND = "reports"


@dataclass(frozen=True)
class ReportParams(Params):
    """``top``: ranked pairs listed; ``fdr`` / ``p``: the thresholds the report calls pairs at."""

    top: int = 50
    fdr: float = 0.1
    p: float = 0.05

    _parameter_constraints = {
        "top": [Interval(_Int, 1, None)],
        "fdr": [Interval(Real, 0, 1)],
        "p": [Interval(Real, 0, 1)],
    }


@dataclass
class ReportResult(Result):
    html: str = ""
    path: Optional[str] = None


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem}
th{background:#f4f6f8;text-align:left}tr:nth-child(even) td{background:#fafbfc}
.meta{color:#666;font-size:.85rem}.chart{margin:1rem 0}.chart svg{max-width:100%;height:auto}
code{background:#f4f6f8;padding:0 .25rem}.grid{display:block}
"""


def _table(df: pd.DataFrame, fmt: str = "{:.3g}") -> str:
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "—" if not np.isfinite(v) else fmt.format(v)
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else ""
        return v

    return f"<div style='overflow-x:auto'>{df.map(cell).to_html(index=False, escape=True, border=0)}</div>"


def _kv(d: dict) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in d.items())
    return f"<table>{rows}</table>"


def _chart(chart, caption: str = "") -> str:
    svg = plots.to_svg(chart)
    cap = f"<div class='meta'>{html.escape(caption)}</div>" if caption else ""
    return f"<div class='chart'>{svg}{cap}</div>"


_TIMING_NAMES = {
    "observed_s": "scoring the ensemble",
    "heldout_s": "held-out test",
    "permutations_s": "permutations (Perm I)",
    "peers_s": "classical tests",
    "perm_peers_s": "Lasso and boosted-tree tests",
    "lasso_s": "Lasso peers",
    "xgb_s": "boosted-tree peers",
    "total_s": "total",
}

_COLUMNS = {
    "gene_a": "gene A",
    "gene_b": "gene B",
    "score": "score",
    "p": "p (held-out)",
    "q": "q (held-out FDR)",
    "slope": "replication slope",
    "p_global": "p (Perm I, global)",
    "q_global": "q (Perm I, global)",
    "p_maxt": "p (max-T)",
    "p_topsnp": "top-SNP OLS p",
    "p_pca": "PCA OLS p",
    "p_snppair": "SNP-pair p (Bonferroni)",
    "p_lasso_topsnp": "Lasso (top-SNP) p",
    "p_lasso_pca": "Lasso (PCA) p",
    "p_xgb_topsnp": "XGBoost (top-SNP) p",
    "p_xgb_pca": "XGBoost (PCA) p",
    "nn_only": "found only by the NN",
    "true": "planted",
    "type": "planted type",
}


def build_html(res, run, cohort_meta: dict, params: ReportParams, progress=None, cancel=None) -> str:
    """The report of interaction analysis ``res`` of ``run`` (library objects) as one HTML string."""
    from gxapp.analyses import interactions as ia
    from gxapp.data.prune import describe_prune
    from gxapp.data.structure import describe_pca

    t = res.table
    truth = res.meta.get("truth") or {}
    summary = cohort_meta.get("summary", {})
    label = cohort_meta.get("label") or res.meta.get("label") or "cohort"
    parts = [
        f"<h1>gxapp report — {html.escape(str(label))}</h1>",
        f"<div class='meta'>gxapp {__version__} · written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · "
        f"analysis <code>{res.key}</code> · run <code>{run.key}</code> · cohort <code>{run.cohort_key}</code></div>",
    ]
    # ---- summary
    n_sig = int((t["q"] < params.fdr).sum())
    n_p = int((t["p"] < params.p).sum())
    top = t.iloc[0]
    parts.append("<h2>Summary</h2>")
    lines = [
        f"{len(t)} gene pairs scored ({res.params.index}, {res.meta.get('scored_rows', '?')} test individuals); "
        f"<b>{n_sig} at held-out FDR &lt; {params.fdr:g}</b> ({n_p} at held-out p &lt; {params.p:g}); top pair "
        f"{html.escape(top.gene_a)} × "
        f"{html.escape(top.gene_b)} (score {top.score:.3g}).",
        f"Test R² of the interaction ensemble {run.metrics.get('r2_ensemble', float('nan')):.3f} "
        f"(main-effect network {run.metrics.get('r2_main', float('nan')):.3f}, top-SNP OLS "
        f"{run.metrics.get('r2_topsnp_ols', float('nan')):.3f}).",
    ]
    caution = ia.heldout_caution(len(res.gene_names))
    if caution:
        lines.append(f"<b>Caution.</b> {html.escape(caution)}")
    metrics = res.meta.get("metrics") or {}
    if metrics.get("NN"):
        peers_ap = {k: v["AP"] for k, v in metrics.items() if k != "NN"}
        best = max(peers_ap, key=peers_ap.get) if peers_ap else None
        lines.append(
            f"Against the {len(truth.get('pairs', []))} planted pairs: AP {metrics['NN']['AP']:.3f} for the networks"
            + (f", {peers_ap[best]:.3f} for the best classical test ({html.escape(best)})." if best else ".")
        )
    parts.append("<ul>" + "".join(f"<li>{x}</li>" for x in lines) + "</ul>")
    # ---- cohort
    report(progress, 0.1, "report: cohort")
    parts.append("<h2>Cohort</h2>")
    parts.append(
        _kv(
            {
                "label": label,
                "source": cohort_meta.get("source", "?"),
                "individuals": f"{summary.get('n_samples', '?'):,}" if summary.get("n_samples") else "?",
                "SNPs": f"{summary.get('n_snps', '?'):,}" if summary.get("n_snps") else "?",
                "genes": summary.get("n_genes", "?"),
                "trait": summary.get("trait", cohort_meta.get("trait", "?")),
            }
        )
    )
    cm = cohort_meta.get("cohort_meta") or {}
    qc = cm.get("qc")
    if qc and qc.get("steps"):
        from gxapp.wording import qc_table

        parts.append("<h3>Quality control</h3>" + _table(qc_table(qc["steps"])))
    for line in (describe_prune(cm.get("prune")), describe_pca(cm.get("pca"))):
        if line:
            parts.append(f"<p>{html.escape(line)}.</p>")
    # ---- run
    report(progress, 0.25, "report: run")
    rp = run.params
    parts.append("<h2>Training run</h2>")
    parts.append(
        _kv(
            {
                "networks (ensemble)": rp.ensemble,
                "L1 strength λ": f"{run.meta.get('l1_used', rp.l1):g}" + (" (chosen by CV)" if rp.l1_cv else ""),
                "gene layer / head widths": f"{rp.gene_hidden} / {rp.head_hidden}",
                "learning rate, batch, max epochs, patience": f"{rp.lr:g}, "
                f"{'automatic' if rp.batch_size is None else rp.batch_size}, {rp.max_epochs}, {rp.patience}",
                "test / validation fraction": f"{rp.test_fraction:g} / {rp.val_fraction:g}",
                "seed": rp.seed,
                "device, threads": f"{run.meta.get('device')}, {run.meta.get('threads')}",
                "training time": f"{run.meta.get('timings', {}).get('total_s', float('nan')):.1f} s",
            }
        )
    )
    parts.append("<div class='grid'>")
    parts.append(_chart(plots.r2_chart(run.metrics)))
    parts.append(_chart(plots.loss_curves(run.interaction.train_loss, run.interaction.val_loss, "Training curves")))
    parts.append("</div>")
    check_cancel(cancel)
    # ---- analysis
    report(progress, 0.45, "report: ranked pairs")
    parts.append("<h2>Ranked gene pairs</h2>")
    parts.append(
        _kv(
            {
                "interaction index": res.params.index,
                "permutations B": f"{res.params.permutations} (Perm {res.params.perm_method})",
                "individuals scored": res.meta.get("scored_rows"),
                "held-out test": f"{(res.meta.get('heldout_rows') or {}).get('n_test', '?')} test individuals, "
                f"q over the top {res.meta.get('candidates', '?')} pairs",
            }
        )
    )
    shown = t.head(params.top).copy()
    shown.insert(0, "rank", np.arange(1, len(shown) + 1))
    shown.insert(3, f"called (q < {params.fdr:g})", shown["q"] < params.fdr)
    shown.insert(4, f"p < {params.p:g}", shown["p"] < params.p)
    cols = ["rank", f"called (q < {params.fdr:g})", f"p < {params.p:g}"] + [c for c in _COLUMNS if c in shown]
    parts.append(_table(shown[cols].rename(columns=_COLUMNS)))
    parts.append(f"<p class='meta'>{html.escape(ia_lines(res, params))}</p>")
    check_cancel(cancel)
    # ---- charts
    report(progress, 0.6, "report: charts")
    parts.append("<h2>Charts</h2>")
    parts.append(
        _chart(
            plots.score_heatmap(
                res.observed, res.gene_names, truth.get("pairs", []), f"Interaction scores (mean |{res.params.index}|)"
            )
        )
    )
    if res.null.shape[0]:
        parts.append("<div class='grid'>")
        parts.append(_chart(plots.qq_plot(res.observed, res.null)))
        parts.append(_chart(plots.score_histograms(res.observed, res.null)))
        parts.append("</div>")
    if truth.get("pairs"):
        labels = pair_labels(res.gene_names, truth["pairs"])
        curves = {
            "NN": precision_recall_curve_pairs(res.observed, labels),
            "top-SNP": precision_recall_curve_pairs(p_to_score(res.peers["p_topsnp"]), labels),
            "SNP-pair": precision_recall_curve_pairs(p_to_score(res.peers["p_snppair_min"]), labels),
            **{
                lab: precision_recall_curve_pairs(res.peers[f"score_{stem}"], labels)
                for stem, lab in ia.PERM_PEERS.items()
                if f"score_{stem}" in res.peers
            },
        }
        parts.append(_chart(plots.pr_curves(curves), f"{len(truth['pairs'])} planted pairs among {len(t)}."))
    check_cancel(cancel)
    # ---- provenance
    report(progress, 0.95, "report: provenance")
    parts.append("<h2>Timings and provenance</h2>")
    parts.append(
        _kv(
            {
                _TIMING_NAMES.get(k, k.replace("_s", "").replace("_", " ")): f"{v:.1f} s"
                for k, v in (res.meta.get("timings") or {}).items()
                if isinstance(v, (int, float))
            }
        )
    )
    parts.append("<h3>Provenance (parameters and versions of each step)</h3>")
    prov = {  # no server paths in a file meant to be shared: input files by name only
        "cohort": {
            **{k: cohort_meta.get(k) for k in ("key", "created", "origin") if k in cohort_meta},
            "input": _names_only(cohort_meta.get("input")),
        },
        "run": {k: run.meta.get(k) for k in ("created", "versions", "params", "executor") if k in run.meta},
        "analysis": {k: res.meta.get(k) for k in ("created", "versions", "params", "executor") if k in res.meta},
    }
    prov_text = html.escape(json.dumps(prov, indent=1, default=str))
    parts.append(f"<pre style='white-space:pre-wrap;font-size:.75rem'>{prov_text}</pre>")
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>gxapp report — {html.escape(str(label))}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _names_only(value):
    """Paths reduced to file names (recursively), so a shared report does not show server folders."""
    from pathlib import PurePath

    if isinstance(value, dict):
        return {k: _names_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_names_only(v) for v in value]
    if isinstance(value, str) and ("/" in value or "\\" in value):
        return PurePath(value).name
    return value


def ia_lines(res, params: ReportParams) -> str:
    """How to read the p and q columns (the words the app uses)."""
    from gxapp.wording import GLOBAL_LINE, HELDOUT_LINE

    return HELDOUT_LINE + (" " + GLOBAL_LINE if res.null.shape[0] else "")


class Reports(Analysis):
    kind = KIND
    job_kind = "report"
    version = 2  # 2: the held-out caution beyond the validated number of genes
    params_type = ReportParams

    def fingerprint(self, analysis_key: str, root) -> str:
        return analysis_key

    def describe(self, params: ReportParams) -> str:
        return "report"

    def compute(self, analysis_key: str, params: ReportParams, root, progress, cancel) -> tuple:
        from gxapp.analyses import cohorts, runs
        from gxapp.analyses import interactions as ia

        res = ia.load(analysis_key, root)
        run = runs.load(res.run_key, root)
        st = cohorts.store(root)
        cmeta = dict(st.read_meta(run.cohort_key))
        try:  # the cohort's own metadata (QC, pruning, PCs) without loading its genotypes
            cmeta["cohort_meta"] = json.loads((st.path(run.cohort_key) / "cohort.json").read_text())["meta"]
        except (OSError, KeyError, ValueError):
            cmeta["cohort_meta"] = {}
        text = build_html(res, run, cmeta, params, progress, cancel)
        meta = {"analysis": analysis_key, "run": res.run_key, "cohort": run.cohort_key, "bytes": len(text.encode())}

        def write(d):
            (d / "report.html").write_text(text, encoding="utf-8")

        return ReportResult("", params, meta, html=text), write

    def read(self, key, meta, d, root) -> ReportResult:
        text = (d / "report.html").read_text(encoding="utf-8")
        return ReportResult(key, ReportParams.from_dict(meta["params"]), meta, html=text, path=str(d / "report.html"))


REPORTS = Reports()
key, get, load, entries, delete = REPORTS.key, REPORTS.get, REPORTS.load, REPORTS.entries, REPORTS.delete
job_spec, run_job = REPORTS.job_spec, REPORTS.run_job
