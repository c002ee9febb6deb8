"""Classical gene-pair interaction tests shown beside the neural network (docs/method.md#classical-tests).

Every test fits, for a pair of variables ``a`` and ``b``, the OLS model

    y ~ 1 + a + b + a·b

and reports the p-value of the ``a·b`` coefficient. The three peers differ in what
``a`` and ``b`` are:

* :func:`topsnp_interaction_test` — each gene is its top SNP (paper A, Eq. 4);
* :func:`pca_interaction_test` — each gene is the first principal component of its SNPs;
* :func:`snp_pair_test` — every SNP of gene i against every SNP of gene j, what
  PLINK 1.9 ``--epistasis`` runs for a quantitative trait; the gene pair is scored by
  the smallest p and its Bonferroni correction within the pair.

All regressions are solved in closed form, batched over pairs with numpy
(Frisch–Waugh: the ``a·b`` column is residualised on ``[1, a, b]`` through a 3×3
normal-equation solve written out element-wise), so a whole (m_i × m_j) block of
SNP pairs costs two matrix products. Columns are centred first; centring ``a`` and
``b`` spans the same model space, so the ``a·b`` coefficient, its t statistic and its
p-value are those of the raw dosages.

p-values: ``dist="t"`` (default) is the exact t-test with n − 4 degrees of freedom
(what statsmodels reports); ``dist="normal"`` refers t² to χ²(1), which is what
PLINK 1.9 ``--epistasis`` prints for quantitative traits (its STAT column is t²).
The two agree to within a few per cent in p at n in the thousands.

Pairs whose test is undefined (a monomorphic SNP, ``a·b`` collinear with ``a`` and
``b``, two collinear variables) get p = NaN and are not counted as tests.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from gxapp.data.cohort import check_gene_blocks
from gxapp.errors import ParameterError
from gxapp.genenet.baselines import top_snps
from gxapp.nn.threads import blas_threads
from gxapp.progress import check_cancel, report

__all__ = [
    "DISTS",
    "interaction_ols",
    "topsnp_interaction_test",
    "pca_interaction_test",
    "gene_pcs",
    "snp_pair_block",
    "snp_pair_test",
]

DISTS = ("t", "normal")
# Relative size below which a residual sum of squares counts as zero (collinearity).
_COLLINEAR_TOL = 1e-9
# Columns of the partner genes handled in one matrix product (bounds memory).
_CHUNK_COLS = 1024
# Rows per block of the cross-product accumulation.
_CHUNK_ROWS = 4096
# The SNP-pair test centres all SNPs once when they fit in this many bytes (float64).
_CENTRED_BYTES = 1 << 30


# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------
def _check_dist(dist: str) -> None:
    if dist not in DISTS:
        raise ParameterError(f"dist: expected one of {DISTS}, got {dist!r}")


def _rows_and_y(X, y, rows):
    """Validated (rows int64, centred float64 y on rows)."""
    if X.ndim != 2:
        raise ParameterError(f"X: expected a 2-D array (N individuals x P SNPs), got shape {X.shape}")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (X.shape[0],):
        raise ParameterError(f"y: expected {X.shape[0]} values (one per row of X), got shape {y.shape}")
    if rows is None:
        rows = np.arange(X.shape[0], dtype=np.int64)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    rows = rows.astype(np.int64)
    if len(rows) < 5:
        raise ParameterError(f"rows: at least 5 individuals are needed for y ~ 1 + a + b + a·b, got {len(rows)}")
    yr = y[rows]
    if not np.isfinite(yr).all():
        raise ParameterError("y: the phenotype has missing (NaN) values on these rows; run QC first")
    if np.ptp(yr) == 0:
        raise ParameterError("y: the phenotype is constant on these rows; nothing to test")
    return rows, yr - yr.mean()


def _check_blocks(X, gene_blocks) -> list:
    return check_gene_blocks(gene_blocks, X.shape[1], min_genes=2, purpose="testing gene pairs")


def _centred(X, rows, cols) -> np.ndarray:
    """float64 columns ``cols`` of X on ``rows``, centred on those rows."""
    return _centre_cols(np.asarray(X[np.ix_(rows, cols)], dtype=np.float64))


def _centre_cols(a: np.ndarray) -> np.ndarray:
    """Centred float64 copy of ``a``; a constant column becomes exactly 0 (then flagged untestable)."""
    const = np.ptp(a, axis=0) == 0
    a = a - a.mean(axis=0)
    a[:, const] = 0.0
    return a


# ---------------------------------------------------------------------------
# the batched OLS
# ---------------------------------------------------------------------------
def _pvalue(t: np.ndarray, df: int, dist: str) -> np.ndarray:
    if dist == "t":
        return 2.0 * stats.t.sf(np.abs(t), df)
    return stats.chi2.sf(t * t, 1)


def _interaction_from_sums(n, saa, sbb, sab, saw, sbw, sww, say, sby, swy, syy, dist):
    """Closed-form OLS of ``y ~ 1 + a + b + w`` (w = a·b) from cross-products.

    a, b and y are centred, so the Gram matrix of ``[1, a, b]`` is
    ``diag(n, [[saa, sab], [sab, sbb]])`` and ``sw = sab``. Every argument broadcasts
    (arrays of pairs). Returns beta, se, t, p of ``w`` and a validity mask.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        det = saa * sbb - sab * sab
        # c' Gq^-1 c with c = (sw, saw, sbw) and the block-diagonal inverse of Gq
        proj_w = (sab * sab) / n + (sbb * saw * saw - 2.0 * sab * saw * sbw + saa * sbw * sbw) / det
        # c' Gq^-1 q with q = (0, say, sby)
        proj_wy = (sbb * saw * say - sab * (saw * sby + sbw * say) + saa * sbw * sby) / det
        proj_y = (sbb * say * say - 2.0 * sab * say * sby + saa * sby * sby) / det
        rww = sww - proj_w  # |w residualised on [1, a, b]|²
        rwy = swy - proj_wy
        beta = rwy / rww
        rss = (syy - proj_y) - rwy * beta
        df = n - 4
        sigma2 = np.maximum(rss, 0.0) / df
        se = np.sqrt(sigma2 / rww)
        t = beta / se
        valid = (
            (saa > 0)
            & (sbb > 0)
            & (det > _COLLINEAR_TOL * saa * sbb)
            & (rww > _COLLINEAR_TOL * np.maximum(sww - sab * sab / n, 0.0))
            & (rww > 0)
        )
        t = np.where(valid, t, np.nan)
        t = np.where(valid & (se == 0) & (beta != 0), np.sign(beta) * np.inf, t)
        p = _pvalue(t, df, dist)
        beta = np.where(valid, beta, np.nan)
        se = np.where(valid, se, np.nan)
    return beta, se, t, p, valid


