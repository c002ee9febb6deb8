"""Gene-pair interaction scores of trained networks: the entry point (docs/method.md#shapley).

``I_ij(x)`` is SII (default), BII or STII of one network's head with gene nodes
outside a coalition set to that network's baseline, the mean gene node over
``baseline_rows`` (training rows). Exact for up to 14 genes by default, the
normal approximation of the coalition sum beyond (:mod:`.normal`); Monte-Carlo
sampling (:mod:`.montecarlo`) on request. Two global scores per pair, over the individuals ``rows``:

* per model, ``mean_x |I_ij(x)|``;
* per ensemble (the members of one target), ``mean_x |mean_e I_ij,e(x)|``: the
  index of the ensemble's averaged prediction (every index is linear in the
  function). Members' idiosyncratic interactions cancel in the average before the
  absolute value is taken, so false pairs score lower — this is the reported score
  (bench/README.md, "Training recipe").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from gxapp.errors import InputFormatError, ParameterError
from gxapp.genenet.models import map_params
from gxapp.genenet.shapley.exact import MAX_EXACT_GENES, exact_scores
from gxapp.genenet.shapley.montecarlo import DEFAULT_PERMUTATIONS, mc_scores
from gxapp.genenet.shapley.normal import normal_scores
from gxapp.genenet.shapley.weights import check_index
from gxapp.params import check_int
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report

AUTO_EXACT_MAX_GENES = 14
# Bytes of per-individual indices held at once while averaging the members of an ensemble.
_GROUP_BYTES = 256 * 2**20
METHODS = ("auto", "exact", "normal", "mc")


@dataclass
class PairScores:
    """Interaction scores of all gene pairs.

    ``per_model (K, M, M)``: each model's own global score, symmetric, zero
    diagonal; ``per_target (T, M, M)``: the score of each target's ensemble (its
    members' indices averaged per individual before ``|·|``); ``targets (K,)``: the
    target of each model; ``stderr`` / ``target_stderr``: Monte-Carlo standard
    errors of the two (None when exact; the ensemble's is an upper bound, the
    members' errors averaged per individual, as they share their draws).
    """

    genes: list
    index: str
    method: str
    per_model: np.ndarray
    stderr: Optional[np.ndarray]
    n_rows: int
    per_target: np.ndarray
    targets: np.ndarray
    target_stderr: Optional[np.ndarray] = None
    n_permutations: Optional[int] = None
    random_state: Optional[int] = None

    @property
    def n_models(self) -> int:
        return int(self.per_model.shape[0])

    @property
    def mean(self) -> np.ndarray:
        """``(M, M)``: the ensemble's score, averaged over targets when there are several."""
        return self.per_target.mean(0)

    @property
    def mean_stderr(self) -> Optional[np.ndarray]:
        """Standard error of :attr:`mean` (an upper bound), None when exact."""
        return None if self.target_stderr is None else self.target_stderr.mean(0)

    def to_frame(self, gene_names: Optional[Sequence] = None):
        """One row per pair (``gene_a`` before ``gene_b`` in gene order): ``gene_a,
        gene_b, score`` (+ ``se`` when sampled), highest score first."""
        import pandas as pd

        names = list(self.genes if gene_names is None else gene_names)
        M = self.per_model.shape[1]
        if len(names) != M:
            raise ParameterError(f"gene_names: expected {M} names, got {len(names)}")
        i, j = np.triu_indices(M, k=1)
        frame = pd.DataFrame(
            {"gene_a": [names[a] for a in i], "gene_b": [names[b] for b in j], "score": self.mean[i, j]}
        )
        if self.stderr is not None:
            frame["se"] = self.mean_stderr[i, j]
        return frame.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def group_mean(per_model: np.ndarray, targets_of_model) -> np.ndarray:
    """Average ``per_model (K, M, M)`` over the models of each target:
    ``(T, M, M)`` with ``T = max(targets_of_model) + 1`` (NaN for a target without
    models). K models = T targets x E members in a permutation test."""
    per_model = np.asarray(per_model, dtype=np.float64)
    targets = np.asarray(targets_of_model, dtype=np.int64).ravel()
    if targets.size != per_model.shape[0] or (targets.size and targets.min() < 0):
        raise ParameterError(
            f"targets_of_model: expected {per_model.shape[0]} non-negative target ids, got {targets.size}"
        )
    T = int(targets.max()) + 1 if targets.size else 0
    sums = np.zeros((T,) + per_model.shape[1:])
    np.add.at(sums, targets, per_model)
    counts = np.bincount(targets, minlength=T).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None, None]


def _check_rows(name: str, rows, n: int) -> np.ndarray:
    idx = np.asarray(rows, dtype=np.int64).ravel()
    if idx.size == 0:
        raise ParameterError(f"{name}: no rows given; pass the individuals to score")
    if idx.min() < 0 or idx.max() >= n:
        raise ParameterError(f"{name}: expected row indices in [0, {n}), got values from {idx.min()} to {idx.max()}")
    return idx


def _check_method(method, M: int) -> str:
    if method not in METHODS:
        raise ParameterError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if method == "auto":
        return "exact" if M <= AUTO_EXACT_MAX_GENES else "normal"
    if method == "exact" and M > MAX_EXACT_GENES:
        raise ParameterError(f"method='exact' supports at most {MAX_EXACT_GENES} genes, got {M}: use 'normal' or 'mc'")
    return method


