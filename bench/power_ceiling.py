"""How far is the NN from what its data allow?  The networks beside an oracle that is given the genes.

    python bench/power_ceiling.py --seeds 101 102 103 --snr 0.25

On paper A's complex scenario (10 genes x 40 coalescent SNPs, M/I 1, 50 % causal, N = 20,000) each
seed's cohort is analysed three ways, on the same split and phenotype:

* **NN**: gxapp's defaults (E members on the SNPs, ensemble score on the test rows), as
  `python -m gxapp interactions`;
* **NN on the true genes**: the same ensemble, recipe and scoring, but its input is the simulator's
  true gene values ``g_i = X_i alpha_i`` (one standardised column per gene) instead of the SNPs —
  a network that need not learn the gene layer. The gap between the two is what learning the gene
  layer from SNPs costs;
* **OLS on the true genes**: for each pair, the F statistic of ``g_a g_b, g_a^2, g_b^2, |g_a - g_b|``
  added to the 10 main effects (a classical test that knows the genes and spans the three planted
  forms: product, squared difference, max).

It prints the AP of the 45 gene pairs (random 6/45 = 0.133) per seed and the mean, beside the
classical peers on the SNPs (top-SNP, SNP-pair), and the planted pairs' interaction weights (a pair
with |w| ~ 0.01 against a noise sd ~ 0.9 is beyond any method at this N).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gxapp.analyses import cohorts, runs  # noqa: E402
from gxapp.analyses import interactions as ia  # noqa: E402
from gxapp.data.simulate import SimParams  # noqa: E402
from gxapp.data.simulate.phenotypes import standardised_block  # noqa: E402
from gxapp.genenet.metrics import average_precision, pair_labels  # noqa: E402
from gxapp.genenet.shapley import score_pairs  # noqa: E402
from gxapp.genenet.train import train_ensemble  # noqa: E402


def true_genes(cohort) -> np.ndarray:
    """(N, M) float32: the simulator's gene values, standardised (phenotypes.simulate_phenotype)."""
    t = cohort.truth
    G = np.empty((cohort.n_samples, len(t["genes"])), np.float32)
    for i, g in enumerate(t["genes"]):
        block = np.asarray(cohort.gene_snps[g])
        where = {int(c): k for k, c in enumerate(block)}
        alpha = np.zeros(block.size)
        alpha[[where[int(c)] for c in t["causal_snps"][g]]] = t["snp_weights"][g]
        v = standardised_block(cohort.genotypes, block) @ alpha
        G[:, i] = (v - v.mean()) / v.std()
    return G


def ols_pair_f(G: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(M, M) F statistics of the 4 pair columns over the main-effects model."""
    n, M = G.shape
    base = np.column_stack([np.ones(n), G.astype(np.float64)])

    def rss(D):
        beta, *_ = np.linalg.lstsq(D, y, rcond=None)
        return float(((y - D @ beta) ** 2).sum())

    r0 = rss(base)
    F = np.zeros((M, M))
    for a in range(M):
        for b in range(a + 1, M):
            ga, gb = base[:, 1 + a], base[:, 1 + b]
            D = np.column_stack([base, ga * gb, ga**2, gb**2, np.abs(ga - gb)])
            r1 = rss(D)
            F[a, b] = F[b, a] = (r0 - r1) / 4 / (r1 / (n - D.shape[1]))
    return F


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--snr", type=float, default=0.25)
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    ap.add_argument("--ensemble", type=int, default=10)
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gxapp-ceiling-"))
    rows = []
    for seed in a.seeds:
        t0 = time.perf_counter()
        sim = SimParams(scenario="complex", n_samples=a.n, n_genes=10, snr=a.snr, mi=1.0, prop_causal=0.5, seed=seed)
        c = cohorts.from_simulation(sim, root=root)
        cohort = cohorts.open_cohort(c.key, root)
        rp = runs.RunParams(ensemble=a.ensemble, seed=seed)
        run = runs.get(c.key, rp, root)
        res = ia.get(run.key, ia.InteractionParams(permutations=0), root)
        m = res.meta["metrics"]
        data = rp.prepare(cohort)
        labels = pair_labels(cohort.truth["genes"], cohort.truth["pairs"])
        G = true_genes(cohort)
        oracle = train_ensemble(
            G,
            data.y,
            [np.array([i]) for i in range(G.shape[1])],
            data.train_idx,
            rp.net(),
            rp.train_config(),
            rp.ensemble,
        )
        scored = ia._scored_rows(data.test_idx, ia.InteractionParams(permutations=0))
        s = score_pairs(oracle, G, scored, data.train_idx)
        row = {
            "seed": seed,
            "NN": m["NN"]["AP"],
            "NN on true genes": average_precision(s.per_target[0], labels),
            "OLS on true genes": average_precision(ols_pair_f(G[data.train_idx], data.y[data.train_idx]), labels),
            "top-SNP": m["top-SNP"]["AP"],
            "SNP-pair": m["SNP-pair"]["AP"],
        }
        rows.append(row)
        w = cohort.truth["interaction_weights"]
        print(
            f"seed {seed}: "
            + "  ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "seed")
            + "  |w| "
            + " ".join(f"{k}:{abs(v):.3f}" for k, v in w.items())
            + f"  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    keys = [k for k in rows[0] if k != "seed"]
    print(f"\ncomplex, N={a.n}, S/N={a.snr}, E={a.ensemble}, seeds {a.seeds} (random AP 0.133), mean ± sd:")
    for k in keys:
        v = np.array([r[k] for r in rows])
        print(f"  {k:>18}: {v.mean():.3f} ± {v.std():.3f}")


if __name__ == "__main__":
    main()
