"""Interaction indices for many genes by a normal approximation of the coalition sum
(docs/method.md#shapley-at-many-genes).

The head is one hidden ReLU layer over the gene nodes, so with baseline masking a
hidden unit's pre-activation for coalition ``S`` is ``z(S) = c + Σ_{k∈S} d_k``
(:mod:`.exact`). For a pair ``(i, j)`` with ``a = d_i``, ``b = d_j``::

    δ_ij(S) = Σ_u wo_u [ρ(A+a+b) − ρ(A+a) − ρ(A+b) + ρ(A)],   A = z_u(S),  ρ = ReLU

and every index is ``E_s E_{S | |S|=s} δ_ij(S)`` with ``s`` drawn from the index's
size distribution (:func:`.weights.size_distribution`) and ``S`` a uniformly random
``s``-subset of the ``n = M − 2`` other genes. Three steps make this cheap:

1. **The coalition sum is nearly normal.** For a uniform ``s``-subset of the other
   genes, ``A`` has mean ``c + s μ`` and variance ``s (n − s) / (n − 1) σ²`` (sampling
   without replacement), with ``μ``, ``σ²`` the mean and population variance of ``d``
   over the other genes — exact leave-two-out moments, computed from the sums over
   all genes. Taking ``A`` normal, ``E ρ(A + t) = ψ(m + t, v) = m' Φ(m'/√v) + √v
   φ(m'/√v)`` in closed form (``m' = m + t``); at ``v = 0`` it is ``ρ(m')`` exactly.
2. **Sizes by Gauss quadrature.** The sum over ``s = 0..n`` is replaced by
   ``size_nodes`` Gauss nodes of the discrete size distribution (exact for every
   polynomial in ``s`` of degree ``2·size_nodes − 1``).
3. **One product for all pairs.** Per unit, ``I_u(a, b)`` is a smooth function on
   ``[−R, R]²`` (``R = max_k |d_k|``) that vanishes when ``a = 0`` or ``b = 0``: it
   is fitted as ``a b Σ_{p,q ≤ L} C_pq T_p(a/R) T_q(b/R)`` (Chebyshev, degree
   ``L`` per axis) from its values at the ``(L+1)²`` Chebyshev nodes, so
   ``Σ_u wo_u I_u(d_iu, d_ju) = Σ_p F_p G_pᵀ`` is ONE batched matrix product with
   inner size ``(L+1) H`` for the ``M(M−1)/2`` pairs.

Units whose pre-activation cannot change sign between coalitions are linear and
contribute exactly 0; they are dropped as in the exact kernel.

Accuracy (bench/shapley_speed.py --many-genes, trained networks of paper A's complex
scenario; bench/README.md, "Shapley interactions at many genes"): against a 4,096-draw
Monte-Carlo run the top 20 pairs' scores are within 4 % at 65 genes and 1.2 % at 100
(mean 1 % / 0.4 %), as close as the 64-draw Monte-Carlo estimator or closer; against exact
enumeration at 14 genes within 8 % (mean 2.5 %), which is why exact stays the default there.
Deterministic: no random draws, no sampling error.

Cost per individual and model: ``(L+1)(L+2)/2 · size_nodes · 4 · H`` closed-form
expectations plus a ``(M × (L+1)H) · ((L+1)H × M)`` product.
"""

from __future__ import annotations

import functools
import math
from typing import Optional

import numpy as np
import torch

from gxapp.errors import ParameterError
from gxapp.genenet.models import NetConfig, Params
from gxapp.genenet.shapley.exact import check_inputs, check_reduce, gene_offsets, head_parts, plan_chunks
from gxapp.genenet.shapley.weights import check_index, size_distribution
from gxapp.params import check_int
from gxapp.progress import CancelFlag, check_cancel