def interaction_ols(A: np.ndarray, B: np.ndarray, y: np.ndarray, dist: str = "t") -> dict:
    """OLS ``y ~ 1 + a + b + a·b`` for every column a of ``A`` (n, ma) and b of ``B`` (n, mb).

    Returns ``{"beta", "se", "t", "p"}``, each (ma, mb), for the ``a·b`` coefficient;
    undefined tests are NaN. Columns may be raw dosages or centred: the result is the
    same. Everything is computed with two matrix products of n × (3 ma) by n × mb.
    """
    _check_dist(dist)
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if A.ndim == 1:
        A = A[:, None]
    if B.ndim == 1:
        B = B[:, None]
    n = len(y)
    if A.shape[0] != n or B.shape[0] != n:
        raise ParameterError(f"interaction_ols: A has {A.shape[0]} rows, B {B.shape[0]}, y {n}")
    if n < 5:
        raise ParameterError(f"interaction_ols: at least 5 rows are needed, got {n}")
    A, B = _centre_cols(A), _centre_cols(B)
    yc = y - y.mean()
    beta, se, t, p, _ = _block_stats(A, B, yc, dist)
    return {"beta": beta, "se": se, "t": t, "p": p}


def _block_stats(A, B, yc, dist, A_parts=None):
    """All (ma × mb) interaction tests between centred A and centred B (centred yc)."""
    n = len(yc)
    if A_parts is None:
        A_parts = _left_parts(A, yc)
    L, saa, say = A_parts
    ma, mb = A.shape[1], B.shape[1]
    top = np.zeros((3 * ma, mb))  # [A, A², A∘y]' B  -> sab, saw, swy
    bot = np.zeros((2 * ma, mb))  # [A, A²]' B²      -> sbw, sww
    sbb = np.zeros(mb)
    # Accumulated over row chunks so that B² never exists at full length.
    for s in range(0, n, _CHUNK_ROWS):
        Lc, Bc = L[s : s + _CHUNK_ROWS], B[s : s + _CHUNK_ROWS]
        B2c = Bc * Bc
        top += Lc.T @ Bc
        bot += Lc[:, : 2 * ma].T @ B2c
        sbb += B2c.sum(axis=0)
    sab, saw, swy = top[:ma], top[ma : 2 * ma], top[2 * ma :]
    sbw, sww = bot[:ma], bot[ma:]
    sby = B.T @ yc
    syy = float(yc @ yc)
    return _interaction_from_sums(
        n, saa[:, None], sbb[None, :], sab, saw, sbw, sww, say[:, None], sby[None, :], swy, syy, dist
    )


