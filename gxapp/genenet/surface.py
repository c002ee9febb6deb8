"""The shape of one gene-pair interaction (paper A, Fig. 7b; docs/method.md#interaction-surface).

On the gene representations ``g_i, g_j`` learned by the run (the gene nodes of
its best member), fit a small MLP ``h(g_i, g_j)`` and an additive network
``h_i(g_i) + h_j(g_j)`` to the phenotype on the training rows; the interaction
surface is ``h − h_i − h_j`` over a grid of the two representations.
Individuals are shown as points, grouped low / medium / high by their
predicted interaction value (tertiles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from gxapp.errors import ParameterError
from gxapp.genenet.models import gene_layer, slice_models, split_columns
from gxapp.genenet.train import TrainResult
from gxapp.nn.threads import torch_threads


@dataclass
class Surface:
    gene_a: str
    gene_b: str
    grid: pd.DataFrame  # g_a, g_b, interaction
    points: pd.DataFrame  # g_a, g_b, interaction, group
    r2_joint: float
    r2_additive: float


def gene_nodes(result: TrainResult, X: np.ndarray, model: int) -> np.ndarray:
    """(N, M) gene-node values of one model of ``result``."""
    params = slice_models(result.params, [model])
    cols = np.concatenate(result.gene_blocks)
    x = torch.from_numpy(np.ascontiguousarray(X[:, cols], dtype=np.float32))
    with torch.no_grad():
        blocks = split_columns(x, [len(b) for b in result.gene_blocks])
        return gene_layer(params, blocks, result.net)[0].numpy()


def _mlp(n_in: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))


class _Additive(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.a, self.b = _mlp(1, width), _mlp(1, width)

    def forward(self, z):
        return self.a(z[:, :1]) + self.b(z[:, 1:])


def _fit(model: nn.Module, z: torch.Tensor, y: torch.Tensor, steps: int, lr: float = 0.01) -> nn.Module:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(z).squeeze(-1) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return model


@dataclass
class PairModels:
    """The joint MLP ``h(g_i, g_j)`` and the additive network ``h_i(g_i) + h_j(g_j)`` of one gene
    pair, fitted on standardised gene nodes (``(g − mu) / sd``, the fitting rows' moments)."""

    joint: nn.Module
    additive: nn.Module
    mu: np.ndarray
    sd: np.ndarray

    @torch.no_grad()
    def interaction(self, nodes: np.ndarray) -> np.ndarray:
        """``h − h_i − h_j`` at gene-node values ``nodes`` (n, 2), in the fitting rows' units."""
        z = torch.from_numpy(((np.asarray(nodes) - self.mu) / self.sd).astype(np.float32))
        with torch_threads(1):
            return (self.joint(z) - self.additive(z)).squeeze(-1).numpy().astype(np.float64)


def fit_pair_models(nodes: np.ndarray, y: np.ndarray, steps: int = 400, width: int = 32, seed: int = 0) -> PairModels:
    """Fit ``h`` and ``h_i + h_j`` to ``y`` on gene-node pairs ``nodes`` (n, 2) by full-batch Adam
    (paper A, Eq. 5's two networks; docs/method.md#interaction-surface)."""
    nodes = np.asarray(nodes, dtype=np.float64)
    mu, sd = nodes.mean(0), nodes.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    z = torch.from_numpy(((nodes - mu) / sd).astype(np.float32))
    yt = torch.from_numpy(np.asarray(y, np.float32))
    # two tiny MLPs: one thread is ~50x faster than two (measured 0.7-1.5 s vs 66-105 s on 2 cores);
    # the seed is set inside fork_rng so that the process-wide generator is left as it was
    with torch_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        joint = _fit(_mlp(2, width), z, yt, steps)
        additive = _fit(_Additive(width), z, yt, steps)
    return PairModels(joint, additive, mu, sd)


def interaction_surface(
    result: TrainResult,
    X: np.ndarray,
    y: np.ndarray,
    train_idx,
    pair,
    gene_names,
    grid: int = 40,
    steps: int = 400,
    width: int = 32,
    max_points: int = 1500,
    seed: int = 0,
) -> Surface:
    """Fit ``h``, ``h_i + h_j`` and return the surface ``h − h_i − h_j`` for ``pair`` (gene indices)."""
    i, j = int(pair[0]), int(pair[1])
    M = len(result.gene_blocks)
    if i == j or not (0 <= i < M and 0 <= j < M):
        raise ParameterError(f"pair: two different gene indices in [0, {M}) expected, got {pair}")
    best = int(np.nanargmin(result.best_val))
    nodes = gene_nodes(result, X, best)[:, [i, j]]
    pm = fit_pair_models(nodes[train_idx], np.asarray(y)[train_idx], steps=steps, width=width, seed=seed)
    mu, sd, joint, additive = pm.mu, pm.sd, pm.joint, pm.additive
    z_all = torch.from_numpy(((nodes - mu) / sd).astype(np.float32))
    yt = torch.from_numpy(np.asarray(y, np.float32))
    with torch.no_grad():
        lo, hi = np.percentile(nodes[train_idx], [1, 99], axis=0)
        ga, gb = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid), indexing="ij")
        zg = torch.from_numpy(((np.column_stack([ga.ravel(), gb.ravel()]) - mu) / sd).astype(np.float32))
        surf = (joint(zg) - additive(zg)).squeeze(-1).numpy()
        inter_all = (joint(z_all) - additive(z_all)).squeeze(-1).numpy()
        resid_j = float(((joint(z_all[train_idx]).squeeze(-1) - yt[train_idx]) ** 2).mean())
        resid_a = float(((additive(z_all[train_idx]).squeeze(-1) - yt[train_idx]) ** 2).mean())
    surf = surf - np.median(inter_all)  # the surface is defined up to a constant
    inter_all = inter_all - np.median(inter_all)
    var_y = float(np.var(np.asarray(y)[train_idx]))
    rng = np.random.default_rng(seed)
    show = rng.choice(len(y), min(max_points, len(y)), replace=False)
    cuts = np.quantile(inter_all, [1 / 3, 2 / 3])
    group = np.where(inter_all[show] < cuts[0], "low", np.where(inter_all[show] < cuts[1], "medium", "high"))
    names = list(gene_names)
    return Surface(
        gene_a=names[i],
        gene_b=names[j],
        grid=pd.DataFrame({"g_a": ga.ravel(), "g_b": gb.ravel(), "interaction": surf}),
        points=pd.DataFrame(
            {"g_a": nodes[show, 0], "g_b": nodes[show, 1], "interaction": inter_all[show], "group": group}
        ),
        r2_joint=1 - resid_j / var_y,
        r2_additive=1 - resid_a / var_y,
    )
