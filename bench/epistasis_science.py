"""Paper B's central claim on simulated data: learning curves of biosparse vs additive models.

A case/control cohort is simulated (``gxapp.simulate``, scenario "casecontrol") with
positive and negative epistasis between pairs of genes inside pathways, plus a few additive
genes. ``gxapp.epistasis.learning_curve`` then compares, on nested stratified subsets of
10-100 % of the samples and R x 3 CV with identical splits for every model:

* biosparse - the pathway-wired network (tanh pathway neurons: can express positive /
  negative epistasis between genes of one pathway),
* logreg    - the same gene module with a logistic-regression head (additive over genes),
* linear    - biosparse with identity activations (a linear model in the counts),
* l2        - L2 logistic regression on the flattened per-gene counts.

Expected (paper B, Fig. 2): at the largest N, biosparse beats logreg and linear (corrected
resampled t-test, p < 0.05); at small N the additive models are as good or better.

Settings that differ from the paper, for a CPU budget of a few minutes (all printed):
R = 5 repeats instead of 10; learning rate 1e-2 instead of 1e-3 with up to 60 epochs and
early stopping (patience 10) on a 20 % inner validation split; 24 genes, pathways of 2 genes
(so every planted pair sits alone in one pathway neuron; the paper's KEGG pathways are
larger). ``--help`` lists the knobs.

    python bench/epistasis_science.py
    python bench/epistasis_science.py --samples 8000 --repeats 10     # closer to the paper, slower
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402

from gxapp.data.simulate import SimParams, simulate_cohort  # noqa: E402
from gxapp.data.simulate.casecontrol import gene_burden  # noqa: E402
from gxapp.epistasis import EpiTrainConfig, learning_curve  # noqa: E402

MODELS = ("biosparse", "logreg", "linear", "l2")


def oracle_aucs(cohort) -> tuple:
    """3-fold CV AUC of a logistic regression on the TRUE gene hit states h (additive), and on h
    plus the true interaction terms: the ceiling an additive / an epistatic model can reach."""
    t, names = cohort.truth, cohort.gene_names
    B = gene_burden(cohort.genotypes, [cohort.gene_snps[g] for g in names], names, cohort.snps["class"].to_numpy())
    H = np.array([(B[:, i] > t["hit_thresholds"][g]).astype(float) for i, g in enumerate(names)]).T
    inter = np.array([H[:, names.index(a)] * H[:, names.index(b)] for a, b in t["pairs"]]).T
    lr = LogisticRegression(C=1.0, solver="liblinear")
    y = cohort.phenotype
    return (
        cross_val_score(lr, H, y, cv=3, scoring="roc_auc").mean(),
        cross_val_score(lr, np.hstack([H, inter]), y, cv=3, scoring="roc_auc").mean(),
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=6000)
    ap.add_argument("--genes", type=int, default=24)
    ap.add_argument("--pathways", type=int, default=11, help="number of pathways (24 genes: 11 pathways of 2)")
    ap.add_argument("--snps-per-gene", type=int, default=10)
    ap.add_argument("--effect", type=float, default=2.5, help="|log-odds| of every planted term")
    ap.add_argument("--pairs-per-type", type=int, default=3)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2, 0.4, 0.6, 0.8, 1.0])
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=3, help="simulation seed")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    params = SimParams(
        scenario="casecontrol",
        n_samples=args.samples,
        n_genes=args.genes,
        seed=args.seed,
        genotype_model="binomial",
        snps_per_gene=args.snps_per_gene,
        epistasis=("positive", "negative"),
        n_pairs_per_type=args.pairs_per_type,
        effect=args.effect,
        n_pathways=args.pathways,
    )
    cohort = simulate_cohort(params)
    truth = cohort.truth
    print(f"simulation: {params.to_dict()}")
    print(
        f"planted pairs: {truth['types']} (pathways {truth['pair_pathways']}); additive genes "
        f"{truth['additive_genes']}; cases {int(cohort.phenotype.sum())}/{cohort.n_samples}"
    )
    add_oracle, epi_oracle = oracle_aucs(cohort)
    print(
        f"ceilings (logistic regression on the TRUE hit states, 3-fold CV): additive {add_oracle:.3f}, "
        f"with the interaction terms {epi_oracle:.3f}"
    )
    cfg = EpiTrainConfig(
        lr=args.lr,
        max_epochs=args.epochs,
        patience=args.patience,
        dropout=args.dropout,
        weight_decay=args.weight_decay,
        threads=args.threads,
    )
    print(f"training: {cfg}")
    print(
        f"CV: {args.repeats} x {args.folds}-fold, identical splits for every model; machine load "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    lc = learning_curve(
        cohort,
        fractions=args.fractions,
        models=MODELS,
        folds=args.folds,
        repeats=args.repeats,
        seed=0,
        config=cfg,
        progress=None,
    )
    print()
    print(
        f"{'fraction':>8} {'n':>6}  "
        + "  ".join(f"{m:>17}" for m in MODELS)
        + "   biosparse vs: logreg (t, p) | linear (t, p) | l2 (t, p)"
    )
    tests = {}
    for f in lc.fractions:
        res = lc.results[f]
        cells = [f"{res.models[m].auc_mean:.3f} ± {res.models[m].auc_sd:.3f}" for m in MODELS]
        tt = {b: res.test("biosparse", b) for b in ("logreg", "linear", "l2")}
        tests[f] = tt
        print(
            f"{f:>8.1f} {res.n_samples:>6}  "
            + "  ".join(f"{c:>17}" for c in cells)
            + "   "
            + " | ".join(f"{tt[b]['t']:+.2f}, {tt[b]['p']:.3g}" for b in ("logreg", "linear", "l2"))
        )
    fmax, fmin = lc.fractions[-1], lc.fractions[0]
    big = tests[fmax]
    wins = all(big[b]["t"] > 0 and big[b]["p"] < 0.05 for b in ("logreg", "linear"))
    small = lc.results[fmin].models
    best_add = max(small["l2"].auc_mean, small["linear"].auc_mean)
    print()
    print(
        f"large N ({lc.results[fmax].n_samples}): biosparse beats logreg (p={big['logreg']['p']:.3g}) and linear "
        f"(p={big['linear']['p']:.3g}) at p < 0.05: {'YES' if wins else 'NO'}"
    )
    print(
        f"small N ({lc.results[fmin].n_samples}): best additive (l2 / linear) AUC {best_add:.3f} vs biosparse "
        f"{small['biosparse'].auc_mean:.3f} -> additive as good or better: "
        f"{'YES' if best_add >= small['biosparse'].auc_mean else 'NO'}"
    )
    print(f"wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