def _left_parts(A, yc):
    """Per-gene quantities reused against every partner gene."""
    A2 = A * A
    L = np.concatenate([A, A2, A * yc[:, None]], axis=1)
    return L, A2.sum(axis=0), A.T @ yc


def _gene_pair_matrix(U: np.ndarray, yc: np.ndarray, dist: str) -> np.ndarray:
    """(M, M) p of ``y ~ 1 + u_i + u_j + u_i·u_j`` for the gene representations U (n, M)."""
    U = _centre_cols(U)
    _, _, _, p, _ = _block_stats(U, U, yc, dist)
    p = np.array(p, dtype=np.float64)
    np.fill_diagonal(p, np.nan)
    # numerically p[i, j] == p[j, i]; make it exactly symmetric
    iu = np.triu_indices(len(p), 1)
    p.T[iu] = p[iu]
    return p


# ---------------------------------------------------------------------------
# gene representations
# ---------------------------------------------------------------------------
def topsnp_interaction_test(X, y, gene_blocks, rows=None, dist: str = "t", threads: int | None = 1) -> np.ndarray:
    """Top-SNP test (paper A, Eq. 4): (M, M) p-values, symmetric, NaN on the diagonal.

    Each gene is represented by its SNP most associated with ``y`` on ``rows``
    (:func:`gxapp.genenet.baselines.top_snps`); for every gene pair, OLS
    ``y ~ 1 + a + b + a·b`` on ``rows`` and the t-test p of ``a·b``.
    ``rows``: the individuals used (all if None). ``threads``: BLAS threads during the
    call (see :func:`snp_pair_test`).
    """
    _check_dist(dist)
    rows, yc = _rows_and_y(X, y, rows)
    blocks = _check_blocks(X, gene_blocks)
    with blas_threads(threads):
        cols = top_snps(X, y, blocks, rows)
        U = np.asarray(X[np.ix_(rows, cols)], dtype=np.float64)
        return _gene_pair_matrix(U, yc, dist)


def gene_pcs(X, gene_blocks, rows=None) -> np.ndarray:
    """First principal component score of each gene's SNPs on ``rows`` (n_rows, M).

    SNPs are centred on ``rows`` (not scaled); the score is the projection on the
    leading right singular vector. Its sign is arbitrary (irrelevant to the tests).
    """
    if rows is None:
        rows = np.arange(X.shape[0], dtype=np.int64)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    out = np.empty((len(rows), len(gene_blocks)))
    for k, b in enumerate(gene_blocks):
        a = _centred(X, rows, np.asarray(b, dtype=np.int64))
        if a.shape[1] == 1:
            out[:, k] = a[:, 0]
            continue
        # eigenvector of the small (m, m) covariance: cheaper than an SVD of (n, m)
        w, v = np.linalg.eigh(a.T @ a)
        out[:, k] = a @ v[:, -1]
    return out


def pca_interaction_test(X, y, gene_blocks, rows=None, dist: str = "t", threads: int | None = 1) -> np.ndarray:
    """PCA test: (M, M) p-values with each gene its first PC (:func:`gene_pcs`) on ``rows``.

    ``threads``: BLAS threads during the call (see :func:`snp_pair_test`).
    """
    _check_dist(dist)
    rows, yc = _rows_and_y(X, y, rows)
    blocks = _check_blocks(X, gene_blocks)
    with blas_threads(threads):
        return _gene_pair_matrix(gene_pcs(X, blocks, rows), yc, dist)


# ---------------------------------------------------------------------------
# SNP × SNP (PLINK --epistasis)
# ---------------------------------------------------------------------------
def snp_pair_block(X, y, cols_a, cols_b, rows=None, dist: str = "t") -> dict:
    """All SNP-pair tests between the columns ``cols_a`` and ``cols_b`` of X on ``rows``.

    Returns ``{"beta", "se", "t", "p"}``, each (len(cols_a), len(cols_b)).
    """
    rows, yc = _rows_and_y(X, y, rows)
    _check_dist(dist)
    A = _centred(X, rows, np.asarray(cols_a, dtype=np.int64))
    B = _centred(X, rows, np.asarray(cols_b, dtype=np.int64))
    beta, se, t, p, _ = _block_stats(A, B, yc, dist)
    return {"beta": beta, "se": se, "t": t, "p": p}


