"""Gene-pair interactions of a trained run: Shapley scores, permutation
p-values / FDR / max-T, and the classical peers side by side
(docs/method.md#shapley, #permutation-test, #classical-tests).

Observed and null networks share the run's split, architecture, λ, training
budget, estimator and scored individuals. Null scores are cached per chunk of
permutations (with their seeds), so raising B reuses what was trained.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from gxapp import cache, execute
from gxapp.analyses import cohorts, peers_ahead, runs
from gxapp.analyses.base import OnRun, Result
from gxapp.errors import CacheError, ParameterError
from gxapp.genenet.heldout import PairTest, heldout_pair_test
from gxapp.genenet.lasso_peer import lasso_interaction_test
from gxapp.genenet.metrics import auroc, average_precision, p_to_score, pair_labels, per_type_ap
from gxapp.genenet.peer_perm import DEFAULT_PEER_PERM, PEER_PERM_METHODS, REPRESENTATIONS, gene_representation
from gxapp.genenet.peers import pca_interaction_test, snp_pair_test, topsnp_interaction_test
from gxapp.genenet.permutation import METHODS as PERM_METHODS
from gxapp.genenet.permutation import PermutationResult, null_targets, permutation_seed
from gxapp.genenet.shapley import DEFAULT_PERMUTATIONS, INDICES, score_pairs
from gxapp.genenet.shapley.scores import METHODS as SCORE_METHODS
from gxapp.genenet.train import train_ensemble
from gxapp.genenet.tree_peer import xgboost_interaction_test
from gxapp.params import Integral, Interval, Options, Params
from gxapp.progress import check_cancel, report, sub_progress

KIND = "interactions"
NULL_KIND = "nullscores"
# Version of the scores themselves (observed and null chunks): 2 = the ensemble's score,
# members averaged per individual before |·| (docs/method.md#shapley); 3 = method "auto" uses
# the normal approximation beyond 14 genes (was Monte-Carlo).
SCORE_VERSION = 3
HELDOUT_FIELDS = ("p", "q", "t", "slope")
# Smallest automatic candidate set of the held-out test (bench/README.md, "Honest per-pair FDR").
MIN_CANDIDATES = 10

# The permutation-tested peers (docs/method.md#classical-tests): (column stem, label in metrics and charts).
PERM_PEERS = {
    "lasso_topsnp": "Lasso (top-SNP)",
    "lasso_pca": "Lasso (PCA)",
    "xgb_topsnp": "XGBoost (top-SNP)",
    "xgb_pca": "XGBoost (PCA)",
}
# Every peer's p column in the table; a pair is "found" by a peer when its p is below the p threshold.
PEER_P_COLUMNS = ("p_topsnp", "p_pca", "p_snppair") + tuple(f"p_{k}" for k in PERM_PEERS)
# What a call is made at in the stored table's ``nn_only`` column (the page lets the user move both).
NN_ONLY_FDR, NN_ONLY_P = 0.1, 0.05


#: Widest cohort on which the held-out q was validated (docs/method.md#held-out-test, "many genes").
HELDOUT_VALIDATED_GENES = 10


def heldout_caution(n_genes: int) -> Optional[str]:
    """A caution for the held-out q on cohorts wider than it was validated on (None when it was)."""
    if n_genes <= HELDOUT_VALIDATED_GENES:
        return None
    return (
        f"The held-out q was validated on {HELDOUT_VALIDATED_GENES}-gene cohorts (false discovery proportion 0.13 "
        f"at q < 0.1 over ten simulated cohorts); this run has {n_genes} genes, and in gxapp's own simulations the "
        "proportion grew with the number of genes (0.20 at 30 genes over three cohorts, 0.43 at 65 over nine). "
        "Read the q-values as a screen and confirm pairs by replication in other individuals (Replication tab)."
    )


@dataclass(frozen=True)
class InteractionParams(Params):
    """``permutations`` B (0: scores and baselines only); ``perm_method`` I/R/T;
    ``index`` SII/BII/STII; ``method`` auto/exact/normal/mc (``mc_permutations`` draws);
    ``max_rows``: score at most this many test individuals (a recorded random
    sample; None = all); ``chunk``: permutations trained (and cached) together;
    ``peer_perm_method`` R/T: the permutation scheme of the Lasso and boosted-tree
    peers (B of them too; docs/method.md#classical-tests); ``candidates``: how many of the
    highest-scoring pairs the held-out test's q-values are computed over (None: as many as
    genes, at least 10; 0: every pair; docs/method.md#held-out-test)."""

    permutations: int = 0
    perm_method: str = "I"
    index: str = "SII"
    method: str = "auto"
    mc_permutations: int = DEFAULT_PERMUTATIONS
    max_rows: Optional[int] = 2_000
    chunk: int = 10
    seed: int = 0
    peer_perm_method: str = DEFAULT_PEER_PERM
    candidates: Optional[int] = None

    _parameter_constraints = {
        "permutations": [Interval(Integral, 0, None)],
        "perm_method": [Options(PERM_METHODS)],
        "index": [Options(INDICES)],
        "method": [Options(SCORE_METHODS)],
        "mc_permutations": [Interval(Integral, 1, None)],
        "max_rows": [None, Interval(Integral, 10, None)],
        "chunk": [Interval(Integral, 1, None)],
        "seed": [Interval(Integral, 0, None)],
        "peer_perm_method": [Options(PEER_PERM_METHODS)],
        "candidates": [None, Interval(Integral, 0, None)],
    }

    def n_candidates(self, n_genes: int) -> int:
        """Pairs screened into the held-out test's FDR (all pairs when fewer)."""
        n_pairs = n_genes * (n_genes - 1) // 2
        k = max(MIN_CANDIDATES, n_genes) if self.candidates is None else (self.candidates or n_pairs)
        return min(k, n_pairs)

    def scoring(self) -> dict:
        """What defines the estimator (shared by observed and null scores)."""
        return {
            "index": self.index,
            "method": self.method,
            "mc_permutations": self.mc_permutations,
            "max_rows": self.max_rows,
            "seed": self.seed,
        }


@dataclass
class InteractionResult(Result):
    """Ranked gene pairs of one run: NN scores, permutation statistics, classical peers."""

    run_key: str = ""
    table: Optional[pd.DataFrame] = None
    observed: Optional[np.ndarray] = None
    null: Optional[np.ndarray] = None
    peers: dict = field(default_factory=dict)
    gene_names: list = field(default_factory=list)
    heldout: Optional[PairTest] = None

    @property
    def permutation(self) -> Optional[PermutationResult]:
        if self.null.shape[0] == 0:
            return None
        return PermutationResult(self.observed, self.null, self.params.perm_method, self.meta.get("perm_seeds", []))


def _scored_rows(test_idx: np.ndarray, params: InteractionParams) -> np.ndarray:
    if params.max_rows is None or len(test_idx) <= params.max_rows:
        return np.asarray(test_idx)
    rng = np.random.default_rng(params.seed)
    return np.sort(rng.choice(test_idx, params.max_rows, replace=False))


def _score(result, X, rows, baseline_rows, params, progress, cancel):
    """The :class:`PairScores` of every model and of each target's ensemble."""
    s = score_pairs(
        result,
        X,
        rows,
        baseline_rows,
        index=params.index,
        method=params.method,
        n_permutations=params.mc_permutations,
        random_state=params.seed,
        progress=progress,
        cancel=cancel,
    )
    return s


def _analyse(run_key: str, params: InteractionParams, root, progress, cancel) -> tuple:
    """Scores, permutation statistics and peers for one run."""
    t0 = time.perf_counter()
    run = runs.load(run_key, root)
    cohort = cohorts.open_cohort(run.cohort_key, root)
    data = run.params.prepare(cohort)
    if len(data.test_idx) == 0:
        raise ParameterError("run: it has no test rows to score; train with test_fraction > 0")
    X, y, blocks = data.X, data.y, data.gene_blocks
    rows = _scored_rows(data.test_idx, params)
    base_rows = data.train_idx
    timings = {}

    report(progress, 0.0, "scoring the observed ensemble")
    t = time.perf_counter()
    scored = _score(run.interaction, X, rows, base_rows, params, sub_progress(progress, 0.0, 0.05), cancel)
    per_model, stderr = scored.per_model, scored.target_stderr
    observed = scored.mean
    timings["observed_s"] = round(time.perf_counter() - t, 3)

    report(progress, 0.05, "held-out test of every pair")
    t = time.perf_counter()
    heldout = heldout_pair_test(
        run.interaction,
        X,
        y,
        data.test_idx,
        candidates=top_pairs(observed, params.n_candidates(len(blocks))),
        progress=sub_progress(progress, 0.05, 0.07),
        cancel=cancel,
    )
    timings["heldout_s"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    null, seeds = _null_scores(
        run, X, y, blocks, rows, base_rows, params, root, sub_progress(progress, 0.07, 0.9), cancel
    )
    timings["permutations_s"] = round(time.perf_counter() - t, 3)

    ahead = peers_ahead.take(INTERACTIONS.key(run_key, params, root))
    if ahead is not None:  # computed on another core while the networks trained
        report(progress, 0.9, "classical tests (computed beside the training; waiting for them)")
        peers, peer_settings, peer_timings = ahead.result()
    else:
        report(progress, 0.9, "classical tests (top-SNP, PCA, SNP pairs)")
        peers, peer_settings, peer_timings = classical_peers(
            X, y, blocks, data.train_idx, rows, params, sub_progress(progress, 0.9, 1.0), cancel
        )
    timings.update(peer_timings)

    names = list(data.gene_names)
    perm = PermutationResult(observed, null, params.perm_method, seeds) if len(null) else None
    table = build_table(names, observed, None if stderr is None else stderr[0], perm, peers, cohort.truth, heldout)
    metrics = truth_metrics(names, observed, peers, cohort.truth, table)
    timings["total_s"] = round(time.perf_counter() - t0, 3)
    meta = dict(
        run=run_key,
        cohort=run.cohort_key,
        perm_seeds=seeds,
        scored_rows=int(len(rows)),
        n_models=int(per_model.shape[0]),
        timings=timings,
        metrics=metrics,
        gene_names=names,
        truth=cohort.truth,
        label=cohort.meta.get("label"),
        peer_settings=peer_settings,
        heldout_rows={"n_fit": heldout.n_fit, "n_test": heldout.n_test},
        candidates=int(params.n_candidates(len(blocks))),
    )

    def write(d):
        table.to_parquet(d / "table.parquet", index=False)
        np.savez(
            d / "scores.npz",
            observed=observed,
            null=null,
            per_model=per_model,
            **{f"heldout_{k}": getattr(heldout, k) for k in HELDOUT_FIELDS},
            **{k: v for k, v in peers.items()},
        )

    return InteractionResult(
        "",
        params,
        meta,
        run_key=run_key,
        table=table,
        observed=observed,
        null=null,
        peers=peers,
        gene_names=names,
        heldout=heldout,
    ), write


def classical_peers(X, y, blocks, fit_rows, score_rows, params: InteractionParams, progress=None, cancel=None):
    """Every classical test of an analysis (docs/method.md#classical-tests): ``(peers, settings,
    timings)``. They need the run's split (``fit_rows``: its training rows; ``score_rows``: the
    individuals the networks are scored on) and the analysis' settings, never the networks — so
    they can run beside the training (:mod:`gxapp.analyses.peers_ahead`)."""
    timings = {}
    t = time.perf_counter()
    all_rows = np.arange(len(y))
    peers = {
        "p_topsnp": topsnp_interaction_test(X, y, blocks, all_rows),
        "p_pca": pca_interaction_test(X, y, blocks, all_rows),
    }
    sp = snp_pair_test(X, y, blocks, all_rows, cancel=cancel)
    peers["p_snppair"] = sp["bonferroni"]
    peers["p_snppair_min"] = sp["min_p"]
    timings["peers_s"] = round(time.perf_counter() - t, 3)
    check_cancel(cancel)
    perm_peers, peer_settings = _perm_peers(
        X, y, blocks, fit_rows, score_rows, params, sub_progress(progress, 0.2, 1.0), cancel, timings
    )
    peers.update(perm_peers)
    return peers, peer_settings, timings


def _perm_peers(X, y, blocks, fit_rows, score_rows, params, progress, cancel, timings) -> tuple:
    """Lasso and boosted-tree peers on both gene representations: ``({score_*, p_*}, settings)``.

    Representations, and the Lasso, use every individual, as the OLS peers do; the
    trees are fitted on the run's training rows and scored on the individuals the
    network is scored on. B = the analysis' permutations (0: scores only, p NaN), by
    ``params.peer_perm_method``, with the analysis' seed.
    """
    t0 = time.perf_counter()
    out, settings = {}, {"perm_method": params.peer_perm_method}
    timings["lasso_s"] = timings["xgb_s"] = 0.0
    kw = dict(permutations=params.permutations, perm_method=params.peer_perm_method, random_state=params.seed)
    steps = len(REPRESENTATIONS) * 2
    for k, rep in enumerate(REPRESENTATIONS):
        check_cancel(cancel)
        R = gene_representation(X, y, blocks, None, rep)
        t = time.perf_counter()
        report(progress, (2 * k) / steps, f"Lasso with product terms ({rep})")
        las = lasso_interaction_test(
            R, y, **kw, progress=sub_progress(progress, 2 * k / steps, (2 * k + 1) / steps), cancel=cancel
        )
        timings["lasso_s"] = round(timings["lasso_s"] + time.perf_counter() - t, 3)
        t = time.perf_counter()
        report(progress, (2 * k + 1) / steps, f"boosted trees ({rep})")
        xg = xgboost_interaction_test(
            R,
            y,
            fit_rows,
            score_rows,
            **kw,
            progress=sub_progress(progress, (2 * k + 1) / steps, (2 * k + 2) / steps),
            cancel=cancel,
        )
        timings["xgb_s"] = round(timings["xgb_s"] + time.perf_counter() - t, 3)
        for name, res in (("lasso", las), ("xgb", xg)):
            out[f"score_{name}_{rep}"] = res.score
            out[f"p_{name}_{rep}"] = res.p
            settings[f"{name}_{rep}"] = res.settings
    timings["perm_peers_s"] = round(time.perf_counter() - t0, 3)  # representations, Lasso and trees
    return out, settings


def _null_scores(run, X, y, blocks, rows, base_rows, params, root, progress, cancel):
    """(B, M, M) null scores, trained chunk by chunk through the executor seam
    (docs/scale-out.md) and cached per chunk as each one finishes."""
    B = params.permutations
    M = len(blocks)
    if B == 0:
        return np.zeros((0, M, M)), []
    st = cache.Store(NULL_KIND, root)
    chunks = [
        [permutation_seed(run.params.seed, b) for b in range(b0, min(B, b0 + params.chunk))]
        for b0 in range(0, B, params.chunk)
    ]
    keys = [cache.make_key("null", SCORE_VERSION, run.key, params.perm_method, params.scoring(), c) for c in chunks]
    parts = [_cached_null(st, k) for k in keys]
    todo = [c for c, part in enumerate(parts) if part is None]
    if todo:
        check_cancel(cancel)
        cfg = run.params.train_config(run.meta.get("l1_used", run.params.l1))
        shared = dict(
            X=X,
            y=y,
            y_main=run.main.predict(X).mean(axis=0),
            blocks=blocks,
            train_idx=run.train_idx,
            net=run.interaction.net,
            cfg=cfg,
            members=run.params.ensemble,
            rows=rows,
            base_rows=base_rows,
            params=params,
        )
        n_cached = len(chunks) - len(todo)
        stage = f"permutations ({params.chunk} × {run.params.ensemble} networks per chunk"
        stage += f"; {n_cached} chunk{'s' * (n_cached != 1)} cached)" if n_cached else ")"
        for j, (null, seconds) in execute.current().map(
            null_chunk, [chunks[c] for c in todo], shared=shared, progress=progress, cancel=cancel, stage=stage
        ):
            c = todo[j]
            st.write(
                keys[c],
                lambda d, n=null: np.savez(d / "null.npz", null=n),
                cache.provenance(
                    run=run.key,
                    seeds=chunks[c],
                    perm_method=params.perm_method,
                    scoring=params.scoring(),
                    seconds=round(seconds, 3),
                    executor=execute.current().describe(),
                ),
            )
            parts[c] = null
    return np.concatenate(parts, axis=0), [s for c in chunks for s in c]


def _cached_null(st: cache.Store, key: str) -> Optional[np.ndarray]:
    """A chunk's cached null scores, or None (a damaged entry is deleted: it is trained again)."""
    if not st.exists(key):
        return None
    try:
        st.verify(key)
        with np.load(st.path(key) / "null.npz") as z:
            return z["null"]
    except (CacheError, OSError, KeyError, ValueError):
        st.delete(key)
        return None


def null_chunk(shared: dict, chunk_seeds: list, progress=None, cancel=None) -> tuple:
    """One chunk of the permutation test (a task of the executor seam; runs on a worker):
    train ``len(chunk_seeds)`` permuted targets × the run's members as one batched model
    and score them as the observed ensemble was scored. Returns ``(null (b, M, M), seconds)``."""
    s = shared
    params = s["params"]
    Y = null_targets(s["y"], s["y_main"], params.perm_method, chunk_seeds)
    res = train_ensemble(
        s["X"],
        Y,
        s["blocks"],
        s["train_idx"],
        s["net"],
        s["cfg"],
        s["members"],
        progress=sub_progress(progress, 0.0, 0.85),
        cancel=cancel,
    )
    null = _score(res, s["X"], s["rows"], s["base_rows"], params, sub_progress(progress, 0.85, 1.0), cancel)
    return null.per_target, res.seconds


def top_pairs(scores: np.ndarray, k: int) -> np.ndarray:
    """``(M, M)`` symmetric boolean mask of the ``k`` highest-scoring pairs (ties by gene order)."""
    M = scores.shape[0]
    i, j = np.triu_indices(M, 1)
    order = np.argsort(-scores[i, j], kind="stable")[:k]
    mask = np.zeros((M, M), dtype=bool)
    mask[i[order], j[order]] = mask[j[order], i[order]] = True
    return mask


def build_table(
    names, observed, se, perm: Optional[PermutationResult], peers: dict, truth, heldout: Optional[PairTest] = None
) -> pd.DataFrame:
    """One row per gene pair, highest NN score first. ``p``/``q``: the held-out test of
    each pair (valid per pair); ``p_global``/``q_global``/``p_maxt``: Perm I's
    (valid only under "no interaction anywhere")."""
    i, j = np.triu_indices(len(names), 1)
    df = pd.DataFrame({"gene_a": [names[a] for a in i], "gene_b": [names[b] for b in j], "score": observed[i, j]})
    if se is not None:
        df["se"] = se[i, j]
    for col, mat in (
        ("p", None if heldout is None else heldout.p),
        ("q", None if heldout is None else heldout.q),
        ("slope", None if heldout is None else heldout.slope),
        ("p_global", None if perm is None else perm.p_values()),
        ("q_global", None if perm is None else perm.q_values()),
        ("p_maxt", None if perm is None else perm.p_maxt()),
    ):
        df[col] = np.nan if mat is None else mat[i, j]
    for col in ("p_topsnp", "p_pca", "p_snppair"):
        df[col] = peers[col][i, j]
    for stem in PERM_PEERS:
        df[f"score_{stem}"] = peers[f"score_{stem}"][i, j]
        df[f"p_{stem}"] = peers[f"p_{stem}"][i, j]
    df["nn_only"] = only_nn(df, NN_ONLY_FDR, NN_ONLY_P)
    if truth:
        types = truth.get("types", {})
        true = {tuple(sorted(p)) for p in truth.get("pairs", [])}
        df["true"] = [tuple(sorted((a, b))) in true for a, b in zip(df["gene_a"], df["gene_b"])]
        df["type"] = [types.get(f"{a}|{b}", types.get(f"{b}|{a}", "")) for a, b in zip(df["gene_a"], df["gene_b"])]
    return df.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def _found_by_a_peer(df: pd.DataFrame, p: float) -> pd.Series:
    """Some peer's p is below ``p`` (an undefined test, NaN, finds nothing)."""
    cols = [c for c in PEER_P_COLUMNS if c in df]
    return (df[cols] < p).any(axis=1) if cols else pd.Series(False, index=df.index)


def only_nn(df: pd.DataFrame, fdr: float = NN_ONLY_FDR, p: float = NN_ONLY_P) -> pd.Series:
    """Pairs the network calls (held-out test q < ``fdr``) and no classical peer finds at p < ``p``.

    The one definition behind the table's
    ``nn_only`` column and the Interactions page's "Found only by the NN".
    """
    q = df["q"] if "q" in df else pd.Series(np.nan, index=df.index)
    return ((q < fdr) & ~_found_by_a_peer(df, p)).astype(bool)


def only_peer(df: pd.DataFrame, fdr: float = NN_ONLY_FDR, p: float = NN_ONLY_P) -> pd.Series:
    """Pairs some classical peer finds at p < ``p`` that the network does not call (held-out q ≥ ``fdr``)."""
    q = df["q"] if "q" in df else pd.Series(np.nan, index=df.index)
    return ((q >= fdr) & _found_by_a_peer(df, p)).astype(bool)


def realised_fdp(table: pd.DataFrame, col: str, level: float) -> Optional[dict]:
    """Against the truth: pairs called at ``col < level``, how many are planted, and the
    realised false discovery proportion (None when the column is empty)."""
    if col not in table or "true" not in table or table[col].isna().all():
        return None
    called = table[col].to_numpy(dtype=float) < level
    true = table["true"].to_numpy(dtype=bool)
    n, tp = int(called.sum()), int((called & true).sum())
    return {"level": level, "called": n, "planted": tp, "fdp": (n - tp) / n if n else 0.0}


def truth_metrics(names, observed, peers, truth, table: Optional[pd.DataFrame] = None) -> Optional[dict]:
    """AP / AUROC of every method against the planted pairs (simulations only); with
    ``table``, the realised FDP of the NN's calls at q < 0.1 (held-out test and Perm I)."""
    if not truth or not truth.get("pairs"):
        return None
    labels = pair_labels(names, truth["pairs"])
    scores = {
        "NN": observed,
        "top-SNP": p_to_score(peers["p_topsnp"]),
        "PCA": p_to_score(peers["p_pca"]),
        "SNP-pair": p_to_score(peers["p_snppair_min"]),
        **{label: peers[f"score_{stem}"] for stem, label in PERM_PEERS.items()},
    }
    out = {}
    for name, s in scores.items():
        out[name] = {"AP": average_precision(s, labels), "AUROC": auroc(s, labels)}
        if truth.get("types"):
            out[name]["AP_by_type"] = per_type_ap(s, names, truth)
    if table is not None:
        out["NN"]["fdp"] = {
            "held-out q": realised_fdp(table, "q", NN_ONLY_FDR),
            "Perm I q": realised_fdp(table, "q_global", NN_ONLY_FDR),
        }
    return out


class Interactions(OnRun):
    kind = KIND
    job_kind = "interactions"
    params_type = InteractionParams
    version = SCORE_VERSION  # 3: normal approximation beyond 14 genes; 2: the ensemble's score, peers

    def describe(self, params: InteractionParams) -> str:
        return f"interactions {params.index}, B={params.permutations} (Perm {params.perm_method})"

    def compute(self, run_key, params, root, progress, cancel) -> tuple:
        return _analyse(run_key, params, root, progress, cancel)

    def read(self, key, meta, d, root) -> InteractionResult:
        table = pd.read_parquet(d / "table.parquet")
        with np.load(d / "scores.npz") as z:
            observed, null = z["observed"], z["null"]
            heldout = (
                PairTest(**{k: z[f"heldout_{k}"] for k in HELDOUT_FIELDS}, **meta["heldout_rows"])
                if "heldout_p" in z.files
                else None
            )
            peers = {
                k: z[k] for k in z.files if k not in ("observed", "null", "per_model") and not k.startswith("heldout_")
            }
        return InteractionResult(
            key,
            InteractionParams.from_dict(meta["params"]),
            meta,
            run_key=meta["run"],
            table=table,
            observed=observed,
            null=null,
            peers=peers,
            gene_names=meta["gene_names"],
            heldout=heldout,
        )


INTERACTIONS = Interactions()
key, get, load, entries, delete = (
    INTERACTIONS.key,
    INTERACTIONS.get,
    INTERACTIONS.load,
    INTERACTIONS.entries,
    INTERACTIONS.delete,
)
job_spec, run_job = INTERACTIONS.job_spec, INTERACTIONS.run_job
