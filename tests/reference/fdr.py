"""q-values of the permutation test by direct counting (what
:meth:`gxapp.genenet.permutation.PermutationResult` computes with sorting)."""

from __future__ import annotations

import numpy as np

__all__ = ["fdr_reference"]


def fdr_reference(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Slow, obviously-correct q-values over the upper triangle (for tests)."""
    M = observed.shape[0]
    pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
    obs = {p: observed[p] for p in pairs}
    fdr = {}
    for p in pairs:
        t = obs[p]
        n_obs = sum(1 for q in pairs if obs[q] >= t)
        exceed = sum(sum(1 for q in pairs if null[b][q] >= t) for b in range(null.shape[0]))
        n_null = (1 + exceed) / (null.shape[0] + 1)  # one pseudo-exceedance, as in the p-values
        fdr[p] = min(n_null / n_obs, 1.0)
    q = {p: min(fdr[r] for r in pairs if obs[r] <= obs[p]) for p in pairs}
    out = np.full((M, M), np.nan)
    for (i, j), v in q.items():
        out[i, j] = out[j, i] = v
    return out
