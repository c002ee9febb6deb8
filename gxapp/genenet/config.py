"""Paper A's training settings (:class:`TrainConfig`) and where they run (device,
threads, activation budget)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from gxapp.errors import ParameterError
from gxapp.nn.threads import resolve_threads as _resolve_threads
from gxapp.params import Integral, Interval, Params, Real

__all__ = [
    "DEFAULT_L1",
    "DEFAULT_THREADS",
    "MIN_BATCH",
    "STEPS_PER_EPOCH",
    "CPU_ACTIVATION_BYTES",
    "GPU_ACTIVATION_BYTES",
    "TrainConfig",
    "resolve_batch",
    "resolve_device",
    "resolve_threads",
    "activation_budget",
]

# Default L1 strength for targets with variance ~1 (the inverse-normal
# transformed phenotype of docs/method.md#preprocessing). At 1e-3 the penalty of a freshly initialised
# 10-gene x 50-SNP network is ~0.5, half the MSE of predicting the mean. Held-out
# R^2 of 4-member ensembles on the "complex" simulator (10 genes x 30 SNPs) for
# l1 = 0 / 1e-4 / 1e-3 / 1e-2: S/N 0.1, N 30k: .029 / .040 / .015 / .000;
# S/N 0.5, N 8k: .164 / .167 / .179 / .000; S/N 1, N 8k: .293 / .299 / .298 / .000.
# 1e-4 is never far from the best and keeps the paper's default weak signal
# (S/N 0.1) that 1e-3 shrinks away. The paper cross-validates it.
DEFAULT_L1 = 1e-4
# Adam steps per epoch when TrainConfig.batch_size is None: the batch is the fitting rows / 50
# (at least MIN_BATCH). A constant batch (paper A's 30,000, set for ~300k UK Biobank rows) gives a
# cohort of 20,000 one step per epoch and undertrained networks. Chosen by bench/recipe_study.py
# (bench/README.md, "Training recipe"): at N = 20,000, complex scenario, S/N 0.25, E = 10, 7 seeds,
# 25, 50, 100 and 200 steps per epoch gave the same AP within noise, 50 the fastest of them.
STEPS_PER_EPOCH = 50
MIN_BATCH = 32
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
SPARE_CORES = 1
CPU_ACTIVATION_BYTES = 64 << 20
GPU_ACTIVATION_BYTES = 4 << 30

_POSITIVE_INT = [Interval(Integral, 1, None)]


def _is_device(v) -> bool:
    return isinstance(v, str) and (v in ("auto", "cpu", "cuda") or v.startswith("cuda:"))


@dataclass
class TrainConfig(Params):
    """Optimisation settings (paper A defaults where it gives them).

    ``l1``: L1 strength on all weights (not biases), for targets of variance ~1.
    ``batch_size``: rows per Adam step (all fitting rows when fewer); None: the fitting rows /
    STEPS_PER_EPOCH, at least MIN_BATCH, so every cohort size gets the same number of steps per epoch
    (:func:`resolve_batch`).
    ``val_fraction``: share of the TRAINING rows held out for early stopping (10 %: with the
    10 % test split, 81 % of a cohort fits the networks; bench/README.md, "Training recipe").
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
    batch_size: Optional[int] = None
    max_epochs: int = 200
    patience: int = 10
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    threads: Optional[int] = DEFAULT_THREADS
    max_activation_bytes: Optional[int] = None

    _parameter_constraints = {
        "l1": [Interval(Real, 0, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "val_fraction": [Interval(Real, 0, 1, closed="neither")],
        "batch_size": [None] + _POSITIVE_INT,
        "max_epochs": _POSITIVE_INT,
        "patience": _POSITIVE_INT,
        "max_activation_bytes": [None] + _POSITIVE_INT,
        "seed": [Interval(Integral, 0, None)],
        "threads": [None] + _POSITIVE_INT,
    }
    EXECUTION_ONLY = ("device", "threads")

    def _check(self) -> None:
        if not _is_device(self.device):
            raise ParameterError(f"device: expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")


def resolve_batch(cfg: TrainConfig, n_fit: int) -> int:
    """Rows per Adam step for ``n_fit`` fitting rows: ``cfg.batch_size``, or the automatic rule."""
    if cfg.batch_size is not None:
        return int(cfg.batch_size)
    return max(MIN_BATCH, int(round(n_fit / STEPS_PER_EPOCH)))


def resolve_device(name: str) -> torch.device:
    """ "auto" -> cuda when available, else cpu; a CUDA request without a GPU fails."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError("device: CUDA requested but no GPU is available")
    return torch.device(name)


def resolve_threads(threads: Optional[int]) -> int:
    """``threads``, or all cores this process may use but one (at least 1)."""
    return _resolve_threads(threads, SPARE_CORES)


def activation_budget(cfg: TrainConfig, device: torch.device) -> int:
    """``cfg.max_activation_bytes``, or the device's default when None."""
    if cfg.max_activation_bytes is not None:
        return int(cfg.max_activation_bytes)
    return GPU_ACTIVATION_BYTES if device.type == "cuda" else CPU_ACTIVATION_BYTES
