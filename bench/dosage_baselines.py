"""What the per-gene encoding keeps: gxapp's models on gene features vs paper B's logistic
regressions on every SNP's dosage (docs/method.md#additive-baselines).

    python bench/dosage_baselines.py                       # real genotypes + coalescent cohort
    python bench/dosage_baselines.py --seeds 1 2 3 --repeats 2
    python bench/dosage_baselines.py --gene-pcs 0,3,5     # + each gene's first K PCs (gene_pcs)

Two genotype sources, each with two simulated case/control phenotypes (no real case/control
phenotype ships with the development data, so phenotypes are simulated on real genotypes, as
paper A did on UK Biobank):

* genotypes: the 1000 Genomes Europeans of ``../shared/data/plink_eur_test`` (379 people x 2,000
  SNPs, GRCh37 genes, real LD), and a coalescent cohort (``--n`` people x ``--genes`` genes x 40 SNPs);
* phenotypes: **snp-additive** — a GWAS-like trait, ``--causal`` SNPs drawn among the genes' SNPs,
  each with log-odds ``--effect`` per standard deviation of its dosage (what an additive model on
  dosages is built for); **gene-burden** — gxapp's case/control simulator (positive, negative and
  reciprocal epistasis between gene burdens inside pathways, plus additive genes).

Models (``--models``): logreg / biosparse on the per-gene MAF-bin features, l2 / l1 on the same
features, l2-snps / l1-snps on the dosages; R x 3-fold CV with the same splits for every model.
Prints the mean ROC AUC per model, source and phenotype (mean over seeds), with the wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gxapp import epistasis as epi  # noqa: E402
from gxapp.analyses import cohorts  # noqa: E402
from gxapp.data.cohort import Cohort  # noqa: E402
from gxapp.data.files import FileSpec  # noqa: E402
from gxapp.data.simulate import SimParams  # noqa: E402

EUR = ROOT.parent / "shared" / "data" / "plink_eur_test" / "EUR_test"


def snp_additive(cohort: Cohort, n_causal: int, effect: float, seed: int) -> Cohort:
    """The cohort with a case/control phenotype from ``n_causal`` additive SNPs (half cases)."""
    rng = np.random.default_rng([seed, 5])
    cols = np.unique(np.concatenate([np.asarray(cohort.gene_snps[g]) for g in cohort.gene_names]))
    g = cohort.genotypes[:, cols].astype(float)
    g[g < 0] = np.nan
    g = np.where(np.isnan(g), np.nanmean(g, axis=0), g)
    sd = g.std(axis=0)
    pick = rng.choice(np.flatnonzero(sd > 0), size=n_causal, replace=False)
    z = (g[:, pick] - g[:, pick].mean(0)) / sd[pick]
    eta = z @ (effect * rng.choice([-1.0, 1.0], size=n_causal))
    eta -= np.median(eta)
    y = (rng.random(len(eta)) < 1 / (1 + np.exp(-eta))).astype(float)
    return Cohort(**{**cohort.__dict__, "phenotype": y, "trait": "binary", "truth": None})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--n", type=int, default=2000, help="people in the coalescent cohort")
    ap.add_argument("--genes", type=int, default=40, help="genes in the coalescent cohort")
    ap.add_argument("--causal", type=int, default=10)
    ap.add_argument("--effect", type=float, default=0.4, help="log-odds per sd of a causal SNP's dosage")
    ap.add_argument("--models", default="logreg,biosparse,l2,l1,l2-snps,l1-snps")
    ap.add_argument("--sources", default="eur,coalescent")
    ap.add_argument(
        "--gene-pcs",
        default="0",
        help="comma-separated K: the gene-feature models again with each gene's first K PCs added (0: bins only)",
    )
    a = ap.parse_args()
    models = tuple(a.models.split(","))
    root = Path(tempfile.mkdtemp(prefix="gxapp-dosage-"))
    bases = {}
    if "eur" in a.sources:
        bases["1000G EUR (379 x 2,000 SNPs)"] = cohorts.from_files(
            FileSpec(genotypes=str(EUR), genes="grch37"), root=root
        ).key
    rows = []
    for seed in a.seeds:
        if "coalescent" in a.sources:
            sim = SimParams(scenario="null", n_samples=a.n, n_genes=a.genes, seed=seed)
            bases[f"coalescent ({a.n} x {a.genes} genes)"] = cohorts.from_simulation(sim, root=root).key
        for source, key in bases.items():
            base = cohorts.open_cohort(key, root)
            cc = cohorts.simulate_on(
                key, SimParams(scenario="casecontrol", n_samples=base.n_samples, n_genes=base.n_genes, seed=seed), root
            )
            phenos = {
                "snp-additive": snp_additive(base, a.causal, a.effect, seed),
                "gene-burden": cohorts.open_cohort(cc.key, root),
            }
            for pheno, cohort in phenos.items():
                for k in [int(v) for v in a.gene_pcs.split(",")]:
                    # with K > 0 only the gene-feature models are refitted (the dosage ones do not change)
                    ms = models if k == 0 else tuple(m for m in models if m not in epi.SNP_MODELS)
                    t0 = time.perf_counter()
                    res = epi.compare(
                        cohort, models=ms, folds=3, repeats=a.repeats, wiring="random", seed=seed, gene_pcs=k
                    )
                    aucs = {m: res.models[m].auc_mean for m in ms}
                    label = pheno if k == 0 else f"{pheno} +{k} PCs"
                    rows.append((source, label, seed, aucs))
                    print(
                        f"seed {seed} {source} / {label}: "
                        + "  ".join(f"{m} {v:.3f}" for m, v in aucs.items())
                        + f"  ({time.perf_counter() - t0:.0f} s)",
                        flush=True,
                    )
    print(f"\nmean ROC AUC over seeds {a.seeds}, {a.repeats} x 3-fold CV:")
    for source in dict.fromkeys(r[0] for r in rows):
        for pheno in dict.fromkeys(r[1] for r in rows if r[0] == source):
            sel = [r[3] for r in rows if r[0] == source and r[1] == pheno]
            print(
                f"  {source:>32} / {pheno:<20}: " + "  ".join(f"{m} {np.mean([s[m] for s in sel]):.3f}" for m in sel[0])
            )


if __name__ == "__main__":
    main()
