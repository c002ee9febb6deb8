"""Sparsity paths: several L1 strengths trained as ONE batched job, and runs compared side by side
(docs/method.md#sparsity-paths).

:func:`train_path` trains every λ that is not cached yet in one call of the engine per network kind
(K = E × #λ models, each with its own λ and the seeds a run of that λ alone would use), then
publishes one ordinary cached run per λ through :mod:`gxapp.analyses.runs` (same key as training it
alone; the provenance says it was batched) and scores each (B = 0). :func:`compare_runs` puts any
two or more cached runs of a cohort side by side: test R², AP against a planted truth, the top
pairs of each and how well their rankings agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from gxapp import execute
from gxapp.analyses import cohorts, runs
from gxapp.analyses import interactions as ia
from gxapp.errors import ParameterError
from gxapp.jobs import JobSpec
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report, sub_progress

JOB_KIND = "path"
DEFAULT_L1_VALUES = (1e-5, 1e-4, 1e-3)
MAX_VALUES = 12


def check_l1_values(values) -> list:
    """Sorted distinct λ ≥ 0 (at most 12): a ParameterError naming ``l1_values`` otherwise."""
    try:
        vals = sorted({float(v) for v in values})
    except (TypeError, ValueError):
        raise ParameterError(f"l1_values: expected numbers such as 1e-5, 1e-4, 1e-3, got {values!r}") from None
    if not vals or any(not np.isfinite(v) or v < 0 for v in vals) or len(vals) > MAX_VALUES:
        raise ParameterError(f"l1_values: expected 1–{MAX_VALUES} finite strengths ≥ 0, got {values!r}")
    return vals


def parse_l1_values(text: str) -> list:
    """``"1e-5, 1e-4 1e-3"`` → [1e-05, 0.0001, 0.001] (commas or spaces)."""
    parts = [p for p in str(text).replace(",", " ").split() if p]
    return check_l1_values(parts)


@dataclass
class PathResult:
    run_keys: list  # one per λ, in λ order
    interaction_keys: list
    l1_values: list
    trained: list  # the λ values trained now (the others were cached)


def train_path(
    cohort_key: str,
    l1_values: Sequence[float] = DEFAULT_L1_VALUES,
    base: Optional[runs.RunParams] = None,
    root=None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
) -> PathResult:
    """One run per λ of ``l1_values`` (``base``'s other settings), the missing ones trained as one batch,
    each then scored without permutations."""
    base = (base or runs.RunParams()).validate()
    if base.l1_cv:
        raise ParameterError("l1_cv: a sparsity path sets λ itself; use l1_cv=False")
    lams = check_l1_values(l1_values)
    params = [replace(base, l1=lam) for lam in lams]
    keys = [runs.key(cohort_key, p, root) for p in params]
    missing = [i for i, k in enumerate(keys) if not runs.store(root).exists(k)]
    pretrained = {}
    if missing:
        report(progress, 0.0, f"preparing data for {len(missing)} λ values")
        data = base.prepare(cohorts.open_cohort(cohort_key, root))
        E, L = base.ensemble, len(missing)
        lam_of_model = np.repeat([lams[i] for i in missing], E)
        y = np.repeat(np.asarray(data.y, dtype=np.float64)[:, None], L, axis=1)  # one column per λ: seeds as alone
        shared = dict(
            X=data.X,
            y=y,
            blocks=data.gene_blocks,
            train_idx=data.train_idx,
            cfg=base.train_config(),
            members=E,
            l1_of_model=lam_of_model,
        )
        items = [("interaction ensemble", base.net()), ("main-effect network", base.main_net())]
        stage = f"training {E} × {L} λ values as one batch ({2 * E * L} networks)"
        trained = {}
        for i, res in execute.current().map(
            runs.train_chunk,
            items,
            shared=shared,
            progress=sub_progress(progress, 0.02, 0.85),
            cancel=cancel,
            stage=stage,
        ):
            trained[items[i][0]] = res
        seconds = round(sum(r.seconds for r in trained.values()), 3)
        batch = {"l1_values": [lams[i] for i in missing], "networks": 2 * E * L, "seconds": seconds}
        for j, i in enumerate(missing):
            models = np.arange(j * E, (j + 1) * E)
            cfg = base.train_config(lams[i])
            pretrained[keys[i]] = {
                kind: trained[label].select(models, targets_of_model=np.zeros(E, np.int64), cfg=cfg)
                for kind, label in (("interaction", "interaction ensemble"), ("main", "main-effect network"))
            }
            pretrained[keys[i]]["batch"] = batch
    token = runs._PRETRAINED.set(pretrained)
    try:
        run_objs = []
        for p in params:
            check_cancel(cancel)
            run_objs.append(runs.get(cohort_key, p, root))
    finally:
        runs._PRETRAINED.reset(token)
    scored = []
    for i, r in enumerate(run_objs):
        lo = 0.85 + 0.15 * i / len(run_objs)
        report(progress, lo, f"scoring gene pairs for λ = {lams[i]:g}")
        scored.append(ia.get(r.key, ia.InteractionParams(permutations=0), root, cancel=cancel).key)
    report(progress, 1.0, "sparsity path done")
    return PathResult([r.key for r in run_objs], scored, lams, [lams[i] for i in missing])


def compare_runs(run_keys: Sequence[str], top: int = 10, root=None) -> dict:
    """Runs side by side: ``table`` (λ, E, test R², AP and AUROC against the truth on simulations),
    ``ranks`` (long table: run label, pair, rank, for the top ``top`` pairs of any run) and
    ``agreement`` (Spearman correlation of the runs' pair scores). Runs without scores are scored
    first (B = 0)."""
    if len(run_keys) < 1:
        raise ParameterError("run_keys: choose at least one run")
    rows, scores, labels = [], {}, {}
    for k in run_keys:
        r = runs.load(k, root)
        res = ia.get(k, ia.InteractionParams(permutations=0), root)
        t = res.table
        lam = r.meta.get("l1_used", r.params.l1)
        label = f"λ={lam:g}, E={r.params.ensemble} · {k[:6]}"
        labels[k] = label
        pair = t["gene_a"] + " × " + t["gene_b"]
        scores[label] = pd.Series(t["score"].to_numpy(), index=pair)
        m = (res.meta.get("metrics") or {}).get("NN") or {}
        rows.append(
            {
                "run": label,
                "λ": lam,
                "ensemble": r.params.ensemble,
                "test R²": r.metrics.get("r2_ensemble"),
                "AP (planted pairs)": m.get("AP"),
                "AUROC": m.get("AUROC"),
                "pairs at FDR < 0.1": int((t["q"] < 0.1).sum()),
                "top pair": pair.iloc[0],
                "key": k,
            }
        )
    table = pd.DataFrame(rows).sort_values(["λ", "ensemble"], kind="stable").reset_index(drop=True)
    frame = pd.DataFrame(scores)
    ranks = frame.rank(ascending=False, method="first")
    shown = ranks.index[(ranks <= top).any(axis=1)]
    long = (
        ranks.loc[shown]
        .reset_index(names="pair")
        .melt(id_vars="pair", var_name="run", value_name="rank")
        .astype({"rank": int})
    )
    order = list(table["run"])
    agree = pd.DataFrame(np.eye(len(order)), index=order, columns=order)
    for a in order:
        for b in order:
            if a != b:
                agree.loc[a, b] = float(spearmanr(frame[a], frame[b]).statistic)
    return {"table": table, "ranks": long, "agreement": agree, "order": order}


def job_spec(cohort_key: str, l1_values, base: Optional[runs.RunParams] = None, root=None) -> JobSpec:
    base = base or runs.RunParams()
    lams = check_l1_values(l1_values)
    keys = [runs.key(cohort_key, replace(base, l1=lam), root) for lam in lams]
    return JobSpec(
        kind=JOB_KIND,
        key="path:" + ":".join(keys),
        params={
            "cohort": cohort_key,
            "l1_values": lams,
            "base": base.to_dict(),
            "root": None if root is None else str(root),
        },
        label=f"sparsity path λ = {', '.join(f'{v:g}' for v in lams)} (E={base.ensemble})",
    )


def run_job(spec: JobSpec, progress, cancel) -> list:
    p = spec.params
    res = train_path(p["cohort"], p["l1_values"], runs.RunParams.from_dict(p["base"]), p.get("root"), progress, cancel)
    return res.run_keys