# Chosen by bench/shapley_speed.py --many-genes (bench/README.md, "Shapley interactions at
# many genes"): degree 3 x 6 size nodes is as accurate as 8 nodes at 65 genes (top 20 pairs within
# 4 %, mean 1 %, of a 4,096-draw Monte-Carlo run); degree 1 doubles the error.
DEFAULT_DEGREE = 3
DEFAULT_SIZE_NODES = 6
# Individuals x models per block: the closed-form step holds (pairs of nodes) x
# size_nodes x H values per instance (~0.1 MB at the defaults, H = 100).
CHUNK_BYTES = 32 << 20
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@functools.lru_cache(maxsize=32)
def size_quadrature(index: str, n_players: int, n_nodes: int) -> tuple:
    """``(r, w)``: Gauss nodes ``r = s / n`` (``n = M − 2``) and weights for the
    size distribution of ``index`` over ``s = 0..n``; all ``n + 1`` sizes when
    ``n_nodes`` is at least that many. Stieltjes recurrence on the discrete measure
    and the Golub–Welsch eigenproblem."""
    p = size_distribution(index, n_players)
    n = n_players - 2
    x = np.arange(n + 1, dtype=np.float64) / max(n, 1)
    keep = p > 0
    x, p = x[keep], p[keep]
    if n_nodes >= x.size:
        return tuple(x), tuple(p)
    alpha, beta = np.zeros(n_nodes), np.zeros(n_nodes)
    prev, cur, norm_prev = np.zeros_like(x), np.ones_like(x), 1.0
    for j in range(n_nodes):
        norm = float(np.sum(p * cur * cur))
        alpha[j] = float(np.sum(p * x * cur * cur)) / norm
        beta[j] = norm / norm_prev if j else norm
        nxt = (x - alpha[j]) * cur - (beta[j] if j else 0.0) * prev
        prev, cur, norm_prev = cur, nxt, norm
    off = np.sqrt(beta[1:])
    nodes, vec = np.linalg.eigh(np.diag(alpha) + np.diag(off, 1) + np.diag(off, -1))
    return tuple(np.clip(nodes, 0.0, 1.0)), tuple(beta[0] * vec[0] ** 2)


def check_degree(degree) -> int:
    """An odd Chebyshev degree 1..7: ``degree + 1`` nodes per axis, none at 0, where
    the fitted ``I(a, b) / (a b)`` is not defined."""
    degree = check_int("degree", degree, 1)
    if degree > 7 or degree % 2 == 0:
        raise ParameterError(f"degree: expected 1, 3, 5 or 7 (an odd degree puts no node at 0), got {degree}")
    return degree


