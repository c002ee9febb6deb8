"""Science checks for the Interactions page (issue: power and calibration).

    python bench/interactions_science.py power --n 20000 80000 --snr 0.1 0.25 --seeds 5
    python bench/interactions_science.py calibration --replicates 20 --permutations 50 --methods I R T
    python bench/interactions_science.py protocol --n 20000 --ensemble 50 --permutations 50 --rows 2000
    python bench/interactions_science.py thresholds --n 20000 --seeds 5 --ensemble 10 --permutations 19 \
        --scenarios complex simple null

power: paper A's complex scenario (10 genes, M/I 1, 50 % causal); AP / AUROC of the NN ensemble
and the classical peers, overall and per interaction type (max, sqdiff, product).
calibration: the null scenario; the fraction of per-pair permutation p-values below 0.05 for each
permutation method (Perm I should be 0.05 ± 0.02; Perm R and T are anti-conservative for NNs),
and the calibration curve (fraction of p ≤ α for α on a grid).
thresholds: what a geneticist reads off the table — per method and scenario, at the reported
thresholds (for the NN: the held-out test's p < 0.05 and q < 0.1 / 0.2, Perm I's p < 0.05, q < 0.1 /
0.2 and max-T p < 0.05; for each classical peer: p < 0.05 and Benjamini–Hochberg q < 0.1 / 0.2 over the
45 pairs): power (planted pairs called), specificity
(false pairs not called) and the false discovery proportion among the calls, pooled over seeds.
Everything uses a throw-away cache. Defaults are sized for a laptop; the paper's sizes are flags.
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
from gxapp.analyses import interactions as ia  # noqa: E402
from gxapp.data.simulate import SimParams  # noqa: E402
from gxapp.genenet.heldout import bh_qvalues  # noqa: E402


def power(a, root) -> None:
    rows = []
    for n in a.n:
        for snr in a.snr:
            for seed in range(a.seeds):
                t0 = time.perf_counter()
                c = cohorts.from_simulation(
                    SimParams(scenario="complex", n_samples=n, n_genes=10, snr=snr, mi=1.0, prop_causal=0.5, seed=seed),
                    root=root,
                )
                r = runs.get(
                    c.key, runs.RunParams(ensemble=a.ensemble, seed=seed, max_epochs=a.epochs, batch_size=a.batch), root
                )
                res = ia.get(r.key, ia.InteractionParams(permutations=0, max_rows=a.rows), root)
                for method, m in res.meta["metrics"].items():
                    rows.append(
                        {
                            "N": n,
                            "S/N": snr,
                            "seed": seed,
                            "method": method,
                            "AP": m["AP"],
                            "AUROC": m["AUROC"],
                            **{f"AP {k}": v for k, v in m["AP_by_type"].items()},
                        }
                    )
                print(
                    f"  N={n} S/N={snr} seed={seed}: {time.perf_counter() - t0:.0f} s, NN AP "
                    f"{res.meta['metrics']['NN']['AP']:.3f}",
                    flush=True,
                )
    df = pd.DataFrame(rows)
    cols = ["AP", "AUROC", "AP max", "AP sqdiff", "AP product"]
    summary = df.groupby(["N", "S/N", "method"])[cols].agg(lambda v: f"{np.mean(v):.3f}±{np.std(v):.3f}")
    print(
        f"\npower: complex scenario, 10 genes, M/I 1, 50 % causal, E={a.ensemble}, {a.seeds} seeds "
        f"(random AP = 6/45 = 0.133)"
    )
    print(summary.to_string())


def calibration(a, root) -> None:
    alphas = np.array([0.01, 0.05, 0.1, 0.2, 0.5])
    rows = []
    for rep in range(a.replicates):
        t0 = time.perf_counter()
        c = cohorts.from_simulation(
            SimParams(scenario="null", n_samples=a.n[0], n_genes=10, snr=a.snr[0], seed=1000 + rep), root=root
        )
        r = runs.get(
            c.key, runs.RunParams(ensemble=a.ensemble, seed=rep, max_epochs=a.epochs, batch_size=a.batch), root
        )
        for k, method in enumerate(a.methods):
            res = ia.get(
                r.key, ia.InteractionParams(permutations=a.permutations, perm_method=method, max_rows=a.rows), root
            )
            p = res.table["p_global"].to_numpy()
            rows.append(
                {"replicate": rep, "method": f"Perm {method}", **{f"{al:g}": float((p <= al).mean()) for al in alphas}}
            )
            if k == 0:  # the held-out test does not depend on the permutations
                p = res.table["p"].to_numpy()
                rows.append(
                    {"replicate": rep, "method": "held-out", **{f"{al:g}": float((p <= al).mean()) for al in alphas}}
                )
        print(f"  replicate {rep}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    print(
        f"\ncalibration: null scenario N={a.n[0]}, S/N={a.snr[0]}, E={a.ensemble}, B={a.permutations}, "
        f"{a.replicates} replicates x 45 pairs: fraction of p <= alpha (nominal in the header)"
    )
    print(df.groupby("method", sort=False)[[f"{al:g}" for al in alphas]].mean().round(3).to_string())
    sd = df.groupby("method", sort=False)["0.05"].std() / np.sqrt(a.replicates)
    print("s.e. of the 0.05 column:", sd.round(3).to_dict())


def protocol(a, root) -> None:
    """Paper A's protocol end to end: E members + B permutations x E members, then scores."""
    t0 = time.perf_counter()
    c = cohorts.from_simulation(
        SimParams(scenario="complex", n_samples=a.n[0], n_genes=10, snr=a.snr[0], seed=0), root=root
    )
    t1 = time.perf_counter()
    r = runs.get(c.key, runs.RunParams(ensemble=a.ensemble, max_epochs=a.epochs, batch_size=a.batch), root)
    t2 = time.perf_counter()
    res = ia.get(r.key, ia.InteractionParams(permutations=a.permutations, max_rows=a.rows), root)
    t3 = time.perf_counter()
    models = a.ensemble * (1 + a.permutations)
    print(
        f"protocol: N={a.n[0]}, 10 genes, E={a.ensemble}, B={a.permutations} -> {models} interaction networks "
        f"(+{a.ensemble} main-effect)"
    )
    print(
        f"  simulate {t1 - t0:.0f} s, observed run {t2 - t1:.0f} s, permutations + scoring + peers {t3 - t2:.0f} s; "
        f"wall {t3 - t0:.0f} s = {(t3 - t0) / 60:.1f} min; timings {res.meta['timings']}"
    )


