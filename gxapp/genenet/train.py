"""Batched training of many gene interaction networks at once (SPEC §4).

All models (ensemble members x targets) share ``X``; only their target column and
initialisation differ. They are trained as ONE batched model (see
:mod:`gxapp.models`): every step reads the minibatch of ``X`` once, and the loss
is the SUM of the models' losses, so each model's gradient is exactly its
gradient alone. Adam is written out as elementwise ops on the stacked
parameters (same formula as ``torch.optim.Adam``) so its state can be sliced per
model. Each model early-stops on its own validation MSE; stopped models are
dropped from the active set (parameters and Adam state are compacted), so the
cost of an epoch scales with the models still training. Each model's best
weights are restored at the end.

:func:`train_single_reference` trains the same models one at a time with
``nn.Linear`` modules and ``torch.optim.Adam``; tests use it to prove that the
batched engine computes the same thing.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import nn

from gxapp.errors import InputFormatError, ParameterError
from gxapp.nn.memory import TrainingMemoryError, memory_errors  # noqa: F401 (re-exported)
from gxapp.nn.optim import ADAM_BETAS, ADAM_EPS, StackedAdam
from gxapp.nn.threads import resolve_threads as _resolve_threads
from gxapp.nn.threads import torch_threads
from gxapp.genenet.models import (
    NetConfig,
    Params,
    activation_bytes_per_row,
    concat_models,
    count_models,
    forward,
    init_params,
    map_params,
    slice_models,
    split_columns,
    tensors,
    weight_tensors,
)
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report

# Default L1 strength for targets with variance ~1 (the inverse-normal
# transformed phenotype of SPEC §2). At 1e-3 the penalty of a freshly initialised
# 10-gene x 50-SNP network is ~0.5, half the MSE of predicting the mean. Held-out
# R^2 of 4-member ensembles on the "complex" simulator (10 genes x 30 SNPs) for
# l1 = 0 / 1e-4 / 1e-3 / 1e-2: S/N 0.1, N 30k: .029 / .040 / .015 / .000;
# S/N 0.5, N 8k: .164 / .167 / .179 / .000; S/N 1, N 8k: .293 / .299 / .298 / .000.
# 1e-4 is never far from the best and keeps the paper's default weak signal
# (S/N 0.1) that 1e-3 shrinks away. The paper cross-validates it.
DEFAULT_L1 = 1e-4
# CPU threads when TrainConfig.threads is None: every core this process may use
# but one, at least 1 (1 on the 2-core development machine). Measured there with
# `bench/train_throughput.py --compare-threads` and interleaved 1-vs-2-thread runs
# (E=50, N=20,000, 10 genes x 50 SNPs; model-epochs/s): on an idle machine 2
# threads are ~1.5x faster (57.1 vs 37.9, medians of 3), but whenever another
# process keeps a core busy they collapse (median 6.6 vs 31.2 over 6 pairs at
# load ~4.3; 5.8 vs 33.8 in another run), because every parallel op waits for the
# descheduled thread. Over all 17 pairs 1 thread was never below ~25 while 2
# threads ranged 1.9-66. Leaving one core free keeps the engine fast next to the
# UI and other jobs; pass threads explicitly on a dedicated machine.
DEFAULT_THREADS = None
CPU_ACTIVATION_BYTES = 64 << 20
GPU_ACTIVATION_BYTES = 4 << 30


@dataclass
class TrainConfig:
    """Optimisation settings (paper A defaults where it gives them).

    ``l1``: L1 strength on all weights (not biases), for targets of variance ~1.
    ``batch_size``: rows per step (all fitting rows when fewer).
    ``val_fraction``: share of the TRAINING rows held out for early stopping.
    ``device``: "auto" (cuda if available else cpu), "cpu", "cuda" or "cuda:N".
    ``threads``: CPU torch threads while training (None: all cores but one, at
    least 1; see DEFAULT_THREADS for the 1-vs-2-thread measurement).
    ``max_activation_bytes``: activation budget; larger batches are processed in
    row chunks whose gradients are accumulated (same result up to rounding).
    None: 64 MiB on the CPU (chunks stay in the last-level cache: 64 MiB was the
    fastest of 16 MiB-4 GiB on the 2-core development machine, 2x faster than
    512 MiB), 4 GiB on a GPU (few large kernels).
    """

    l1: float = DEFAULT_L1
    lr: float = 0.005
    batch_size: int = 30_000
    max_epochs: int = 200
    patience: int = 10
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    threads: Optional[int] = DEFAULT_THREADS
    max_activation_bytes: Optional[int] = None

    def validate(self) -> "TrainConfig":
        _check_number("l1", self.l1, low=0.0)
        _check_number("lr", self.lr, low=0.0, low_open=True)
        _check_number("val_fraction", self.val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
        for name in ("batch_size", "max_epochs", "patience"):
            _check_int(name, getattr(self, name), low=1)
        if self.max_activation_bytes is not None:
            _check_int("max_activation_bytes", self.max_activation_bytes, low=1)
        _check_int("seed", self.seed, low=0)
        if self.threads is not None:
            _check_int("threads", self.threads, low=1)
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")
        ):
            raise ParameterError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        return self


def _check_number(name, v, low, high=math.inf, low_open=False, high_open=False) -> None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo, hi = ("(" if low_open else "[") + f"{low:g}", f"{high:g}" + (")" if high_open else "]")
        raise ParameterError(f"{name}: expected a finite number in {lo}, {hi}, got {v!r}")


def _check_int(name, v, low) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ParameterError(f"{name}: expected an integer >= {low}, got {v!r}")


def resolve_device(name: str) -> torch.device:
    """"auto" -> cuda when available, else cpu; a CUDA request without a GPU fails."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("device: CUDA requested but no GPU is available")
    return torch.device(name)


