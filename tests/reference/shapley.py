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
