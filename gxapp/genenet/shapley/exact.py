"""Exact pairwise interaction indices of the head, all pairs at once (docs/method.md#shapley).

Players are the ``M`` gene nodes; the value of a coalition ``T`` at one individual
is the head's output with the nodes outside ``T`` set to the baseline. The head's
first layer is linear, so a coalition's pre-activation is a sum of per-gene
columns::

    z(T) = bh + Σ_{i∈T} g_i Wh[i] + Σ_{i∉T} base_i Wh[i]  =  c + Σ_{i∈T} d_i
    c    = bh + base · Wh,      d_i = (g_i − base_i) Wh[i]        (H-vectors)

The kernel builds ``z`` of all ``2^M`` coalitions by bit-DP (each coalition from a
smaller one plus one column, ``O(2^M H)`` adds instead of ``O(2^M M H)`` for the
masked head): the genes are split into a low and a high half, each half's
``2^(M/2)`` partial sums are built by doubling, and ``z`` of ``T = A ∪ B`` is one
broadcast add ``zA[A] + zB[B]``. ReLU and the output layer give ``f(T)`` for every
coalition, ``(K, B, 2^M)``; then ONE product with the fixed ``(2^M, M²)`` matrix of
:func:`weight_matrix` gives every pair's index. Hidden units whose pre-activation
cannot change sign between coalitions are linear there and cannot interact; they
are skipped per individual (see :func:`_interaction_values`).

Coalition ``T`` is the integer whose bit ``i`` says whether gene ``i`` is in it.

Memory and limits: the working set is bounded by ``max_bytes`` (blocks of
individuals and, for large ``M``, of coalitions) and ``32 * max_bytes`` (per chunk
of models and rows), plus the weight matrix, ``2^M · M(M−1)/2 · 4`` bytes (0.2 MB at
M = 10, 6 MB at 14, 31 MB at 16, 0.8 GB at 20), built from a cached float64 table
twice that size. Time grows as ``K · B · 2^M · H_live`` (``H_live``:
the units that can interact, ~1/4 of H on trained and freshly initialised
networks): M = 10, H = 100, K = 50, B = 2,000 takes ~2-3 s on one core of the
development machine (bench/shapley_speed.py); each extra gene doubles it.
:data:`MAX_EXACT_GENES` = 16 is the hard limit (the table and the ``2^M`` values
per individual grow past what is sensible beyond); above ~14 genes Monte-Carlo
sampling (:mod:`gxapp.genenet.shapley.montecarlo`) is cheaper.
"""

from __future__ import annotations

import functools
from typing import Optional

import numpy as np
import torch

from gxapp.errors import ParameterError
from gxapp.genenet.models import NetConfig, Params
from gxapp.genenet.shapley.weights import check_index, check_players, pair_weights
from gxapp.progress import CancelFlag, check_cancel

MAX_EXACT_GENES = 16
CPU_CHUNK_BYTES = 1 << 20  # a block's activations stay in the per-core L2 cache
GPU_CHUNK_BYTES = 256 << 20


def default_chunk_bytes(device: torch.device) -> int:
    return GPU_CHUNK_BYTES if torch.device(device).type == "cuda" else CPU_CHUNK_BYTES


def check_reduce(reduce) -> Optional[str]:
    if reduce not in (None, "mean_abs"):
        raise ParameterError(f"reduce: expected None or 'mean_abs', got {reduce!r}")
    return reduce


# ---------------------------------------------------------------- shared head algebra


def head_parts(params: Params, baseline: torch.Tensor):
    """``(c (K, H), Wh (K, M, H), wo (K, H), bo (K,))``: the head with the
    baseline folded into the first layer's bias."""
    Wh = params["Wh"]
    baseline = baseline.to(Wh.dtype)
    c = params["bh"] + torch.bmm(baseline.unsqueeze(1), Wh).squeeze(1)
    return c, Wh, params["wo"], params["bo"]


