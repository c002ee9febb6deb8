"""Choosing the sparsity λ (L1 strength) by k-fold cross-validation on the
training rows, as paper A does. Test rows are never touched."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.model_selection import KFold

from gxapp.errors import ParameterError
from gxapp.genenet.models import NetConfig
from gxapp.genenet.train import TrainConfig, train_ensemble
from gxapp.progress import check_cancel, sub_progress

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
    mse = {lam: [] for lam in grid}
    n_jobs, done = len(splits) * len(grid), 0
    for fit, held in splits:
        for lam in grid:
            check_cancel(cancel)
            res = train_ensemble(
                X,
                y,
                gene_blocks,
                train_idx[fit],
                net,
                replace(cfg, l1=lam),
                members,
                progress=sub_progress(progress, done / n_jobs, (done + 1) / n_jobs),
                cancel=cancel,
            )
            rows = train_idx[held]
            pred = res.predict(X[rows]).mean(axis=0)
            mse[lam].append(float(np.mean((y[rows] - pred) ** 2)))
            done += 1
    table = {lam: float(np.mean(v)) for lam, v in mse.items()}
    return min(table, key=table.get), table
