"""Simulated cohorts with planted gene-gene interactions (docs/method.md#simulators).

``simulate_cohort(params)`` builds a whole :class:`~gxapp.data.cohort.Cohort` (genotypes,
SNP / gene tables, phenotype, truth); ``simulate_on_cohort(cohort, params)`` plants a
phenotype on an existing cohort's genotypes (power analysis). Every random draw comes
from ``numpy.random.default_rng(params.seed)``: the same parameters give the same cohort.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.data.simulate.casecontrol import (
    CLASS_WEIGHTS,
    EPISTASIS_TYPES,
    gene_centric_counts,
    simulate_casecontrol,
)
from gxapp.data.simulate.genotypes import binomial_genotypes, coalescent_genotypes, region_length
from gxapp.data.simulate.phenotypes import simulate_phenotype
from gxapp.errors import ParameterError
from gxapp.params import Integral, Interval, Options, Params, Real, SubsetOf
from gxapp.progress import check_cancel, report, sub_progress

__all__ = [
    "SimParams",
    "simulate_cohort",
    "simulate_on_cohort",
    "simulate_phenotype",
    "simulate_casecontrol",
    "coalescent_genotypes",
    "binomial_genotypes",
    "gene_centric_counts",
    "SCENARIOS",
]

SCENARIOS = ("complex", "simple", "null", "casecontrol")
GENOTYPE_MODELS = ("coalescent", "binomial")
GENE_SPACING = 1_000_000
# Rough share of each functional class among SNPs in and around genes.
CLASS_FREQUENCIES = {
    "intronic": 0.45,
    "UTR3": 0.08,
    "UTR5": 0.03,
    "upstream": 0.06,
    "downstream": 0.06,
    "ncRNA_intronic": 0.08,
    "ncRNA_exonic": 0.04,
    "ncRNA_splicing": 0.005,
    "splicing": 0.01,
    "nonsynonymous": 0.12,
    "nonframeshift_insertion": 0.005,
    "nonframeshift_deletion": 0.005,
    "frameshift_insertion": 0.005,
    "frameshift_deletion": 0.005,
    "stopgain": 0.01,
    "stoploss": 0.002,
    "startloss": 0.002,
}


@dataclass(frozen=True)
class SimParams(Params):
    """Parameters of a simulated cohort; see docs/method.md#simulators.

    ``epistasis`` is one type (a string) or a tuple of types; :meth:`to_dict` always
    gives a list. :meth:`from_dict` rejects unknown keys.
    """

    scenario: str = "complex"
    n_samples: int = 10_000
    n_genes: int = 10
    snr: float = 0.1
    mi: float = 1.0
    prop_causal: float = 0.5
    seed: Optional[int] = 0
    genotype_model: str = "coalescent"
    snps_per_gene: int = 40
    case_fraction: float = 0.5
    epistasis: tuple = ("positive", "negative", "reciprocal")
    n_pathways: Optional[int] = None
    n_pairs_per_type: int = 2
    # casecontrol: |log-odds| of every planted term. 3 (not 1) so that at 200 genes x 4,000 people every
    # architecture learns (AUC > 0.6) and the pathway-wired network beats its linear control
    # (bench/README.md, "Epistasis training recipe": seeds 1-3, biosparse 0.737 / 0.757 / 0.719 vs
    # linear 0.684 / 0.702 / 0.699); with 1 every network stayed near 0.5 there.
    effect: float = 3.0
    # casecontrol: liability-scale heritability of the planted terms; when set, every term's |log-odds|
    # is solved for it (var(eta) / (var(eta) + pi^2 / 3) = h2, the logistic model's liability), and
    # ``effect`` only matters through the signs (docs/method.md#simulators)
    h2: Optional[float] = None

    _parameter_constraints = {
        "scenario": [Options(SCENARIOS)],
        "n_samples": [Interval(Integral, 20, None)],
        "n_genes": [Interval(Integral, 2, None)],  # 4 for casecontrol: _check
        "snr": [Interval(Real, 0, None, closed="neither")],
        "mi": [Interval(Real, 0, None, closed="neither")],
        "prop_causal": [Interval(Real, 0, 1, closed="right")],
        "seed": [None, Interval(Integral, 0, None)],
        "genotype_model": [Options(GENOTYPE_MODELS)],
        "snps_per_gene": [Interval(Integral, 1, 1000)],
        "case_fraction": [Interval(Real, 0, 1, closed="neither")],
        "epistasis": [Options(EPISTASIS_TYPES), SubsetOf(EPISTASIS_TYPES)],
        "n_pathways": [None, Interval(Integral, 1, None)],  # at most n_genes // 2: _check
        "n_pairs_per_type": [Interval(Integral, 1, None)],
        "effect": [Interval(Real, 0, None, closed="neither")],
        "h2": [None, Interval(Real, 0, 1, closed="neither")],
    }

    def _check(self) -> None:
        min_genes = 4 if self.scenario == "casecontrol" else 2
        if self.n_genes < min_genes:
            raise ParameterError(
                f"n_genes: expected an integer >= {min_genes} for the '{self.scenario}' scenario, got {self.n_genes!r}"
            )
        max_pathways = max(1, self.n_genes // 2)
        if self.n_pathways is not None and self.n_pathways > max_pathways:
            raise ParameterError(
                f"n_pathways: expected None or an integer in 1..{max_pathways} "
                f"(at least 2 genes per pathway), got {self.n_pathways!r}"
            )

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["epistasis"] = [self.epistasis] if isinstance(self.epistasis, str) else list(self.epistasis)
        return d

    @classmethod
    def from_dict(cls, d: dict, strict: bool = True) -> "SimParams":
        return super().from_dict(d, strict=strict)


# ---- building blocks ---------------------------------------------------------------
def _gene_names(n: int) -> list:
    width = max(2, len(str(n)))
    return [f"G{i + 1:0{width}d}" for i in range(n)]


def _snp_classes(rng, blocks) -> np.ndarray:
    """Random functional class per SNP; every gene gets at least one nonsynonymous SNP."""
    names = list(CLASS_FREQUENCIES)
    prob = np.array([CLASS_FREQUENCIES[c] for c in names])
    n_snps = int(sum(len(b) for b in blocks))
    cls = np.asarray(names, dtype=object)[rng.choice(len(names), size=n_snps, p=prob / prob.sum())]
    for cols in blocks:
        if max(CLASS_WEIGHTS[c] for c in cls[cols]) < 0.5:
            cls[cols[int(rng.integers(len(cols)))]] = "nonsynonymous"
    return cls.astype(str)


def _pathways(rng, genes, n_pathways) -> dict:
    """Genes shuffled into pathways of ~10 genes; n_genes // 10 genes stay in none."""
    n_out = len(genes) // 10
    n_in = len(genes) - n_out
    k = n_pathways or max(1, int(round(n_in / 10)))
    k = min(k, max(1, n_in // 2))
    order = [genes[i] for i in rng.permutation(len(genes))]
    width = max(2, len(str(k)))
    return {
        f"PATHWAY_{j + 1:0{width}d}": sorted(map(str, part)) for j, part in enumerate(np.array_split(order[:n_in], k))
    }


def _tables(rng, names, blocks, positions, length):
    bases = np.array(list("ACGT"))
    snp_ids, pos, genes = [], [], []
    width = max(3, len(str(max(len(b) for b in blocks))))
    rows = []
    for i, (g, b, p) in enumerate(zip(names, blocks, positions)):
        start = GENE_SPACING * (i + 1)
        rows.append((g, "1", start, start + length - 1))
        snp_ids += [f"{g}_s{j + 1:0{width}d}" for j in range(len(b))]
        pos += list(start - 1 + np.asarray(p, dtype=np.int64))
        genes += [g] * len(b)
    p_total = len(snp_ids)
    a1 = rng.integers(0, 4, size=p_total)
    a2 = (a1 + rng.integers(1, 4, size=p_total)) % 4
    snps = pd.DataFrame(
        {
            "snp": snp_ids,
            "chrom": "1",
            "pos": np.asarray(pos, dtype=np.int64),
            "a1": bases[a1],
            "a2": bases[a2],
            "gene": genes,
        }
    )
    gene_table = pd.DataFrame(rows, columns=["gene", "chrom", "start", "end"]).astype(
        {"start": np.int64, "end": np.int64}
    )
    return snps, gene_table


def _phenotype(x, blocks, names, params, seed, snp_classes=None, pathways=None):
    if params.scenario == "casecontrol":
        return simulate_casecontrol(
            x,
            blocks,
            names,
            snp_classes,
            pathways,
            epistasis=params.to_dict()["epistasis"],
            case_fraction=params.case_fraction,
            n_pairs_per_type=params.n_pairs_per_type,
            effect=params.effect,
            seed=seed,
            h2=params.h2,
        )
    return simulate_phenotype(
        x, blocks, names, params.scenario, snr=params.snr, mi=params.mi, prop_causal=params.prop_causal, seed=seed
    )


# ---- public ---------------------------------------------------------------------------
def simulate_cohort(params: SimParams, progress=None, cancel=None) -> Cohort:
    """A complete simulated cohort for ``params`` (validated first)."""
    params.validate()
    rng = np.random.default_rng(params.seed)
    geno_seed, pheno_seed, table_seed = (int(s) for s in rng.integers(0, 2**63 - 1, size=3))
    n, m = params.n_samples, params.n_genes
    check_cancel(cancel)
    if params.genotype_model == "coalescent":
        x, blocks, positions = coalescent_genotypes(
            n, m, params.snps_per_gene, seed=geno_seed, progress=sub_progress(progress, 0.0, 0.8), cancel=cancel
        )
    else:
        report(progress, 0.0, "binomial genotypes")
        x, blocks, positions = binomial_genotypes(n, m, params.snps_per_gene, seed=geno_seed)
    check_cancel(cancel)
    report(progress, 0.8, "phenotype")
    trng = np.random.default_rng(table_seed)
    names = _gene_names(m)
    snps, genes = _tables(trng, names, blocks, positions, region_length(params.snps_per_gene))
    width = max(5, len(str(n)))
    ids = [f"S{i + 1:0{width}d}" for i in range(n)]
    samples = pd.DataFrame({"fid": ids, "iid": ids})
    pathways = variants = None
    if params.scenario == "casecontrol":
        snps["class"] = _snp_classes(trng, blocks)
        pathways = _pathways(trng, names, params.n_pathways)
    y, truth = _phenotype(
        x, blocks, names, params, pheno_seed, None if pathways is None else snps["class"].to_numpy(), pathways
    )
    truth["seed"] = params.seed
    truth["phenotype_seed"] = pheno_seed
    check_cancel(cancel)
    if params.scenario == "casecontrol":
        report(progress, 0.9, "gene-centric variant counts")
        variants = gene_centric_counts(x, blocks, names, snps["class"].to_numpy(), ids)
    cohort = Cohort(
        genotypes=x,
        samples=samples,
        snps=snps,
        genes=genes,
        gene_snps={g: np.asarray(b, dtype=np.int64) for g, b in zip(names, blocks)},
        phenotype=y,
        trait="binary" if params.scenario == "casecontrol" else "quantitative",
        pathways=pathways,
        variants=variants,
        truth=truth,
        meta={"source": "simulation", "params": params.to_dict()},
    )
    report(progress, 1.0, "simulation done")
    return validate(cohort)


def simulate_on_cohort(cohort: Cohort, params: SimParams, genes=None, progress=None, cancel=None) -> Cohort:
    """Replace ``cohort``'s phenotype by a simulated one planted on its own genotypes.

    The genes used (gene 1, 2, ... of Eq. 1, or the candidates for case/control pairs)
    are ``genes`` in the given order, else the cohort's first ``params.n_genes`` genes.
    ``params.n_samples`` and ``genotype_model`` are ignored. For case/control the SNP
    classes come from ``cohort.snps['class']`` (absent: every SNP weighs 1) and the
    pathways from ``cohort.pathways`` (absent: one pathway of all used genes).
    """
    validate(cohort)
    params.validate()
    if genes is None:
        genes = cohort.gene_names[: params.n_genes]
    else:
        genes = [str(g) for g in genes]
        unknown = [g for g in genes if g not in cohort.gene_snps]
        if unknown:
            raise ParameterError(f"genes: {len(unknown)} gene(s) not in the cohort, e.g. '{unknown[0]}'")
        if len(set(genes)) != len(genes):
            raise ParameterError("genes: each gene may be listed once")
    min_genes = 4 if params.scenario == "casecontrol" else 2
    if params.scenario != "null" and len(genes) < min_genes:
        raise ParameterError(
            f"n_genes: the '{params.scenario}' scenario needs at least {min_genes} genes, got {len(genes)}"
        )
    check_cancel(cancel)
    report(progress, 0.0, "simulating phenotype")
    rng = np.random.default_rng(params.seed)
    pheno_seed = int(rng.integers(0, 2**63 - 1))
    blocks = [np.asarray(cohort.gene_snps[g], dtype=np.int64) for g in genes]
    classes = pathways = None
    if params.scenario == "casecontrol":
        if "class" in cohort.snps.columns:
            classes = cohort.snps["class"].astype(str).to_numpy()
        if cohort.pathways:
            keep = set(genes)
            pathways = {k: [g for g in v if g in keep] for k, v in cohort.pathways.items()}
            pathways = {k: v for k, v in pathways.items() if len(v) >= 2} or None
    y, truth = _phenotype(cohort.genotypes, blocks, genes, params, pheno_seed, classes, pathways)
    truth["seed"] = params.seed
    truth["phenotype_seed"] = pheno_seed
    meta = {
        "source": "simulation_on_cohort",
        "params": params.to_dict(),
        "genes": list(genes),
        "source_fingerprint": cohort.fingerprint(),
        "source_source": cohort.meta.get("source"),
    }
    out = replace(
        cohort,
        phenotype=y,
        trait="binary" if params.scenario == "casecontrol" else "quantitative",
        truth=truth,
        meta=meta,
    )
    report(progress, 1.0, "done")
    return validate(out)
