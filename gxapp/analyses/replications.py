"""Replication of a run's gene pairs in a second cohort (paper A, Eq. 5, Table 1, Fig. 7),
cached (docs/method.md#replication).

Source: ``{"run": run key, "cohort": replication cohort key}``; identity: the run key and the
replication cohort's content fingerprint. Params: which pairs (the discovery pairs at FDR <
``fdr`` by the held-out test, every pair, or a list), and the pair networks' fit settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.analyses import cohorts, runs
from gxapp.analyses.base import Analysis, Result, source_fingerprint_of_cohort
from gxapp.data.preprocess import prepare
from gxapp.errors import ParameterError
from gxapp.genenet.replication import align_genotypes, check_match, match_snps, replicate_pairs
from gxapp.params import Integral, Interval, Options, Params, Real
from gxapp.progress import check_cancel, report, sub_progress

KIND = "replications"
PAIRS = ("fdr", "all", "list")
# Individuals per pair kept for the Fig. 7a scatter (a seeded sample).
MAX_POINTS = 1500
# Calls compared before two individuals with one id are taken for the same person.
MIN_CALLS = 20


@dataclass(frozen=True)
class ReplicationParams(Params):
    """``pairs``: ``fdr`` (the discovery pairs with held-out q < ``fdr``), ``all`` or ``list``
    (``chosen``: ``("GENE_A:GENE_B", …)``); ``steps``/``width``: the pair networks' Adam steps
    and hidden units (as the interaction surface); ``seed``."""

    pairs: str = "fdr"
    fdr: float = 0.1
    chosen: tuple = ()
    steps: int = 400
    width: int = 32
    seed: int = 0

    _parameter_constraints = {
        "pairs": [Options(PAIRS)],
        "fdr": [Interval(Real, 0, 1, closed="right")],
        "steps": [Interval(Integral, 1, None)],
        "width": [Interval(Integral, 1, None)],
        "seed": [Interval(Integral, 0, None)],
    }

    def _check(self) -> None:
        if self.pairs == "list" and not self.chosen:
            raise ParameterError("chosen: pairs='list' needs at least one pair, e.g. ('G01:G02',)")
        for c in self.chosen:
            if not isinstance(c, str) or c.count(":") != 1 or len(set(c.split(":"))) != 2:
                raise ParameterError(f"chosen: expected 'GENE_A:GENE_B' with two different genes, got {c!r}")


@dataclass
class ReplicationResult(Result):
    """Table 1 of the run's pairs in the second cohort, and each pair's Fig. 7a points."""

    table: Optional[pd.DataFrame] = None
    points: Optional[pd.DataFrame] = None  # pair, predicted, residual, group
    snp_match: dict = field(default_factory=dict)


def _discovery_pairs(run, names, params: ReplicationParams, root, progress, cancel) -> tuple:
    """(pairs as index tuples, discovery table rows by pair)."""
    from gxapp.analyses import interactions as ia

    disc = ia.get(run.key, ia.InteractionParams(), root, progress=progress, cancel=cancel).table
    by_pair = {frozenset((r["gene_a"], r["gene_b"])): r for r in disc.to_dict("records")}
    if params.pairs == "all":
        pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    elif params.pairs == "fdr":
        hits = disc[disc["q"] < params.fdr]
        if hits.empty:
            raise ParameterError(
                f"No discovery pair has a held-out q below {params.fdr:g}: test every pair or choose the pairs "
                "(CLI: --pairs all or --pair GENE_A:GENE_B), or raise the FDR level"
            )
        pairs = [(names.index(a), names.index(b)) for a, b in zip(hits["gene_a"], hits["gene_b"])]
    else:
        pairs = []
        for c in params.chosen:
            a, b = c.split(":")
            missing = [g for g in (a, b) if g not in names]
            if missing:
                raise ParameterError(f"chosen: {', '.join(missing)} not among the run's genes")
            pairs.append((names.index(a), names.index(b)))
    return pairs, by_pair


class Replications(Analysis):
    kind = KIND
    job_kind = "replicate"
    params_type = ReplicationParams

    def fingerprint(self, source: dict, root) -> dict:
        return {"run": source["run"], "cohort": source_fingerprint_of_cohort(source["cohort"], root)}

    def describe(self, params: ReplicationParams) -> str:
        return f"replication ({'FDR < ' + format(params.fdr, 'g') if params.pairs == 'fdr' else params.pairs} pairs)"

    def compute(self, source: dict, params: ReplicationParams, root, progress, cancel) -> tuple:
        report(progress, 0.0, "matching the replication cohort's SNPs to the run's")
        run = runs.load(source["run"], root)
        if source["cohort"] == run.cohort_key:
            raise ParameterError(
                "cohort: the replication cohort must be another cohort than the run's discovery cohort"
            )
        disc_cohort = cohorts.open_cohort(run.cohort_key, root)
        rep_cohort = cohorts.open_cohort(source["cohort"], root)
        if rep_cohort.phenotype is None:
            raise ParameterError("cohort: the replication cohort has no phenotype; load one with it")
        if rep_cohort.trait != disc_cohort.trait:
            raise ParameterError(
                f"cohort: the replication phenotype is {rep_cohort.trait}, the discovery one {disc_cohort.trait}"
            )
        data = run.params.prepare(disc_cohort)
        match = match_snps(disc_cohort.snps, rep_cohort.snps)
        share = check_match(match, data.gene_blocks)
        check_independent(disc_cohort, rep_cohort, run.train_idx, match)
        rep_values = rep_cohort.dosages if rep_cohort.dosages is not None else rep_cohort.genotypes
        X_rep = align_genotypes(rep_values, match, data.report["snp_means"])
        # the phenotype goes through the run's recipe, fitted in the replication cohort (its covariates)
        y_rep = prepare(
            rep_cohort, covariates=run.params.covariates, inverse_normal_transform=run.params.inverse_normal
        ).y
        check_cancel(cancel)
        names = list(data.gene_names)
        pairs, by_pair = _discovery_pairs(run, names, params, root, sub_progress(progress, 0.05, 0.3), cancel)
        table, details = replicate_pairs(
            run.interaction,
            data.X,
            data.y,
            data.train_idx,
            X_rep,
            y_rep,
            pairs,
            names,
            missing_share=share,
            steps=params.steps,
            width=params.width,
            seed=params.seed,
            progress=sub_progress(progress, 0.3, 0.98),
            cancel=cancel,
        )
        disc_cols = {
            "score": "score_discovery",
            "q": "q_discovery",
            "p": "p_discovery",
            "p_topsnp": "p_topsnp_discovery",
        }
        for src, dst in disc_cols.items():
            table[dst] = [by_pair[frozenset((a, b))][src] for a, b in zip(table["gene_a"], table["gene_b"])]
        table["n_snps_missing"] = [
            int(
                (match.index[data.gene_blocks[names.index(a)]] < 0).sum()
                + (match.index[data.gene_blocks[names.index(b)]] < 0).sum()
            )
            for a, b in zip(table["gene_a"], table["gene_b"])
        ]
        truth = disc_cohort.truth or {}
        if truth.get("pairs"):
            planted = {frozenset(p) for p in truth["pairs"]}
            table["true"] = [frozenset((a, b)) in planted for a, b in zip(table["gene_a"], table["gene_b"])]
        order = ["gene_a", "gene_b", "score_discovery", "q_discovery", "p_discovery", "p_topsnp_discovery"]
        order += ["p_replication", "q_replication", "slope", "p_topsnp_replication", "n_snps_missing", "missing_share"]
        order += [c for c in ("true",) if c in table] + ["note"]
        table = table[order].sort_values("p_replication", kind="stable", na_position="last").reset_index(drop=True)
        points = _points(details, names, params.seed)
        meta = dict(
            run=run.key,
            cohort=source["cohort"],
            discovery_cohort=run.cohort_key,
            label=rep_cohort.meta.get("label"),
            n_replication=int(len(y_rep)),
            snp_match=match.report(),
            n_pairs=int(len(table)),
            phenotype=rep_cohort.trait,
        )

        def write(d):
            table.to_parquet(d / "table.parquet", index=False)
            points.to_parquet(d / "points.parquet", index=False)

        return ReplicationResult("", params, meta, table=table, points=points, snp_match=match.report()), write

    def read(self, key, meta, d, root) -> ReplicationResult:
        return ReplicationResult(
            key,
            ReplicationParams.from_dict(meta["params"]),
            meta,
            table=pd.read_parquet(d / "table.parquet"),
            points=pd.read_parquet(d / "points.parquet"),
            snp_match=meta.get("snp_match", {}),
        )


def check_independent(disc, rep, train_idx, match, agreement: float = 0.99) -> None:
    """Refuse a replication cohort that holds individuals the run was trained on: the same IID
    *and* the same genotypes (≥ 99 % of the matched SNPs' calls equal), so two simulations or
    cohorts that merely reuse id names are not mistaken for each other."""
    train_iids = disc.samples["iid"].astype(str).iloc[np.asarray(train_idx)]
    pos = pd.Series(np.arange(len(train_iids)), index=train_iids.to_numpy())
    rep_iids = rep.samples["iid"].astype(str)
    common = rep_iids[rep_iids.isin(pos.index)]
    have = np.flatnonzero(match.index >= 0)
    if common.empty or not have.size:
        return
    d_rows = np.asarray(train_idx)[pos[common.to_numpy()].to_numpy()]
    G_d = disc.genotypes[np.ix_(d_rows, have)].astype(np.int16)
    G_r = rep.genotypes[np.ix_(common.index.to_numpy(), match.index[have])].astype(np.int16)
    G_r = np.where((G_r >= 0) & match.flip[have], 2 - G_r, G_r)
    both = (G_d >= 0) & (G_r >= 0)
    # two unrelated people agree at a SNP about half the time: 20 calls make a chance match < 1e-6
    same = (((G_d == G_r) & both).sum(1) >= agreement * np.maximum(both.sum(1), 1)) & (both.sum(1) >= MIN_CALLS)
    n = int(same.sum())
    if n:
        ex = ", ".join(common[same].head(3))
        raise ParameterError(
            f"cohort: {n} of the replication cohort's individuals (e.g. {ex}) were used to train this run (same id "
            "and genotypes); replication needs independent individuals — split the cohort before training and "
            "train on the discovery part"
        )


def _points(details: dict, names, seed: int) -> pd.DataFrame:
    """Fig. 7a: per pair, predicted interaction vs main-effect residual of a sample of the
    replication individuals, grouped low / medium / high by tertiles of the prediction."""
    rng = np.random.default_rng(seed)
    parts = []
    for (i, j), rep in details.items():
        n = len(rep.predicted)
        show = np.sort(rng.choice(n, min(MAX_POINTS, n), replace=False))
        cuts = np.quantile(rep.predicted, [1 / 3, 2 / 3])
        s = rep.predicted[show]
        group = np.where(s < cuts[0], "low", np.where(s < cuts[1], "medium", "high"))
        parts.append(
            pd.DataFrame(
                {"pair": f"{names[i]} × {names[j]}", "predicted": s, "residual": rep.residual[show], "group": group}
            )
        )
    if not parts:
        return pd.DataFrame({"pair": [], "predicted": [], "residual": [], "group": []})
    return pd.concat(parts, ignore_index=True)


REPLICATIONS = Replications()


def get(
    run_key: str, cohort_key: str, params: Optional[ReplicationParams] = None, root=None, progress=None, cancel=None
):
    """Replicate ``run_key``'s pairs in the cohort ``cohort_key`` (cached)."""
    return REPLICATIONS.get(
        {"run": run_key, "cohort": cohort_key}, params or ReplicationParams(), root, progress, cancel
    )


def entries(run_key: Optional[str] = None, root=None) -> list:
    return [m for m in REPLICATIONS.entries(root=root) if run_key is None or m.get("run") == run_key]


def job_spec(run_key: str, cohort_key: str, params: ReplicationParams, root=None):
    return REPLICATIONS.job_spec({"run": run_key, "cohort": cohort_key}, params, root)
