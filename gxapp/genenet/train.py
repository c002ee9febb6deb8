"""Batched training of many gene interaction networks at once (docs/method.md#networks).

All models (ensemble members x targets) share ``X``; only their target column and
initialisation differ. They are trained as ONE batched model (see
:mod:`gxapp.genenet.models`): every step reads the minibatch of ``X`` once, and the loss
is the SUM of the models' losses, so each model's gradient is exactly its
gradient alone. Adam (:class:`gxapp.nn.optim.StackedAdam`) runs elementwise on the
stacked parameters (``torch.optim.Adam``'s single-tensor update) so its state can be
sliced per model. Each model early-stops on its own validation MSE; stopped models are
dropped from the active set (parameters and Adam state are compacted), so the
cost of an epoch scales with the models still training. Each model's best
weights are restored at the end.

Settings live in :mod:`gxapp.genenet.config`, input checks and layout in
:mod:`gxapp.genenet.problem`, the trained models in :mod:`gxapp.genenet.result`; their
names are re-exported here. ``tests/reference/train.py`` trains the same models one at
a time with ``nn.Linear`` modules and ``torch.optim.Adam``; tests use it to prove that
the batched engine computes the same thing.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np
import torch

from gxapp.errors import ParameterError
from gxapp.genenet.config import (  # noqa: F401 (re-exported)
    CPU_ACTIVATION_BYTES,
    DEFAULT_L1,
    DEFAULT_THREADS,
    GPU_ACTIVATION_BYTES,
    MIN_BATCH,
    STEPS_PER_EPOCH,
    TrainConfig,
    activation_budget,
    resolve_batch,
    resolve_device,
    resolve_threads,
)
from gxapp.genenet.models import (
    NetConfig,
    Params,
    activation_bytes_per_row,
    count_models,
    forward,
    init_params,
    map_params,
    slice_models,
    split_columns,
    tensors,
    weight_tensors,
)
from gxapp.genenet.problem import (  # noqa: F401 (re-exported)
    Problem,
    batch_order,
    batches,
    default_targets,
    member_seeds,
    prepare_problem,
    split_rows,
)
from gxapp.genenet.result import TrainResult, curves, predict_rows
from gxapp.nn.early_stopping import EarlyStopping
from gxapp.nn.memory import TrainingMemoryError, memory_errors  # noqa: F401 (re-exported)
from gxapp.nn.optim import ADAM_BETAS, ADAM_EPS, StackedAdam  # noqa: F401 (re-exported)
from gxapp.nn.threads import torch_threads
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report


def _memory_errors(n_models: int, batch: int, device: torch.device):
    """Turn allocation failures into a TrainingMemoryError that says what to lower."""
    return memory_errors(
        f"out of memory training {n_models} models on batches of {batch} rows on {device}: "
        "train fewer models at once (n_members or fewer targets), or lower batch_size "
        "or max_activation_bytes"
    )


def _chunk_rows(n_models: int, prob: Problem, net: NetConfig, budget: int) -> int:
    per_row = activation_bytes_per_row(n_models, len(prob.gene_sizes), net) + 4 * prob.x_fit.shape[1]
    return max(1, budget // per_row)


def _l1(params: Params) -> torch.Tensor:
    return sum(w.abs().sum() for w in weight_tensors(params))


def _l1_per_model(params: Params) -> torch.Tensor:
    """(K,) sum |weights| of each model."""
    return sum(w.abs().reshape(w.shape[0], -1).sum(1) for w in weight_tensors(params))


def _penalty(params: Params, l1) -> torch.Tensor:
    """``l1 · Σ|w|``: one strength for every model (a number), or one per model (a (K,) tensor; each
    model's gradient is its own, as the losses are summed)."""
    if isinstance(l1, torch.Tensor):
        return (l1 * _l1_per_model(params)).sum()
    return l1 * _l1(params)


def _leaf(params: Params) -> Params:
    return map_params(params, lambda t: t.detach().requires_grad_(True))


def _train_step(params, opt, xb, yb, gene_sizes, net, l1, chunk) -> torch.Tensor:
    """One Adam step on a minibatch, in row chunks; returns each model's minibatch
    MSE (before the step), shape (K,)."""
    n = xb.shape[0]
    sq = torch.zeros(yb.shape[0], device=xb.device)
    for c, start in enumerate(range(0, n, chunk)):
        xc, yc = xb[start : start + chunk], yb[:, start : start + chunk]
        out, _ = forward(params, split_columns(xc, gene_sizes), net)
        sq_c = (out - yc).square().sum(1)
        loss = sq_c.sum() / n
        if c == 0 and (isinstance(l1, torch.Tensor) or l1):
            loss = loss + _penalty(params, l1)
        loss.backward()
        sq += sq_c.detach()
    opt.step(tensors=tensors(params), zero_grad=True)
    return sq / n


def _val_mse(params, prob: Problem, targets: torch.Tensor, net, chunk) -> torch.Tensor:
    pred = predict_rows(params, prob.x_val, prob.gene_sizes, net, chunk)
    return (pred - prob.y_val.index_select(0, targets)).square().mean(1)


class _BestWeights:
    """Per-model early stopping (:class:`gxapp.nn.early_stopping.EarlyStopping`) and the
    best weights of all K models (the active ones are compacted in ``params``)."""

    def __init__(self, params: Params, patience: int):
        self.stop = EarlyStopping(count_models(params), patience)
        self.best_params = map_params(params, lambda t: t.detach().clone())

    @torch.no_grad()
    def update(self, epoch: int, active: np.ndarray, params: Params, val: np.ndarray) -> np.ndarray:
        """Record ``epoch`` for the ``active`` models; copy the improved models'
        weights; return a mask (over ``active``) of the models that go on."""
        improved, go_on = self.stop.update(epoch, active, val)
        if improved.any():
            src = torch.as_tensor(np.flatnonzero(improved), device=params["bo"].device)
            dst = torch.as_tensor(active[improved], device=params["bo"].device)
            for best, p in zip(tensors(self.best_params), tensors(params)):
                best.index_copy_(0, dst, p.detach().index_select(0, src))
        return go_on


def train_ensemble(
    X: np.ndarray,
    Y: np.ndarray,
    gene_blocks: Sequence[np.ndarray],
    train_idx: np.ndarray,
    net: NetConfig,
    cfg: TrainConfig,
    n_members: int,
    targets_of_model: Optional[np.ndarray] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
    l1_of_model: Optional[Sequence[float]] = None,
) -> TrainResult:
    """Train ``K`` networks at once and return their best (early-stopped) weights.

    ``X`` (N, P) float32 genotypes (centred, no missing values); ``Y`` (N,) or
    (N, T) targets; ``gene_blocks[i]``: SNP columns of gene ``i``; ``train_idx``:
    the rows to learn from (a ``cfg.val_fraction`` share of them is held out for
    early stopping). By default each target gets ``n_members`` models
    (K = T * n_members, see :func:`default_targets`); ``targets_of_model`` (K,)
    overrides that. Loss of each model: MSE + l1 * sum |weights|, with ``l1 = cfg.l1``, or
    ``l1_of_model[k]`` for model ``k`` when given (a sparsity path trained as one batch).
    """
    net.validate()
    cfg.validate()
    device = resolve_device(cfg.device)
    threads = resolve_threads(cfg.threads)
    t0 = time.perf_counter()
    prob = prepare_problem(X, Y, gene_blocks, train_idx, cfg, n_members, targets_of_model, device)
    K = prob.targets.size
    lam = None
    if l1_of_model is not None:
        lam = np.asarray(l1_of_model, dtype=np.float64).ravel()
        if lam.shape != (K,) or not np.isfinite(lam).all() or (lam < 0).any():
            raise ParameterError(f"l1_of_model: expected {K} finite strengths ≥ 0 (one per model), got {lam.size}")
        lam = torch.as_tensor(lam, dtype=torch.float32, device=device)
    batch = resolve_batch(cfg, prob.x_fit.shape[0])
    with torch_threads(threads), _memory_errors(K, min(batch, prob.x_fit.shape[0]), device):
        best, train_rows, val_rows = _run(prob, net, cfg, device, progress, cancel, lam)
    return TrainResult(
        params=map_params(best.best_params, lambda t: t.detach().cpu()),
        net=net,
        cfg=cfg,
        gene_blocks=prob.gene_blocks,
        targets_of_model=prob.targets,
        seeds=prob.seeds,
        best_epoch=best.stop.best_epoch,
        epochs_run=best.stop.epochs_run,
        best_val=best.stop.best_val,
        train_loss=curves(train_rows, K),
        val_loss=curves(val_rows, K),
        train_idx=prob.fit_idx,
        val_idx=prob.val_idx,
        seconds=time.perf_counter() - t0,
        device=str(device),
        threads=threads,
    )


def _run(prob: Problem, net: NetConfig, cfg: TrainConfig, device, progress, cancel, lam=None):
    """The epoch loop over the shrinking active set of models (``lam``: per-model L1, or None)."""
    K = prob.targets.size
    params = _leaf(init_params(prob.gene_sizes, K, net, prob.seeds, device))
    opt = StackedAdam(tensors(params), cfg.lr)
    best = _BestWeights(params, cfg.patience)
    active = np.arange(K)
    targets = torch.as_tensor(prob.targets, device=device)
    order = batch_order(cfg.seed)
    train_rows, val_rows = [], []
    n_fit = prob.x_fit.shape[0]
    for epoch in range(1, cfg.max_epochs + 1):
        chunk = _chunk_rows(active.size, prob, net, activation_budget(cfg, device))
        mse_sum = torch.zeros(active.size, device=device)
        for rows in batches(order, n_fit, resolve_batch(cfg, n_fit)):
            check_cancel(cancel)
            rows = rows.to(device)
            yb = prob.y_fit.index_select(1, rows).index_select(0, targets)
            batch_mse = _train_step(
                params,
                opt,
                prob.x_fit.index_select(0, rows),
                yb,
                prob.gene_sizes,
                net,
                cfg.l1 if lam is None else lam,
                chunk,
            )
            mse_sum += batch_mse * rows.numel()
        val = _val_mse(params, prob, targets, net, chunk).cpu().numpy().astype(np.float64)
        train_rows.append((active, (mse_sum / n_fit).cpu().numpy()))
        val_rows.append((active, val))
        go_on = best.update(epoch, active, params, val)
        report(
            progress,
            epoch / cfg.max_epochs,
            f"epoch {epoch}/{cfg.max_epochs}: {int(go_on.sum())} of {K} models training, "
            f"best val MSE {np.min(best.stop.best_val):.4g}",
        )
        if not go_on.any():
            break
        if not go_on.all():
            keep = torch.as_tensor(np.flatnonzero(go_on), device=device)
            params = _leaf(slice_models(params, keep))
            opt.keep(keep)
            targets = targets.index_select(0, keep)
            if lam is not None:
                lam = lam.index_select(0, keep)
            active = active[go_on]
    report(progress, 1.0, f"trained {K} models")
    return best, train_rows, val_rows
