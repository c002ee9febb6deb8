"""Slow, obviously-correct reference of paper A's batched engine
(:func:`gxapp.genenet.train.train_ensemble`): each model trained alone as an
``nn.Module`` of ``nn.Linear`` layers with ``torch.optim.Adam``, on the same
initialisation, split, batches and early stopping. Tests and bench/train_throughput.py
compare the engine with it."""

from __future__ import annotations

import math
import time
from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from gxapp.genenet.config import TrainConfig, resolve_threads
from gxapp.genenet.models import NetConfig, Params, concat_models, init_params, split_columns
from gxapp.genenet.problem import Problem, batch_order, batches, prepare_problem
from gxapp.genenet.result import TrainResult
from gxapp.nn.optim import ADAM_BETAS, ADAM_EPS
from gxapp.nn.threads import torch_threads

__all__ = ["train_single_reference"]


class _SingleNet(nn.Module):
    """One network with nn.Linear layers: the obviously-correct reference."""

    def __init__(self, gene_sizes: Sequence[int], net: NetConfig):
        super().__init__()
        h, H, M = net.gene_hidden, net.head_hidden, len(gene_sizes)
        self.h, self.H = h, H
        self.snp_scale = float(net.snp_scale)  # the genotypes, multiplied as they enter the gene layer
        self.gene_in = nn.ModuleList(nn.Linear(m, h or 1) for m in gene_sizes)
        self.gene_out = nn.ModuleList(nn.Linear(h, 1) for _ in gene_sizes) if h else None
        self.head_in = nn.Linear(M, H) if H else None
        self.head_out = nn.Linear(H or M, 1)

    def forward(self, blocks: Sequence[torch.Tensor]) -> torch.Tensor:
        genes = []
        for i, x in enumerate(blocks):
            g = self.gene_in[i](x * self.snp_scale)
            genes.append(self.gene_out[i](torch.relu(g)) if self.h else g)
        g = torch.cat(genes, dim=1)
        if self.H:
            g = torch.relu(self.head_in(g))
        return self.head_out(g).squeeze(1)

    def weights(self) -> list:
        return [mod.weight for mod in self.modules() if isinstance(mod, nn.Linear)]

    @torch.no_grad()
    def load(self, p: Params) -> "_SingleNet":
        """Copy model 0 of a stacked parameter dict into the layers."""
        for i, lin in enumerate(self.gene_in):
            lin.weight.copy_(p["W1"][i][0].T if self.h else p["W1"][i][0][None])
            lin.bias.copy_(p["b1"][0, i] if self.h else p["b2"][0, i][None])
            if self.h:
                self.gene_out[i].weight.copy_(p["w2"][0, i][None])
                self.gene_out[i].bias.copy_(p["b2"][0, i][None])
        if self.H:
            self.head_in.weight.copy_(p["Wh"][0].T)
            self.head_in.bias.copy_(p["bh"][0])
        self.head_out.weight.copy_(p["wo"][0][None])
        self.head_out.bias.copy_(p["bo"][0][None])
        return self

    @torch.no_grad()
    def export(self) -> Params:
        """The layers as a stacked parameter dict with one model."""
        p: Params = {"W1": [(lin.weight.T if self.h else lin.weight[0]).clone()[None] for lin in self.gene_in]}
        if self.h:
            p["b1"] = torch.stack([lin.bias for lin in self.gene_in])[None].clone()
            p["w2"] = torch.stack([lin.weight[0] for lin in self.gene_out])[None].clone()
            p["b2"] = torch.stack([lin.bias[0] for lin in self.gene_out])[None].clone()
        else:
            p["b2"] = torch.stack([lin.bias[0] for lin in self.gene_in])[None].clone()
        if self.H:
            p["Wh"] = self.head_in.weight.T.clone()[None]
            p["bh"] = self.head_in.bias.clone()[None]
        p["wo"] = self.head_out.weight.clone()
        p["bo"] = self.head_out.bias.clone()
        return p


class _SingleRun(NamedTuple):
    params: Params
    best_val: float
    best_epoch: int
    epochs_run: int
    train_curve: list
    val_curve: list


def _train_one(prob: Problem, k: int, net: NetConfig, cfg: TrainConfig) -> _SingleRun:
    """Model ``k`` alone: torch.optim.Adam, the same batches and early stopping."""
    model = _SingleNet(prob.gene_sizes, net).load(init_params(prob.gene_sizes, 1, net, [prob.seeds[k]]))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=ADAM_BETAS, eps=ADAM_EPS, foreach=False)
    x_fit, x_val = prob.x_fit.cpu(), prob.x_val.cpu()
    y_fit, y_val = prob.y_fit[prob.targets[k]].cpu(), prob.y_val[prob.targets[k]].cpu()
    order = batch_order(cfg.seed)
    best, best_val, best_epoch, train_curve, val_curve = model.export(), math.inf, 0, [], []
    for epoch in range(1, cfg.max_epochs + 1):
        total = 0.0
        for rows in batches(order, x_fit.shape[0], cfg.batch_size):
            opt.zero_grad()
            mse = (model(split_columns(x_fit[rows], prob.gene_sizes)) - y_fit[rows]).square().mean()
            loss = mse + cfg.l1 * sum(w.abs().sum() for w in model.weights())
            loss.backward()
            opt.step()
            total += mse.item() * rows.numel()
        with torch.no_grad():
            val = (model(split_columns(x_val, prob.gene_sizes)) - y_val).square().mean().item()
        train_curve.append(total / x_fit.shape[0])
        val_curve.append(val)
        if val < best_val:
            best, best_val, best_epoch = model.export(), val, epoch
        if epoch - best_epoch >= cfg.patience:
            break
    return _SingleRun(best, best_val, best_epoch, epoch, train_curve, val_curve)


def train_single_reference(
    X,
    Y,
    gene_blocks,
    train_idx,
    net: NetConfig,
    cfg: TrainConfig,
    n_members: int,
    targets_of_model=None,
) -> TrainResult:
    """Slow reference for tests and benchmarks: each model trained alone as an
    ``nn.Module`` with ``torch.optim.Adam`` (CPU), the same initialisation, split,
    batches and early stopping as :func:`train_ensemble`."""
    net.validate()
    cfg.validate()
    threads = resolve_threads(cfg.threads)
    t0 = time.perf_counter()
    prob = prepare_problem(X, Y, gene_blocks, train_idx, cfg, n_members, targets_of_model, torch.device("cpu"))
    K = prob.targets.size
    with torch_threads(threads):
        runs = [_train_one(prob, k, net, cfg) for k in range(K)]
    n_epochs = max(r.epochs_run for r in runs)
    train_loss, val_loss = np.full((n_epochs, K), np.nan), np.full((n_epochs, K), np.nan)
    for k, r in enumerate(runs):
        train_loss[: r.epochs_run, k], val_loss[: r.epochs_run, k] = r.train_curve, r.val_curve
    return TrainResult(
        params=concat_models([r.params for r in runs]),
        net=net,
        cfg=cfg,
        gene_blocks=prob.gene_blocks,
        targets_of_model=prob.targets,
        seeds=prob.seeds,
        best_epoch=np.array([r.best_epoch for r in runs], np.int64),
        epochs_run=np.array([r.epochs_run for r in runs], np.int64),
        best_val=np.array([r.best_val for r in runs]),
        train_loss=train_loss,
        val_loss=val_loss,
        train_idx=prob.fit_idx,
        val_idx=prob.val_idx,
        seconds=time.perf_counter() - t0,
        device="cpu",
        threads=threads,
    )
