"""Classical baselines on the gene representation of paper A: each gene's top
SNP (the SNP most associated with the phenotype on the training rows)."""

from __future__ import annotations

import numpy as np

from gxapp.errors import ParameterError


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination on the rows given (1 − SSE / SST)."""
    y = np.asarray(y, np.float64)
    sst = float(((y - y.mean()) ** 2).sum())
    if sst == 0:
        raise ParameterError("r2: the phenotype is constant on these rows")
    return 1.0 - float(((y - np.asarray(pred, np.float64)) ** 2).sum()) / sst


def top_snps(X: np.ndarray, y: np.ndarray, gene_blocks, rows) -> np.ndarray:
    """Column of each gene's most associated SNP (largest |corr(x, y)| on ``rows``)."""
    Xr = np.asarray(X[rows], np.float64)
    yr = np.asarray(y[rows], np.float64) - np.mean(y[rows])
    Xc = Xr - Xr.mean(axis=0)
    sd = np.sqrt((Xc * Xc).sum(axis=0)) * np.sqrt((yr * yr).sum())
    corr = np.abs(Xc.T @ yr) / np.where(sd > 0, sd, np.inf)
    return np.array([int(b[np.argmax(corr[b])]) for b in gene_blocks], dtype=np.int64)


def additive_topsnp_r2(X, y, gene_blocks, train_idx, test_idx) -> float:
    """Test R² of OLS ``y ~ 1 + top SNP of each gene`` fitted on the training rows."""
    cols = top_snps(X, y, gene_blocks, train_idx)
    A = np.column_stack([np.ones(len(X)), np.asarray(X[:, cols], np.float64)])
    beta, *_ = np.linalg.lstsq(A[train_idx], np.asarray(y, np.float64)[train_idx], rcond=None)
    return r2_score(y[test_idx], A[test_idx] @ beta)
