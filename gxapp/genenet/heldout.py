"""Held-out interaction test of every gene pair (docs/method.md#held-out-test).

Paper A's Eq. 5 replication regression, used inside one cohort: the pattern of each
pair's interaction is learned on the rows the networks were fitted on and tested on
the held-out test rows, which no network, early stop or pattern has seen.

For a pair (i, j) and each ensemble member e, with the member's gene nodes
standardised on the fitting rows (``a = g_i``, ``b = g_j``):

1. on the **fitting rows**, OLS of the phenotype on a cubic surface of (a, b):
   ``1, a, a², a³, b, b², b³`` (additive) and ``ab, a²b, ab², a²b²`` (mixed); the
   pair's interaction pattern is the mixed part, ``s_e(x) = Σ mixed terms · coefs``,
   in phenotype units (so it needs no sign convention between members);
2. ``s(x)`` = the members' patterns averaged, evaluated on the **test rows**;
3. on the **test rows**, OLS ``y ~ 1 + cubic(ā) + cubic(b̄) + s`` (ā, b̄: the members'
   sign-aligned mean nodes) and the one-sided t-test of the slope of ``s`` (> 0:
   the pattern learned on other individuals predicts these ones), with the HC3
   heteroscedasticity-consistent standard error.

Under "genes i and j do not interact" (with genes in linkage equilibrium with one
another, as different genes are) the phenotype's mean given (ā, b̄) is additive in
them up to what the cubic terms absorb, and ``s`` is a fixed function of the test
rows' genotypes, so the slope's t statistic is a valid test whatever the other
pairs do — unlike a permutation null without any interaction (Perm I), which
every pair next to a real interaction beats. The cubic additive adjustment
matters: ``(g_i − g_j)²`` carries ``g_i²`` and ``g_j²`` main effects that a
linear adjustment would leave for ``s`` to pick up.

q-values: Benjamini–Hochberg (statsmodels) over the **candidate** pairs — by default every
pair; the analysis passes the pairs the networks score highest. The networks' scores are
computed from the training rows' fit and the test rows' genotypes only, never the test rows'
phenotypes, so choosing candidates by them does not touch the held-out evidence and BH over the
candidates stays valid; fewer candidates, fewer tests to correct for. Pairs outside the candidates
keep their p (valid on its own) and get q = NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats

from gxapp.errors import InputFormatError, ParameterError
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report

__all__ = ["PairTest", "additive_basis", "mixed_basis", "pair_test", "heldout_pair_test", "bh_qvalues"]

_N_ADD = 7  # intercept + cubic in each gene
_MIN_TEST_ROWS = 30


def additive_basis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n, 7)``: 1, a, a², a³, b, b², b³."""
    return np.column_stack([np.ones_like(a), a, a * a, a**3, b, b * b, b**3])


