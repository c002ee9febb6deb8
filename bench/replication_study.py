"""Replication in a second cohort (paper A, Eq. 5) validated by simulation.

    python bench/replication_study.py                       # both parts below
    python bench/replication_study.py --part null --reps 20
    python bench/replication_study.py --part planted --seeds 5

One simulated cohort is split into a discovery part and a replication part (disjoint
individuals, the same planted truth: ``gxapp.analyses.cohorts.split``). A run is trained on the
discovery part with the default recipe; every gene pair is then replicated (``pairs='all'``).

* null: paper A's null scenario (no interaction anywhere), ``--reps`` replicates: the fraction
  of replication p ≤ 0.05 and ≤ 0.01 over all pairs (nominal 0.05 / 0.01), and of the
  replication top-SNP test.
* planted: the complex scenario (six planted pairs, S/N 0.25), ``--seeds`` seeds: the share of
  planted pairs that replicate (p < 0.05, and q < 0.1 over the 45 pairs) and the share of the
  other pairs that do; also for the discovery pairs at held-out FDR < 0.1 (the default set).

Prints one line per replicate and a summary; ``--csv`` writes every pair.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gxapp.analyses import cohorts, runs  # noqa: E402
from gxapp.analyses import replications as rp  # noqa: E402
from gxapp.data.simulate import SimParams  # noqa: E402


def one(scenario: str, seed: int, n_disc: int, n_rep: int, ensemble: int, snr: float) -> pd.DataFrame:
    root = Path(tempfile.mkdtemp(prefix="gxapp-rep-"))
    n = n_disc + n_rep
    base = cohorts.from_simulation(SimParams(scenario=scenario, n_samples=n, n_genes=10, snr=snr, seed=seed), root=root)
    disc, rep = cohorts.split(base.key, n_rep / n, seed, root)
    run = runs.get(disc.key, runs.RunParams(ensemble=ensemble, seed=seed), root)
    res = rp.get(run.key, rep.key, rp.ReplicationParams(pairs="all", seed=seed), root)
    t = res.table.copy()
    t["scenario"], t["seed"] = scenario, seed
    if "true" not in t:
        t["true"] = False
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("null", "planted", "both"), default="both")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--null-n", type=int, nargs=2, default=(8_000, 2_000), metavar=("DISC", "REP"))
    ap.add_argument("--planted-n", type=int, nargs=2, default=(20_000, 5_000), metavar=("DISC", "REP"))
    ap.add_argument("--ensemble", type=int, default=10)
    ap.add_argument("--csv", default=None)
    a = ap.parse_args()
    tables = []
    if a.part in ("null", "both"):
        for r in range(a.reps):
            t0 = time.perf_counter()
            t = one("null", 500 + r, *a.null_n, a.ensemble, 0.25)
            tables.append(t)
            print(
                f"null seed {500 + r}: {len(t)} pairs, p<=0.05 {np.mean(t.p_replication <= 0.05):.3f}, "
                f"top-SNP {np.mean(t.p_topsnp_replication <= 0.05):.3f} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        null = pd.concat([t for t in tables if (t.scenario == "null").all()])
        k = len(null)
        for col in ("p_replication", "p_topsnp_replication"):
            for lev in (0.05, 0.01):
                f = float(np.mean(null[col] <= lev))
                print(f"NULL {col}: fraction p <= {lev}: {f:.4f} (s.e. {np.sqrt(lev * (1 - lev) / k):.4f}, {k} pairs)")
    if a.part in ("planted", "both"):
        planted = []
        for s in range(a.seeds):
            t0 = time.perf_counter()
            t = one("complex", 600 + s, *a.planted_n, a.ensemble, 0.25)
            tables.append(t)
            planted.append(t)
            tp, fp = t[t.true], t[~t.true]
            disc = t[t.q_discovery < 0.1]
            print(
                f"complex seed {600 + s}: planted replicate p<0.05 {np.mean(tp.p_replication < 0.05):.2f} "
                f"(q<0.1 {np.mean(tp.q_replication < 0.1):.2f}), others p<0.05 {np.mean(fp.p_replication < 0.05):.2f}; "
                f"discovery FDR<0.1 pairs {len(disc)} ({int(disc.true.sum())} planted), of them replicating "
                f"{int((disc.p_replication < 0.05).sum())} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        p = pd.concat(planted)
        tp, fp = p[p.true], p[~p.true]
        print(
            f"PLANTED: {len(tp)} planted pairs, replicate at p<0.05: {np.mean(tp.p_replication < 0.05):.3f}, "
            f"q<0.1: {np.mean(tp.q_replication < 0.1):.3f}; "
            f"top-SNP p<0.05: {np.mean(tp.p_topsnp_replication < 0.05):.3f}"
        )
        print(
            f"PLANTED: {len(fp)} other pairs, replicate at p<0.05: {np.mean(fp.p_replication < 0.05):.3f}, "
            f"top-SNP p<0.05: {np.mean(fp.p_topsnp_replication < 0.05):.3f}"
        )
        disc = p[p.q_discovery < 0.1]
        print(
            f"PLANTED: discovery pairs at held-out FDR<0.1: {len(disc)} ({int(disc.true.sum())} planted); "
            f"replicating (p<0.05): planted {int((disc.true & (disc.p_replication < 0.05)).sum())}, "
            f"other {int((~disc.true & (disc.p_replication < 0.05)).sum())}"
        )
    if a.csv:
        pd.concat(tables).to_csv(a.csv, index=False)


if __name__ == "__main__":
    main()
