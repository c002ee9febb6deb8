"""What the permutation-tested classical peers share (docs/method.md#classical-tests).

The Lasso (:mod:`gxapp.genenet.lasso_peer`) and boosted-tree
(:mod:`gxapp.genenet.tree_peer`) peers score every gene pair on a *gene
representation* ``R`` (n individuals × M genes: each gene's top SNP or the
first principal component of its SNPs, :func:`gene_representation`) and take
their p-values from paper A's two classical permutation schemes:

* **Perm R** (default): ``y_b = permute(y − ŷ_main)``, with ``ŷ_main`` the OLS
  main-effect fit ``y ~ 1 + R`` on the fitted rows — the null keeps the noise
  level of the main-effect residual and drops the main effects;
* **Perm T**: ``y_b = permute(y)`` — no association with any gene at all.

Both refit the peer B times with exactly the observed settings (same
penalty, same trees, same rows) and give the per-pair
``p = (1 + #{b: s_b ≥ s}) / (B + 1)`` of :class:`gxapp.genenet.permutation.PermutationResult`.
Permutation ``b`` uses the recorded seed ``permutation_seed(random_state, b)``,
the network's own (:mod:`gxapp.genenet.permutation`).

Neither scheme keeps the main effects in the permuted data. In gxapp's check
(docs/method.md#classical-tests) Perm R is about calibrated for the Lasso and
anti-conservative for the trees (which turn main effects into interaction values);
Perm T is conservative for both when main effects are strong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from gxapp.data.cohort import check_gene_blocks
from gxapp.errors import ParameterError
from gxapp.genenet.baselines import top_snps
from gxapp.genenet.peers import gene_pcs
from gxapp.genenet.permutation import PermutationResult, null_targets, permutation_seed
from gxapp.nn.threads import blas_threads

__all__ = [
    "PeerScores",
    "PEER_PERM_METHODS",
    "DEFAULT_PEER_PERM",
    "REPRESENTATIONS",
    "gene_representation",
    "check_design",
    "check_rows",
    "main_effect_fit",
    "null_phenotypes",
    "permutation_p",
    "pair_index",
    "to_matrix",
]

PEER_PERM_METHODS = ("R", "T")
DEFAULT_PEER_PERM = "R"
REPRESENTATIONS = ("topsnp", "pca")


def gene_representation(X, y, gene_blocks, rows=None, kind: str = "topsnp", threads: Optional[int] = 1) -> np.ndarray:
    """(len(rows), M) float64 gene representation on ``rows`` (all if None).

    ``kind="topsnp"``: each gene's SNP most correlated with ``y`` on ``rows``
    (:func:`gxapp.genenet.baselines.top_snps`); ``"pca"``: each gene's first
    principal component (:func:`gxapp.genenet.peers.gene_pcs`). Both as the
    OLS peers of :mod:`gxapp.genenet.peers` use them. ``threads``: BLAS threads during
    the call (None: leave BLAS as it is); 1 by default, as the OLS peers, since
    multithreaded BLAS slows the many small per-gene products down many-fold on shared cores.
    """
    if kind not in REPRESENTATIONS:
        raise ParameterError(f"kind: expected one of {', '.join(REPRESENTATIONS)}, got {kind!r}")
    if getattr(X, "ndim", 0) != 2:
        raise ParameterError(f"X: expected a 2-D array (N individuals x P SNPs), got shape {np.shape(X)}")
    blocks = check_gene_blocks(gene_blocks, X.shape[1], min_genes=2, purpose="testing gene pairs")
    rows = check_rows(rows, X.shape[0], "rows")
    with blas_threads(threads):
        if kind == "pca":
            return gene_pcs(X, blocks, rows)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (X.shape[0],):
            raise ParameterError(f"y: expected {X.shape[0]} values (one per row of X), got shape {y.shape}")
        if not np.isfinite(y[rows]).all():
            raise ParameterError("y: the phenotype has missing (NaN) values on these rows; run QC first")
        cols = top_snps(X, y, blocks, rows)
        return np.asarray(X[np.ix_(rows, cols)], dtype=np.float64)


def check_rows(rows, n: int, name: str) -> np.ndarray:
    """``rows`` (indices or a boolean mask into n individuals; None = all) as int64."""
    if rows is None:
        return np.arange(n, dtype=np.int64)
    r = np.asarray(rows)
    if r.dtype == bool:
        if r.shape != (n,):
            raise ParameterError(f"{name}: a boolean mask needs {n} values, got shape {r.shape}")
        return np.flatnonzero(r).astype(np.int64)
    if r.ndim != 1 or (r.size and not np.issubdtype(r.dtype, np.integer)):
        raise ParameterError(f"{name}: expected a 1-D array of row indices, got shape {r.shape} ({r.dtype})")
    r = r.astype(np.int64)
    if r.size and (r.min() < 0 or r.max() >= n):
        raise ParameterError(f"{name}: row indices must lie in 0..{n - 1}")
    return r


def check_design(R, y, rows=None, min_rows: int = 10) -> tuple:
    """Validated ``(R[rows], y[rows])`` as float64: R 2-D with 2+ genes, y one value a row,
    both finite and y not constant on ``rows``."""
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or R.shape[1] < 2:
        raise ParameterError(f"R: expected a 2-D array (n individuals x M >= 2 genes), got shape {R.shape}")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (R.shape[0],):
        raise ParameterError(f"y: expected {R.shape[0]} values (one per row of R), got shape {y.shape}")
    rows = check_rows(rows, R.shape[0], "rows")
    if len(rows) < min_rows:
        raise ParameterError(f"rows: at least {min_rows} individuals are needed, got {len(rows)}")
    Rr, yr = R[rows], y[rows]
    if not np.isfinite(yr).all():
        raise ParameterError("y: the phenotype has missing (NaN) values on these rows; run QC first")
    if np.ptp(yr) == 0:
        raise ParameterError("y: the phenotype is constant on these rows; nothing to test")
    if not np.isfinite(Rr).all():
        raise ParameterError("R: the gene representation has missing or infinite values; impute first")
    return Rr, yr


def main_effect_fit(R: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fitted values of the OLS main-effect model ``y ~ 1 + R`` (the rows given)."""
    A = np.column_stack([np.ones(len(y)), R])
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    return A @ beta