def snp_pair_test(
    X, y, gene_blocks, rows=None, progress=None, cancel=None, dist: str = "t", threads: int | None = 1
) -> dict:
    """Every cross-gene SNP pair tested with ``y ~ 1 + a + b + a·b`` (PLINK ``--epistasis``).

    Returns a dict of (M, M) arrays, symmetric, NaN / 0 / -1 on the diagonal:

    * ``min_p``      — smallest p over the SNP pairs of the gene pair;
    * ``bonferroni`` — ``min(1, min_p × n_tests)`` (Bonferroni within the gene pair);
    * ``n_tests``    — number of defined SNP-pair tests (int64);
    * ``best_snps``  — (M, M, 2) columns of X of the best pair: ``best_snps[i, j]`` is
      (SNP of gene i, SNP of gene j); -1 where no test is defined.

    A gene pair without any defined test gets NaN. ``progress(fraction, message)``
    is called once per gene; ``cancel.is_set()`` stops with :class:`gxapp.errors.Cancelled`.
    ``threads``: BLAS threads during the call (None: leave BLAS as it is). The
    default 1 is deliberate: the products are thin (n × m by n × m), gain little from
    threads, and multithreaded OpenBLAS slows down many-fold when the cores are shared
    with other work.
    """
    _check_dist(dist)
    rows, yc = _rows_and_y(X, y, rows)
    blocks = _check_blocks(X, gene_blocks)
    with blas_threads(threads):
        return _snp_pair_test(X, rows, yc, blocks, progress, cancel, dist)


def _snp_pair_test(X, rows, yc, blocks, progress, cancel, dist) -> dict:
    m = len(blocks)
    min_p = np.full((m, m), np.nan)
    n_tests = np.zeros((m, m), dtype=np.int64)
    best = np.full((m, m, 2), -1, dtype=np.int64)
    total = sum(len(blocks[i]) * sum(len(b) for b in blocks[i + 1 :]) for i in range(m)) or 1
    done = 0
    report(progress, 0.0, "SNP-pair tests")
    # Every gene's SNPs centred once, genes side by side, when that fits _CENTRED_BYTES
    # (65 genes x 40 SNPs x 16k rows: 0.3 GB); otherwise each block is centred when needed.
    off = np.cumsum([0] + [len(b) for b in blocks])
    C = _centred(X, rows, np.concatenate(blocks)) if len(rows) * off[-1] * 8 <= _CENTRED_BYTES else None
    for i in range(m - 1):
        check_cancel(cancel)
        A = _centred(X, rows, blocks[i]) if C is None else C[:, off[i] : off[i + 1]]
        parts = _left_parts(A, yc)
        partners = list(range(i + 1, m))
        for group in _chunks(partners, [len(blocks[j]) for j in partners]):
            check_cancel(cancel)
            if C is None:
                B = _centred(X, rows, np.concatenate([blocks[j] for j in group]))
            else:
                B = C[:, off[group[0]] : off[group[-1] + 1]]
            _, _, _, p, _ = _block_stats(A, B, yc, dist, A_parts=parts)
            start = 0
            for j in group:
                pj = p[:, start : start + len(blocks[j])]
                start += len(blocks[j])
                _summarise(pj, i, j, blocks, min_p, n_tests, best)
        done += len(blocks[i]) * sum(len(blocks[j]) for j in partners)
        report(progress, done / total, f"SNP-pair tests: gene {i + 1} of {m - 1}")
    iu = np.triu_indices(m, 1)
    min_p.T[iu] = min_p[iu]
    n_tests.T[iu] = n_tests[iu]
    best[iu[1], iu[0]] = best[iu][:, ::-1]
    with np.errstate(invalid="ignore"):
        bonf = np.minimum(1.0, min_p * n_tests)
    bonf[n_tests == 0] = np.nan
    report(progress, 1.0, "SNP-pair tests done")
    return {"min_p": min_p, "bonferroni": bonf, "n_tests": n_tests, "best_snps": best}


def _chunks(genes, sizes):
    """Consecutive groups of genes whose SNP counts add up to at most _CHUNK_COLS (≥ 1 gene)."""
    group, width = [], 0
    for g, s in zip(genes, sizes):
        if group and width + s > _CHUNK_COLS:
            yield group
            group, width = [], 0
        group.append(g)
        width += s
    if group:
        yield group


def _summarise(p, i, j, blocks, min_p, n_tests, best) -> None:
    """Fill gene pair (i, j) from its (m_i, m_j) p matrix."""
    ok = np.isfinite(p)
    n_tests[i, j] = int(ok.sum())
    if not ok.any():
        return
    k = int(np.nanargmin(np.where(ok, p, np.inf)))
    a, b = np.unravel_index(k, p.shape)
    min_p[i, j] = float(p[a, b])
    best[i, j] = (blocks[i][a], blocks[j][b])
