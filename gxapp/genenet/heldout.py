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


# Exponents (of gene a, of gene b) of the columns of additive_basis then mixed_basis.
_TERMS = ((0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (0, 2), (0, 3), (1, 1), (2, 1), (1, 2), (2, 2))
_PAIR_CHUNK = 256  # pairs per block: the test rows' design columns of a block stay ~30 MB
_MAX_COND = 1e10  # a test design worse conditioned than this goes through lstsq/pinv (_slope_test)


def _moments(X: np.ndarray, max_exp: int, weight=None) -> dict:
    """``{(p, q): (M, M)}`` for ``p, q <= max_exp`` with ``[i, j] = Σ_x w_x X_xi^p X_xj^q``
    (``w = 1`` without ``weight``): ONE product of the stacked powers ``[X^0 .. X^max_exp]``
    (at 65 genes a 455-column product is ~3x faster than 25 separate 65-column ones)."""
    n, M = X.shape
    P = np.empty((n, (max_exp + 1) * M))
    P[:, :M] = 1.0
    P[:, M : 2 * M] = X
    for e in range(2, max_exp + 1):
        np.multiply(P[:, (e - 1) * M : e * M], X, out=P[:, e * M : (e + 1) * M])
    G = (P if weight is None else P * weight[:, None]).T @ P
    return {(p, q): G[p * M : (p + 1) * M, q * M : (q + 1) * M] for p in range(max_exp + 1) for q in range(max_exp + 1)}


def _gram(mom: dict, terms, gi, gj) -> np.ndarray:
    """``(pairs, n, n)``: the Gram matrix of the columns ``X_i^p X_j^q`` (``(p, q)`` in ``terms``)."""
    G = np.empty((gi.size, len(terms), len(terms)))
    for u, (pu, qu) in enumerate(terms):
        for v, (pv, qv) in enumerate(terms):
            G[:, u, v] = mom[(pu + pv, qu + qv)][gi, gj]
    return G


def _patterns(fit, y_fit, test, fit_moments, gi, gj) -> np.ndarray:
    """``(n_test, pairs)``: each pair's mixed surface part, fitted per member on the fitting rows
    (OLS on the 11 cubic-surface columns, from the moments ``fit_moments[k]`` = ``(Gram
    moments, phenotype moments)``), averaged over members on the test rows."""
    K = fit.shape[0]
    pattern = np.zeros((test.shape[1], gi.size))
    for k in range(K):
        mom, ymom = fit_moments[k]
        G = _gram(mom, _TERMS, gi, gj)
        r = np.stack([ymom[t][gi, gj] for t in _TERMS], 1)
        try:
            coef = np.linalg.solve(G, r[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular surface: pair by pair, least squares where needed (_ols)
            coef = np.stack(
                [
                    _ols(
                        np.column_stack(
                            [additive_basis(fit[k, :, i], fit[k, :, j]), mixed_basis(fit[k, :, i], fit[k, :, j])]
                        ),
                        y_fit,
                    )
                    for i, j in zip(gi, gj)
                ]
            )
        a, b = test[k][:, gi], test[k][:, gj]
        for t, (pa, pb) in enumerate(_TERMS[_N_ADD:]):
            pattern += a**pa * b**pb * coef[:, _N_ADD + t]
    return pattern / K


def _slope_tests(mean_test, pattern, y, test_moments, gi, gj) -> tuple:
    """Per pair ``(slope, t, p)`` of :func:`_slope_test` with the design ``additive(ā_i, ā_j)
    + pattern`` on the test rows, batched: the Gram matrix from moments, the HC3 variance of
    the slope as ``Σ_x w_x (d_x · v)²`` with ``v`` the inverse Gram's last column. Pairs
    without a pattern get NaN; ill-conditioned designs go through :func:`_slope_test`."""
    n, P = pattern.shape
    add = _TERMS[:_N_ADD]
    mom, ymom = test_moments
    a, b = mean_test[:, gi], mean_test[:, gj]
    cols = [np.ones((n, 1)) if (pa, pb) == (0, 0) else a**pa * b**pb for pa, pb in add] + [pattern]
    m = len(cols)
    G = np.empty((P, m, m))
    G[:, :-1, :-1] = _gram(mom, add, gi, gj)
    for u in range(m - 1):
        G[:, u, -1] = G[:, -1, u] = (cols[u] * pattern).sum(0)
    G[:, -1, -1] = (pattern * pattern).sum(0)
    r = np.stack([ymom[t][gi, gj] for t in add] + [(pattern * y[:, None]).sum(0)], 1)
    slope, t, p = (np.full(P, np.nan) for _ in range(3))
    has = pattern.std(0) > 0  # a gene with a constant node (all weights shrunk to 0) has no pattern
    with np.errstate(all="ignore"):
        good = has & (np.linalg.cond(G) < _MAX_COND)
    if good.any():
        g = np.flatnonzero(good)
        bread = np.linalg.inv(G[g])
        beta = np.einsum("puv,pv->pu", bread, r[g])
        cg = [c if c.shape[1] == 1 else c[:, g] for c in cols]  # the intercept (n, 1) broadcasts
        resid = y[:, None] - sum(c * beta[:, u] for u, c in enumerate(cg))
        lev = np.zeros((n, g.size))
        for u in range(m):
            for v in range(u, m):
                lev += (1 if u == v else 2) * bread[:, u, v] * cg[u] * cg[v]
        w = (resid / np.clip(1 - lev, 1e-8, None)) ** 2
        s = sum(c * bread[:, u, -1] for u, c in enumerate(cg))
        var = (w * s * s).sum(0)
        ok = np.isfinite(var) & (var > 0)
        tt = np.where(ok, beta[:, -1] / np.sqrt(np.where(ok, var, 1)), np.nan)
        slope[g] = np.where(ok, beta[:, -1], np.nan)
        t[g] = tt
        p[g] = np.where(ok, stats.t.sf(tt, n - m), np.nan)
    for q in np.flatnonzero(has & ~good):
        D = np.column_stack([additive_basis(a[:, q], b[:, q]), pattern[:, q]])
        slope[q], t[q], p[q] = _slope_test(D, y)
    return slope, t, p


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
    gi, gj = iu
    fit_moments = [(_moments(fit[k], 6), _moments(fit[k], 3, y_fit)) for k in range(K)]
    test_moments = (_moments(mean_test, 6), _moments(mean_test, 3, y_test))
    for c0 in range(0, gi.size, _PAIR_CHUNK):
        check_cancel(cancel)
        ci, cj = gi[c0 : c0 + _PAIR_CHUNK], gj[c0 : c0 + _PAIR_CHUNK]
        pattern = _patterns(fit, y_fit, test, fit_moments, ci, cj)
        slope, t, p = _slope_tests(mean_test, pattern, y_test, test_moments, ci, cj)
        for key, v in (("p", p), ("t", t), ("slope", slope)):
            out[key][ci, cj] = out[key][cj, ci] = v
        done = min(c0 + _PAIR_CHUNK, gi.size)
        report(progress, done / gi.size, f"held-out test: {done} of {gi.size} pairs")
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
