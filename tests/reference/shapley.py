"""Slow, obviously-correct Shapley interaction indices of :mod:`gxapp.genenet.shapley`.

One model, one individual: for every pair and every coalition ``S ⊆ F∖{i,j}``
the FULL head (:func:`gxapp.genenet.models.head_forward`) is run on the gene nodes with
the genes outside the coalition set to the baseline, and ``δ_ij(S)`` is weighted
by :func:`gxapp.genenet.shapley.weights.pair_weight`. Float64 throughout.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from gxapp.genenet.models import NetConfig, Params, head_forward, map_params, slice_models
from gxapp.genenet.shapley.weights import check_index, pair_weight


def masked_head(params: Params, cfg: NetConfig, model: int, nodes, baseline):
    """``f(T)`` for one model and individual: a function of a coalition (a set of
    gene indices) evaluating the full head on masked gene nodes (float64)."""
    p = map_params(slice_models(params, [model]), lambda t: t.to(torch.float64))
    nodes = torch.as_tensor(np.asarray(nodes), dtype=torch.float64)
    base = torch.as_tensor(np.asarray(baseline), dtype=torch.float64)

    def f(coalition) -> float:
        x = base.clone()
        members = list(coalition)
        x[members] = nodes[members]
        return float(head_forward(p, x.view(1, 1, -1), cfg)[0, 0])

    return f


def reference_scores(params: Params, cfg: NetConfig, model: int, nodes, baseline, index: str = "SII") -> np.ndarray:
    """``(M, M)`` index of every pair for model ``model`` at one individual whose
    gene nodes are ``nodes (M,)``; ``baseline (M,)`` is that model's baseline."""
    index = check_index(index)
    f = masked_head(params, cfg, model, nodes, baseline)
    M = len(nodes)
    out = np.zeros((M, M))
    for i, j in itertools.combinations(range(M), 2):
        rest = [x for x in range(M) if x not in (i, j)]
        total = 0.0
        for size in range(len(rest) + 1):
            w = pair_weight(index, M, size)
            for S in itertools.combinations(rest, size):
                S = set(S)
                total += w * (f(S | {i, j}) - f(S | {i}) - f(S | {j}) + f(S))
        out[i, j] = out[j, i] = total
    return out


def normal_reference(params: Params, cfg: NetConfig, model: int, nodes, baseline, index: str = "SII") -> np.ndarray:
    """``(M, M)``: the normal approximation of :mod:`gxapp.genenet.shapley.normal`
    written out pair by pair, unit by unit and size by size (every size, no
    quadrature, no surface fit). For pair ``(i, j)`` and hidden unit ``u`` the
    pre-activation over a uniform ``s``-subset of the other genes is taken as
    normal with the exact mean and variance of sampling ``s`` of the values
    ``d_k`` (k ∉ {i, j}) without replacement; ``E max(0, A) = m Φ(m/σ) + σ φ(m/σ)``
    with Φ from :func:`math.erf`. A unit whose pre-activation has the same sign for every coalition is
    linear there and contributes exactly 0 (as in the true game)."""
    import math

    from gxapp.genenet.shapley.weights import size_distribution

    index = check_index(index)
    p = map_params(slice_models(params, [model]), lambda t: t.to(torch.float64).numpy())
    g = np.asarray(nodes, dtype=np.float64)
    base = np.asarray(baseline, dtype=np.float64)
    Wh, bh, wo = p["Wh"][0], p["bh"][0], p["wo"][0]
    M, H = Wh.shape
    c = bh + base @ Wh
    d = (g - base)[:, None] * Wh  # (M, H)
    sizes = size_distribution(index, M)

    def relu_mean(m, v):
        if v <= 0:
            return max(m, 0.0)
        sd = math.sqrt(v)
        z = m / sd
        return m * 0.5 * (1 + math.erf(z / math.sqrt(2))) + sd * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    out = np.zeros((M, M))
    for i, j in itertools.combinations(range(M), 2):
        rest = [k for k in range(M) if k not in (i, j)]
        n = len(rest)
        total = 0.0
        for u in range(H):
            if c[u] + np.minimum(d[:, u], 0).sum() >= 0 or c[u] + np.maximum(d[:, u], 0).sum() <= 0:
                continue
            others = d[rest, u]
            a, b = float(d[i, u]), float(d[j, u])
            mu, sigma2 = (float(others.mean()), float(others.var())) if n else (0.0, 0.0)
            for s, prob in enumerate(sizes):
                mean = float(c[u]) + s * mu
                var = s * (n - s) / (n - 1) * sigma2 if n > 1 else 0.0
                delta = relu_mean(mean + a + b, var) - relu_mean(mean + a, var)
                delta += relu_mean(mean, var) - relu_mean(mean + b, var)
                total += prob * wo[u] * delta
        out[i, j] = out[j, i] = total
    return out
