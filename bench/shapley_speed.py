"""Exact Shapley interaction scores: the fast kernel (gxapp.genenet.shapley.exact) vs
direct enumeration that runs the whole head on masked gene nodes.

    python bench/shapley_speed.py                      # 10 genes, 2,000 individuals, 50 members, H = 100
    python bench/shapley_speed.py --train-epochs 3     # briefly trained networks instead of random ones
    python bench/shapley_speed.py --threads 1

Three ways to get the global score ``mean_x |SII_ij(x)|`` of every pair, every
member:

* fast: :func:`gxapp.genenet.shapley.exact_scores` — pre-activations of all 2^M
  coalitions by bit-DP, only the hidden units that can interact, one product with
  the fixed (2^M x pairs) weight matrix. Timed on everything.
* direct: the whole head (matmul M x H, ReLU, output layer) on the 2^M masked
  gene-node vectors of every individual, then the same weight-matrix product:
  the fastest vectorised form of "run the head on every coalition" we found
  (see :func:`direct_scores`). Timed on ``--ref-rows`` individuals x
  ``--ref-members`` members and scaled linearly to the full problem.
* per-pair: the reference loop vectorised — for each pair, the head on the 4
  x 2^(M-2) masked inputs of its δ terms — timed on a smaller subset and scaled.

The networks are freshly initialised (gene layer ``--gene-hidden``, head H) or
trained for ``--train-epochs`` epochs on y = g1*g2 + g3 + noise; gene nodes come
from random centred genotypes (``--snps`` per gene). Timings are wall-clock
seconds (the best of ``--repeat`` runs); the 2-core development machine is
shared, so the CPU seconds of this process are printed as well.

**Many genes** (``--many-genes 14,65,100``): networks trained with gxapp's defaults
(E = ``--members`` 10) on paper A's complex scenario (N = ``--n-samples`` 20,000,
S/N 0.25, 40 SNPs per gene), scored like the Interactions page (2,000 test
individuals). Per gene count: the normal approximation (the default above 14
genes) timed on everything; the 64-draw Monte-Carlo estimator timed on
``--mc-rows`` individuals and scaled; accuracy of both against the exact kernel
(M <= 14, all scored individuals) or a ``--ref-perms``-draw Monte-Carlo run on
``--ref-rows`` individuals of ``--ref-members`` members (M > 14): relative error of
the reference's top-20 pair scores (mean, max), largest error over all pairs
relative to the top score, top-20 overlap and Spearman correlation of all pairs.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gxapp.genenet.models import (  # noqa: E402
    NetConfig,
    gene_layer,
    head_forward,
    init_params,
    split_columns,
)
from gxapp.genenet.shapley import exact_scores, pair_weights, weight_matrix  # noqa: E402
from gxapp.genenet.shapley.exact import gene_offsets, head_parts  # noqa: E402
from gxapp.genenet.train import TrainConfig, resolve_threads, torch_threads, train_ensemble  # noqa: E402


def make_networks(args):
    """Parameters (K models), gene nodes of the scored individuals (K, B, M) and
    the baseline (K, M) from separate baseline rows."""
    rng = np.random.default_rng(0)
    M, m = args.genes, args.snps
    n = args.rows + args.baseline_rows
    x = rng.binomial(2, rng.uniform(0.05, 0.5, M * m), size=(n, M * m)).astype(np.float32)
    x -= x.mean(0)
    blocks = [np.arange(i * m, (i + 1) * m) for i in range(M)]
    net = NetConfig(gene_hidden=args.gene_hidden, head_hidden=args.hidden)
    if args.train_epochs:
        g = np.stack([x[:, b[:5]].sum(1) for b in blocks[:3]], 1)
        g = (g - g.mean(0)) / g.std(0)
        y = g[:, 0] * g[:, 1] + g[:, 2] + rng.normal(0, 1.0, n)
        cfg = TrainConfig(
            max_epochs=args.train_epochs, patience=args.train_epochs, batch_size=256, threads=args.threads
        )
        t0 = time.perf_counter()
        params = train_ensemble(x, y, blocks, np.arange(args.rows, n), net, cfg, args.members).params
        print(f"trained {args.members} members for {args.train_epochs} epochs in {time.perf_counter() - t0:.1f} s")
    else:
        params = init_params([m] * M, args.members, net, list(range(args.members)))
    with torch.no_grad():
        nodes = gene_layer(params, split_columns(torch.from_numpy(x), [m] * M), net)
    return params, net, nodes[:, : args.rows].contiguous(), nodes[:, args.rows :].mean(1)


@torch.no_grad()
def direct_scores(params, net, nodes, base, index, chunk_bytes=1 << 20):
    """The whole head on all 2^M masked gene-node vectors of every individual,
    then the weight matrix. Made as fast as we could: one model at a time, the
    head as addmm (M x H) + in-place ReLU + matrix-vector product (faster than
    head_forward's mul + sum), row blocks whose hidden activations fit
    ``chunk_bytes`` (1 MiB was the fastest of 0.25-32 MiB here)."""
    K, B, M = nodes.shape
    T = torch.arange(2**M)
    mask = ((T[:, None] >> torch.arange(M)) & 1).to(nodes.dtype)  # (2^M, M)
    W = weight_matrix(M, index)
    out = torch.zeros(K, M, M)
    rows = max(1, chunk_bytes // (2**M * max(net.head_hidden, 1) * 4))
    for k in range(K):
        Wh, bh, wo = params["Wh"][k], params["bh"][k], params["wo"][k]
        for b0 in range(0, B, rows):
            g = nodes[k, b0 : b0 + rows]
            x = base[k] + mask * (g - base[k]).unsqueeze(1)  # (b, 2^M, M)
            z = torch.addmm(bh, x.view(-1, M), Wh).relu_()
            f = torch.mv(z, wo).view(-1, 2**M) + params["bo"][k]
            out[k] += (f @ W).view(-1, M, M).abs().sum(0)
    return out / B


@torch.no_grad()
def per_pair_scores(params, net, nodes, base, index):
    """The reference loop vectorised: for every pair, the head on the 4 x 2^(M-2)
    masked inputs of its δ terms, weighted by w(|S|)."""
    K, B, M = nodes.shape
    w = torch.as_tensor(pair_weights(index, M), dtype=nodes.dtype)
    out = torch.zeros(K, M, M)
    for i, j in itertools.combinations(range(M), 2):
        rest = [p for p in range(M) if p not in (i, j)]
        S = torch.arange(2 ** (M - 2))
        base_mask = torch.zeros(2 ** (M - 2), M)
        base_mask[:, rest] = ((S[:, None] >> torch.arange(M - 2)) & 1).float()
        weights = w[base_mask.sum(1).long()]
        masks = base_mask.repeat(4, 1)
        n = 2 ** (M - 2)
        masks[: 2 * n, i] = 1  # (S+ij, S+i, S+j, S)
        masks[:n, j] = 1
        masks[2 * n : 3 * n, j] = 1
        x = base[:, None, None, :] + masks * (nodes - base[:, None, :]).unsqueeze(2)
        f = head_forward(params, x.view(K, -1, M), net).view(K, B, 4, n)
        delta = f[:, :, 0] - f[:, :, 1] - f[:, :, 2] + f[:, :, 3]
        out[:, i, j] = out[:, j, i] = (delta @ weights).abs().mean(1)
    return out


def timed(fn, repeat):
    best, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return result, best, cpu


def live_fraction(params, nodes, base) -> float:
    c, Wh, wo, _ = head_parts(params, base)
    d = gene_offsets(nodes, base, Wh)
    live = (c[:, None] + d.clamp(max=0).sum(2) < 0) & (c[:, None] + d.clamp(min=0).sum(2) > 0)
    return float(live.float().mean())


def trained_cohort(M, args):
    """(params, net, gene nodes of the scored rows, baseline) of a default run."""
    from gxapp.analyses import cohorts, runs
    from gxapp.analyses.interactions import InteractionParams, _scored_rows
    from gxapp.data.simulate import SimParams
    from gxapp.genenet.shapley import baseline_nodes

    root = Path(args.cache)
    t0 = time.perf_counter()
    h = cohorts.from_simulation(
        SimParams(scenario="complex", n_samples=args.n_samples, n_genes=M, snr=0.25, seed=args.seed), root=root
    )
    run = runs.get(h.key, runs.RunParams(ensemble=args.members), root)
    data = run.params.prepare(cohorts.open_cohort(run.cohort_key, root))
    res = run.interaction
    rows = _scored_rows(data.test_idx, InteractionParams())
    base = baseline_nodes(res, data.X, data.train_idx)
    nodes = torch.cat([n for _, n in res.node_batches(data.X, rows, 512, res.params)], 1)
    print(f"  cohort + training: {time.perf_counter() - t0:.0f} s (cached after the first run)")
    return res.params, res.net, nodes, base


def accuracy(ref: np.ndarray, est: np.ndarray) -> dict:
    """Global scores ``(M, M)``: the reference's top-20 pairs and all pairs."""
    from scipy.stats import spearmanr

    i, j = np.triu_indices(ref.shape[0], 1)
    r, e = ref[i, j], est[i, j]
    top = np.argsort(-r)[:20]
    rel = np.abs(e[top] - r[top]) / r[top]
    return {
        "top20_mean": float(rel.mean()),
        "top20_max": float(rel.max()),
        "all_max_vs_top": float(np.abs(e - r).max() / r.max()),
        "top20_overlap": len(set(top) & set(np.argsort(-e)[:20])),
        "spearman": float(spearmanr(r, e)[0]),
    }


def many_genes(args) -> None:
    from gxapp.genenet.shapley import mc_scores, normal_scores

    print(f"many genes: N={args.n_samples}, E={args.members}, threads={resolve_threads(args.threads)}")
    rows_out = []
    for M in [int(v) for v in args.many_genes.split(",")]:
        print(f"M = {M} genes")
        params, net, nodes, base = trained_cohort(M, args)
        K, B, _ = nodes.shape
        with torch_threads(resolve_threads(args.threads)):
            mr = min(args.mc_rows, B)
            _, t_norm, c_norm = timed(functools.partial(normal_scores, params, net, nodes, base, args.index), 1)
            _, t_mc, _ = timed(functools.partial(mc_scores, params, net, nodes[:, :mr], base, args.index, 64), 1)
            t_mc *= B / mr
            km, br = min(args.ref_members, K), min(args.ref_rows, B)
            sub = {k: (v[:km] if not isinstance(v, list) else [t[:km] for t in v]) for k, v in params.items()}
            sub_nodes, sub_base = nodes[:km, :br], base[:km]
            if M <= 14:
                ref = exact_scores(sub, net, sub_nodes, sub_base, args.index, reduce="mean_abs")
                ref_name = "exact"
            else:
                t0 = time.perf_counter()
                ref = mc_scores(sub, net, sub_nodes, sub_base, args.index, args.ref_perms, 7, reduce="mean_abs")[0]
                ref_name = f"MC {args.ref_perms} draws ({time.perf_counter() - t0:.0f} s)"
            approx = normal_scores(sub, net, sub_nodes, sub_base, args.index, reduce="mean_abs")
            mc64 = mc_scores(sub, net, sub_nodes, sub_base, args.index, 64, 1, reduce="mean_abs")[0]
        for name, est in (("normal", approx), ("MC 64", mc64)):
            accs = [accuracy(ref[k].double().numpy(), est[k].double().numpy()) for k in range(km)]
            acc = {key: float(np.mean([a[key] for a in accs])) for key in accs[0]}
            print(
                f"  {name:6s} vs {ref_name} on {km} members x {br} individuals: top-20 rel. error mean "
                f"{acc['top20_mean']:.3f} max {acc['top20_max']:.3f}; all pairs max/top {acc['all_max_vs_top']:.3f}; "
                f"top-20 overlap {acc['top20_overlap']:.1f}/20; Spearman {acc['spearman']:.4f}"
            )
        print(
            f"  time for {K} members x {B} individuals: normal {t_norm:.1f} s ({c_norm:.1f} s CPU), "
            f"MC 64 draws {t_mc:.0f} s (timed on {mr} individuals, scaled); ratio={t_mc / t_norm:.0f}"
        )
        rows_out.append((M, t_norm, t_mc))
    print("summary: " + "; ".join(f"M={m}: normal_s={a:.1f} mc64_s={b:.0f} ratio={b / a:.0f}" for m, a, b in rows_out))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", type=int, default=10)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--baseline-rows", type=int, default=2000)
    ap.add_argument("--members", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--gene-hidden", type=int, default=10)
    ap.add_argument("--snps", type=int, default=20)
    ap.add_argument("--train-epochs", type=int, default=0)
    ap.add_argument("--index", default="SII")
    ap.add_argument("--ref-rows", type=int, default=40)
    ap.add_argument("--ref-members", type=int, default=10)
    ap.add_argument("--pair-rows", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--many-genes", default=None, help="e.g. 14,65,100: the many-genes comparison (see above)")
    ap.add_argument("--n-samples", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mc-rows", type=int, default=50)
    ap.add_argument("--ref-perms", type=int, default=4096)
    ap.add_argument("--cache", default=str(ROOT / "cache" / "bench-shapley"))
    args = ap.parse_args(argv)
    if args.many_genes:
        if args.members == 50:
            args.members = 10
        if args.ref_members == 10:
            args.ref_members = 1
        return many_genes(args)
    threads = resolve_threads(args.threads)
    params, net, nodes, base = make_networks(args)
    K, B, M = nodes.shape
    print(
        f"M={M} genes, B={B} individuals, K={K} members, H={args.hidden}, index={args.index}, "
        f"threads={threads}, load average={os.getloadavg()[0]:.2f}, "
        f"live hidden units={live_fraction(params, nodes, base):.0%}"
    )
    with torch_threads(threads):
        fast, t_fast, c_fast = timed(
            lambda: exact_scores(params, net, nodes, base, args.index, reduce="mean_abs"), args.repeat
        )
        kr, br = min(args.ref_members, K), min(args.ref_rows, B)
        sub = {k: (v[:kr] if not isinstance(v, list) else [t[:kr] for t in v]) for k, v in params.items()}
        sub_nodes, sub_base = nodes[:kr, :br], base[:kr]
        direct, t_dir, c_dir = timed(lambda: direct_scores(sub, net, sub_nodes, sub_base, args.index), args.repeat)
        scale = (K * B) / (kr * br)
        check = exact_scores(sub, net, sub_nodes, sub_base, args.index, reduce="mean_abs")
        pr = min(args.pair_rows, B)
        pair, t_pair, c_pair = timed(
            lambda: per_pair_scores(sub, net, nodes[:kr, :pr], sub_base, args.index), args.repeat
        )
        check_pair = exact_scores(sub, net, nodes[:kr, :pr], sub_base, args.index, reduce="mean_abs")
    err = float((direct - check).abs().max())
    err_pair = float((pair - check_pair).abs().max())
    print(f"fast exact (all {K}x{B}): {t_fast:.2f} s wall, {c_fast:.2f} s CPU; max score {float(fast.max()):.4g}")
    print(
        f"direct, full head on all 2^M coalitions: {t_dir:.3f} s on {kr} members x {br} individuals "
        f"-> {t_dir * scale:.1f} s scaled x{scale:.0f} ({c_dir * scale:.1f} s CPU); "
        f"max |direct - fast| = {err:.2g}"
    )
    print(
        f"per-pair reference loop, vectorised: {t_pair:.3f} s on {kr} members x {pr} individuals "
        f"-> {t_pair * K * B / (kr * pr):.0f} s scaled; max |per-pair - fast| = {err_pair:.2g}"
    )
    print(
        f"fast_s={t_fast:.2f} direct_s={t_dir * scale:.1f} per_pair_s={t_pair * K * B / (kr * pr):.0f} "
        f"ratio={t_dir * scale / t_fast:.1f} ratio_per_pair={t_pair * K * B / (kr * pr) / t_fast:.0f}"
    )


if __name__ == "__main__":
    main()
