"""Training throughput: the batched engine (gxapp.genenet.train.train_ensemble) vs a
per-model Python loop (tests/reference/train.py train_single_reference: one nn.Module and one
torch.optim.Adam per model), same architecture, hyper-parameters, batches and
epochs; early stopping is disabled (patience = epochs) so both run every epoch.

    python bench/train_throughput.py                       # E=50, N=20,000, 10 genes x 50 SNPs, 3 epochs
    python bench/train_throughput.py --epochs 2 --members 10 --n 5000
    python bench/train_throughput.py --compare-threads     # batched engine at 1 and at 2 threads too

Speeds are model-epochs per second (one model seeing all fitting rows once, plus
its validation pass). FLOPs per model-sample: the forward pass costs
F = 2*(P*h + M*h + M*H + H) multiply-adds x2 (gene layer P*h, gene node M*h,
head M*H + H); a training sample costs ~3F (forward + backward), a validation
sample F. The fraction of peak compares the batched engine's FLOP rate with a
large fp32 torch.matmul timed in the same run with the same threads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # reference implementations

from gxapp.genenet.models import NetConfig  # noqa: E402
from gxapp.genenet.train import (  # noqa: E402
    TrainConfig,
    resolve_threads,
    torch_threads,
    train_ensemble,
)

from reference.train import train_single_reference  # noqa: E402


def make_data(n: int, n_genes: int, snps_per_gene: int, seed: int = 0):
    """Centred binomial genotypes and y = g1*g2 + g3 + noise."""
    rng = np.random.default_rng(seed)
    p = n_genes * snps_per_gene
    x = rng.binomial(2, rng.uniform(0.05, 0.5, p), size=(n, p)).astype(np.float32)
    x -= x.mean(0)
    blocks = [np.arange(i * snps_per_gene, (i + 1) * snps_per_gene) for i in range(n_genes)]
    g = np.stack([x[:, b[:5]].sum(1) for b in blocks[:3]], 1)
    g = (g - g.mean(0)) / g.std(0)
    y = g[:, 0] * g[:, 1] + g[:, 2] + rng.normal(0, 1.5, n)
    return x, y, blocks


def forward_flops(p: int, m: int, net: NetConfig) -> int:
    """Multiply-add FLOPs of one model's forward pass on one sample."""
    h, H = net.gene_hidden, net.head_hidden
    gene = 2 * p * max(h, 1) + (2 * m * h if h else 0)
    head = 2 * (m * H + H) if H else 2 * m
    return gene + head


def matmul_peak(threads: int, size: int = 2048, reps: int = 10) -> float:
    """Best fp32 matmul GFLOP/s over ``reps`` runs."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = np.inf
    with torch_threads(threads):
        torch.matmul(a, b)
        for _ in range(reps):
            t = time.perf_counter()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=50)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--genes", type=int, default=10)
    ap.add_argument("--snps-per-gene", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: TrainConfig's default)")
    ap.add_argument("--compare-threads", action="store_true", help="also time the batched engine at 1 and 2 threads")
    args = ap.parse_args()

    x, y, blocks = make_data(args.n, args.genes, args.snps_per_gene)
    net = NetConfig()
    cfg = TrainConfig(max_epochs=args.epochs, patience=args.epochs, threads=args.threads)
    threads = resolve_threads(cfg.threads)
    train_idx = np.arange(args.n)
    K = args.members
    print(
        f"E={K} members, N={args.n} ({args.n - round(cfg.val_fraction * args.n)} fitting rows/epoch), "
        f"{args.genes} genes x {args.snps_per_gene} SNPs, h={net.gene_hidden}, H={net.head_hidden}, "
        f"batch {cfg.batch_size}, {args.epochs} epochs, torch threads={threads}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    batched = train_ensemble(x, y, blocks, train_idx, net, cfg, K)
    loop = train_single_reference(x, y, blocks, train_idx, net, cfg, K)
    model_epochs = K * args.epochs
    speed_b, speed_l = model_epochs / batched.seconds, model_epochs / loop.seconds
    print(f"batched: {batched.seconds:.2f} s, {speed_b:.2f} model-epochs/s")
    print(f"loop:    {loop.seconds:.2f} s, {speed_l:.2f} model-epochs/s")
    print(f"ratio={speed_b / speed_l:.2f}")

    f = forward_flops(x.shape[1], args.genes, net)
    n_fit, n_val = batched.train_idx.size, batched.val_idx.size
    flops = model_epochs * (3 * f * n_fit + f * n_val)
    peak = matmul_peak(threads)
    rate = flops / batched.seconds / 1e9
    print(f"FLOPs per model-sample: forward F={f:,} (2*(P*h + M*h + M*H + H)), training 3F={3 * f:,}")
    print(
        f"batched engine: {rate:.1f} GFLOP/s = {rate / peak:.1%} of measured fp32 matmul peak "
        f"{peak:.1f} GFLOP/s (2048^3 torch.matmul, {threads} threads)"
    )

    diff = np.nanmax(np.abs(batched.val_loss - loop.val_loss))
    same = np.allclose(batched.val_loss, loop.val_loss, rtol=1e-4, atol=1e-5, equal_nan=True)
    print(f"same losses: {same} (max |val loss difference| {diff:.2e})")

    print(f"load average after: {os.getloadavg()[0]:.2f}")

    if args.compare_threads:
        speeds = {1: [], 2: []}
        for _ in range(3):  # interleaved, so load from other processes hits both alike
            for t in speeds:
                r = train_ensemble(
                    x,
                    y,
                    blocks,
                    train_idx,
                    net,
                    TrainConfig(max_epochs=args.epochs, patience=args.epochs, threads=t),
                    K,
                )
                speeds[t].append(model_epochs / r.seconds)
        for t, v in speeds.items():
            print(
                f"batched with {t} thread(s): model-epochs/s {', '.join(f'{s:.1f}' for s in v)} "
                f"(median {np.median(v):.1f})"
            )


if __name__ == "__main__":
    main()
