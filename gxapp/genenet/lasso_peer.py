"""Lasso with multiplicative interaction terms, one of paper A's classical peers
(docs/method.md#classical-tests).

On a gene representation ``R`` (n × M, :func:`gxapp.genenet.peer_perm.gene_representation`)
the design is the M main columns and the M(M−1)/2 products of the centred columns,
every column centred and scaled to unit variance::

    y ~ Σ_i β_i r_i + Σ_{i<j} γ_ij (r_i·r_j)        (L1 penalty α on β and γ)

α is chosen once by K-fold cross-validation (as scikit-learn's ``LassoCV``, shuffled
folds with ``random_state``, from shared Gram matrices) on the observed phenotype; the pair score is the
size of its product coefficient, ``|γ_ij|`` (per standard deviation of the
product, in phenotype units). p-values: B permuted phenotypes (Perm R or Perm T,
:mod:`gxapp.genenet.peer_perm`) are fitted with the SAME α and design;
``p_ij = (1 + #{b: |γ_b,ij| ≥ |γ_ij|}) / (B + 1)``. A pair whose coefficient the
penalty sets to 0 gets p = 1.

Cost: the Gram matrix of the design is computed once and shared by the observed
and all permuted fits (coordinate descent on it costs O(p²) a sweep, p = M + M(M−1)/2,
whatever n), so B permutations cost little more than one fit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.model_selection import KFold

from gxapp.genenet.peer_perm import (
    DEFAULT_PEER_PERM,
    PEER_PERM_METHODS,
    PeerScores,
    check_design,
    null_phenotypes,
    pair_index,
    permutation_p,
    to_matrix,
)
from gxapp.nn.threads import blas_threads
from gxapp.params import Integral, Interval, Options, Params, Real
from gxapp.progress import check_cancel, report

__all__ = ["LassoPeerParams", "interaction_design", "lasso_interaction_test"]

# Permuted phenotypes fitted in one call (progress and cancel are checked between calls).
_TARGETS_PER_CALL = 10
# Ratio of the smallest to the largest α of the cross-validated grid (scikit-learn's eps).
_ALPHA_RANGE = 1e-3
_ALPHA_RANGE_WIDE = 1e-2


@dataclass(frozen=True)
class LassoPeerParams(Params):
    """``permutations`` B (0: scores only); ``perm_method`` R or T; ``cv`` folds and
    ``n_alphas`` grid points of the cross-validation choosing α; ``max_iter`` and
    ``tol`` of coordinate descent; ``random_state`` seeds the folds and permutations;
    ``threads``: BLAS threads (None: leave BLAS as it is)."""

    permutations: int = 0
    perm_method: str = DEFAULT_PEER_PERM
    cv: int = 3
    n_alphas: int = 30
    max_iter: int = 10_000
    tol: float = 1e-6
    random_state: int = 0
    threads: Optional[int] = 1

    _parameter_constraints = {
        "permutations": [Interval(Integral, 0, None)],
        "perm_method": [Options(PEER_PERM_METHODS)],
        "cv": [Interval(Integral, 2, 20)],
        "n_alphas": [Interval(Integral, 2, 1000)],
        "max_iter": [Interval(Integral, 1, None)],
        "tol": [Interval(Real, 0, 1, closed="neither")],
        "random_state": [Interval(Integral, 0, None)],
        "threads": [None, Interval(Integral, 1, None)],
    }


def interaction_design(R: np.ndarray) -> tuple:
    """``(Z, valid)``: the standardised design (n, M + M(M−1)/2) of a representation R (n, M).

    Columns: the M centred, unit-variance main columns, then, for every pair i < j in
    ``np.triu_indices(M, 1)`` order, the product of the centred columns ``r_i·r_j``,
    itself centred and scaled to unit variance. A constant column (a gene constant on
    these rows, or a product that is) is all zeros; ``valid`` (M(M−1)/2,) marks the
    pairs whose product column is usable.
    """
    R = np.asarray(R, dtype=np.float64)
    M = R.shape[1]
    gene_ok = np.ptp(R, axis=0) > 0
    Rc = np.where(gene_ok, R - R.mean(axis=0), 0.0)
    i, j = pair_index(M)
    Z = np.empty((R.shape[0], M + i.size))  # filled in place: at 65 genes it is 16k x 2,145
    Z[:, :M] = Rc
    np.multiply(Rc[:, i], Rc[:, j], out=Z[:, M:])
    Z[:, M:] -= Z[:, M:].mean(axis=0)
    sd = np.sqrt(np.einsum("ij,ij->j", Z, Z) / Z.shape[0])  # the columns are centred
    sd_gene = sd[:M]
    # a product column counts as constant relative to the size of its factors
    ok = np.concatenate([gene_ok, sd[M:] > 1e-9 * sd_gene[i] * sd_gene[j]])
    Z *= np.where(ok, 1.0 / np.where(ok, sd, 1.0), 0.0)
    return Z, ok[M:]


def _alpha_grid(Z: np.ndarray, yc: np.ndarray, n_alphas: int) -> np.ndarray:
    """``n_alphas`` penalties from the smallest that zeroes every coefficient down to
    ``_ALPHA_RANGE`` of it; ``_ALPHA_RANGE_WIDE`` when the design has at least as many
    columns as rows (65 genes: 2,145 columns): there the smallest penalties have no unique
    solution and cost minutes of coordinate descent (bench/README.md, "Paper A at 65 genes")."""
    alpha_max = float(np.max(np.abs(Z.T @ yc))) / len(yc)
    low = _ALPHA_RANGE_WIDE if Z.shape[1] >= Z.shape[0] else _ALPHA_RANGE
    return alpha_max * np.logspace(0, np.log10(low), n_alphas)


def _choose_alpha(Z, yc, p: LassoPeerParams) -> tuple:
    """``(α, G)``: the α of the grid with the lowest mean held-out squared error over
    ``p.cv`` shuffled folds (as scikit-learn's ``LassoCV`` with ``fit_intercept=True``:
    each training fold centred on its own means), and the full Gram matrix ``Zᵀ Z``.

    The Gram matrices are computed once: each fold's own ``Z_fᵀ Z_f`` (together one
    ``n p²`` product), their sum is the full Gram, and a training fold's centred Gram
    is ``G − G_f − n_t m_t m_tᵀ`` — a quarter of the products ``LassoCV`` and a separate
    full Gram cost (bench/README.md, "Shapley interactions at many genes")."""
    from sklearn.linear_model import lasso_path

    folds = [test for _, test in KFold(p.cv, shuffle=True, random_state=p.random_state).split(Z)]
    parts = [(Z[f].T @ Z[f], Z[f].sum(0), Z[f].T @ yc[f], yc[f].sum()) for f in folds]
    G = sum(g for g, *_ in parts)
    col, zy, ysum = Z.sum(0), Z.T @ yc, yc.sum()
    alphas = _alpha_grid(Z, yc, p.n_alphas)
    # more columns than rows: coordinate descent to scikit-learn's default tolerance (1e-4) while
    # choosing α — on a 1,200 x 2,145 design it chose the same α as 1e-6 in 3 s instead of 67 s
    tol = max(p.tol, 1e-4) if Z.shape[1] >= Z.shape[0] else p.tol
    mse = np.zeros(alphas.size)
    for f, (gf, sf, zyf, yf) in zip(folds, parts):
        n_t = len(yc) - f.size
        m, ym = (col - sf) / n_t, (ysum - yf) / n_t
        gram = G - gf - n_t * np.outer(m, m)
        xy = zy - zyf - n_t * m * ym
        train = np.ones(len(yc), dtype=bool)
        train[f] = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the smallest α of the grid may stop early
            _, coefs, _ = lasso_path(
                Z[train] - m, yc[train] - ym, alphas=alphas, precompute=gram, Xy=xy, max_iter=p.max_iter, tol=tol
            )
        pred = (Z[f] - m) @ coefs + ym  # (fold rows, alphas)
        mse += ((pred - yc[f, None]) ** 2).mean(0)
    return float(alphas[int(np.argmin(mse))]), G


def _fit(Z, G, Y, alpha, p: LassoPeerParams) -> np.ndarray:
    """(k, n_columns) Lasso coefficients of the k centred targets Y (n, k) at ``alpha``."""
    model = Lasso(alpha=alpha, fit_intercept=False, precompute=G, copy_X=False, max_iter=p.max_iter, tol=p.tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(Z, Y if Y.shape[1] > 1 else Y[:, 0])
    return np.atleast_2d(model.coef_)


def lasso_interaction_test(
    R,
    y,
    rows=None,
    *,
    permutations: int = 0,
    perm_method: str = DEFAULT_PEER_PERM,
    cv: int = 3,
    n_alphas: int = 30,
    random_state: int = 0,
    threads: Optional[int] = 1,
    progress=None,
    cancel=None,
) -> PeerScores:
    """Lasso with multiplicative interaction terms on the representation ``R`` (N, M).

    Fitted on ``rows`` (indices or mask into R and y; all if None). Returns a
    :class:`~gxapp.genenet.peer_perm.PeerScores`: ``score[i, j] = |γ_ij|``, the
    Lasso coefficient of the standardised product ``r_i·r_j`` at the α chosen by
    ``cv``-fold cross-validation over ``n_alphas`` values (``settings["alpha"]``),
    and the permutation p of ``permutations`` B refits with the same α under
    ``perm_method`` (see the module doc). ``progress(fraction, message)`` is called
    between groups of permutations; ``cancel.is_set()`` stops with
    :class:`gxapp.errors.Cancelled`. Every bad input raises
    :class:`gxapp.errors.ParameterError` naming the argument.
    """
    p = LassoPeerParams(
        permutations=permutations,
        perm_method=perm_method,
        cv=cv,
        n_alphas=n_alphas,
        random_state=random_state,
        threads=threads,
    ).validate()
    Rr, yr = check_design(R, y, rows, min_rows=max(10, 2 * p.cv))
    M, B = Rr.shape[1], p.permutations
    report(progress, 0.0, "Lasso: choosing the penalty by cross-validation")
    with blas_threads(p.threads):
        Z, valid = interaction_design(Rr)
        yc = yr - yr.mean()
        check_cancel(cancel)
        alpha, G = _choose_alpha(Z, yc, p)
        Y, seeds = null_phenotypes(Rr, yr, p.perm_method, B, p.random_state)
        Y = Y - Y.mean(axis=0)
        coef = [_fit(Z, G, yc[:, None], alpha, p)]
        for s in range(0, B, _TARGETS_PER_CALL):
            check_cancel(cancel)
            report(progress, 0.2 + 0.8 * s / B, f"Lasso: permutations {s + 1}–{min(B, s + _TARGETS_PER_CALL)} of {B}")
            coef.append(_fit(Z, G, Y[:, s : s + _TARGETS_PER_CALL], alpha, p))
    gamma = np.abs(np.concatenate(coef, axis=0)[:, M:])  # (1 + B, pairs)
    gamma[:, ~valid] = np.nan
    score = to_matrix(gamma[0], M)
    null = to_matrix(gamma[1:], M)
    report(progress, 1.0, "Lasso done")
    return PeerScores(
        score=score,
        p=permutation_p(score, null, p.perm_method, seeds),
        null=null,
        perm_method=p.perm_method,
        seeds=seeds,
        settings={"alpha": alpha, "cv": p.cv, "n_alphas": p.n_alphas, "n_rows": int(len(yr))},
    )