@torch.no_grad()
def baseline_nodes(result, X: np.ndarray, baseline_rows, batch_rows: int = 4096, params=None) -> torch.Tensor:
    """Mean gene node of each model over ``baseline_rows``, ``(K, M)`` float32."""
    params = result.params if params is None else params
    rows = _check_rows("baseline_rows", baseline_rows, X.shape[0])
    total = torch.zeros(result.n_models, len(result.gene_blocks), dtype=torch.float64, device=params["bo"].device)
    for _, nodes in result.node_batches(X, rows, batch_rows, params):
        total += nodes.to(torch.float64).sum(1)
    return (total / rows.size).to(torch.float32)


@torch.no_grad()
def score_pairs(
    result,
    X: np.ndarray,
    rows,
    baseline_rows,
    index: str = "SII",
    method: str = "auto",
    n_permutations: int = DEFAULT_PERMUTATIONS,
    random_state: int = 0,
    batch_rows: int = 256,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
    gene_names: Optional[Sequence] = None,
    device: str = "cpu",
) -> PairScores:
    """Score every gene pair of every model in ``result`` (a
    :class:`gxapp.genenet.train.TrainResult`).

    ``X (N, P)``: the genotypes the networks were trained on (all columns);
    ``rows``: the individuals to explain (test rows); ``baseline_rows``: the rows
    whose mean gene node is the baseline (training rows). ``index``: "SII", "BII"
    or "STII"; ``method``: "exact", "normal" (the normal approximation of
    :mod:`.normal`), "mc" (Monte-Carlo) or "auto" (exact up to 14 genes, normal beyond).
    ``n_permutations``/``random_state``: Monte-Carlo draws per individual and seed
    (each individual's draws depend on its row id only). ``batch_rows``:
    individuals per step (progress and cancel granularity; fewer when the
    per-individual indices of all models would not fit in 256 MB). Returns each
    model's score and each target's ensemble score (:class:`PairScores`).
    """
    from gxapp.genenet.config import resolve_threads
    from gxapp.nn.threads import torch_threads

    index = check_index(index)
    M = len(result.gene_blocks)
    if M < 2:
        raise ParameterError(f"result: interaction scores need at least 2 genes, the networks have {M}")
    method = _check_method(method, M)
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[1] <= max(int(b.max()) for b in result.gene_blocks):
        raise InputFormatError("X: expected the (N, P) genotype matrix the networks were trained on")
    rows = _check_rows("rows", rows, X.shape[0])
    base_rows = _check_rows("baseline_rows", baseline_rows, X.shape[0])
    check_int("batch_rows", batch_rows, 1)
    genes = list(range(M)) if gene_names is None else list(gene_names)
    if len(genes) != M:
        raise ParameterError(f"gene_names: expected {M} names, got {len(genes)}")
    K = result.n_models
    dev = torch.device(device)
    params = map_params(result.params, lambda t: t.to(dev))
    targets = np.asarray(result.targets_of_model, dtype=np.int64).ravel()
    _, group = np.unique(targets, return_inverse=True)
    T = int(group.max()) + 1
    group_t = torch.as_tensor(group, device=dev)
    size = torch.bincount(group_t, minlength=T).to(torch.float64)
    # per-individual indices of all K models are held for one batch of rows
    batch_rows = max(1, min(batch_rows, _GROUP_BYTES // max(1, 3 * 8 * K * M * M)))
    acc = {
        k: torch.zeros(n, M, M, dtype=torch.float64, device=dev) for k, n in (("m", K), ("mv", K), ("t", T), ("tv", T))
    }

    def by_target(v: torch.Tensor) -> torch.Tensor:  # (K, b, M, M) -> members' mean per target (T, b, M, M)
        out = v.new_zeros((T,) + tuple(v.shape[1:])).index_add_(0, group_t, v)
        return out / size.view(-1, 1, 1, 1)

    with torch_threads(resolve_threads(result.cfg.threads)):
        base = baseline_nodes(result, X, base_rows, params=params)
        n_batches = math.ceil(rows.size / batch_rows)
        for b, (pos, nodes) in enumerate(result.node_batches(X, rows, batch_rows, params)):
            check_cancel(cancel)
            if method in ("exact", "normal"):
                fn = exact_scores if method == "exact" else normal_scores
                ind = fn(params, result.net, nodes, base, index, cancel=cancel).to(torch.float64)
                se = None
            else:
                ind, se = mc_scores(
                    params,
                    result.net,
                    nodes,
                    base,
                    index,
                    n_permutations,
                    random_state,
                    row_keys=rows[pos],
                    cancel=cancel,
                )
            acc["m"] += ind.abs().sum(1)
            acc["t"] += by_target(ind).abs_().sum(1)
            if se is not None:
                acc["mv"] += se.square().sum(1)
                acc["tv"] += by_target(se).square_().sum(1)
            report(
                progress, (b + 1) / n_batches, f"{index} scores: {min(pos.stop, rows.size)} of {rows.size} individuals"
            )
    n = rows.size
    mc = method == "mc"
    return PairScores(
        genes=genes,
        index=index,
        method=method,
        per_model=(acc["m"] / n).cpu().numpy(),
        stderr=(acc["mv"].sqrt() / n).cpu().numpy() if mc else None,
        n_rows=int(n),
        per_target=(acc["t"] / n).cpu().numpy(),
        targets=targets,
        target_stderr=(acc["tv"].sqrt() / n).cpu().numpy() if mc else None,
        n_permutations=int(n_permutations) if mc else None,
        random_state=int(random_state) if mc else None,
    )