def mixed_basis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(n, 4)``: ab, a²b, ab², a²b² — the terms no additive model has."""
    ab = a * b
    return np.column_stack([ab, ab * a, ab * b, ab * ab])


def bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of a vector of p-values; NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


@dataclass
class PairTest:
    """Held-out test of every gene pair: ``(M, M)`` symmetric matrices with NaN on the
    diagonal — ``p`` (one-sided), ``q`` (BH over the pairs), ``t``, ``slope`` (of
    the learned pattern on the test rows; 1 = the pattern's full size replicates)."""

    p: np.ndarray
    q: np.ndarray
    t: np.ndarray
    slope: np.ndarray
    n_fit: int
    n_test: int


def _standardise(fit: np.ndarray, test: np.ndarray) -> tuple:
    mu = fit.mean(1, keepdims=True)
    sd = fit.std(1, keepdims=True)
    sd = np.where(sd > 0, sd, 1.0)
    return (fit - mu) / sd, (test - mu) / sd


def _aligned_mean(nodes: np.ndarray) -> np.ndarray:
    """``(n, M)``: each gene's node averaged over members after flipping members whose
    node runs opposite to member 0's (a linear gene node's sign is arbitrary)."""
    ref = nodes[0]
    sign = np.sign(np.einsum("knm,nm->km", nodes, ref))
    sign[sign == 0] = 1
    return (nodes * sign[:, None, :]).mean(0)


def _ols(D: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS coefficients by the normal equations (a few columns, many rows), least squares when singular."""
    try:
        return np.linalg.solve(D.T @ D, D.T @ y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(D, y, rcond=None)[0]


def _slope_test(D: np.ndarray, y: np.ndarray) -> tuple:
    """OLS of y on D; (slope, t, one-sided p) of the last column, with the HC3
    (heteroscedasticity-consistent) standard error: the other pairs' interactions make the
    residual variance depend on the two genes (a product g_i·g_k has variance ∝ g_i²), which
    the classical standard error ignores and the mixed terms would pick up."""
    beta, *_ = np.linalg.lstsq(D, y, rcond=None)
    resid = y - D @ beta
    df = D.shape[0] - np.linalg.matrix_rank(D)
    if df <= 0:
        return np.nan, np.nan, np.nan
    bread = np.linalg.pinv(D.T @ D)
    lev = np.einsum("ij,jk,ik->i", D, bread, D)
    w = (resid / np.clip(1 - lev, 1e-8, None)) ** 2
    cov = bread @ (D.T * w) @ D @ bread
    var = cov[-1, -1]
    if not np.isfinite(var) or var <= 0:
        return np.nan, np.nan, np.nan
    t = beta[-1] / np.sqrt(var)
    return float(beta[-1]), float(t), float(stats.t.sf(t, df))


def pair_test(
    nodes_fit: np.ndarray,
    y_fit: np.ndarray,
    nodes_test: np.ndarray,
    y_test: np.ndarray,
    candidates: Optional[np.ndarray] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
) -> PairTest:
    """The array-level test. ``nodes_fit (K, n_fit, M)`` / ``nodes_test (K, n_test, M)``:
    the K members' gene nodes on the fitting and the test rows; ``y_fit`` / ``y_test``
    the phenotype there; ``candidates``: ``(M, M)`` boolean mask of the pairs the q-values
    are computed over (None: all), chosen without the test rows' phenotypes."""
    nodes_fit = np.asarray(nodes_fit, dtype=np.float64)
    nodes_test = np.asarray(nodes_test, dtype=np.float64)
    y_fit = np.asarray(y_fit, dtype=np.float64).ravel()
    y_test = np.asarray(y_test, dtype=np.float64).ravel()
    if nodes_fit.ndim != 3 or nodes_test.ndim != 3 or nodes_fit.shape[::2] != nodes_test.shape[::2]:
        raise ParameterError(
            f"nodes_fit, nodes_test: expected (K, n, M) arrays with the same K and M, got "
            f"{nodes_fit.shape} and {nodes_test.shape}"
        )
    K, n_fit, M = nodes_fit.shape
    if M < 2:
        raise ParameterError(f"nodes_fit: a pair test needs at least 2 genes, got {M}")
    if y_fit.size != n_fit or y_test.size != nodes_test.shape[1]:
        raise ParameterError(
            f"y_fit, y_test: expected {n_fit} and {nodes_test.shape[1]} values, got {y_fit.size} and {y_test.size}"
        )
    if nodes_test.shape[1] < _MIN_TEST_ROWS or n_fit < _MIN_TEST_ROWS:
        raise ParameterError(
            f"test rows: the held-out test needs at least {_MIN_TEST_ROWS} fitting and test rows, got "
            f"{n_fit} and {nodes_test.shape[1]}; use a larger cohort or test fraction"
        )
    for name, v in (("nodes_fit", nodes_fit), ("nodes_test", nodes_test), ("y_fit", y_fit), ("y_test", y_test)):
        if not np.isfinite(v).all():
            raise InputFormatError(f"{name}: NaN or infinite values; impute genotypes and drop missing phenotypes")
    iu = np.triu_indices(M, 1)
    chosen = np.ones(iu[0].size, dtype=bool)
    if candidates is not None:
        candidates = np.asarray(candidates, dtype=bool)
        if candidates.shape != (M, M):
            raise ParameterError(f"candidates: expected an ({M}, {M}) boolean mask, got shape {candidates.shape}")
        chosen = candidates[iu]
    fit, test = _standardise(nodes_fit, nodes_test)
    mean_test = _aligned_mean(test)
    out = {k: np.full((M, M), np.nan) for k in ("p", "t", "slope")}
    pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
    for n, (i, j) in enumerate(pairs):
        check_cancel(cancel)
        pattern = np.zeros(test.shape[1])
        for k in range(K):
            a, b = fit[k, :, i], fit[k, :, j]
            D = np.column_stack([additive_basis(a, b), mixed_basis(a, b)])
            coef = _ols(D, y_fit)
            pattern += mixed_basis(test[k, :, i], test[k, :, j]) @ coef[_N_ADD:]
        pattern /= K
        if pattern.std() > 0:  # a gene with a constant node (all weights shrunk to 0) has no pattern: NaN
            D = np.column_stack([additive_basis(mean_test[:, i], mean_test[:, j]), pattern])
            slope, t, p = _slope_test(D, y_test)
            for key, v in (("p", p), ("t", t), ("slope", slope)):
                out[key][i, j] = out[key][j, i] = v
        if (n + 1) % 16 == 0 or n + 1 == len(pairs):
            report(progress, (n + 1) / len(pairs), f"held-out test: {n + 1} of {len(pairs)} pairs")
    qv = np.full(iu[0].size, np.nan)
    qv[chosen] = bh_qvalues(out["p"][iu][chosen])
    q = np.full((M, M), np.nan)
    q[iu] = qv
    q.T[iu] = qv
    return PairTest(p=out["p"], q=q, t=out["t"], slope=out["slope"], n_fit=n_fit, n_test=int(test.shape[1]))


def heldout_pair_test(
    result,
    X: np.ndarray,
    y: np.ndarray,
    test_rows,
    candidates: Optional[np.ndarray] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
) -> PairTest:
    """The dataset-level test of a trained interaction ensemble (a
    :class:`gxapp.genenet.result.TrainResult`): patterns learned on the members'
    fitting rows (``result.train_idx``), tested on ``test_rows`` (which must be
    disjoint from every row the networks saw)."""
    test_rows = np.asarray(test_rows, dtype=np.int64).ravel()
    seen = np.concatenate([result.train_idx, result.val_idx])
    if np.intersect1d(test_rows, seen).size:
        raise ParameterError("test_rows: some rows were used to fit or early-stop the networks; pass held-out rows")
    y = np.asarray(y, dtype=np.float64)
    nodes_fit = result.gene_nodes(X, result.train_idx)
    nodes_test = result.gene_nodes(X, test_rows)
    return pair_test(nodes_fit, y[result.train_idx], nodes_test, y[test_rows], candidates, progress, cancel)
