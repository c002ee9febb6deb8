"""Choosing the sparsity λ (L1 strength) by k-fold cross-validation on the
training rows, as paper A does. Test rows are never touched."""

from __future__ import annotations

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
    items = [(train_idx[fit], train_idx[held]) for fit, held in splits]
    shared = dict(X=X, y=y, blocks=gene_blocks, net=net, cfg=cfg, members=members, grid=grid)
    mse = {lam: [] for lam in grid}
    stage = f"choosing λ: {folds} folds, each {len(grid)} values × {members} networks as one batch"
    for _, values in execute.current().map(
        cv_chunk, items, shared=shared, progress=progress, cancel=cancel, stage=stage
    ):
        for lam, v in zip(grid, values):
            mse[lam].append(v)
    table = {lam: float(np.mean(v)) for lam, v in mse.items()}
    return min(table, key=table.get), table


def cv_chunk(shared: dict, item: tuple, progress=None, cancel=None) -> list:
    """One fold of the cross-validation (a task of the executor seam): every λ of the grid trains its
    members on the other folds in ONE batch (a phenotype column per λ, so each model starts as it would
    alone); returns each λ's held-out MSE of its members' mean prediction, in grid order."""
    fit_rows, held_rows = item
    s = shared
    grid, E = list(s["grid"]), s["members"]
    y = np.asarray(s["y"], dtype=np.float64)
    res = train_ensemble(
        s["X"],
        np.repeat(y[:, None], len(grid), axis=1),
        s["blocks"],
        fit_rows,
        s["net"],
        s["cfg"],
        E,
        progress=progress,
        cancel=cancel,
        l1_of_model=np.repeat(grid, E),
    )
    pred = res.predict(s["X"][held_rows])  # (len(grid) * E, n_held), λ-major
    return [float(np.mean((y[held_rows] - pred[j * E : (j + 1) * E].mean(axis=0)) ** 2)) for j in range(len(grid))]