def null_phenotypes(R: np.ndarray, y: np.ndarray, method: str, B: int, random_state: int) -> tuple:
    """``(Y (n, B), seeds)``: B permuted phenotypes by Perm R or Perm T (see the module doc)."""
    if method not in PEER_PERM_METHODS:
        raise ParameterError(f"perm_method: expected one of {', '.join(PEER_PERM_METHODS)}, got {method!r}")
    seeds = [permutation_seed(random_state, b) for b in range(B)]
    if B == 0:
        return np.zeros((len(y), 0)), seeds
    return null_targets(y, main_effect_fit(R, y), method, seeds), seeds


def permutation_p(observed: np.ndarray, null: np.ndarray, method: str, seeds) -> np.ndarray:
    """(M, M) per-pair permutation p; NaN on the diagonal, where the score is NaN or when B = 0."""
    M = observed.shape[0]
    if null.shape[0] == 0:
        return np.full((M, M), np.nan)
    p = PermutationResult(observed, null, method, list(seeds)).p_values()
    p[~np.isfinite(observed)] = np.nan
    np.fill_diagonal(p, np.nan)
    return p


def pair_index(M: int) -> tuple:
    """The M(M−1)/2 gene pairs i < j, in ``np.triu_indices(M, 1)`` order."""
    return np.triu_indices(M, 1)


def to_matrix(values: np.ndarray, M: int, diagonal: float = 0.0) -> np.ndarray:
    """(..., M, M) symmetric matrices from (..., M(M−1)/2) pair values."""
    values = np.asarray(values, dtype=np.float64)
    i, j = pair_index(M)
    out = np.full(values.shape[:-1] + (M, M), diagonal, dtype=np.float64)
    out[..., i, j] = values
    out[..., j, i] = values
    return out


@dataclass
class PeerScores:
    """One peer's pair scores on one gene representation.

    ``score`` (M, M): symmetric, 0 on the diagonal, NaN for a pair that cannot be
    scored (a gene whose representation is constant); ``p`` (M, M): per-pair
    permutation p, NaN on the diagonal and everywhere when B = 0; ``null``
    (B, M, M): the permuted scores; ``perm_method`` and ``seeds`` of the B
    permutations; ``settings``: what was fitted (penalty, trees...).
    """

    score: np.ndarray
    p: np.ndarray
    null: np.ndarray
    perm_method: str
    seeds: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    @property
    def n_permutations(self) -> int:
        return int(self.null.shape[0])
