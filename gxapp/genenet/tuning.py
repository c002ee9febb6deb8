"""Choosing the sparsity λ (L1 strength) by k-fold cross-validation on the
training rows, as paper A does. Test rows are never touched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.model_selection import KFold

from gxapp import execute
from gxapp.errors import ParameterError
from gxapp.genenet.models import NetConfig
from gxapp.genenet.train import TrainConfig, train_ensemble

DEFAULT_GRID = (1e-5, 1e-4, 1e-3, 1e-2)


def choose_l1(
    X,
    y,
    gene_blocks,
    train_idx,
    net: NetConfig,
    cfg: TrainConfig,
    grid=DEFAULT_GRID,
    folds: int = 5,
    members: int = 2,
    progress=None,
    cancel=None,
) -> tuple:
    """Return (best λ, {λ: mean validation MSE over folds}).

    Each (fold, λ) trains ``members`` networks on the other folds and scores the
    mean prediction on the held-out fold."""
    grid = sorted(float(v) for v in grid)
    if not grid or min(grid) < 0:
        raise ParameterError(f"l1 grid: give non-negative values, got {grid}")
    if folds < 2 or folds > len(train_idx):
        raise ParameterError(f"cv folds: expected 2..{len(train_idx)}, got {folds}")
    train_idx = np.asarray(train_idx)
    splits = list(KFold(folds, shuffle=True, random_state=cfg.seed).split(train_idx))
    items = [(train_idx[fit], train_idx[held], lam) for fit, held in splits for lam in grid]
    shared = dict(X=X, y=y, blocks=gene_blocks, net=net, cfg=cfg, members=members)
    mse = {lam: [] for lam in grid}
    stage = f"choosing λ ({folds} folds × {len(grid)} values)"
    for i, value in execute.current().map(
        cv_chunk, items, shared=shared, progress=progress, cancel=cancel, stage=stage
    ):
        mse[items[i][2]].append(value)
    table = {lam: float(np.mean(v)) for lam, v in mse.items()}
    return min(table, key=table.get), table


def cv_chunk(shared: dict, item: tuple, progress=None, cancel=None) -> float:
    """One (fold, λ) of the cross-validation (a task of the executor seam): train the
    members on the other folds, return the held-out fold's MSE of their mean prediction."""
    fit_rows, held_rows, lam = item
    s = shared
    res = train_ensemble(
        s["X"],
        s["y"],
        s["blocks"],
        fit_rows,
        s["net"],
        replace(s["cfg"], l1=lam),
        s["members"],
        progress=progress,
        cancel=cancel,
    )
    pred = res.predict(s["X"][held_rows]).mean(axis=0)
    return float(np.mean((s["y"][held_rows] - pred) ** 2))
