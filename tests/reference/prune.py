"""Slow, obviously-correct LD pruning and PCA, to test gxapp.data.prune and gxapp.data.structure."""

from __future__ import annotations

import numpy as np

__all__ = ["keep_variance_reference", "keep_r2_reference", "pcs_reference"]


def _columns(g):
    """Each column as a float list, missing (-1) replaced by the column's mean of called values."""
    g = np.asarray(g)
    out = []
    for j in range(g.shape[1]):
        called = [float(v) for v in g[:, j] if v >= 0]
        m = sum(called) / len(called) if called else 0.0
        out.append(np.array([float(v) if v >= 0 else m for v in g[:, j]]))
    return out


def _explained(cols, kept) -> float:
    """Share of the total standardised variance that least squares on ``kept`` recovers."""
    z = []
    for c in cols:
        c = c - c.mean()
        s = np.sqrt((c * c).sum())
        z.append(c / s if s > 0 else c * 0)
    Z = np.column_stack(z)
    total = (Z * Z).sum()
    if not kept:
        return 0.0
    A = Z[:, kept]
    beta = np.linalg.pinv(A) @ Z
    r = Z - A @ beta
    return 1.0 - (r * r).sum() / total


def keep_variance_reference(g, fraction=0.9) -> list:
    """Greedy: add the SNP that raises the explained share most (refitting least squares for every
    candidate) until the share reaches ``fraction``."""
    cols = _columns(g)
    kept = []
    while _explained(cols, kept) < fraction * (1 - 1e-9) and len(kept) < len(cols):
        best = max((j for j in range(len(cols)) if j not in kept), key=lambda j: _explained(cols, kept + [j]))
        kept.append(best)
    return sorted(kept)


def _r2(a, b) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return 0.0 if den == 0 else float(((a * b).sum() / den) ** 2)


def _maf(c) -> float:
    f = c.mean() / 2
    return min(f, 1 - f)


def keep_r2_reference(g, r2=0.2, window=50, step=5) -> list:
    """PLINK-style --indep-pairwise: windows of ``window`` SNPs every ``step``; for each pair (in
    order) of still-kept SNPs of the window with r² > ``r2``, drop the lower-MAF one (the later on
    a tie)."""
    cols = _columns(g)
    p = len(cols)
    keep = [True] * p
    start = 0
    while start < p:
        idx = [j for j in range(start, min(start + window, p)) if keep[j]]
        for x in range(len(idx)):
            for y in range(x + 1, len(idx)):
                a, b = idx[x], idx[y]
                if keep[a] and keep[b] and _r2(cols[a], cols[b]) > r2:
                    keep[a if _maf(cols[a]) < _maf(cols[b]) else b] = False
        if start + window >= p:
            break
        start += step
    return [j for j in range(p) if keep[j]]


def pcs_reference(g, k) -> tuple:
    """Top ``k`` PCs of EIGENSOFT-standardised genotypes by a full SVD: (scores unit variance, share)."""
    g = np.asarray(g, dtype=np.float64)
    p = g.mean(axis=0) / 2
    z = (g - 2 * p) / np.sqrt(2 * p * (1 - p))
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    return u[:, :k] * np.sqrt(g.shape[0]), s[:k] ** 2 / (z * z).sum()