def gene_offsets(gene_nodes: torch.Tensor, baseline: torch.Tensor, Wh: torch.Tensor) -> torch.Tensor:
    """``d (K, B, M, H)``: how much gene ``i`` moves the pre-activation when its
    node goes from the baseline to the individual's value."""
    delta = gene_nodes.to(Wh.dtype) - baseline.to(Wh.dtype).unsqueeze(1)
    return delta.unsqueeze(-1) * Wh.unsqueeze(1)


def relu_dot(z: torch.Tensor, wo: torch.Tensor) -> torch.Tensor:
    """``wo · relu(z)`` over the last axis, in place on ``z``; ``z`` is
    ``(k, ..., H)``, ``wo`` ``(k, H)``; returns ``(k, ...)``."""
    shape = z.shape
    z = z.relu_().reshape(shape[0], -1, shape[-1])
    return torch.bmm(z, wo.unsqueeze(-1)).view(shape[:-1])


def plan_chunks(sizes, unit_bytes: int, budget: int) -> list:
    """Chunk lengths for nested axes (innermost first in ``sizes``) so that the
    product of the chunk lengths times ``unit_bytes`` stays within ``budget``
    (at least one unit)."""
    units = max(1, int(budget) // max(1, int(unit_bytes)))
    out = []
    for n in sizes:
        take = max(1, min(int(n), units))
        out.append(take)
        units = max(1, units // take)
    return out


def check_inputs(params: Params, cfg: NetConfig, gene_nodes: torch.Tensor, baseline: torch.Tensor) -> tuple:
    if gene_nodes.dim() != 3:
        raise ParameterError(f"gene_nodes: expected (K, B, M), got shape {tuple(gene_nodes.shape)}")
    K, B, M = gene_nodes.shape
    check_players(M)
    if tuple(baseline.shape) != (K, M):
        raise ParameterError(f"baseline: expected shape ({K}, {M}), got {tuple(baseline.shape)}")
    if int(params["bo"].shape[0]) != K:
        raise ParameterError(f"gene_nodes: {K} models but params hold {int(params['bo'].shape[0])}")
    if cfg.head_hidden and int(params["Wh"].shape[1]) != M:
        raise ParameterError(f"gene_nodes: {M} genes but the head takes {int(params['Wh'].shape[1])}")
    return K, B, M


# ---------------------------------------------------------------- the exact kernel


@functools.lru_cache(maxsize=4)
def _pair_weight_table(n_players: int, index: str) -> np.ndarray:
    """float64 ``(2^M, M(M−1)/2)``: column ``(i, j)`` (``triu_indices`` order)."""
    M = n_players
    T = np.arange(2**M, dtype=np.int64)
    bits = ((T[:, None] >> np.arange(M)) & 1).astype(np.int8)  # (2^M, M)
    size = bits.sum(1, dtype=np.int16)
    w = pair_weights(index, M)
    i, j = np.triu_indices(M, 1)
    out = np.empty((2**M, i.size))
    for p, (a, b) in enumerate(zip(i, j)):
        pair_in = bits[:, a] + bits[:, b]  # 0, 1 or 2 of {i, j} in T
        out[:, p] = w[size - pair_in] * np.where(pair_in == 1, -1.0, 1.0)  # |S| = |T ∖ {i, j}|
    return out


def weight_matrix(
    n_players: int, index: str = "SII", dtype=torch.float32, device="cpu", pairs_only: bool = False
) -> torch.Tensor:
    """``W (2^M, M·M)`` with ``index_ij = Σ_T f(T) W[T, i·M+j]``: coalition ``T``
    enters pair ``(i, j)`` with the weight of ``S = T∖{i,j}``, signed ``+`` when
    ``T`` holds both or neither of ``i, j`` and ``−`` when it holds one (the four
    terms of ``δ_ij(S)``). Zero diagonal. ``pairs_only``: just the columns of the
    pairs ``i < j`` in ``numpy.triu_indices(M, 1)`` order, ``(2^M, M(M−1)/2)``."""
    M, index = check_players(n_players), check_index(index)
    if M > MAX_EXACT_GENES:
        raise ParameterError(
            f"method='exact' supports at most {MAX_EXACT_GENES} genes, got {M}: use method='normal' or 'mc'"
        )
    W = torch.tensor(_pair_weight_table(M, index), dtype=dtype, device=device)  # a copy of the cache
    return W if pairs_only else pairs_to_square(W, M).view(2**M, M * M)


def pairs_to_square(values: torch.Tensor, n_players: int) -> torch.Tensor:
    """``(..., M(M−1)/2)`` pair values (``triu_indices`` order) -> symmetric
    ``(..., M, M)`` with zero diagonal; both triangles hold the same numbers."""
    M = n_players
    i, j = np.triu_indices(M, 1)
    out = values.new_zeros(values.shape[:-1] + (M * M,))
    out[..., torch.as_tensor(i * M + j, device=values.device)] = values
    out[..., torch.as_tensor(j * M + i, device=values.device)] = values
    return out.view(values.shape[:-1] + (M, M))


def _doubling(start: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Partial sums of every subset of ``d``'s genes (axis -2), bit ``i`` = gene
    ``i``, plus ``start``: each new gene doubles the list, every new sum is an
    old one plus one column (bit-DP)."""
    m = d.shape[-2]
    z = d.new_empty(d.shape[:-2] + (2**m, d.shape[-1]))
    z[..., 0, :] = start
    for i in range(m):
        torch.add(z[..., : 2**i, :], d[..., i : i + 1, :], out=z[..., 2**i : 2 ** (i + 1), :])
    return z


def _values(c, d, wo, budget: int) -> torch.Tensor:
    """``f(T) − bo`` of all ``2^M`` coalitions, ``(k, b, 2^M)``, for one chunk.

    ``z(A ∪ B) = zA[A] + zB[B]`` for ``A`` in the low half of the genes and ``B``
    in the high half; the broadcast add, ReLU and output layer run on blocks of
    at most ``budget`` bytes (cache-sized) written into one reused buffer."""
    k, b, M, H = d.shape
    za, zb = _half_sums(c[:, None, :].expand(k, b, H), d)
    na, nb = za.shape[2], zb.shape[2]
    rows, inst = plan_chunks([nb, b], na * H * d.element_size(), budget)
    buf = d.new_empty(inst * rows * na * H)
    out = d.new_empty(k, b, nb, na)
    for m in range(k):  # one model per block: the output layer is one matrix-vector product
        for i0 in range(0, b, inst):
            q = min(inst, b - i0)
            for r0 in range(0, nb, rows):
                r = min(rows, nb - r0)
                z = buf[: q * r * na * H].view(q, r, na, H)
                torch.add(za[m, i0 : i0 + q, None], zb[m, i0 : i0 + q, r0 : r0 + r, None], out=z)
                z.relu_()
                out[m, i0 : i0 + q, r0 : r0 + r] = torch.mv(z.view(-1, H), wo[m]).view(q, r, na)
    return out.view(k, b, nb * na)


def _half_sums(c, d):
    """``zA (..., 2^m1, H)`` (including ``c (..., H)``) and ``zB (..., 2^m2, H)``:
    partial sums of ``d (..., M, H)`` over the subsets of the low ``m1 =
    ceil(M/2)`` genes and of the high genes."""
    M = d.shape[-2]
    m1 = (M + 1) // 2
    za = _doubling(c, d[..., :m1, :])
    zb = _doubling(torch.zeros_like(c), d[..., m1:, :])
    return za, zb


def _packed(mask: torch.Tensor, fill: int) -> torch.Tensor:
    """Per row of ``mask (n, H)``: the indices of its True entries (ascending),
    then ``fill``; ``(n, H)``."""
    n, H = mask.shape
    slot = torch.where(mask, mask.cumsum(1) - 1, H)  # False entries go to a spill column
    out = torch.full((n, H + 1), fill, dtype=torch.long, device=mask.device)
    out.scatter_(1, slot, torch.arange(H, device=mask.device).expand(n, H))
    return out[:, :H]


def _blocks(width: np.ndarray, pos: np.ndarray, neg: np.ndarray, units: int) -> list:
    """Greedy blocks ``(start, stop, n_pos, n_neg)`` of consecutive instances whose
    padded width (max positives + max negatives) times their count fits ``units``."""
    out, i, n = [], 0, width.size
    while i < n:
        cap = min(n - i, max(1, units))
        pm = np.maximum.accumulate(pos[i : i + cap])
        nm = np.maximum.accumulate(neg[i : i + cap])
        fits = np.flatnonzero((np.arange(1, cap + 1)) * (pm + nm) <= units)
        j = int(fits[-1]) + 1 if fits.size else 1
        out.append((i, i + j, int(pm[j - 1]), int(nm[j - 1])))
        i += j
    return out


def _subset_matrix(m: int, dtype, device) -> torch.Tensor:
    """``(m, 2^m)`` 0/1: column ``A`` holds the bits of subset ``A``."""
    A = torch.arange(2**m, device=device)
    return ((A[None, :] >> torch.arange(m, device=device)[:, None]) & 1).to(dtype)


@functools.lru_cache(maxsize=256)
def _signs(hp: int, hn: int, dtype, device) -> torch.Tensor:
    return torch.cat([torch.ones(hp, dtype=dtype), -torch.ones(hn, dtype=dtype)]).to(device)


def _live_units(c, d, wo):
    """Masks ``(k·b, H)`` of the units that can interact, by the sign of ``wo``: a
    unit whose pre-activation keeps one sign over all coalitions (``c + Σ
    min(d_i, 0) >= 0`` or ``c + Σ max(d_i, 0) <= 0``) is linear in ``T`` or zero
    there and adds nothing to any ``δ_ij``."""
    k, b, M, H = d.shape
    live = (c[:, None] + d.clamp(max=0).sum(2) < 0) & (c[:, None] + d.clamp(min=0).sum(2) > 0)
    return (live & (wo > 0)[:, None]).view(k * b, H), (live & (wo < 0)[:, None]).view(k * b, H)


def _interaction_values(c, d, wo, budget: int):
    """``(rows, g)``: ``g (n_live, 2^M)`` is ``f(T)`` minus an additive function of
    ``T`` for the instances ``rows`` (indices into the flattened ``(k, b)``) that
    have a live unit; every other instance has all indices 0. Same interaction
    indices as :func:`_values`, computed on the units that can interact only
    (:func:`_live_units`; ~1/4 of them on trained and on freshly initialised
    networks).

    ``|wo|`` is folded into the pre-activations (``w relu(z) = sign(w) relu(|w| z)``);
    each instance's live units are packed positives first, so ONE product with
    ``(+1, .., −1, ..)`` is the output layer of a block of instances, whatever
    their models. Instances are sorted by their number of live units, blocks are
    padded with a zero unit and units are the outer axis of each block
    (``(q, w, 2^m2, 2^m1)``: the broadcast add runs along contiguous coalitions).
    The half sums come from one small product with the 0/1 subset matrix."""
    k, b, M, H = d.shape
    n, m1 = k * b, (M + 1) // 2
    na, nb = 2**m1, 2 ** (M - m1)
    pos, neg = _live_units(c, d, wo)
    n_pos, n_neg = pos.sum(-1).cpu().numpy(), neg.sum(-1).cpu().numpy()
    width = n_pos + n_neg
    order_np = np.argsort(width, kind="stable")
    order_np = order_np[np.searchsorted(width[order_np], 1) :]
    if not order_np.size:
        return torch.zeros(0, dtype=torch.long, device=d.device), d.new_zeros(0, nb * na)
    item = d.element_size()
    blocks = _blocks(width[order_np], n_pos[order_np], n_neg[order_np], budget // (item * na * nb))
    sizes = [i1 - i0 for i0, i1, _, _ in blocks]
    hp_of = torch.as_tensor(np.repeat([blk[2] for blk in blocks], sizes), device=d.device)[:, None]
    hn_of = torch.as_tensor(np.repeat([blk[3] for blk in blocks], sizes), device=d.device)[:, None]
    w_max = max(blk[2] + blk[3] for blk in blocks)
    # Per sorted instance: its live units, positives in slots [0, hp), negatives in
    # [hp, hp + hn) (hp, hn: its block's widths), unit H (all zero) elsewhere.
    order = torch.as_tensor(order_np, device=d.device)
    n_live = order.numel()
    slot = torch.arange(w_max, device=d.device)[None, :]
    ip, ineg = _packed(pos[order], H), _packed(neg[order], H)
    sel = torch.where(
        slot < hp_of,
        ip.gather(1, slot.clamp(max=H - 1).expand(n_live, w_max)),
        torch.where(
            slot < hp_of + hn_of, ineg.gather(1, (slot - hp_of).clamp(0, H - 1)), torch.full_like(ip[:, :1], H)
        ),
    )
    scale = wo.abs()
    pad = torch.nn.functional.pad
    cs = pad(c * scale, (0, 1))[order // b].gather(1, sel)  # (n_live, w)
    ds = pad((d * scale[:, None, None, :]).view(n, M, H), (0, 1))[order]
    ds = ds.gather(2, sel[:, None, :].expand(n_live, M, w_max)).transpose(1, 2)  # (n_live, w, M)
    za = torch.matmul(ds[..., :m1], _subset_matrix(m1, d.dtype, d.device)).add_(cs[..., None])
    zb = torch.matmul(ds[..., m1:], _subset_matrix(M - m1, d.dtype, d.device))  # (n_live, w, 2^m2)
    res = d.new_empty(n_live, nb, na)
    buf = d.new_empty(max(1, budget // item))
    for i0, i1, hp, hn in blocks:
        sign, q, w = _signs(hp, hn, d.dtype, d.device), i1 - i0, hp + hn
        a, bb = za[i0:i1, :w, None, :], zb[i0:i1, :w, :, None]
        (step,) = plan_chunks([nb], q * na * w * item, budget)
        for r0 in range(0, nb, step):
            r = min(step, nb - r0)
            z = buf[: q * w * r * na].view(q, w, r, na)
            torch.add(a, bb[:, :, r0 : r0 + r], out=z)
            z.relu_()
            out = torch.bmm(sign.expand(q, 1, w).contiguous(), z.view(q, w, r * na))
            res[i0:i1, r0 : r0 + r] = out.view(q, r, na)
    return order, res.view(n_live, nb * na)


def _outer_chunks(K: int, B: int, M: int, H: int, itemsize: int, budget: int):
    """(models, rows) per outer chunk: half-set sums, offsets and values of up to
    ``32 * budget`` bytes."""
    per_instance = itemsize * (4 * (2 ** ((M + 1) // 2) + 2 ** (M // 2)) * H + 2**M + M * H)
    bc, kc = plan_chunks([B, K], per_instance, 32 * budget)
    return kc, bc


def coalition_values(
    params: Params, cfg: NetConfig, gene_nodes: torch.Tensor, baseline: torch.Tensor, max_bytes: Optional[int] = None
) -> torch.Tensor:
    """``f(T)`` for every coalition ``T`` (bit ``i`` = gene ``i``), ``(K, B, 2^M)``."""
    K, B, M = check_inputs(params, cfg, gene_nodes, baseline)
    if M > MAX_EXACT_GENES:
        raise ParameterError(f"coalition_values supports at most {MAX_EXACT_GENES} genes, got {M}")
    if not cfg.head_hidden:
        T = torch.arange(2**M, device=gene_nodes.device)
        mask = ((T[:, None] >> torch.arange(M, device=T.device)) & 1).to(gene_nodes.dtype)
        x = baseline[:, None, None, :] + mask * (gene_nodes - baseline[:, None, :]).unsqueeze(2)
        return (x * params["wo"][:, None, None, :]).sum(-1) + params["bo"][:, None, None]
    budget = max_bytes or default_chunk_bytes(gene_nodes.device)
    c, Wh, wo, bo = head_parts(params, baseline)
    out = c.new_empty(K, B, 2**M)
    kc, bc = _outer_chunks(K, B, M, Wh.shape[2], c.element_size(), budget)
    for k0 in range(0, K, kc):
        ks = slice(k0, k0 + kc)
        for b0 in range(0, B, bc):
            d = gene_offsets(gene_nodes[ks, b0 : b0 + bc], baseline[ks], Wh[ks])
            out[ks, b0 : b0 + bc] = _values(c[ks], d, wo[ks], budget) + bo[ks, None, None]
    return out


@torch.no_grad()
def exact_scores(
    params: Params,
    cfg: NetConfig,
    gene_nodes: torch.Tensor,
    baseline: torch.Tensor,
    index: str = "SII",
    reduce: Optional[str] = None,
    max_bytes: Optional[int] = None,
    cancel: Optional[CancelFlag] = None,
) -> torch.Tensor:
    """Exact interaction index of every gene pair.

    ``gene_nodes (K, B, M)``: the individuals' gene nodes under each of the ``K``
    models; ``baseline (K, M)``: each model's baseline nodes. Returns the
    per-individual index ``(K, B, M, M)`` (symmetric, zero diagonal), or with
    ``reduce="mean_abs"`` the global score ``mean_x |index_ij(x)|``, ``(K, M, M)``.
    A linear head (``head_hidden=0``) is additive: every index is exactly 0.
    """
    index, reduce = check_index(index), check_reduce(reduce)
    K, B, M = check_inputs(params, cfg, gene_nodes, baseline)
    if M > MAX_EXACT_GENES:
        raise ParameterError(
            f"method='exact' supports at most {MAX_EXACT_GENES} genes, got {M}: use method='normal' or 'mc'"
        )
    dtype = params["wo"].dtype
    shape = (K, M, M) if reduce else (K, B, M, M)
    out = torch.zeros(shape, dtype=dtype, device=gene_nodes.device)
    if not cfg.head_hidden:
        return out
    budget = max_bytes or default_chunk_bytes(gene_nodes.device)
    W = weight_matrix(M, index, dtype, gene_nodes.device, pairs_only=True)
    c, Wh, wo, bo = head_parts(params, baseline)
    kc, bc = _outer_chunks(K, B, M, Wh.shape[2], c.element_size(), budget)
    for k0 in range(0, K, kc):
        ks = slice(k0, k0 + kc)
        for b0 in range(0, B, bc):
            check_cancel(cancel)
            d = gene_offsets(gene_nodes[ks, b0 : b0 + bc], baseline[ks], Wh[ks])
            kk, bb = d.shape[0], d.shape[1]
            rows, g = _interaction_values(c[ks], d, wo[ks], budget)
            pairs = torch.mm(g, W)  # (n_live, M(M-1)/2); the other instances are 0
            if reduce:
                acc = pairs.new_zeros(kk, pairs.shape[1]).index_add_(0, rows // bb, pairs.abs_())
                out[ks] += pairs_to_square(acc, M)
            else:
                flat = pairs.new_zeros(kk * bb, pairs.shape[1]).index_copy_(0, rows, pairs)
                out[ks, b0 : b0 + bc] = pairs_to_square(flat, M).view(kk, bb, M, M)
    if reduce:
        out /= B
    return out
