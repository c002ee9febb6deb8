"""Linkage disequilibrium between SNPs: standardised genotype columns and r² (from dosages).

:func:`standardised` is the one standardisation LD is computed from (the LD heatmap, LD pruning in
:mod:`gxapp.data.prune`): mean-imputed, centred, unit-norm columns over at most ``LD_ROWS`` evenly
spaced individuals (an r²'s standard error is then below 0.01).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

LD_ROWS = 20_000
TOL = 1e-10


def ld_subset(n: int, rows: Optional[int] = LD_ROWS):
    """Row positions LD is estimated on: all ``n`` rows, or ``rows`` evenly spaced ones."""
    if rows is None or n <= rows:
        return slice(None)
    return np.linspace(0, n - 1, rows).round().astype(np.int64)


def take_block(genotypes: np.ndarray, sub, cols) -> np.ndarray:
    """``genotypes[sub][:, cols]`` without gathering more than it returns (``sub``: a slice or rows)."""
    if isinstance(sub, slice):
        return genotypes if cols is None else genotypes[:, cols]
    return genotypes[sub] if cols is None else genotypes[np.ix_(sub, np.asarray(cols))]


def standardised(genotypes: np.ndarray, rows: Optional[int] = LD_ROWS) -> np.ndarray:
    """Columns of an int8 block (-1 missing) or float dosages (NaN missing), mean-imputed, centred and
    scaled to unit norm, float64, over at most ``rows`` evenly spaced individuals. Constant columns
    are all zero."""
    g = np.asarray(genotypes)
    g = take_block(g, ld_subset(g.shape[0], rows), None)
    x = g.astype(np.float64)
    miss = (g < 0) if np.issubdtype(g.dtype, np.integer) else ~np.isfinite(x)
    if miss.any():
        x[miss] = np.nan
        mean = np.nan_to_num(np.nanmean(np.where(miss.all(axis=0), 0.0, x), axis=0))
        x = np.where(miss, mean[None, :], x)
    x -= x.mean(axis=0)
    norm = np.sqrt((x * x).sum(axis=0))
    ok = norm > TOL * max(1.0, np.sqrt(x.shape[0]))
    x[:, ok] /= norm[ok]
    x[:, ~ok] = 0.0
    return x


def ld_r2(genotypes: np.ndarray) -> np.ndarray:
    """Pairwise r² between the columns of an int8 genotype block (-1 = missing,
    mean-imputed). Monomorphic columns get r² = 0 with others and 1 on the diagonal."""
    z = standardised(genotypes, rows=None)
    r2 = np.clip(np.square(z.T @ z), 0.0, 1.0)
    np.fill_diagonal(r2, 1.0)
    return r2
