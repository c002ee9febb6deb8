"""Linkage disequilibrium between SNPs (r², from dosages)."""

from __future__ import annotations

import numpy as np


def ld_r2(genotypes: np.ndarray) -> np.ndarray:
    """Pairwise r² between the columns of an int8 genotype block (-1 = missing,
    mean-imputed). Monomorphic columns get r² = 0 with others and 1 on the diagonal."""
    x = np.asarray(genotypes, dtype=np.float64)
    miss = genotypes < 0
    if miss.any():
        x = np.where(miss, np.nan, x)
        mean = np.nanmean(x, axis=0)
        x = np.where(miss, np.nan_to_num(mean)[None, :], x)
    x = x - x.mean(axis=0)
    sd = np.sqrt((x * x).sum(axis=0))
    ok = sd > 0
    x[:, ok] /= sd[ok]
    r = x.T @ x
    r2 = np.clip(r * r, 0.0, 1.0)
    np.fill_diagonal(r2, 1.0)
    return r2
