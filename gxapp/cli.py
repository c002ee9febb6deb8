"""Command line: ``python -m gxapp <command>`` drives the same library and
cache as the app. Flag names follow PLINK where PLINK has one."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from gxapp.errors import GxError


def _add_qc_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--flank", type=int, default=10_000, help="bp added to both ends of each gene (default 10000)")
    p.add_argument("--maf", type=float, default=0.01, help="drop SNPs with minor allele frequency below X (default 0.01)")
    p.add_argument("--geno", type=float, default=0.05, help="drop SNPs with missing rate above X (default 0.05)")
    p.add_argument("--hwe", type=float, default=1e-6, help="drop SNPs with HWE exact p below X (default 1e-6; 0 disables)")
    p.add_argument("--mind", type=float, default=None, help="drop samples with missing rate above X (default off)")


def _add_input_flags(p: argparse.ArgumentParser, need_pheno: bool) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bfile", metavar="PREFIX", help="PLINK .bed/.bim/.fam prefix")
    src.add_argument("--vcf", metavar="FILE", help="VCF/BCF (bgzipped too)")
    src.add_argument("--table", metavar="FILE", help="CSV/TSV/Parquet, samples x SNPs, first column the sample id")
    p.add_argument("--snp-map", metavar="FILE", help="for --table: snp, chrom, pos[, a1, a2][, gene]")
    p.add_argument("--pheno", metavar="FILE", required=need_pheno, help="FID IID value..., or a header with IID")
    p.add_argument("--pheno-name", metavar="COL", help="phenotype column (default: the first)")
    p.add_argument("--covar", metavar="FILE", help="covariates keyed by IID")
    p.add_argument("--genes", default="grch37", metavar="FILE|grch37|grch38", help="gene table (default grch37)")
    p.add_argument("--gene-list", metavar="FILE", help="keep only these genes (one per line)")
    p.add_argument("--pathways", metavar="GMT", help="pathway file (GMT)")
    p.add_argument("--variants", metavar="FILE", help="annotated variant table (sample, gene, class[, count])")
    _add_qc_flags(p)


def _file_spec(a):
    from gxapp.cohorts import FileSpec
    from gxapp.io.genes import read_gene_list

    if a.bfile:
        geno, fmt = a.bfile, "plink"
    elif a.vcf:
        geno, fmt = a.vcf, "vcf"
    else:
        geno, fmt = a.table, "table"
    return FileSpec(
        genotypes=geno, format=fmt, pheno=getattr(a, "pheno", None), pheno_column=getattr(a, "pheno_name", None),
        covar=getattr(a, "covar", None), genes=a.genes, flank=a.flank,
        keep_genes=read_gene_list(a.gene_list) if getattr(a, "gene_list", None) else None,
        snp_map=getattr(a, "snp_map", None), pathways=getattr(a, "pathways", None),
        variants=getattr(a, "variants", None),
    )


def _qc_params(a):
    from gxapp.qc import QCParams

    return QCParams(geno=a.geno, maf=a.maf, hwe=a.hwe, mind=a.mind)


def _write_json(path, obj) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as fh:
            json.dump(obj, fh, indent=1, default=str)


def cmd_simulate(a) -> int:
    from gxapp import cohorts
    from gxapp.io.export import export_cohort
    from gxapp.simulate import SimParams

    t0 = time.perf_counter()
    params = SimParams(
        scenario=a.scenario, n_samples=a.n_samples, n_genes=a.n_genes, snr=a.snr, mi=a.mi,
        prop_causal=a.prop_causal, seed=a.seed, genotype_model=a.genotype_model,
        snps_per_gene=a.snps_per_gene, case_fraction=a.case_fraction,
    )
    if a.bfile:
        from gxapp.cohorts import FileSpec

        base = cohorts.from_files(FileSpec(genotypes=a.bfile, format="plink", genes=a.genes, flank=a.flank),
                                  _qc_params(a))
        per_gene = base.cohort.snps_per_gene().sort_values(ascending=False, kind="stable")
        genes = list(per_gene.index[: a.n_genes])
        handle = cohorts.simulate_on(base.key, params, genes=genes)
    else:
        handle = cohorts.from_simulation(params)
    c = handle.cohort
    export_cohort(c, a.out)
    pairs = (c.truth or {}).get("pairs", [])
    print(f"simulated {a.scenario}: {c.n_samples} samples x {c.n_snps} SNPs in {c.n_genes} genes, "
          f"{len(pairs)} planted pairs -> {a.out} ({time.perf_counter() - t0:.1f} s, cohort {handle.key[:12]})")
    return 0


def cmd_qc(a) -> int:
    from gxapp import cohorts

    t0 = time.perf_counter()
    handle = cohorts.from_files(_file_spec(a), _qc_params(a))
    c = handle.cohort
    qc = c.meta.get("qc", {})
    out = {
        "cohort": handle.key,
        "n_samples": c.n_samples,
        "n_snps": c.n_snps,
        "n_genes": c.n_genes,
        "genes": {g: c.snps["snp"].iloc[c.gene_snps[g]].tolist() for g in c.gene_names},
        "removed": qc.get("removed", {}),
        "dropped_genes": qc.get("dropped_genes", []),
        "trait": c.trait,
        "load_report": c.meta.get("load_report", {}),
        "mapping": {k: v for k, v in c.meta.get("mapping", {}).items() if k != "genes_without_snps"},
        "seconds": round(time.perf_counter() - t0, 3),
    }
    _write_json(a.json, out)
    removed = ", ".join(f"{k} {v}" for k, v in out["removed"].items() if v) or "nothing"
    print(f"qc: {c.n_samples} samples, {c.n_snps} SNPs in {c.n_genes} genes kept; removed: {removed}"
          f"{' (cached)' if handle.cached else ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m gxapp", description="gxapp: gene-gene interactions with neural networks")
    sub = ap.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="simulate a cohort with planted interactions (paper A / paper B)")
    s.add_argument("--scenario", choices=("complex", "simple", "null", "casecontrol"), default="complex")
    s.add_argument("--n-samples", type=int, default=10_000)
    s.add_argument("--n-genes", type=int, default=10)
    s.add_argument("--snr", type=float, default=0.1, help="signal variance / noise variance")
    s.add_argument("--mi", type=float, default=1.0, help="main-effect variance / interaction variance")
    s.add_argument("--prop-causal", type=float, default=0.5, help="fraction of causal SNPs per gene")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--genotype-model", choices=("coalescent", "binomial"), default="coalescent")
    s.add_argument("--snps-per-gene", type=int, default=40)
    s.add_argument("--case-fraction", type=float, default=0.5, help="casecontrol: fraction of cases")
    s.add_argument("--bfile", metavar="PREFIX", help="simulate on these genotypes instead of coalescent ones")
    s.add_argument("--genes", default="grch37", metavar="FILE|grch37|grch38", help="with --bfile: gene table")
    _add_qc_flags(s)
    s.add_argument("--out", required=True, metavar="DIR")
    s.set_defaults(func=cmd_simulate)

    q = sub.add_parser("qc", help="load a cohort, map SNPs to genes, run QC and report")
    _add_input_flags(q, need_pheno=False)
    q.add_argument("--json", metavar="OUT", help="write the report as JSON")
    q.set_defaults(func=cmd_qc)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except GxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
