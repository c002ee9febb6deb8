"""Hardy-Weinberg exact test (Wigginton, Cutler & Abecasis 2005, AJHG 76:887), vectorised.

The test PLINK uses: conditional on the allele counts, the p-value is the total
probability of every heterozygote count no more likely than the observed one.
:func:`hwe_pvalues_from_counts` evaluates it for all SNPs at once with numpy; only the
heterozygote counts within a few standard deviations of the mode (and out to the
observed count) are visited, which is exact to double precision because the
distribution is log-concave. The paper's algorithm in plain Python, the reference
this is tested against, is ``tests/reference/hwe.py``.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
from scipy.special import gammaln

from gxapp.errors import ParameterError
from gxapp.progress import CancelFlag, check_cancel

__all__ = ["TIE_RTOL", "hwe_pvalues_from_counts"]

# Two heterozygote counts whose probabilities differ by less than this relative
# amount are treated as equally likely (ties), as PLINK does with its epsilon.
TIE_RTOL = 1e-7


def _log_state(n, n_rare, h):
    """log P(h hets | n genotypes, n_rare rare alleles) up to a constant per SNP."""
    n_rr = (n_rare - h) / 2.0
    n_cc = n - h - n_rr
    return h * math.log(2.0) - gammaln(n_rr + 1.0) - gammaln(h + 1.0) - gammaln(n_cc + 1.0)


def hwe_pvalues_from_counts(
    n_het, n_hom1, n_hom2, midp: bool = False, cancel: Optional[CancelFlag] = None
) -> np.ndarray:
    """Vectorised exact HWE p-values from per-SNP genotype counts.

    Same numbers as the paper's algorithm (``tests/reference/hwe.py``) to ~1e-12
    relative; p-values below ~1e-300 come back as 0. SNPs with no called genotype
    get p = 1 (PLINK).
    Monomorphic SNPs get p = 1 too.
    ``midp=True`` gives the mid-p version (half the probability of the observed
    count and its ties), as in PLINK's ``midp`` modifier and hail.
    """
    het = np.atleast_1d(np.asarray(n_het, dtype=np.int64))
    h1 = np.atleast_1d(np.asarray(n_hom1, dtype=np.int64))
    h2 = np.atleast_1d(np.asarray(n_hom2, dtype=np.int64))
    het, h1, h2 = np.broadcast_arrays(het, h1, h2)
    if (het < 0).any() or (h1 < 0).any() or (h2 < 0).any():
        raise ParameterError("HWE: genotype counts must be non-negative")
    m = het.size
    het, h1, h2 = het.ravel(), h1.ravel(), h2.ravel()
    n = het + h1 + h2
    n_rare = 2 * np.minimum(h1, h2) + het
    pvals = np.ones(m, dtype=np.float64)
    todo = np.flatnonzero((n > 0) & (n_rare > 0))
    scalar = np.ndim(n_het) == 0 and np.ndim(n_hom1) == 0 and np.ndim(n_hom2) == 0
    shape = np.broadcast_shapes(np.shape(n_het), np.shape(n_hom1), np.shape(n_hom2))
    if len(todo) == 0:
        return float(pvals[0]) if scalar else pvals.reshape(shape)

    nf = n[todo].astype(np.float64)
    ra = n_rare[todo].astype(np.float64)
    hobs = het[todo].astype(np.float64)
    par = (n_rare[todo] % 2).astype(np.float64)
    k_max = (n_rare[todo] - n_rare[todo] % 2) // 2  # states h = par + 2k, k = 0..k_max
    k_obs = ((het[todo] - n_rare[todo] % 2) // 2).astype(np.int64)
    mid = ra * (2 * nf - ra) / (2 * nf)  # approximate mode of h
    k_mid = np.clip(np.rint((mid - par) / 2), 0, k_max).astype(np.int64)
    # distance of the observed count from the mode, in log-probability
    d_log = _log_state(nf, ra, par + 2 * k_mid) - _log_state(nf, ra, hobs)
    # asymptotic sd of the het count (F-hat has variance 1/n), in units of k
    sd_k = np.maximum(ra * (2 * nf - ra) / (2 * nf**1.5) / 2.0, 0.5)

    # observed state far out in the tail: p below ~1e-320, i.e. 0 in double precision
    negligible = d_log > 760.0
    pvals[todo[negligible]] = 0.0
    live = np.flatnonzero(~negligible)
    half = np.ceil(1.1 * sd_k[live] * np.sqrt(2.0 * np.maximum(d_log[live], 0.0) + 100.0)).astype(np.int64) + 10
    while len(live):
        check_cancel(cancel)
        k_lo = np.maximum(np.minimum(k_mid[live] - half, k_obs[live]), 0)
        k_hi = np.minimum(np.maximum(k_mid[live] + half, k_obs[live]), k_max[live])
        p_live, ok = _hwe_window(nf[live], ra[live], par[live], k_lo, k_hi, k_obs[live], k_max[live], midp)
        pvals[todo[live[ok]]] = p_live[ok]
        live, half = live[~ok], 2 * half[~ok]  # window too narrow: widen and redo
    pvals = np.minimum(pvals, 1.0)
    return float(pvals[0]) if scalar else pvals.reshape(shape)


def _hwe_window(n, n_rare, par, k_lo, k_hi, k_obs, k_max, midp, max_cells=2_000_000):
    """p-values over the het-count windows [k_lo, k_hi]; ``ok`` is False where the
    window edges were not yet negligible (the caller widens those)."""
    width = k_hi - k_lo + 1
    order = np.argsort(width, kind="stable")
    p_out = np.zeros(len(n))
    ok_out = np.zeros(len(n), dtype=bool)
    start = 0
    while start < len(order):
        stop = start + 1
        # grow the chunk while the padded block stays small
        while stop < len(order) and int(width[order[stop]]) * (stop - start + 1) <= max_cells:
            stop += 1
        sel = order[start:stop]
        w = int(width[sel].max())
        j = np.arange(w)
        k = k_lo[sel, None] + j[None, :]
        valid = k <= k_hi[sel, None]
        h = par[sel, None] + 2.0 * k
        n_rr = (n_rare[sel, None] - h) / 2.0
        n_cc = n[sel, None] - h - n_rr
        # log P(h + 2) / P(h) = log 4 n_rr n_cc / ((h + 1)(h + 2))  (the paper's recursion)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.log(4.0 * n_rr * n_cc) - np.log((h + 1.0) * (h + 2.0))
        step = np.where(valid & (k < k_hi[sel, None]), step, 0.0)
        logp = np.zeros_like(step)
        np.cumsum(step[:, :-1], axis=1, out=logp[:, 1:])
        logp = np.where(valid, logp, -np.inf)
        lmax = logp.max(axis=1)
        l_obs = logp[np.arange(len(sel)), k_obs[sel] - k_lo[sel]]
        prob = np.exp(logp - lmax[:, None])
        total = prob.sum(axis=1)
        tol = math.log1p(TIE_RTOL)
        in_tail = logp <= (l_obs + tol)[:, None]
        if midp:
            tie = in_tail & (logp >= (l_obs - tol)[:, None])
            tail = np.where(in_tail, prob, 0.0).sum(axis=1) - 0.5 * np.where(tie, prob, 0.0).sum(axis=1)
        else:
            tail = np.where(in_tail, prob, 0.0).sum(axis=1)
        p_out[sel] = tail / total
        # window edges must be negligible against both the mode and the observed state
        floor = np.minimum(l_obs, lmax) - 40.0
        l_left = logp[:, 0]
        l_right = logp[np.arange(len(sel)), k_hi[sel] - k_lo[sel]]
        ok_out[sel] = ((k_lo[sel] == 0) | (l_left < floor)) & ((k_hi[sel] == k_max[sel]) | (l_right < floor))
        start = stop
    return p_out, ok_out