def _calls(table: pd.DataFrame) -> dict:
    """{(method, rule): boolean calls per row of the table}."""
    out = {
        ("NN (held-out)", "p < 0.05"): table["p"].to_numpy() < 0.05,
        ("NN (held-out)", "q < 0.1"): table["q"].to_numpy() < 0.1,
        ("NN (held-out)", "q < 0.2"): table["q"].to_numpy() < 0.2,
        ("NN (Perm I)", "p < 0.05"): table["p_global"].to_numpy() < 0.05,
        ("NN (Perm I)", "q < 0.1"): table["q_global"].to_numpy() < 0.1,
        ("NN (Perm I)", "q < 0.2"): table["q_global"].to_numpy() < 0.2,
        ("NN (Perm I)", "max-T < 0.05"): table["p_maxt"].to_numpy() < 0.05,
    }
    for col in ia.PEER_P_COLUMNS:
        if col not in table:
            continue
        p = table[col].to_numpy(dtype=float)
        name = col[2:]
        out[(name, "p < 0.05")] = p < 0.05
        out[(name, "q < 0.1")] = bh_qvalues(p) < 0.1
        out[(name, "q < 0.2")] = bh_qvalues(p) < 0.2
    return out


def thresholds(a, root) -> None:
    rows = []
    for scenario in a.scenarios:
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            t0 = time.perf_counter()
            c = cohorts.from_simulation(
                SimParams(
                    scenario=scenario, n_samples=a.n[0], n_genes=10, snr=a.snr[0], mi=1.0, prop_causal=0.5, seed=seed
                ),
                root=root,
            )
            r = runs.get(c.key, runs.RunParams(ensemble=a.ensemble, seed=seed), root)
            res = ia.get(r.key, ia.InteractionParams(permutations=a.permutations, max_rows=a.rows), root)
            t = res.table
            true = t["true"].to_numpy() if "true" in t else np.zeros(len(t), dtype=bool)
            for (method, rule), called in _calls(t).items():
                rows.append(
                    {
                        "scenario": scenario,
                        "seed": seed,
                        "method": method,
                        "rule": rule,
                        "tp": int((called & true).sum()),
                        "fp": int((called & ~true).sum()),
                        "n_true": int(true.sum()),
                        "n_false": int((~true).sum()),
                    }
                )
            print(f"  {scenario} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)
    if a.csv:
        df.to_csv(a.csv, index=False)
    g = df.groupby(["scenario", "method", "rule"], sort=False)[["tp", "fp", "n_true", "n_false"]].sum()
    g["power"] = (g.tp / g.n_true.where(g.n_true > 0)).round(3)
    g["specificity"] = (1 - g.fp / g.n_false).round(3)
    g["FDP"] = (g.fp / (g.tp + g.fp).where(g.tp + g.fp > 0)).round(3)
    print(
        f"\nthresholds: N={a.n[0]}, S/N={a.snr[0]}, E={a.ensemble}, B={a.permutations}, seeds "
        f"{a.first_seed}-{a.first_seed + a.seeds - 1}; counts pooled over seeds"
    )
    print(g.to_string())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("power", "calibration", "protocol", "thresholds"))
    ap.add_argument("--scenarios", nargs="+", default=["complex", "simple", "null"])
    ap.add_argument("--first-seed", type=int, default=300)
    ap.add_argument("--csv", help="thresholds: write the per-seed counts here")
    ap.add_argument("--n", type=int, nargs="+", default=[5000])
    ap.add_argument("--snr", type=float, nargs="+", default=[0.25])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--ensemble", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--batch", type=int, default=None, help="rows per Adam step (default: gxapp's rule)")
    ap.add_argument("--rows", type=int, default=1000, help="test individuals scored")
    ap.add_argument("--replicates", type=int, default=4)
    ap.add_argument("--permutations", type=int, default=19)
    ap.add_argument("--methods", nargs="+", default=["I", "T"])
    a = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        {"power": power, "calibration": calibration, "protocol": protocol, "thresholds": thresholds}[a.mode](a, Path(d))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