def activation_budget(cfg: "TrainConfig", device: torch.device) -> int:
    """``cfg.max_activation_bytes``, or the device's default when None."""
    if cfg.max_activation_bytes is not None:
        return int(cfg.max_activation_bytes)
    return GPU_ACTIVATION_BYTES if device.type == "cuda" else CPU_ACTIVATION_BYTES


def resolve_threads(threads: Optional[int]) -> int:
    """``threads``, or all cores this process may use but one (at least 1)."""
    return _resolve_threads(threads, 1)


def _memory_errors(n_models: int, batch: int, device: torch.device):
    """Turn allocation failures into a TrainingMemoryError that says what to lower."""
    return memory_errors(
        f"out of memory training {n_models} models on batches of {batch} rows on {device}: "
        "train fewer models at once (n_members or fewer targets), or lower batch_size "
        "or max_activation_bytes"
    )


# ---------------------------------------------------------------- data preparation


@dataclass
class _Problem:
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


def _check_blocks(gene_blocks, n_cols: int) -> list:
    blocks = [np.asarray(b, dtype=np.int64).ravel() for b in gene_blocks]
    if len(blocks) < 2:
        raise ParameterError(
            f"gene_blocks: a gene interaction network needs at least 2 genes, got {len(blocks)}"
        )
    for i, b in enumerate(blocks):
        if b.size == 0 or b.min() < 0 or b.max() >= n_cols:
            raise ParameterError(f"gene_blocks[{i}]: expected 1+ SNP column indices in [0, {n_cols}), got {b!r}")
    return blocks


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
    _check_int("n_members", n_members, low=1)
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


def _batch_order(seed: int):
    """Generator of the per-epoch row permutations shared by every model."""
    return np.random.default_rng([seed, 2])


def _batches(rng, n: int, batch_size: int) -> list:
    perm = torch.from_numpy(rng.permutation(n))
    return list(torch.split(perm, batch_size))


