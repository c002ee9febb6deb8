"""Paper A's training inputs, checked and laid out for the engine: every gene's SNPs
contiguous, fitting and validation rows split, one target column and seed per model,
and the shared per-epoch batch order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gxapp.data.cohort import check_gene_blocks
from gxapp.errors import InputFormatError, ParameterError
from gxapp.params import Integral, Interval, check_param

__all__ = ["Problem", "prepare_problem", "default_targets", "member_seeds", "split_rows", "batch_order", "batches"]


@dataclass
class Problem:
    """Validated inputs, on the device, with every gene's SNPs contiguous."""

    x_fit: torch.Tensor  # (n_fit, P') fitting rows
    y_fit: torch.Tensor  # (T, n_fit)
    x_val: torch.Tensor
    y_val: torch.Tensor
    gene_sizes: list
    gene_blocks: list
    targets: np.ndarray  # (K,) target column of each model
    seeds: list
    fit_idx: np.ndarray
    val_idx: np.ndarray


def _as_targets(Y) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or not np.issubdtype(Y.dtype, np.number):
        raise InputFormatError(f"Y: expected a numeric (N,) or (N, T) array, got shape {Y.shape} {Y.dtype}")
    return Y


def _check_finite(name: str, parts, what: str) -> None:
    n_nan = sum(int(np.isnan(a).sum()) for a in parts)
    n_inf = sum(int(np.isinf(a).sum()) for a in parts)
    if n_nan or n_inf:
        counts = ((n_nan, "NaN"), (n_inf, "infinite"))
        found = " and ".join(f"{n} {kind} value{'s' * (n != 1)}" for n, kind in counts if n)
        raise InputFormatError(f"{name} has {found} in the training rows: {what} before training")


def _check_rows(train_idx, n_rows: int) -> np.ndarray:
    idx = np.asarray(train_idx, dtype=np.int64).ravel()
    if idx.size == 0 or idx.min() < 0 or idx.max() >= n_rows or np.unique(idx).size != idx.size:
        raise ParameterError(f"train_idx: expected distinct row indices in [0, {n_rows}), got {idx.size} values")
    return idx


def default_targets(n_targets: int, n_members: int) -> np.ndarray:
    """Every target gets ``n_members`` models: model ``t * n_members + e`` is member
    ``e`` of target ``t``."""
    check_param("n_members", n_members, [Interval(Integral, 1, None)])
    return np.repeat(np.arange(n_targets, dtype=np.int64), n_members)


def member_seeds(targets_of_model: np.ndarray, seed: int) -> list:
    """Initialisation seed of each model: member ``e`` (the e-th model of its
    target) gets the same seed for every target, so observed and permuted targets
    start from the same networks."""
    counts: dict = {}
    out = []
    for t in targets_of_model.tolist():
        e = counts.get(t, 0)
        counts[t] = e + 1
        out.append(int(np.random.SeedSequence([seed, e]).generate_state(1)[0]))
    return out


def split_rows(n_train: int, val_fraction: float, seed: int):
    """``(fit_pos, val_pos)``: sorted positions into the ``n_train`` training rows;
    a random ``val_fraction`` of them is held out for early stopping (never any
    row outside ``train_idx``)."""
    n_val = int(round(val_fraction * n_train))
    if n_val < 1 or n_train - n_val < 1:
        raise ParameterError(
            f"train_idx: {n_train} training rows cannot be split into fitting and validation rows "
            f"with val_fraction={val_fraction}"
        )
    perm = np.random.default_rng([seed, 1]).permutation(n_train)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def batch_order(seed: int):
    """Generator of the per-epoch row permutations shared by every model."""
    return np.random.default_rng([seed, 2])


def batches(rng, n: int, batch_size: int) -> list:
    perm = torch.from_numpy(rng.permutation(n))
    return list(torch.split(perm, batch_size))


def prepare_problem(X, Y, gene_blocks, train_idx, cfg, n_members, targets_of_model, device) -> Problem:
    if not isinstance(X, np.ndarray) or X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
        raise InputFormatError(f"X: expected a numeric 2-D numpy array (N, P), got {type(X).__name__}")
    Y = _as_targets(Y)
    if Y.shape[0] != X.shape[0]:
        raise InputFormatError(f"Y: has {Y.shape[0]} rows but X has {X.shape[0]}")
    blocks = check_gene_blocks(gene_blocks, X.shape[1], min_genes=2, purpose="a gene interaction network")
    rows = _check_rows(train_idx, X.shape[0])
    if targets_of_model is None:
        targets = default_targets(Y.shape[1], n_members)
    else:
        targets = np.asarray(targets_of_model, dtype=np.int64).ravel()
        if targets.size == 0 or targets.min() < 0 or targets.max() >= Y.shape[1]:
            raise ParameterError(f"targets_of_model: expected 1+ column indices in [0, {Y.shape[1]})")
    fit_pos, val_pos = split_rows(rows.size, cfg.val_fraction, cfg.seed)
    fit_idx, val_idx = rows[fit_pos], rows[val_pos]
    cols = np.concatenate(blocks)
    x_fit, x_val = (np.ascontiguousarray(X[np.ix_(r, cols)], dtype=np.float32) for r in (fit_idx, val_idx))
    y_fit, y_val = (np.ascontiguousarray(Y[r].T, dtype=np.float64) for r in (fit_idx, val_idx))
    _check_finite("X", (x_fit, x_val), "impute missing genotypes")
    _check_finite("Y", (y_fit, y_val), "drop or impute missing phenotypes")
    used = np.unique(targets)
    flat = used[np.concatenate([y_fit[used], y_val[used]], axis=1).std(axis=1) == 0]
    if flat.size:
        raise ParameterError(f"Y: target column(s) {flat.tolist()} have zero variance in the training rows")

    def on_device(a):
        return torch.as_tensor(a, dtype=torch.float32).to(device)

    return Problem(
        x_fit=on_device(x_fit),
        y_fit=on_device(y_fit),
        x_val=on_device(x_val),
        y_val=on_device(y_val),
        gene_sizes=[b.size for b in blocks],
        gene_blocks=blocks,
        targets=targets,
        seeds=member_seeds(targets, cfg.seed),
        fit_idx=fit_idx,
        val_idx=val_idx,
    )
