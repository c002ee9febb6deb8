"""The same permutation run in this process and on a loopback Dask cluster, side by side.

    python bench/dask_scaling.py                          # B = 20, E = 5, N = 20,000, local:2
    python bench/dask_scaling.py --workers 2 --n 20000 --permutations 20 --ensemble 5
    python bench/dask_scaling.py --address tcp://host:8786   # a cluster of your own

One simulated cohort (paper A's complex scenario, 10 genes), one trained run (in this
process, shared by both sides: the run's cache entry is copied), then the interaction
analysis with B permutations twice, each from an empty interactions cache: in-process and
on the cluster. Prints wall seconds of each, their ratio, the permutation stage alone, the
cluster start-up, per-chunk training throughput, and the largest difference between the two
sides' scores and p-values (they must agree: seeds are per model).

The development machine has 2 cores; in-process training uses 1 torch thread (more was
slower, bench/README.md "Threads"), so 2 workers can at best halve the permutation stage.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gxapp import cache, execute  # noqa: E402
from gxapp.analyses import cohorts, runs  # noqa: E402
from gxapp.analyses import interactions as ia  # noqa: E402
from gxapp.data.simulate import SimParams  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--genes", type=int, default=10)
    ap.add_argument("--ensemble", type=int, default=5)
    ap.add_argument("--permutations", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=ia.InteractionParams.chunk)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--address", default=None, help="an existing scheduler instead of local:WORKERS")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gxapp-dask-bench-"))
    base = tmp / "base"
    t = time.perf_counter()
    c = cohorts.from_simulation(SimParams(n_samples=a.n, n_genes=a.genes, seed=a.seed), root=base)
    print(f"cohort: {a.n} × {a.genes} genes in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    run = runs.get(c.key, runs.RunParams(ensemble=a.ensemble, seed=a.seed), base)
    print(f"run: E = {a.ensemble} trained in {time.perf_counter() - t:.1f} s (in this process)")
    roots = {}
    for side in ("in-process", "dask"):
        roots[side] = tmp / side
        for kind in ("cohorts", "runs"):
            shutil.copytree(base / kind, roots[side] / kind)
    P = ia.InteractionParams(permutations=a.permutations, chunk=a.chunk)
    res, wall = {}, {}
    t = time.perf_counter()
    res["in-process"] = ia.get(run.key, P, roots["in-process"])
    wall["in-process"] = time.perf_counter() - t
    t = time.perf_counter()
    ex = execute.from_spec(a.address or f"local:{a.workers}")
    start = time.perf_counter() - t
    try:
        d = ex.describe()
        print(f"cluster: {d} (started / connected in {start:.1f} s)")
        with execute.use(ex):
            t = time.perf_counter()
            res["dask"] = ia.get(run.key, P, roots["dask"])
            wall["dask"] = time.perf_counter() - t
    finally:
        ex.close()
    a0, a1 = res["in-process"], res["dask"]
    perm = {k: r.meta["timings"]["permutations_s"] for k, r in res.items()}
    print()
    print(f"B = {a.permutations} × E = {a.ensemble} networks (+ scoring), N = {a.n}, chunks of {a.chunk} permutations")
    print(f"{'':12s} {'analysis s':>11s} {'permutations s':>15s}")
    for k in ("in-process", "dask"):
        print(f"{k:12s} {wall[k]:11.1f} {perm[k]:15.1f}")
    print(
        f"ratio in-process / dask: analysis {wall['in-process'] / wall['dask']:.2f}, permutations "
        f"{perm['in-process'] / perm['dask']:.2f} (cluster start-up {start:.1f} s not included)"
    )
    for side, root in roots.items():
        secs = [m["seconds"] for m in cache.Store(ia.NULL_KIND, root).list()]
        nets = a.chunk * a.ensemble
        print(
            f"{side}: per chunk training {np.mean(secs):.1f} s for {nets} networks "
            f"({nets / np.mean(secs):.2f} networks/s per worker)"
        )
    diffs = {
        "scores": np.abs(a0.observed - a1.observed).max(),
        "null scores": np.abs(a0.null - a1.null).max(),
        "p_global": np.nanmax(np.abs(a0.table["p_global"].to_numpy() - a1.table["p_global"].to_numpy())),
        "q": np.nanmax(np.abs(a0.table["q"].to_numpy() - a1.table["q"].to_numpy())),
    }
    print("largest difference between the two sides: " + ", ".join(f"{k} {v:.2g}" for k, v in diffs.items()))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
