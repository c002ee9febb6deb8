"""Power of the classical gene-pair interaction tests on paper A's complex scenario.

For each S/N and seed: simulate the complex scenario (Eq. 1: 10 genes, 6 planted
pairs — 2 max, 2 squared-difference, 2 product), preprocess it as the app does
(inverse-normal phenotype, centred SNPs), run the three classical peers of
gxapp.genenet.peers and score their ranking of the 45 gene pairs against the truth:

* top-SNP  — y ~ a + b + a·b on each gene's top SNP (paper A, Eq. 4);
* PCA      — the same on each gene's first principal component;
* SNP-pair — every cross-gene SNP pair (PLINK --epistasis), gene pair scored by its
             smallest p times its number of tests (Bonferroni within the pair, not
             capped at 1 so that it ranks without ties).

Score = −log10 p. Reported: AP and AUROC (mean ± sd over seeds), AP per interaction
type (true pairs of that type against all false pairs), power / false-positive
rate at p < 0.05 (Bonferroni-capped p for SNP-pair), and wall time per run.

    python bench/peers_power.py                    # N = 20,000, S/N 0.1 and 0.25, 5 seeds
    python bench/peers_power.py --n 5000 --seeds 2
    python bench/peers_power.py --rows train --json out.json

The neural network is not included here (added by its own bench).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gxapp.data.preprocess import prepare  # noqa: E402
from gxapp.data.simulate import SimParams, simulate_cohort  # noqa: E402
from gxapp.genenet import metrics, peers  # noqa: E402

METHODS = ("top-SNP", "PCA", "SNP-pair")
TYPES = metrics.INTERACTION_TYPES


def run_methods(prep, rows) -> dict:
    """{method: (p matrix used for the score, p matrix for the 0.05 call, seconds)}."""
    out = {}
    t = time.perf_counter()
    p = peers.topsnp_interaction_test(prep.X, prep.y, prep.gene_blocks, rows)
    out["top-SNP"] = (p, p, time.perf_counter() - t)
    t = time.perf_counter()
    p = peers.pca_interaction_test(prep.X, prep.y, prep.gene_blocks, rows)
    out["PCA"] = (p, p, time.perf_counter() - t)
    t = time.perf_counter()
    r = peers.snp_pair_test(prep.X, prep.y, prep.gene_blocks, rows)
    out["SNP-pair"] = (r["min_p"] * r["n_tests"], r["bonferroni"], time.perf_counter() - t)
    return out


def score_run(cohort, prep, rows) -> dict:
    """Metrics of every method on one simulated cohort."""
    lab = metrics.pair_labels(prep.gene_names, cohort.truth["pairs"])
    iu = np.triu_indices(len(lab), 1)
    res = {}
    for name, (p_rank, p_call, secs) in run_methods(prep, rows).items():
        s = metrics.p_to_score(p_rank)
        per = metrics.per_type_ap(s, prep.gene_names, cohort.truth)
        call = p_call[iu] < 0.05
        res[name] = {
            "ap": metrics.average_precision(s, lab),
            "auroc": metrics.auroc(s, lab),
            **{f"ap_{k}": per.get(k, float("nan")) for k in TYPES},
            "power": float(call[lab[iu]].mean()),
            "fpr": float(call[~lab[iu]].mean()),
            "seconds": secs,
        }
    return res


def fmt(values, digits=3) -> str:
    v = np.asarray(values, dtype=float)
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{np.nanmean(v):.{digits}f}±{np.nanstd(v, ddof=1):.{digits}f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="individuals (default 20,000)")
    ap.add_argument("--seeds", type=int, default=5, help="simulated cohorts per S/N (seeds 0..k-1; default 5)")
    ap.add_argument("--snr", default="0.1,0.25", help="comma-separated S/N values (default 0.1,0.25)")
    ap.add_argument("--mi", type=float, default=1.0, help="main / interaction variance (default 1)")
    ap.add_argument("--prop-causal", type=float, default=0.5, help="fraction of causal SNPs (default 0.5)")
    ap.add_argument("--genes", type=int, default=10, help="genes (default 10)")
    ap.add_argument("--snps-per-gene", type=int, default=SimParams.snps_per_gene)
    ap.add_argument("--genotypes", default="coalescent", choices=("coalescent", "binomial"))
    ap.add_argument(
        "--rows",
        default="all",
        choices=("all", "train"),
        help="individuals the tests use: all (default) or the 70%% training split",
    )
    ap.add_argument("--json", help="also write every run's metrics here")
    args = ap.parse_args(argv)
    snrs = [float(s) for s in args.snr.split(",") if s.strip()]

    print(
        f"complex scenario: N={args.n}, {args.genes} genes x {args.snps_per_gene} SNPs ({args.genotypes}), "
        f"M/I={args.mi:g}, causal={args.prop_causal:.0%}, seeds 0..{args.seeds - 1}, rows={args.rows}",
        flush=True,
    )
    runs = []
    t_all = time.perf_counter()
    for snr in snrs:
        for seed in range(args.seeds):
            t = time.perf_counter()
            params = SimParams(
                scenario="complex",
                n_samples=args.n,
                n_genes=args.genes,
                snr=snr,
                mi=args.mi,
                prop_causal=args.prop_causal,
                seed=seed,
                genotype_model=args.genotypes,
                snps_per_gene=args.snps_per_gene,
            )
            cohort = simulate_cohort(params)
            prep = prepare(cohort)
            t_sim = time.perf_counter() - t
            rows = prep.train_idx if args.rows == "train" else None
            res = score_run(cohort, prep, rows)
            runs.append({"snr": snr, "seed": seed, "simulate_s": t_sim, "methods": res})
            print(
                f"  S/N {snr:g} seed {seed}: simulate+prepare {t_sim:.1f} s; "
                + "; ".join(f"{m} AP {r['ap']:.3f} ({r['seconds']:.2f} s)" for m, r in res.items()),
                flush=True,
            )

    cols = ["AP", "AUROC", "AP max", "AP sqdiff", "AP product", "power@.05", "FPR@.05", "time s"]
    keys = ["ap", "auroc", "ap_max", "ap_sqdiff", "ap_product", "power", "fpr", "seconds"]
    head = f"{'S/N':>5} {'method':<9} " + " ".join(f"{c:>12}" for c in cols)
    print()
    print(
        f"mean±sd over {args.seeds} seed(s); AP of random ranking = {6 / 45:.3f} (6 true of 45 pairs); "
        "per-type AP: 2 true pairs vs 39 false"
    )
    print(head)
    print("-" * len(head))
    for snr in snrs:
        for m in METHODS:
            rs = [r["methods"][m] for r in runs if r["snr"] == snr]
            cells = [fmt([r[k] for r in rs], 2 if k == "seconds" else 3) for k in keys]
            print(f"{snr:>5g} {m:<9} " + " ".join(f"{c:>12}" for c in cells))
    print(
        f"\ntotal wall time {time.perf_counter() - t_all:.0f} s "
        f"(simulate+prepare {sum(r['simulate_s'] for r in runs):.0f} s)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
