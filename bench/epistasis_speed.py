"""Speed of paper B's architecture comparison: the batched trainer vs one network at a time.

The workload is the full 10 x 3 cross-validation of the four heads (logreg, biosparse,
dense, linear) on 4,000 individuals x 2,000 genes x 16 classes of random counts: 30 splits
x 4 heads = 120 networks. A full run (tens of epochs of 17 steps, ~157 GFLOP per step) is
hours on a 2-core CPU, so BOTH modes are timed on a few optimisation steps and extrapolated:

* batched: ALL 120 networks as one model (``gxapp.epistasis.train``), ``--steps`` timed
  steps after one warm-up step;
* one at a time: the same engine with one network (J = S = 1) - the networks of the first
  ``--single-splits`` split(s) (one per head) are timed for ``--steps`` steps after a
  warm-up step, and the time per head is multiplied by the 30 splits;
* the inner-validation forward pass (every epoch) is timed on a slice of the validation
  rows and scaled to all of them.

ratio = (one-at-a-time time) / (batched time) for the same number of epochs: both modes run
the same steps per epoch, so it is the ratio of per-epoch times.

FLOPs (useful work, the usual 3x-forward convention): per sample-epoch and network the
shared gene module costs 6 G (C*50 + 50) FLOP (~10.2 MFLOP for G = 2,000, C = 16) and the
heads 6 G (logreg), 6 (G + P) (biosparse, linear), 6 (G H + H) (dense, H = P hidden);
validation samples cost a third. (The trainer recomputes the gene module's forward pass in
the backward pass, so it executes ~4/3 of the gene-module FLOPs counted here.) The fraction
of peak compares this FLOP rate with a 4096^3 fp32 torch.matmul timed in the same run
with the same threads.

    python bench/epistasis_speed.py                 # the full shapes, 2 timed steps
    python bench/epistasis_speed.py --threads 1     # one thread
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

from gxapp.epistasis import models as M  # noqa: E402
from gxapp.epistasis.cv import make_splits  # noqa: E402
from gxapp.epistasis.genemodule import HIDDEN  # noqa: E402
from gxapp.epistasis.train import (  # noqa: E402
    EpiTrainConfig,
    RowGroup,
    _Batch,
    _pad,
    split_inner,
    torch_threads,
)
from gxapp.nn.optim import ADAM_BETAS, ADAM_EPS, StackedAdam  # noqa: E402


def peak_gflops(n: int = 4096, reps: int = 3) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def head_flops(spec, G, P) -> float:
    if spec.head == "logreg":
        return 6.0 * G
    if spec.head == "dense":
        return 6.0 * (G * spec.n_neurons + spec.n_neurons)
    return 6.0 * (G + P)


def time_steps(X, y, groups, specs, cfg, steps, batch):
    """Seconds per optimisation step (after one warm-up step) and per validation row-chunk."""
    net = _Batch(X, y, groups, specs, cfg)
    opt = StackedAdam(net.tensors, cfg.lr, ADAM_BETAS, ADAM_EPS, cfg.weight_decay, owners=net.owners, n_models=net.R)
    active = torch.ones(net.R, dtype=torch.bool)
    rngs = [np.random.default_rng(i) for i in range(len(groups))]
    perms = [g.fit[r.permutation(g.fit.size)] for g, r in zip(groups, rngs)]
    times = []
    for t in range(steps + 1):
        rows, wts = _pad([p[t * batch : (t + 1) * batch] for p in perms], batch)
        t0 = time.perf_counter()
        net.step(rows, wts, active, opt)
        if t:
            times.append(time.perf_counter() - t0)
    vrows, _ = _pad([g.val[:16] for g in groups], 16)
    t0 = time.perf_counter()
    net.logits(vrows)
    t_val16 = time.perf_counter() - t0
    return float(np.mean(times)), t_val16


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--classes", type=int, default=16)
    ap.add_argument("--pathways", type=int, default=100, help="random gene sets of 20 genes (+ 'other')")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--steps", type=int, default=2, help="timed steps per mode (after 1 warm-up step)")
    ap.add_argument("--single-splits", type=int, default=1, help="splits whose 4 networks are timed alone")
    ap.add_argument("--epochs", type=int, default=40, help="epochs of the extrapolated full run")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: every core)")
    ap.add_argument("--block", type=int, default=None, help="gene-module block size (activations)")
    args = ap.parse_args(argv)

    N, G, C = args.samples, args.genes, args.classes
    rng = np.random.default_rng(0)
    X = rng.poisson(1.0, size=(N, G, C)).astype(np.float32)
    y = (rng.random(N) < 0.5).astype(float)
    genes = [f"g{i}" for i in range(G)]
    pathways = {f"P{k}": [genes[j] for j in rng.choice(G, 20, replace=False)] for k in range(args.pathways)}
    wiring, names = M.pathway_wiring(genes, pathways, seed=0)
    P = len(names)
    specs = [
        M.logreg_spec(),
        M.sparse_spec(wiring, P),
        M.dense_spec(P),
        M.sparse_spec(wiring, P, name="linear", linear=True),
    ]
    cfg = EpiTrainConfig(threads=args.threads, **({"block_elements": args.block} if args.block else {}))
    splits = make_splits(y, args.folds, args.repeats, 0)
    groups = [RowGroup(key=(0, r, f), train=tr, test=te) for r, f, tr, te in splits]
    for g in groups:
        g.fit, g.val = split_inner(y, g.train, cfg.val_fraction, cfg.seed, g.key)
    J, S, b = len(groups), len(specs), cfg.batch_size
    n_fit = float(np.mean([g.fit.size for g in groups]))
    n_val = float(np.mean([g.val.size for g in groups]))
    steps_per_epoch = int(np.ceil(max(g.fit.size for g in groups) / b))
    gm = 6.0 * G * (C * HIDDEN + HIDDEN)
    per_sample = [gm + head_flops(s, G, P) for s in specs]  # train FLOP per sample, per head

    with torch_threads(args.threads):
        threads = torch.get_num_threads()
        peak = peak_gflops()
        print(
            f"machine: {os.cpu_count()} cores, torch threads={threads}, load average "
            f"{os.getloadavg()[0]:.2f} (other processes share the cores)"
        )
        print(f"peak_fp32_matmul={peak:.1f} GFLOP/s (4096^3 torch.matmul, best of 3)")
        print(
            f"workload: N={N} G={G} C={C} P={P} pathway neurons (dense H={P}); {args.repeats}x{args.folds} CV -> "
            f"{J} splits x {S} heads = {J * S} networks; batch {b}, {steps_per_epoch} steps/epoch, "
            f"{n_fit:.0f} fitting + {n_val:.0f} validation rows per split"
        )
        print(
            f"FLOP per training sample-epoch: gene module 6*G*(C*50+50) = {gm / 1e6:.2f} MFLOP; heads "
            + ", ".join(f"{s.name} {head_flops(s, G, P) / 1e6:.3f}" for s in specs)
            + " MFLOP"
        )

        # ---- batched
        t_step, t_val16 = time_steps(X, y, groups, specs, cfg, args.steps, b)
        flop_step = b * J * sum(per_sample)
        t_val = t_val16 * n_val / 16
        epoch_b = steps_per_epoch * t_step + t_val
        print(
            f"batched ({J * S} networks in one model): {t_step:.2f} s/step over {args.steps} timed steps, "
            f"{flop_step / t_step / 1e9:.2f} GFLOP/s = {flop_step / t_step / 1e9 / peak:.1%} of peak; "
            f"validation pass {t_val:.1f} s/epoch (timed on 16 rows/split, scaled)"
        )

        # ---- one at a time (a subset, scaled)
        per_head = np.zeros(S)
        per_head_val = np.zeros(S)
        k = max(1, min(args.single_splits, J))
        for j in range(k):
            for s, spec in enumerate(specs):
                ts, tv = time_steps(X, y, [groups[j]], [spec], cfg, args.steps, b)
                per_head[s] += ts / k
                per_head_val[s] += tv / k
        t_single = J * per_head.sum()
        t_single_val = J * per_head_val.sum() * n_val / 16
        epoch_s = steps_per_epoch * t_single + t_single_val
        print(
            f"one at a time: {', '.join(f'{sp.name} {t:.3f}' for sp, t in zip(specs, per_head))} s/step "
            f"(timed on {k} split(s) x {S} heads = {k * S} of the {J * S} networks, x{J} splits); "
            f"{J * b * sum(per_sample) / t_single / 1e9:.2f} GFLOP/s = "
            f"{J * b * sum(per_sample) / t_single / 1e9 / peak:.1%} of peak"
        )
        ratio = epoch_s / epoch_b
        print(f"per epoch: batched {epoch_b:.0f} s, one at a time {epoch_s:.0f} s (extrapolated)")
        print(
            f"full {args.repeats}x{args.folds} CV of the 4 heads, {args.epochs} epochs (no early stop): batched "
            f"{args.epochs * epoch_b / 3600:.2f} h, one at a time {args.epochs * epoch_s / 3600:.2f} h "
            "(extrapolated)"
        )
        print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
