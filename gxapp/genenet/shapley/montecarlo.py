"""Monte-Carlo interaction indices for many genes: one random draw serves every
pair (docs/method.md#shapley).

Each individual gets its own stream of draws, seeded by ``(random_state,
row_key)``, shared by all ``K`` models (common random numbers: observed and
permuted networks are scored on the same draws) and independent of chunking.

**SII and STII** — a uniformly random permutation ``π`` of the ``M`` genes; ``P_a``
is the set of the first ``a`` genes of ``π``. For a pair with ``i`` before ``j``:

* STII: ``S = P_pos(i)`` (the genes before the earlier of the two) is exactly the
  STII distribution (:mod:`gxapp.genenet.shapley.weights`).
* SII: delete ``j`` from ``π``; what is left is a uniform permutation of the other
  ``M−1`` genes, so with ``i`` standing for the merged unit ``{i,j}``, ``S = P_pos(i)``
  has SII's distribution ``s!(M−s−2)!/(M−1)!``. Deleting ``i`` instead gives a
  second sample ``S = P_pos(j)∖{i}`` with the same distribution; the estimator
  averages the two.

Both need ``f(P_a Δ {x})`` for every prefix ``a = 0..M`` and gene ``x`` (``Δ``:
add ``x`` when it is not yet in ``P_a``, remove it when it is) — ``M(M+1)`` head
evaluations per permutation, each ``z(P_a) ± d_x`` (see :mod:`.exact`). With
``U_a[x] = f(P_a Δ {x}) − f(P_a)`` and ``Q[p, q] = U_{p+1}[π_q] − U_p[π_q]``, the
pair at positions ``p < q`` has ``δ(P_p) = Q[p, q]`` and
``δ(P_q∖{π_p}) = −Q[q, p]``.

**BII** — a uniform random coalition ``T`` (each gene in with probability 1/2);
pair ``(i, j)`` uses ``S = T∖{i,j}``, uniform over the subsets of the others, and
``δ_ij(S) = σ_i σ_j [f(T) − f(TΔi) − f(TΔj) + f(TΔ{i,j})]`` with ``σ_x = −1`` if
``x ∈ T`` else ``+1``: ``1 + M + M²`` head evaluations per draw (``n_permutations``
counts these draws).

Every draw is unbiased for every pair; the per-individual estimate is the mean
over ``n_permutations`` draws and its standard error ``sd / sqrt(n)``. The global
score ``mean_x |est_x|`` gets the delta-method error ``sqrt(Σ_x se_x²) / B``
(individuals have independent draws); it does not include the upward bias that
sampling noise gives ``mean |·|``.

Cost: ``K · B · n_permutations · M(M+1) · H`` unit evaluations (BII ``(M²+M+1)
· H``); memory is bounded by ``max_bytes``. On one core of the development
machine ~1e9 unit evaluations per second: M = 65, H = 200 costs ~0.55 ms per
individual, model and permutation (50 members x 1,000 individuals x 64
permutations: ~30 min); M = 30, H = 100 ~0.09 ms.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from gxapp.errors import ParameterError
from gxapp.genenet.models import NetConfig, Params
from gxapp.genenet.shapley.exact import (
    check_inputs,
    check_reduce,
    default_chunk_bytes,
    gene_offsets,
    head_parts,
    plan_chunks,
    relu_dot,
)
from gxapp.genenet.shapley.weights import check_index
from gxapp.params import check_int
from gxapp.progress import CancelFlag, check_cancel

DEFAULT_PERMUTATIONS = 64
# Blocks of draws: 16 MiB was the fastest of 1-64 MiB on the development machine
# (M = 15-65 genes); the exact kernel's 1 MiB blocks are too small here.
MC_CPU_CHUNK_BYTES = 16 << 20


def draws(index: str, row_keys, n_permutations: int, n_players: int, random_state: int) -> np.ndarray:
    """The random draws of each individual, ``(B, n, M)``: permutations (SII,
    STII; int) or coalition indicators (BII; 0/1), from ``default_rng([random_state,
    row_key])``."""
    out = np.empty((len(row_keys), n_permutations, n_players), dtype=np.int64)
    for r, key in enumerate(row_keys):
        rng = np.random.default_rng([int(random_state), int(key)])
        if index == "BII":
            out[r] = rng.integers(0, 2, size=(n_permutations, n_players))
        else:
            out[r] = np.argsort(rng.random((n_permutations, n_players)), axis=1)
    return out


def _symmetric_upper(a: torch.Tensor) -> torch.Tensor:
    up = torch.triu(a, diagonal=1)
    return up + up.transpose(-1, -2)


def _permutation_samples(index, c, d, wo, perm) -> torch.Tensor:
    """One sample per pair and permutation, ``(k, b, n, M, M)``; ``perm (b, n, M)``."""
    k, b, M, H = d.shape
    n = perm.shape[1]
    idx = perm[None, :, :, :, None].expand(k, b, n, M, H)
    dp = torch.gather(d.unsqueeze(2).expand(k, b, n, M, H), 3, idx)  # columns in permutation order
    zp = torch.cat(
        [c[:, None, None, None, :].expand(k, b, n, 1, H), c[:, None, None, None, :] + dp.cumsum(3)], dim=3
    )  # z(P_a), a = 0..M
    after = torch.arange(M, device=d.device)[None, :] >= torch.arange(M + 1, device=d.device)[:, None]
    sign = after.to(d.dtype) * 2 - 1  # (M+1, M): +1 adds gene q to P_a, -1 removes it
    v = relu_dot(torch.addcmul(zp.unsqueeze(4), sign[:, :, None], dp.unsqueeze(3)), wo)  # (k,b,n,M+1,M)
    u = v - relu_dot(zp, wo).unsqueeze(-1)
    q = u[..., 1:, :] - u[..., :-1, :]  # Q[p, q], positions
    y = _symmetric_upper(q if index == "STII" else (q - q.transpose(-1, -2)) / 2)
    pos = torch.argsort(perm, dim=-1)  # gene -> position
    flat = (pos.unsqueeze(-1) * M + pos.unsqueeze(-2)).view(1, b, n, M * M).expand(k, b, n, M * M)
    return torch.gather(y.reshape(k, b, n, M * M), 3, flat).view(k, b, n, M, M)


def _banzhaf_samples(c, d, wo, bits) -> torch.Tensor:
    """One sample per pair and random coalition, ``(k, b, n, M, M)``; ``bits (b, n, M)``."""
    k, b, M, H = d.shape
    t = bits.to(d.dtype)
    zt = c[:, None, None, :] + torch.matmul(t.unsqueeze(0), d)  # (k, b, n, H)
    sigma = 1 - 2 * t  # +1: toggling adds the gene
    sd = sigma[None, :, :, :, None] * d.unsqueeze(2)  # (k, b, n, M, H)
    a = zt.unsqueeze(3) + sd
    g2 = relu_dot(a.unsqueeze(4) + sd.unsqueeze(3), wo)  # f(T Δ {x, y})
    g1 = relu_dot(a, wo)
    g0 = relu_dot(zt, wo)
    delta = g0[..., None, None] - g1.unsqueeze(-1) - g1.unsqueeze(-2) + g2
    out = delta * sigma.unsqueeze(-1) * sigma.unsqueeze(-2)
    return out * (1 - torch.eye(M, dtype=d.dtype, device=d.device))


class _Moments:
    """Running mean and sum of squared deviations (Chan et al.), float64."""

    def __init__(self, shape, device):
        self.n = 0
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.m2 = torch.zeros(shape, dtype=torch.float64, device=device)

    def add(self, x: torch.Tensor, dim: int) -> None:
        x = x.to(torch.float64)
        nb = x.shape[dim]
        mb = x.mean(dim)
        m2b = (x - mb.unsqueeze(dim)).square().sum(dim)
        tot = self.n + nb
        delta = mb - self.mean
        self.mean += delta * (nb / tot)
        self.m2 += m2b + delta.square() * (self.n * nb / tot)
        self.n = tot

    def stderr(self) -> torch.Tensor:
        return (self.m2 / (self.n - 1) / self.n).sqrt()


def _check_count(name, v, low) -> int:
    return check_int(name, v, low)


@torch.no_grad()
def mc_scores(
    params: Params,
    cfg: NetConfig,
    gene_nodes: torch.Tensor,
    baseline: torch.Tensor,
    index: str = "SII",
    n_permutations: int = DEFAULT_PERMUTATIONS,
    random_state: int = 0,
    row_keys=None,
    reduce: Optional[str] = None,
    max_bytes: Optional[int] = None,
    cancel: Optional[CancelFlag] = None,
):
    """Monte-Carlo interaction index of every gene pair: ``(mean, stderr)``.

    Per individual, ``(K, B, M, M)`` each; with ``reduce="mean_abs"`` the global
    score ``mean_x |est_ij(x)|`` and its delta-method standard error, ``(K, M, M)``
    each (float64). ``row_keys`` (B,) name the individuals' random streams
    (default ``0..B-1``; pass the row ids so an individual gets the same draws in
    any batch). ``n_permutations`` >= 2 draws per individual.
    """
    index, reduce = check_index(index), check_reduce(reduce)
    K, B, M = check_inputs(params, cfg, gene_nodes, baseline)
    n_perm = _check_count("n_permutations", n_permutations, 2)
    random_state = _check_count("random_state", random_state, 0)
    keys = np.arange(B) if row_keys is None else np.asarray(row_keys, dtype=np.int64).ravel()
    if keys.size != B:
        raise ParameterError(f"row_keys: expected {B} keys (one per individual), got {keys.size}")
    device = gene_nodes.device
    shape = (K, M, M) if reduce else (K, B, M, M)
    mean = torch.zeros(shape, dtype=torch.float64, device=device)
    var = torch.zeros(shape, dtype=torch.float64, device=device)
    if not cfg.head_hidden:
        return mean, var
    budget = max_bytes or (MC_CPU_CHUNK_BYTES if device.type == "cpu" else default_chunk_bytes(device))
    c, Wh, wo, bo = head_parts(params, baseline)
    H = Wh.shape[2]
    unit = 2 * (M + 1) * M * H * c.element_size()  # the largest temporaries of one draw
    nc, bc, kc = plan_chunks([n_perm, B, K], unit, budget)
    for b0 in range(0, B, bc):
        rows = slice(b0, b0 + bc)
        drawn = torch.as_tensor(draws(index, keys[rows], n_perm, M, random_state), device=device)
        for k0 in range(0, K, kc):
            ks = slice(k0, k0 + kc)
            d = gene_offsets(gene_nodes[ks, rows], baseline[ks], Wh[ks])
            mom = _Moments((d.shape[0], d.shape[1], M, M), device)
            for p0 in range(0, n_perm, nc):
                check_cancel(cancel)
                block = drawn[:, p0 : p0 + nc]
                s = (
                    _banzhaf_samples(c[ks], d, wo[ks], block)
                    if index == "BII"
                    else _permutation_samples(index, c[ks], d, wo[ks], block)
                )
                mom.add(s, dim=2)
            se = mom.stderr()
            if reduce:
                mean[ks] += mom.mean.abs().sum(1)
                var[ks] += se.square().sum(1)
            else:
                mean[ks, rows], var[ks, rows] = mom.mean, se
    if reduce:
        return mean / B, var.sqrt() / B
    return mean, var