def gaussian_relu_mean(mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """``E max(0, A)`` for ``A ~ N(mean, var)`` (``var >= 0``; ``max(0, mean)`` at 0)."""
    sd = var.clamp_min(0).sqrt()
    return _relu_mean(mean, 1.0 / sd.clamp_min(torch.finfo(sd.dtype).tiny), sd / _SQRT_2PI)


def _relu_mean(mean: torch.Tensor, inv_sd: torch.Tensor, sd_phi: torch.Tensor) -> torch.Tensor:
    """``mean Φ(z) + sd φ(z)``, ``z = mean / sd``; ``inv_sd = 1 / max(sd, tiny)`` and
    ``sd_phi = sd / √(2π)``. At ``sd = 0`` this is ``max(0, mean)`` (``z`` at its bound)."""
    # |z| <= 12.5 keeps Φ and φ out of float32's denormals (5x slower on CPU); the tails
    # beyond are below 4e-36 of |mean| and sd
    z = (mean * inv_sd).clamp_(-12.5, 12.5)
    out = torch.special.ndtr(z).mul_(mean)
    return out.add_(torch.exp(z.square_().mul_(-0.5)).mul_(sd_phi))


def _chebyshev(x: torch.Tensor, k: int) -> torch.Tensor:
    """``T_0..T_{k-1}`` at ``x (k, b, M, H)``: ``(k, b, degree+1, M, H)``."""
    out = x.new_empty(x.shape[:2] + (k,) + x.shape[2:])
    out[:, :, 0] = 1
    out[:, :, 1] = x
    for p in range(2, k):
        torch.mul(x, out[:, :, p - 1], out=out[:, :, p]).mul_(2).sub_(out[:, :, p - 2])
    return out


@functools.lru_cache(maxsize=8)
def _node_plan(k: int):
    """Chebyshev nodes ``t (k,)``, the unique node pairs ``p <= q`` and the
    coefficient transform ``(k*k, n_unique)``: coefficients ``C[p, q]`` (flattened)
    from the values at the unique node pairs (symmetric function)."""
    t = np.cos(np.pi * (np.arange(k) + 0.5) / k)
    pi, qi = np.triu_indices(k)
    T = np.array([[np.cos(p * np.arccos(v)) for v in t] for p in range(k)])  # (p, node)
    scale = np.full(k, 2.0 / k)
    scale[0] = 1.0 / k
    full = np.einsum("pi,qj->pqij", T * scale[:, None], T * scale[:, None]).reshape(k * k, k, k)
    # fold the lower-triangle node pairs onto the upper one they equal
    fold = np.zeros((k * k, pi.size))
    for u, (i, j) in enumerate(zip(pi, qi)):
        fold[:, u] += full[:, i, j]
        if i != j:
            fold[:, u] += full[:, j, i]
    return t, pi, qi, fold


def _unit_surfaces(c, d, r_nodes, r_weights, degree: int, work):
    """Chebyshev coefficients ``(k, b, L+1, L+1, H)`` of ``I_u(a, b) / (a b)``, the
    scale ``R (k, b, H)`` and the live-unit mask ``(k, b, H)``, in the ``work`` dtype."""
    kk, bb, M, H = d.shape
    n = M - 2
    dw = d.to(work)
    cw = c.to(work)[:, None, :]  # (k, 1, H)
    total = dw.sum(2)  # (k, b, H)
    square = dw.square().sum(2)
    R = dw.abs().amax(2)
    lo = cw + dw.clamp(max=0).sum(2)
    hi = cw + dw.clamp(min=0).sum(2)
    live = (lo < 0) & (hi > 0) & (R > 0)
    R = torch.where(R > 0, R, torch.ones_like(R))
    k = degree + 1
    t, pi, qi, fold = _node_plan(k)
    tt = torch.as_tensor(t, dtype=work, device=d.device)
    a = tt[torch.as_tensor(pi, device=d.device)][None, None, :, None] * R[:, :, None, :]  # (k, b, U, H)
    b = tt[torch.as_tensor(qi, device=d.device)][None, None, :, None] * R[:, :, None, :]
    rest = total[:, :, None, :] - a - b
    mu = rest / max(n, 1)
    var = ((square[:, :, None, :] - a * a - b * b) / max(n, 1) - mu * mu).clamp_min(0)
    vals = torch.zeros_like(a)
    ab = a + b
    for r, w in zip(r_nodes, r_weights):
        s = r * n
        m = cw[:, :, None, :] + s * mu
        sd = ((s * (n - s) / (n - 1)) * var).sqrt_() if n > 1 else torch.zeros_like(var)
        inv, sd_phi = 1.0 / sd.clamp_min(torch.finfo(work).tiny), sd / _SQRT_2PI
        second = _relu_mean(m + ab, inv, sd_phi).sub_(_relu_mean(m + a, inv, sd_phi))
        second.sub_(_relu_mean(m + b, inv, sd_phi)).add_(_relu_mean(m, inv, sd_phi))
        vals.add_(second, alpha=w)
    g = vals / (a * b)  # (k, b, U, H)
    F = torch.as_tensor(fold, dtype=work, device=d.device)  # (k*k, U)
    coef = torch.einsum("cu,kbuh->kbch", F, g).reshape(kk, bb, k, k, H)
    return coef, R, live


@torch.no_grad()
def normal_scores(
    params: Params,
    cfg: NetConfig,
    gene_nodes: torch.Tensor,
    baseline: torch.Tensor,
    index: str = "SII",
    degree: int = DEFAULT_DEGREE,
    size_nodes: int = DEFAULT_SIZE_NODES,
    reduce: Optional[str] = None,
    max_bytes: Optional[int] = None,
    cancel: Optional[CancelFlag] = None,
) -> torch.Tensor:
    """Interaction index of every gene pair by the normal approximation.

    Same inputs and outputs as :func:`.exact.exact_scores`: ``gene_nodes (K, B, M)``,
    ``baseline (K, M)``; returns ``(K, B, M, M)`` per individual (symmetric, zero
    diagonal) or with ``reduce="mean_abs"`` ``(K, M, M)``. ``degree``: Chebyshev
    degree per axis of each unit's pair surface (1, 3, 5 or 7); ``size_nodes``:
    Gauss nodes over coalition sizes (1–64).
    """
    index, reduce = check_index(index), check_reduce(reduce)
    K, B, M = check_inputs(params, cfg, gene_nodes, baseline)
    degree, size_nodes = check_degree(degree), check_int("size_nodes", size_nodes, 1)
    if size_nodes > 64:
        raise ParameterError(f"size_nodes: expected 1 to 64 Gauss nodes, got {size_nodes}")
    dtype = params["wo"].dtype
    # float32 work gave the same scores as float64 to 4 digits at 14 and 65 genes, in half the time
    work = torch.promote_types(dtype, torch.float32)
    shape = (K, M, M) if reduce else (K, B, M, M)
    out = torch.zeros(shape, dtype=dtype, device=gene_nodes.device)
    if not cfg.head_hidden:
        return out
    c, Wh, wo, _ = head_parts(params, baseline)
    H = Wh.shape[2]
    k = degree + 1
    r_nodes, r_weights = size_quadrature(index, M, size_nodes)
    unit = 8 * H * (k * (k + 1) // 2 * 6 + 3 * M * k) + 4 * M * M
    bc, kc = plan_chunks([B, K], unit, max_bytes or CHUNK_BYTES)
    eye = torch.eye(M, dtype=torch.bool, device=gene_nodes.device)
    for k0 in range(0, K, kc):
        ks = slice(k0, k0 + kc)
        for b0 in range(0, B, bc):
            check_cancel(cancel)
            d = gene_offsets(gene_nodes[ks, b0 : b0 + bc], baseline[ks], Wh[ks])  # (k, b, M, H)
            kk, bb = d.shape[0], d.shape[1]
            coef, R, live = _unit_surfaces(c[ks], d, r_nodes, r_weights, degree, work)
            dw = d.to(work)
            Tx = _chebyshev((dw / R[:, :, None, :]).clamp_(-1, 1), k)  # (k, b, p, M, H)
            wd = dw * (wo[ks].to(work)[:, None, :] * live)[:, :, None, :]  # wo_u d_iu, dead units 0
            pairs = torch.zeros(kk * bb, M, M, dtype=dtype, device=d.device)
            for p in range(k):
                # left: wo_u d_iu T_p(x_iu); right: d_ju Σ_q C_pq,u T_q(x_ju); pairs += left · rightᵀ
                right = Tx[:, :, 0] * coef[:, :, p, 0, None, :]
                for q in range(1, k):
                    right.addcmul_(Tx[:, :, q], coef[:, :, p, q, None, :])
                left = (wd * Tx[:, :, p]).to(dtype).view(kk * bb, M, H)
                right = right.mul_(dw).to(dtype).view(kk * bb, M, H)
                pairs.baddbmm_(left, right.transpose(1, 2))
            pairs = pairs.view(kk, bb, M, M)
            pairs = (pairs + pairs.transpose(2, 3)) / 2
            pairs.masked_fill_(eye, 0)
            if reduce:
                out[ks] += pairs.abs().sum(1)
            else:
                out[ks, b0 : b0 + bb] = pairs
    if reduce:
        out /= B
    return out