def _prepare(X, Y, gene_blocks, train_idx, cfg, n_members, targets_of_model, device) -> _Problem:
    if not isinstance(X, np.ndarray) or X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
        raise InputFormatError(f"X: expected a numeric 2-D numpy array (N, P), got {type(X).__name__}")
    Y = _as_targets(Y)
    if Y.shape[0] != X.shape[0]:
        raise InputFormatError(f"Y: has {Y.shape[0]} rows but X has {X.shape[0]}")
    blocks = _check_blocks(gene_blocks, X.shape[1])
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

    return _Problem(
        x_fit=on_device(x_fit), y_fit=on_device(y_fit), x_val=on_device(x_val), y_val=on_device(y_val),
        gene_sizes=[b.size for b in blocks], gene_blocks=blocks, targets=targets,
        seeds=member_seeds(targets, cfg.seed), fit_idx=fit_idx, val_idx=val_idx,
    )


# ---------------------------------------------------------------- batched engine


def _chunk_rows(n_models: int, prob: _Problem, net: NetConfig, budget: int) -> int:
    per_row = activation_bytes_per_row(n_models, len(prob.gene_sizes), net) + 4 * prob.x_fit.shape[1]
    return max(1, budget // per_row)


def _l1(params: Params) -> torch.Tensor:
    return sum(w.abs().sum() for w in weight_tensors(params))


def _leaf(params: Params) -> Params:
    return map_params(params, lambda t: t.detach().requires_grad_(True))


def _train_step(params, opt, xb, yb, gene_sizes, net, l1, chunk) -> torch.Tensor:
    """One Adam step on a minibatch, in row chunks; returns each model's minibatch
    MSE (before the step), shape (K,)."""
    n = xb.shape[0]
    sq = torch.zeros(yb.shape[0], device=xb.device)
    for c, start in enumerate(range(0, n, chunk)):
        xc, yc = xb[start:start + chunk], yb[:, start:start + chunk]
        out, _ = forward(params, split_columns(xc, gene_sizes), net)
        sq_c = (out - yc).square().sum(1)
        loss = sq_c.sum() / n
        if c == 0 and l1:
            loss = loss + l1 * _l1(params)
        loss.backward()
        sq += sq_c.detach()
    opt.step(tensors=tensors(params))
    for p in tensors(params):
        p.grad = None
    return sq / n


@torch.no_grad()
def _predict_rows(params: Params, x: torch.Tensor, gene_sizes, net: NetConfig, chunk: int) -> torch.Tensor:
    """Predictions ``(K, n)`` of every model, ``chunk`` rows at a time."""
    outs = [forward(params, split_columns(x[s:s + chunk], gene_sizes), net)[0] for s in range(0, x.shape[0], chunk)]
    return torch.cat(outs, dim=1)


def _val_mse(params, prob: _Problem, targets: torch.Tensor, net, chunk) -> torch.Tensor:
    pred = _predict_rows(params, prob.x_val, prob.gene_sizes, net, chunk)
    return (pred - prob.y_val.index_select(0, targets)).square().mean(1)


@dataclass
class _EarlyStopping:
    """Per-model best validation loss, best epoch, best weights (all K models)."""

    best_params: Params
    best_val: np.ndarray
    best_epoch: np.ndarray
    epochs_run: np.ndarray

    @classmethod
    def start(cls, params: Params) -> "_EarlyStopping":
        K = count_models(params)
        return cls(map_params(params, lambda t: t.detach().clone()), np.full(K, np.inf),
                   np.zeros(K, np.int64), np.zeros(K, np.int64))

    @torch.no_grad()
    def update(self, epoch: int, active: np.ndarray, params: Params, val: np.ndarray, patience: int) -> np.ndarray:
        """Record ``epoch`` for the ``active`` models; copy the improved models'
        weights; return a mask (over ``active``) of the models that go on."""
        improved = val < self.best_val[active]
        if improved.any():
            src = torch.as_tensor(np.flatnonzero(improved), device=params["bo"].device)
            dst = torch.as_tensor(active[improved], device=params["bo"].device)
            for best, p in zip(tensors(self.best_params), tensors(params)):
                best.index_copy_(0, dst, p.detach().index_select(0, src))
            self.best_val[active[improved]] = val[improved]
            self.best_epoch[active[improved]] = epoch
        self.epochs_run[active] = epoch
        return epoch - self.best_epoch[active] < patience


@dataclass
class TrainResult:
    """Trained models (best weights, all K in their original order) and records.

    ``train_loss``/``val_loss``: (epochs, K) per-epoch minibatch-averaged training
    MSE and validation MSE (NaN once a model stopped). ``best_epoch``/``epochs_run``
    are 1-based. ``train_idx`` are the fitting rows; ``val_idx`` the held-out
    training rows used for early stopping.
    """

    params: Params
    net: NetConfig
    cfg: TrainConfig
    gene_blocks: list
    targets_of_model: np.ndarray
    seeds: list
    best_epoch: np.ndarray
    epochs_run: np.ndarray
    best_val: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    seconds: float
    device: str
    threads: int

    @property
    def n_models(self) -> int:
        return int(self.targets_of_model.size)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of every model, ``(K, N)`` float32, in row chunks, on the CPU."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] <= max(int(b.max()) for b in self.gene_blocks):
            raise InputFormatError(f"X: expected (N, P) with P covering the gene blocks, got shape {X.shape}")
        x = torch.from_numpy(np.ascontiguousarray(X[:, np.concatenate(self.gene_blocks)], dtype=np.float32))
        per_row = activation_bytes_per_row(self.n_models, len(self.gene_blocks), self.net) + 4 * x.shape[1]
        chunk = max(1, activation_budget(self.cfg, torch.device("cpu")) // per_row)
        with torch_threads(resolve_threads(self.cfg.threads)):
            out = _predict_rows(self.params, x, [b.size for b in self.gene_blocks], self.net, chunk)
        return out.numpy()

    def state_dict(self) -> dict:
        """Plain tensors, strings and numbers only: ``torch.save`` it and read it
        back with ``torch.load(weights_only=True)``."""
        return {
            "format": "gxapp.train/1",
            "params": self.params,
            "net": asdict(self.net),
            "cfg": asdict(self.cfg),
            "gene_blocks": [torch.from_numpy(b) for b in self.gene_blocks],
            "targets_of_model": torch.from_numpy(self.targets_of_model),
            "seeds": torch.tensor(self.seeds, dtype=torch.int64),
            "best_epoch": torch.from_numpy(self.best_epoch),
            "epochs_run": torch.from_numpy(self.epochs_run),
            "best_val": torch.from_numpy(self.best_val),
            "train_loss": torch.from_numpy(self.train_loss),
            "val_loss": torch.from_numpy(self.val_loss),
            "train_idx": torch.from_numpy(self.train_idx),
            "val_idx": torch.from_numpy(self.val_idx),
            "seconds": float(self.seconds),
            "device": self.device,
            "threads": int(self.threads),
        }

    @classmethod
    def from_state_dict(cls, sd: dict) -> "TrainResult":
        if not isinstance(sd, dict) or sd.get("format") != "gxapp.train/1":
            raise InputFormatError("state_dict: not a gxapp training result (format 'gxapp.train/1')")
        arrays = ("targets_of_model", "best_epoch", "epochs_run", "best_val", "train_loss", "val_loss",
                  "train_idx", "val_idx")
        return cls(
            params=sd["params"], net=NetConfig(**sd["net"]), cfg=TrainConfig(**sd["cfg"]),
            gene_blocks=[b.numpy() for b in sd["gene_blocks"]], seeds=sd["seeds"].tolist(),
            seconds=sd["seconds"], device=sd["device"], threads=sd["threads"],
            **{k: sd[k].numpy() for k in arrays},
        )


def _curves(rows: list, K: int) -> np.ndarray:
    """Stack per-epoch {model: value} records into (epochs, K), NaN elsewhere."""
    out = np.full((len(rows), K), np.nan)
    for e, (active, values) in enumerate(rows):
        out[e, active] = values
    return out


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
) -> TrainResult:
    """Train ``K`` networks at once and return their best (early-stopped) weights.

    ``X`` (N, P) float32 genotypes (centred, no missing values); ``Y`` (N,) or
    (N, T) targets; ``gene_blocks[i]``: SNP columns of gene ``i``; ``train_idx``:
    the rows to learn from (a ``cfg.val_fraction`` share of them is held out for
    early stopping). By default each target gets ``n_members`` models
    (K = T * n_members, see :func:`default_targets`); ``targets_of_model`` (K,)
    overrides that. Loss of each model: MSE + l1 * sum |weights|.
    """
    net.validate()
    cfg.validate()
    device = resolve_device(cfg.device)
    threads = resolve_threads(cfg.threads)
    t0 = time.perf_counter()
    prob = _prepare(X, Y, gene_blocks, train_idx, cfg, n_members, targets_of_model, device)
    K = prob.targets.size
    with torch_threads(threads), _memory_errors(K, min(cfg.batch_size, prob.x_fit.shape[0]), device):
        stop, train_rows, val_rows = _run(prob, net, cfg, device, progress, cancel)
    return TrainResult(
        params=map_params(stop.best_params, lambda t: t.detach().cpu()), net=net, cfg=cfg,
        gene_blocks=prob.gene_blocks, targets_of_model=prob.targets, seeds=prob.seeds,
        best_epoch=stop.best_epoch, epochs_run=stop.epochs_run, best_val=stop.best_val,
        train_loss=_curves(train_rows, K), val_loss=_curves(val_rows, K),
        train_idx=prob.fit_idx, val_idx=prob.val_idx, seconds=time.perf_counter() - t0,
        device=str(device), threads=threads,
    )


def _run(prob: _Problem, net: NetConfig, cfg: TrainConfig, device, progress, cancel):
    """The epoch loop over the shrinking active set of models."""
    K = prob.targets.size
    params = _leaf(init_params(prob.gene_sizes, K, net, prob.seeds, device))
    opt = StackedAdam(tensors(params), cfg.lr)
    stop = _EarlyStopping.start(params)
    active = np.arange(K)
    targets = torch.as_tensor(prob.targets, device=device)
    order = _batch_order(cfg.seed)
    train_rows, val_rows = [], []
    n_fit = prob.x_fit.shape[0]
    for epoch in range(1, cfg.max_epochs + 1):
        chunk = _chunk_rows(active.size, prob, net, activation_budget(cfg, device))
        mse_sum = torch.zeros(active.size, device=device)
        for rows in _batches(order, n_fit, cfg.batch_size):
            check_cancel(cancel)
            rows = rows.to(device)
            yb = prob.y_fit.index_select(1, rows).index_select(0, targets)
            batch_mse = _train_step(params, opt, prob.x_fit.index_select(0, rows), yb, prob.gene_sizes, net,
                                    cfg.l1, chunk)
            mse_sum += batch_mse * rows.numel()
        val = _val_mse(params, prob, targets, net, chunk).cpu().numpy().astype(np.float64)
        train_rows.append((active, (mse_sum / n_fit).cpu().numpy()))
        val_rows.append((active, val))
        go_on = stop.update(epoch, active, params, val, cfg.patience)
        report(progress, epoch / cfg.max_epochs,
               f"epoch {epoch}/{cfg.max_epochs}: {int(go_on.sum())} of {K} models training, "
               f"best val MSE {np.min(stop.best_val):.4g}")
        if not go_on.any():
            break
        if not go_on.all():
            keep = torch.as_tensor(np.flatnonzero(go_on), device=device)
            params = _leaf(slice_models(params, keep))
            opt.keep(keep)
            targets = targets.index_select(0, keep)
            active = active[go_on]
    report(progress, 1.0, f"trained {K} models")
    return stop, train_rows, val_rows


# ---------------------------------------------------------------- reference (tests only)


class _SingleNet(nn.Module):
    """One network with nn.Linear layers: the obviously-correct reference."""

    def __init__(self, gene_sizes: Sequence[int], net: NetConfig):
        super().__init__()
        h, H, M = net.gene_hidden, net.head_hidden, len(gene_sizes)
        self.h, self.H = h, H
        self.gene_in = nn.ModuleList(nn.Linear(m, h or 1) for m in gene_sizes)
        self.gene_out = nn.ModuleList(nn.Linear(h, 1) for _ in gene_sizes) if h else None
        self.head_in = nn.Linear(M, H) if H else None
        self.head_out = nn.Linear(H or M, 1)

    def forward(self, blocks: Sequence[torch.Tensor]) -> torch.Tensor:
        genes = []
        for i, x in enumerate(blocks):
            g = self.gene_in[i](x)
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


def _train_one(prob: _Problem, k: int, net: NetConfig, cfg: TrainConfig) -> _SingleRun:
    """Model ``k`` alone: torch.optim.Adam, the same batches and early stopping."""
    model = _SingleNet(prob.gene_sizes, net).load(init_params(prob.gene_sizes, 1, net, [prob.seeds[k]]))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=ADAM_BETAS, eps=ADAM_EPS, foreach=False)
    x_fit, x_val = prob.x_fit.cpu(), prob.x_val.cpu()
    y_fit, y_val = prob.y_fit[prob.targets[k]].cpu(), prob.y_val[prob.targets[k]].cpu()
    order = _batch_order(cfg.seed)
    best, best_val, best_epoch, train_curve, val_curve = model.export(), math.inf, 0, [], []
    for epoch in range(1, cfg.max_epochs + 1):
        total = 0.0
        for rows in _batches(order, x_fit.shape[0], cfg.batch_size):
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
    X, Y, gene_blocks, train_idx, net: NetConfig, cfg: TrainConfig, n_members: int,
    targets_of_model=None,
) -> TrainResult:
    """Slow reference for tests and benchmarks: each model trained alone as an
    ``nn.Module`` with ``torch.optim.Adam`` (CPU), the same initialisation, split,
    batches and early stopping as :func:`train_ensemble`."""
    net.validate()
    cfg.validate()
    threads = resolve_threads(cfg.threads)
    t0 = time.perf_counter()
    prob = _prepare(X, Y, gene_blocks, train_idx, cfg, n_members, targets_of_model, torch.device("cpu"))
    K = prob.targets.size
    with torch_threads(threads):
        runs = [_train_one(prob, k, net, cfg) for k in range(K)]
    n_epochs = max(r.epochs_run for r in runs)
    train_loss, val_loss = np.full((n_epochs, K), np.nan), np.full((n_epochs, K), np.nan)
    for k, r in enumerate(runs):
        train_loss[: r.epochs_run, k], val_loss[: r.epochs_run, k] = r.train_curve, r.val_curve
    return TrainResult(
        params=concat_models([r.params for r in runs]), net=net, cfg=cfg, gene_blocks=prob.gene_blocks,
        targets_of_model=prob.targets, seeds=prob.seeds,
        best_epoch=np.array([r.best_epoch for r in runs], np.int64),
        epochs_run=np.array([r.epochs_run for r in runs], np.int64),
        best_val=np.array([r.best_val for r in runs]), train_loss=train_loss, val_loss=val_loss,
        train_idx=prob.fit_idx, val_idx=prob.val_idx, seconds=time.perf_counter() - t0,
        device="cpu", threads=threads,
    )
