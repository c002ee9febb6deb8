"""Command line: ``python -m gxapp <command>`` drives the same library and
cache as the app. Flag names follow PLINK where PLINK has one."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from gxapp.errors import GxError


def _add_qc_flags(p: argparse.ArgumentParser, prune_default: str = None) -> None:
    p.add_argument("--sample", metavar="FILE", help="with --bgen: the Oxford .sample file (ID_1 ID_2 …)")
    p.add_argument(
        "--min-info",
        type=float,
        default=0.4,
        help="with --bgen: drop variants with an imputation info score below this (default %(default)s, paper A)",
    )
    p.add_argument(
        "--duplicate-ids",
        choices=("rename", "drop"),
        default="rename",
        help="distinct variants sharing an id: rename them id_2, id_3… (default) or keep the first; exact "
        "duplicates are dropped and missing ids set to chrom:pos:ref:alt either way",
    )
    p.add_argument(
        "--flank", type=int, default=_D.file.flank, help="bp added to both ends of each gene (default %(default)s)"
    )
    p.add_argument(
        "--maf",
        type=float,
        default=_D.qc.maf,
        help="drop SNPs with minor allele frequency below X (default %(default)s)",
    )
    p.add_argument(
        "--geno", type=float, default=_D.qc.geno, help="drop SNPs with missing rate above X (default %(default)s)"
    )
    p.add_argument(
        "--hwe",
        type=float,
        default=_D.qc.hwe,
        help="drop SNPs with HWE exact p below X (default %(default)s; 0 disables)",
    )
    p.add_argument(
        "--mind", type=float, default=_D.qc.mind, help="drop samples with missing rate above X (default off)"
    )
    p.add_argument(
        "--prune",
        choices=("variance", "r2", "none"),
        default=prune_default or _D.qc.prune,
        help="LD pruning per gene after QC: 'variance' keeps --prune-variance of each gene's variance (paper A), "
        "'r2' is PLINK's --indep-pairwise (default %(default)s: pruning cost detection power on simulations)",
    )
    p.add_argument(
        "--prune-variance",
        type=float,
        default=_D.qc.prune_variance,
        help="share of each gene's genotype variance the kept SNPs explain (default %(default)s)",
    )
    p.add_argument(
        "--indep-pairwise",
        nargs=3,
        metavar=("WINDOW", "STEP", "R2"),
        help="with --prune r2: window (SNPs), step and r² threshold (default "
        f"{_D.qc.prune_window} {_D.qc.prune_step} {_D.qc.prune_r2})",
    )
    p.add_argument(
        "--pca",
        type=int,
        default=_D.qc.pca,
        metavar="K",
        help="regress the first K genotype PCs out of the phenotype with the covariates (default %(default)s, "
        "paper A; 0: none)",
    )
    p.add_argument(
        "--pca-bfile",
        metavar="PREFIX",
        help="genome-wide PLINK set to compute the PCs from (default: the loaded genes' SNPs)",
    )


def _add_input_flags(p: argparse.ArgumentParser, need_pheno: bool) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bfile", metavar="PREFIX", help="PLINK .bed/.bim/.fam prefix")
    src.add_argument("--pfile", metavar="PREFIX", help="PLINK 2 .pgen/.pvar/.psam prefix")
    src.add_argument("--bgen", metavar="FILE", help="BGEN 1.2/1.3 (imputed dosages; with --sample)")
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
    p.add_argument(
        "--truth", metavar="JSON", help="planted truth of your own simulated files (truth.json of `simulate`)"
    )
    _add_qc_flags(p)


def _file_spec(a):
    from gxapp.analyses.cohorts import FileSpec
    from gxapp.data.io.gene_lists import read_gene_list

    if a.bfile:
        geno, fmt = a.bfile, "plink"
    elif getattr(a, "pfile", None):
        geno, fmt = a.pfile, "pgen"
    elif getattr(a, "bgen", None):
        geno, fmt = a.bgen, "bgen"
    elif a.vcf:
        geno, fmt = a.vcf, "vcf"
    else:
        geno, fmt = a.table, "table"
    return FileSpec(
        genotypes=geno,
        format=fmt,
        pheno=getattr(a, "pheno", None),
        pheno_column=getattr(a, "pheno_name", None),
        covar=getattr(a, "covar", None),
        genes=a.genes,
        flank=a.flank,
        keep_genes=read_gene_list(a.gene_list) if getattr(a, "gene_list", None) else None,
        snp_map=getattr(a, "snp_map", None),
        pathways=getattr(a, "pathways", None),
        variants=getattr(a, "variants", None),
        duplicate_ids=getattr(a, "duplicate_ids", "rename"),
        sample=getattr(a, "sample", None),
        min_info=getattr(a, "min_info", 0.4),
        pca_bfile=getattr(a, "pca_bfile", None),
        truth=getattr(a, "truth", None),
    )


def _qc_params(a):
    from gxapp.data.qc import QCParams

    extra = {}
    if getattr(a, "indep_pairwise", None):
        w, st, r2 = a.indep_pairwise
        try:
            extra = dict(prune_window=int(w), prune_step=int(st), prune_r2=float(r2))
            if getattr(a, "prune", None) in (None, "none"):
                extra["prune"] = "r2"  # --indep-pairwise means PLINK's r² pruning, as in PLINK
        except ValueError:
            raise GxError(
                f"--indep-pairwise: expected WINDOW STEP R2 (two integers and a number), got {w} {st} {r2}"
            ) from None
    return QCParams(
        geno=a.geno,
        maf=a.maf,
        hwe=a.hwe,
        mind=a.mind,
        prune=extra.pop("prune", getattr(a, "prune", _D.qc.prune)),
        prune_variance=getattr(a, "prune_variance", _D.qc.prune_variance),
        pca=getattr(a, "pca", _D.qc.pca),
        **extra,
    )


def _write_json(path, obj) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as fh:
            json.dump(obj, fh, indent=1, default=str)


def cmd_simulate(a) -> int:
    from gxapp.analyses import cohorts
    from gxapp.data.io.export import export_cohort
    from gxapp.data.simulate import SimParams

    t0 = time.perf_counter()
    params = SimParams(
        scenario=a.scenario,
        n_samples=a.n_samples,
        n_genes=a.n_genes,
        snr=a.snr,
        mi=a.mi,
        prop_causal=a.prop_causal,
        seed=a.seed,
        genotype_model=a.genotype_model,
        snps_per_gene=a.snps_per_gene,
        case_fraction=a.case_fraction,
        effect=a.effect,
        h2=a.h2,
    )
    if a.bfile:
        from gxapp.analyses.cohorts import FileSpec

        base = cohorts.from_files(
            FileSpec(genotypes=a.bfile, format="plink", genes=a.genes, flank=a.flank), _qc_params(a)
        )
        per_gene = base.cohort.snps_per_gene().sort_values(ascending=False, kind="stable")
        genes = list(per_gene.index[: a.n_genes])
        handle = cohorts.simulate_on(base.key, params, genes=genes)
    else:
        handle = cohorts.from_simulation(params)
    c = handle.cohort
    export_cohort(c, a.out)
    pairs = (c.truth or {}).get("pairs", [])
    print(
        f"simulated {a.scenario}: {c.n_samples} samples x {c.n_snps} SNPs in {c.n_genes} genes, "
        f"{len(pairs)} planted pairs -> {a.out} ({time.perf_counter() - t0:.1f} s, cohort {handle.key[:12]})"
    )
    return 0


def cmd_qc(a) -> int:
    from gxapp.analyses import cohorts

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
        "ld_pruning": c.meta.get("prune"),
        "pca": c.meta.get("pca"),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    _write_json(a.json, out)
    removed = ", ".join(f"{k} {v}" for k, v in out["removed"].items() if v) or "nothing"
    ids = out["load_report"].get("variant_ids")
    if ids:
        from gxapp.data.io.genotypes import describe_variant_ids

        print(f"qc: variant ids — {describe_variant_ids(ids)}")
    from gxapp.data.prune import describe_prune
    from gxapp.data.structure import describe_pca

    for line in (describe_prune(c.meta.get("prune")), describe_pca(c.meta.get("pca"))):
        if line:
            print(f"qc: {line}")
    print(
        f"qc: {c.n_samples} samples, {c.n_snps} SNPs in {c.n_genes} genes kept; removed: {removed}"
        f"{' (cached)' if handle.cached else ''}"
    )
    return 0


def _train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ensemble", type=int, default=_D.run.ensemble, help="ensemble members (default %(default)s; paper: 50)"
    )
    p.add_argument(
        "--l1", type=float, default=_D.run.l1, help="sparsity: L1 strength on all weights (default %(default)s)"
    )
    p.add_argument("--l1-cv", action="store_true", help="choose λ by 5-fold CV on the training rows")
    p.add_argument(
        "--gene-hidden",
        type=int,
        default=_D.run.gene_hidden,
        help="per-gene MLP width (0 = linear gene node; default %(default)s)",
    )
    p.add_argument("--head-hidden", type=int, default=_D.run.head_hidden, help="head MLP width (default %(default)s)")
    p.add_argument(
        "--snp-scale",
        type=float,
        default=_D.run.snp_scale,
        help="genotypes enter the gene layer multiplied by this: SNP weights learn this many times faster and "
        "carry this many times lighter L1 (docs/method.md#networks; 1 = paper A; default %(default)s)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=_D.run.max_epochs,
        help="max epochs (early stopping ends most members sooner; default %(default)s)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=_D.run.patience,
        help="epochs without validation gain before a member stops (default %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=_D.run.batch_size,
        help="rows per Adam step (default: the fitting rows / 50, i.e. 50 steps per epoch)",
    )
    p.add_argument("--lr", type=float, default=_D.run.lr, help="Adam learning rate (default %(default)s)")
    p.add_argument("--seed", type=int, default=_D.run.seed)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (default: all cores but one, at least 1)"
    )


def _run_params(a):
    from gxapp.analyses.runs import RunParams

    kw = dict(
        ensemble=a.ensemble,
        l1_cv=a.l1_cv,
        gene_hidden=a.gene_hidden,
        head_hidden=a.head_hidden,
        snp_scale=a.snp_scale,
        max_epochs=a.epochs,
        patience=a.patience,
        batch_size=a.batch_size,
        lr=a.lr,
        seed=a.seed,
        device=a.device,
        threads=a.threads,
    )
    return RunParams(l1=a.l1, **kw)


def _cohort_for(a):
    from gxapp.analyses import cohorts

    if getattr(a, "cohort", None):
        cohorts.open_cohort(a.cohort)  # checks it exists
        return a.cohort
    if not (a.bfile or a.pfile or a.bgen or a.vcf or a.table):
        raise GxError("give the genotypes (--bfile/--pfile/--bgen/--vcf/--table with --pheno) or a cached --cohort KEY")
    return cohorts.from_files(_file_spec(a), _qc_params(a)).key


def _progress_printer(quiet: bool, stage: str = ""):
    """Progress lines on stderr every 5 %; one printer per stage (each starts at 0 %)."""
    if quiet:
        return None
    state = {"last": -1}
    prefix = f"{stage}: " if stage else ""

    def show(fraction, message=""):
        pct = int(fraction * 100)
        if pct >= state["last"] + 5 or (fraction >= 1 and state["last"] < 100):
            state["last"] = pct
            print(f"  {pct:3d}%  {prefix}{message}", file=sys.stderr, flush=True)

    return show


def cmd_train(a) -> int:
    from gxapp.analyses import runs

    t0 = time.perf_counter()
    cohort_key = _cohort_for(a)
    h = runs.get(cohort_key, _run_params(a), progress=_progress_printer(a.quiet))
    r, m = h, h.metrics
    out = {
        "run": h.key,
        "cohort": cohort_key,
        "cached": h.cached,
        "device": r.meta.get("device"),
        "threads": r.meta.get("threads"),
        "l1": r.meta.get("l1_used"),
        "epochs": {"interaction": m["epochs_interaction"], "main": m["epochs_main"]},
        "r2_test": {
            "ensemble": m["r2_ensemble"],
            "main_effect": m["r2_main"],
            "topsnp_ols": m["r2_topsnp_ols"],
            "members": m["r2_members"],
        },
        "timings": {**r.meta.get("timings", {}), "wall_s": round(time.perf_counter() - t0, 3)},
        "executor": _executor_json(),
    }
    _write_json(a.json, out)
    print(
        f"train: run {h.key[:12]} on {out['device']}: test R² ensemble {m['r2_ensemble']:.4f}, "
        f"main-effect {m['r2_main']:.4f}, top-SNP OLS {m['r2_topsnp_ols']:.4f}"
        f"{' (cached)' if h.cached else ''} in {out['timings']['wall_s']:.1f} s"
    )
    return 0


def _none_if_nan(v):
    return None if v is None or (isinstance(v, float) and v != v) else float(v)


def _pairs_json(res) -> list:
    """The ranked table of an interaction analysis as JSON records (NaN → null)."""
    from gxapp.analyses import interactions as ia

    cols = ("score", "p", "q", "slope", "p_global", "q_global", "p_maxt", "p_topsnp", "p_pca", "p_snppair")
    cols += tuple(f"{w}_{stem}" for stem in ia.PERM_PEERS for w in ("score", "p"))
    return [
        {
            "gene_a": r["gene_a"],
            "gene_b": r["gene_b"],
            **{c: _none_if_nan(r[c]) for c in cols},
            "nn_only": bool(r["nn_only"]),
        }
        for r in res.table.to_dict("records")
    ]


def cmd_demo(a) -> int:
    from gxapp.analyses import cohorts, pipeline
    from gxapp.analyses import interactions as ia

    t0 = time.perf_counter()
    cohort = cohorts.demo(progress=_progress_printer(a.quiet, "demo cohort"))
    res = pipeline.run_pipeline(cohort.key, a.preset, progress=_progress_printer(a.quiet, "demo"))
    analysis = ia.load(res.interactions_key)
    pairs = _pairs_json(analysis)
    truth = cohort.cohort.truth or {}
    out = {
        "preset": a.preset,
        "preset_label": pipeline.PRESETS[a.preset].label,
        "cohort": cohort.key,
        "run": res.run_key,
        "analysis": res.interactions_key,
        "pairs": pairs,
        "truth": {"pairs": truth.get("pairs", []), "types": truth.get("types", {})},
        "metrics": analysis.meta.get("metrics"),
        "timings": {"wall_s": round(time.perf_counter() - t0, 3)},
    }
    _write_json(a.json, out)
    planted = {frozenset(p) for p in truth.get("pairs", [])}
    called = [p for p in pairs if p["q"] is not None and p["q"] < 0.1]
    hits = sum(frozenset((p["gene_a"], p["gene_b"])) in planted for p in called)
    print(
        f"demo ({pipeline.PRESETS[a.preset].label}): {len(called)} gene pairs at FDR < 0.1 (held-out test), "
        f"{hits} of them planted; top pair {pairs[0]['gene_a']}×{pairs[0]['gene_b']}; "
        f"{out['timings']['wall_s']:.1f} s"
    )
    return 0


def cmd_interactions(a) -> int:
    from gxapp.analyses import interactions as ia
    from gxapp.analyses import peers_ahead, runs

    t0 = time.perf_counter()
    cohort_key = _cohort_for(a)
    rp = _run_params(a)
    params = ia.InteractionParams(
        permutations=a.permutations,
        perm_method=a.perm_method,
        index=a.index,
        max_rows=a.max_rows,
        peer_perm_method=a.peer_perm_method,
        candidates=a.candidates,
        chunk=a.chunk,
    )
    with peers_ahead.ahead(cohort_key, rp, params):  # the classical tests on the spare core while training
        h = runs.get(cohort_key, rp, progress=_progress_printer(a.quiet, "training"))
        res = ia.get(h.key, params, progress=_progress_printer(a.quiet, "scoring"))
    pairs = _pairs_json(res)
    out = {
        "run": h.key,
        "analysis": res.key,
        "cached": res.cached,
        "cohort": cohort_key,
        "index": a.index,
        "B": a.permutations,
        "perm_method": a.perm_method,
        "peer_perm_method": a.peer_perm_method,
        "tests": {
            "p": "held-out test of each pair (pattern learned on training rows, tested on test rows; valid per pair)",
            "q": "Benjamini-Hochberg over the pairs of the held-out p",
            "p_global": "Perm I permutation p: valid only under 'no interaction anywhere'",
            "q_global": "Perm I FDR estimate (global null)",
            "p_maxt": "Perm I max-T adjusted p (global null)",
        },
        "heldout_rows": res.meta.get("heldout_rows"),
        "candidates": res.meta.get("candidates"),
        "heldout_caution": ia.heldout_caution(len(res.gene_names)),
        "pairs": pairs,
        "metrics": res.meta.get("metrics"),
        "timings": {**res.meta.get("timings", {}), "wall_s": round(time.perf_counter() - t0, 3)},
        "executor": _executor_json(),
    }
    _write_json(a.json, out)
    top = pairs[0]
    sig = sum(1 for p in pairs if p["q"] is not None and p["q"] < 0.1)
    print(
        f"interactions: {len(pairs)} gene pairs scored ({a.index}, B={a.permutations}, Perm {a.perm_method}); "
        f"top {top['gene_a']}×{top['gene_b']} score {top['score']:.4g}; {sig} at FDR < 0.1 (held-out test) "
        f"{'(cached) ' if res.cached else ''}in {out['timings']['wall_s']:.1f} s"
    )
    if out["heldout_caution"]:
        print(f"note: {out['heldout_caution']}")
    return 0


def _add_dask_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="spread chunks of networks over a Dask cluster: tcp://host:port of a running scheduler, or local:N "
        "for N worker processes on this machine (results are identical; docs/scale-out.md)",
    )


def _executor_json() -> dict:
    from gxapp import execute

    return execute.current().describe()


def _add_train_source(t: argparse.ArgumentParser) -> None:
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--bfile", metavar="PREFIX", help="PLINK .bed/.bim/.fam prefix")
    src.add_argument("--pfile", metavar="PREFIX", help="PLINK 2 .pgen/.pvar/.psam prefix")
    src.add_argument("--bgen", metavar="FILE", help="BGEN 1.2/1.3 (imputed dosages; with --sample)")
    src.add_argument("--vcf", metavar="FILE", help="VCF/BCF (bgzipped too)")
    src.add_argument("--table", metavar="FILE", help="CSV/TSV/Parquet, samples x SNPs")
    src.add_argument("--cohort", metavar="KEY", help="a cached cohort (its key, as the app shows)")
    t.add_argument("--snp-map", metavar="FILE")
    t.add_argument("--pheno", metavar="FILE")
    t.add_argument("--pheno-name", metavar="COL")
    t.add_argument("--covar", metavar="FILE")
    t.add_argument("--genes", default="grch37", metavar="FILE|grch37|grch38")
    t.add_argument("--gene-list", metavar="FILE")
    t.add_argument("--truth", metavar="JSON", help="planted truth of your own simulated files (AP, PR curve)")
    _add_qc_flags(t)
    _train_flags(t)
    t.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    t.set_defaults(pathways=None, variants=None)


def cmd_epistasis(a) -> int:
    from gxapp.analyses import cohorts
    from gxapp.analyses import comparisons as cmp

    t0 = time.perf_counter()
    models = tuple(m.strip() for m in a.models.split(",") if m.strip())
    params = cmp.ComparisonParams(
        models=models,
        folds=a.folds,
        repeats=a.repeats,
        sparsity=a.sparsity,
        wiring=a.wiring,
        seed=a.seed,
        gene_pcs=a.gene_pcs,
    )
    if not a.pheno:
        raise GxError("--pheno is required: the comparison needs a case/control phenotype")
    progress = _progress_printer(a.quiet)
    if a.bfile or a.pfile or a.bgen or a.vcf or a.table:
        res = cmp.get(cohorts.from_files(_file_spec(a), _qc_params(a)).key, params, progress=progress)
    else:
        res = cmp.VARIANT_TABLES.get(
            {"variants": a.variants, "pheno": a.pheno, "pheno_column": a.pheno_name, "pathways": a.pathways},
            params,
            progress=progress,
        )
    out = dict(
        res.data,
        analysis=res.key,
        cached=res.cached,
        wall_s=round(time.perf_counter() - t0, 3),
        executor=_executor_json(),
    )
    _write_json(a.json, out)
    best = max(out["models"], key=lambda m: out["models"][m]["auc_mean"])
    note = (out.get("settings") or {}).get("wiring_note")
    if note:
        print(f"epistasis: {note}")
    print(
        f"epistasis: {len(out['models'])} models, {a.repeats}x{a.folds} CV on {out['n_samples']} samples; best "
        f"{best} AUC {out['models'][best]['auc_mean']:.3f} ± {out['models'][best]['auc_sd']:.3f} "
        f"{'(cached) ' if res.cached else ''}in {out['wall_s']:.1f} s"
    )
    return 0


def cmd_replicate(a) -> int:
    from gxapp.analyses import cohorts, runs
    from gxapp.analyses import replications as rp

    t0 = time.perf_counter()
    if not runs.store().exists(a.run):
        matches = [m["key"] for m in runs.entries() if m["key"].startswith(a.run)]
        if len(matches) != 1:
            raise GxError(f"--run {a.run}: no cached run with this key (give the 'run' value of `train --json`)")
        a.run = matches[0]
    if a.cohort:
        cohorts.open_cohort(a.cohort)
        second = a.cohort
    else:
        second = cohorts.from_files(_file_spec(a), _qc_params(a), progress=_progress_printer(a.quiet, "loading")).key
    chosen = tuple(p.strip() for p in (a.pair or []))
    params = rp.ReplicationParams(pairs="list" if chosen else a.pairs, fdr=a.fdr, chosen=chosen, seed=a.seed)
    res = rp.get(a.run, second, params, progress=_progress_printer(a.quiet, "replication"))
    cols = ("score_discovery", "q_discovery", "p_discovery", "p_topsnp_discovery", "p_replication", "q_replication")
    cols += ("slope", "p_topsnp_replication")
    pairs = [
        {
            "gene_a": r["gene_a"],
            "gene_b": r["gene_b"],
            **{c: _none_if_nan(r[c]) for c in cols},
            "n_snps_missing": int(r["n_snps_missing"]),
            **({"true": bool(r["true"])} if "true" in r else {}),
            **({"note": r["note"]} if r["note"] else {}),
        }
        for r in res.table.to_dict("records")
    ]
    out = {
        "run": a.run,
        "replication_cohort": second,
        "analysis": res.key,
        "cached": res.cached,
        "n_replication": res.meta.get("n_replication"),
        "snp_match": res.snp_match,
        "pairs": pairs,
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    _write_json(a.json, out)
    hits = sum(1 for p in pairs if p["q_replication"] is not None and p["q_replication"] < 0.1)
    print(
        f"replicate: {len(pairs)} pairs tested in {out['n_replication']:,} individuals; {hits} replicate at FDR < 0.1 "
        f"({res.snp_match.get('missing', 0)} of {res.snp_match.get('n_snps', 0)} SNPs absent) "
        f"{'(cached) ' if res.cached else ''}in {out['wall_s']:.1f} s"
    )
    return 0


def cmd_path(a) -> int:
    from gxapp.analyses import paths

    t0 = time.perf_counter()
    cohort_key = _cohort_for(a)
    values = paths.parse_l1_values(" ".join(a.l1_values))
    res = paths.train_path(cohort_key, values, _run_params(a), progress=_progress_printer(a.quiet, "path"))
    cmp = paths.compare_runs(res.run_keys, top=a.top)
    table = cmp["table"]
    out = {
        "cohort": cohort_key,
        "l1_values": res.l1_values,
        "trained_now": res.trained,
        "runs": [
            {
                "l1": float(r["λ"]),
                "run": r["key"],
                "test_r2": _none_if_nan(r["test R²"]),
                "AP": _none_if_nan(r["AP (planted pairs)"]),
                "pairs_fdr_0.1": int(r["pairs at FDR < 0.1"]),
                "top_pairs": cmp["ranks"][cmp["ranks"]["run"] == r["run"]]
                .sort_values("rank")
                .head(a.top)["pair"]
                .tolist(),
            }
            for r in table.to_dict("records")
        ],
        "rank_agreement": {
            a_: {b: _none_if_nan(round(float(v), 4)) for b, v in row.items()} for a_, row in cmp["agreement"].iterrows()
        },
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    _write_json(a.json, out)
    for r in out["runs"]:
        print(
            f"path: λ={r['l1']:g}: test R² {r['test_r2']:.3f}"
            + (f", AP {r['AP']:.3f}" if r["AP"] is not None else "")
            + f", top {', '.join(r['top_pairs'][:3])}"
        )
    print(f"path: {len(values)} λ values ({len(res.trained)} trained as one batch) in {out['wall_s']:.1f} s")
    return 0


def cmd_report(a) -> int:
    from gxapp.analyses import interactions as ia
    from gxapp.analyses import reports

    key = a.analysis
    if not ia.INTERACTIONS.store().exists(key):
        matches = [m["key"] for m in ia.entries() if m["key"].startswith(key)]
        if len(matches) != 1:
            raise GxError(
                f"--analysis {key}: no cached interaction analysis with this key (the 'analysis' of "
                "`interactions --json`)"
            )
        key = matches[0]
    rep = reports.get(key, reports.ReportParams(top=a.top, fdr=a.fdr, p=a.p))
    try:
        Path(a.out).write_text(rep.html, encoding="utf-8")
    except OSError as exc:
        raise GxError(f"--out {a.out}: cannot write the report there ({exc.strerror})") from None
    print(f"report: {a.out} ({len(rep.html.encode()) / 1e3:.0f} kB, {rep.html.count('<svg')} charts)")
    return 0


def cmd_surface(a) -> int:
    from gxapp.analyses import runs, surfaces

    t0 = time.perf_counter()
    run_key = runs.get(_cohort_for(a), _run_params(a), progress=_progress_printer(a.quiet, "training")).key
    params = surfaces.SurfaceParams(gene_a=a.pair[0], gene_b=a.pair[1], grid=a.grid, steps=a.steps, seed=a.seed)
    res = surfaces.get(run_key, params, progress=_progress_printer(a.quiet, "surface"))
    surf = res.surface
    out = {
        "run": run_key,
        "analysis": res.key,
        "cached": res.cached,
        "gene_a": surf.gene_a,
        "gene_b": surf.gene_b,
        "r2_joint": surf.r2_joint,
        "r2_additive": surf.r2_additive,
        "interaction_range": [float(surf.grid["interaction"].min()), float(surf.grid["interaction"].max())],
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    if a.grid_csv:
        surf.grid.to_csv(a.grid_csv, index=False)
        out["grid_csv"] = a.grid_csv
    _write_json(a.json, out)
    print(
        f"surface: {surf.gene_a} × {surf.gene_b}: training R² joint {surf.r2_joint:.4f} vs additive "
        f"{surf.r2_additive:.4f}; h − h_a − h_b spans {out['interaction_range'][0]:.3g}…"
        f"{out['interaction_range'][1]:.3g} {'(cached) ' if res.cached else ''}in {out['wall_s']:.1f} s"
    )
    return 0


class _D:
    """The declared defaults (one place: each Params class), read when the parser is built."""


def _load_defaults() -> None:
    from gxapp.analyses.comparisons import ComparisonParams
    from gxapp.analyses.interactions import InteractionParams
    from gxapp.analyses.runs import RunParams
    from gxapp.data.files import FileSpec
    from gxapp.data.qc import QCParams
    from gxapp.data.simulate import SimParams

    _D.qc, _D.run, _D.sim = QCParams(), RunParams(), SimParams()
    _D.file, _D.interactions, _D.comparison = FileSpec(genotypes=""), InteractionParams(), ComparisonParams()


def cmd_cache(a) -> int:
    from gxapp import cache

    if a.action == "verify":
        rep = cache.verify_all(delete=a.delete)
        bad = sum(len(v["damaged"]) for v in rep.values())
        for kind, v in rep.items():
            for key, reason in v["damaged"]:
                print(f"  damaged {kind}/{key}: {reason}", file=sys.stderr)
        _write_json(a.json, rep)
        total = sum(v["ok"] for v in rep.values()) + bad
        what = "deleted (recomputed when next needed)" if a.delete else "left in place (run with --delete)"
        print(f"cache verify: {total} entries in {cache.cache_root()}, {bad} damaged" + (f", {what}" if bad else ""))
        return 1 if bad and not a.delete else 0
    removed = sum(st.sweep(older_than=a.older_than * 3600) for st in cache.stores())
    removed += cache.sweep_exchange(older_than=a.older_than * 3600)
    print(f"cache gc: removed {removed} unfinished temporary folder(s) or data file(s) older than {a.older_than:g} h")
    return 0


def build_parser() -> argparse.ArgumentParser:
    _load_defaults()
    ap = argparse.ArgumentParser(
        prog="python -m gxapp", description="gxapp: gene-gene interactions with neural networks"
    )
    sub = ap.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="simulate a cohort with planted interactions (paper A / paper B)")
    s.add_argument("--scenario", choices=("complex", "simple", "null", "casecontrol"), default="complex")
    s.add_argument("--n-samples", type=int, default=_D.sim.n_samples)
    s.add_argument("--n-genes", type=int, default=_D.sim.n_genes)
    s.add_argument(
        "--snr", type=float, default=_D.sim.snr, help="signal variance / noise variance (default %(default)s)"
    )
    s.add_argument(
        "--mi", type=float, default=_D.sim.mi, help="main-effect variance / interaction variance (default %(default)s)"
    )
    s.add_argument(
        "--prop-causal",
        type=float,
        default=_D.sim.prop_causal,
        help="fraction of causal SNPs per gene (default %(default)s)",
    )
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--genotype-model", choices=("coalescent", "binomial"), default="coalescent")
    s.add_argument("--snps-per-gene", type=int, default=_D.sim.snps_per_gene)
    s.add_argument("--case-fraction", type=float, default=_D.sim.case_fraction, help="casecontrol: fraction of cases")
    s.add_argument(
        "--effect",
        type=float,
        default=_D.sim.effect,
        help="casecontrol: |log-odds| of every planted term (default %(default)s)",
    )
    s.add_argument(
        "--h2",
        type=float,
        default=None,
        help="casecontrol: liability-scale heritability of the planted terms in (0, 1); sets every |log-odds| "
        "(instead of --effect)",
    )
    s.add_argument("--bfile", metavar="PREFIX", help="simulate on these genotypes instead of coalescent ones")
    s.add_argument("--genes", default="grch37", metavar="FILE|grch37|grch38", help="with --bfile: gene table")
    _add_qc_flags(s)
    s.add_argument("--out", required=True, metavar="DIR")
    s.set_defaults(func=cmd_simulate)

    q = sub.add_parser("qc", help="load a cohort, map SNPs to genes, run QC and report")
    _add_input_flags(q, need_pheno=False)
    q.add_argument("--json", metavar="OUT", help="write the report as JSON")
    q.set_defaults(func=cmd_qc)

    t = sub.add_parser("train", help="train an ensemble of gene interaction networks (cached)")
    _add_train_source(t)
    t.add_argument("--json", metavar="OUT", help="write run id, device, epochs, test R², timings as JSON")
    _add_dask_flag(t)
    t.set_defaults(func=cmd_train)

    i = sub.add_parser(
        "interactions", help="score gene pairs: Shapley interactions, held-out p and FDR, Perm I, max-T, peers"
    )
    _add_train_source(i)
    i.add_argument(
        "--permutations",
        type=int,
        default=_D.interactions.permutations,
        metavar="B",
        help="Perm I permutations for the global test (0, the default: none; the held-out test needs none)",
    )
    i.add_argument("--perm-method", choices=("I", "R", "T"), default="I", help="Perm I (default), R or T")
    i.add_argument("--index", choices=("SII", "BII", "STII"), default="SII", help="interaction index")
    i.add_argument(
        "--peer-perm-method",
        choices=("R", "T"),
        default=_D.interactions.peer_perm_method,
        help="permutation scheme of the Lasso and XGBoost peers: R (permuted main-effect residual, "
        "default) or T (permuted phenotype)",
    )
    i.add_argument(
        "--max-rows",
        type=int,
        default=_D.interactions.max_rows,
        help="test individuals scored (a recorded sample; default %(default)s)",
    )
    i.add_argument(
        "--candidates",
        type=int,
        default=_D.interactions.candidates,
        metavar="K",
        help="the held-out test's FDR is over the K highest-scoring pairs (default: as many as genes, at least 10; "
        "0: every pair)",
    )
    i.add_argument(
        "--chunk",
        type=int,
        default=_D.interactions.chunk,
        metavar="C",
        help="permutations trained together as one batched model and cached together (default %(default)s); "
        "on a cluster, B / C chunks run at once, so lower C to use more workers",
    )
    i.add_argument("--json", metavar="OUT", help="write the ranked pairs and statistics as JSON")
    _add_dask_flag(i)
    i.set_defaults(func=cmd_interactions)

    e = sub.add_parser("epistasis", help="compare logreg / biosparse / dense / linear architectures by CV AUC")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--variants", metavar="FILE", help="annotated variant table (sample, gene, class[, count])")
    src.add_argument("--bfile", metavar="PREFIX", help="PLINK prefix (genes summarised by MAF bins or --variants)")
    src.add_argument("--pfile", metavar="PREFIX", help="PLINK 2 .pgen/.pvar/.psam prefix")
    src.add_argument("--bgen", metavar="FILE", help="BGEN 1.2/1.3 (imputed dosages; with --sample)")
    src.add_argument("--vcf", metavar="FILE")
    src.add_argument("--table", metavar="FILE")
    e.add_argument("--snp-map", metavar="FILE")
    e.add_argument("--pheno", metavar="FILE", help="case/control phenotype (1/2 or 0/1)")
    e.add_argument("--pheno-name", metavar="COL")
    e.add_argument("--covar", metavar="FILE")
    e.add_argument("--genes", default="grch37", metavar="FILE|grch37|grch38")
    e.add_argument("--gene-list", metavar="FILE")
    e.add_argument("--pathways", metavar="GMT", help="gene -> pathway wiring for biosparse")
    _add_qc_flags(e)
    e.add_argument(
        "--models",
        default="logreg,biosparse,dense,linear,l2",
        help="comma-separated: logreg, biosparse, dense, linear, ensemble, l2, l1 (per-gene features), "
        "l2-snps, l1-snps (every SNP's dosage)",
    )
    e.add_argument("--folds", type=int, default=_D.comparison.folds)
    e.add_argument("--repeats", type=int, default=10)
    e.add_argument("--sparsity", type=float, default=_D.comparison.sparsity, help="fraction of genes wired, in (0, 1]")
    e.add_argument("--wiring", choices=("pathway", "random"), default="pathway")
    e.add_argument(
        "--gene-pcs",
        type=int,
        default=_D.comparison.gene_pcs,
        help="genotype files without annotated variants: each gene's first K principal components beside its "
        "MAF-bin sums (default %(default)s)",
    )
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", metavar="OUT", help="per model auc_mean, auc_sd, aucs, n_params; ttest")
    e.add_argument("--quiet", action="store_true")
    _add_dask_flag(e)
    e.set_defaults(func=cmd_epistasis)

    r = sub.add_parser("replicate", help="replicate a run's gene pairs in a second cohort (paper A, Eq. 5)")
    r.add_argument("--run", required=True, metavar="KEY", help="the run (its 'run' key from `train --json`)")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--bfile", metavar="PREFIX", help="the second cohort's PLINK .bed/.bim/.fam prefix")
    src.add_argument("--pfile", metavar="PREFIX", help="the second cohort's PLINK 2 .pgen/.pvar/.psam prefix")
    src.add_argument("--bgen", metavar="FILE", help="BGEN 1.2/1.3 (imputed dosages; with --sample)")
    src.add_argument("--vcf", metavar="FILE", help="the second cohort as VCF/BCF")
    src.add_argument("--table", metavar="FILE", help="the second cohort as CSV/TSV/Parquet")
    src.add_argument("--cohort", metavar="KEY", help="a cached cohort as the second cohort")
    r.add_argument("--snp-map", metavar="FILE")
    r.add_argument("--pheno", metavar="FILE", help="the second cohort's phenotype")
    r.add_argument("--pheno-name", metavar="COL")
    r.add_argument("--covar", metavar="FILE")
    r.add_argument("--genes", default="grch37", metavar="FILE|grch37|grch38", help="gene table (as for the run)")
    r.add_argument("--gene-list", metavar="FILE")
    _add_qc_flags(r, prune_default="none")  # the run's SNPs are looked up in the second cohort: keep them all
    r.add_argument(
        "--pairs",
        choices=("fdr", "all"),
        default="fdr",
        help="fdr (default): the discovery pairs at held-out FDR < --fdr; all: every pair",
    )
    r.add_argument("--fdr", type=float, default=0.1, help="discovery FDR of the pairs tested (default %(default)s)")
    r.add_argument("--pair", action="append", metavar="GENE_A:GENE_B", help="test this pair (repeatable)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--json", metavar="OUT", help="pairs with gene_a, gene_b, p_replication, p_topsnp_replication, …")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_replicate, pathways=None, variants=None)

    d = sub.add_parser(
        "demo", help="the one-click analysis of the home page: train and score the demo cohort with a preset"
    )
    d.add_argument(
        "--preset",
        choices=("quick", "demo", "paper"),
        default="demo",
        help="quick: E=3, B=0; demo (default): the lab-meeting demo, E=10, B=20; paper: E=50, B=50",
    )
    d.add_argument("--json", metavar="OUT", help="pairs (with q), the planted truth, metrics, timings")
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)

    pth = sub.add_parser("path", help="a sparsity path: several λ trained as one batch, compared side by side")
    _add_train_source(pth)
    pth.add_argument("--l1-values", nargs="+", required=True, metavar="λ", help="L1 strengths, e.g. 1e-5 1e-4 1e-3")
    pth.add_argument("--top", type=int, default=10, help="top pairs listed per λ (default %(default)s)")
    pth.add_argument("--json", metavar="OUT", help="per λ: run, test_r2, AP, top_pairs; rank_agreement")
    _add_dask_flag(pth)
    pth.set_defaults(func=cmd_path, pathways=None, variants=None)

    rpt = sub.add_parser("report", help="one self-contained HTML report of an interaction analysis (offline)")
    rpt.add_argument("--analysis", required=True, metavar="KEY", help="the 'analysis' of `interactions --json`")
    rpt.add_argument("--out", required=True, metavar="FILE.html")
    rpt.add_argument("--top", type=int, default=50, help="ranked pairs listed (default %(default)s)")
    rpt.add_argument("--fdr", type=float, default=0.1, help="FDR threshold the report calls pairs at")
    rpt.add_argument("--p", type=float, default=0.05, help="p threshold")
    rpt.set_defaults(func=cmd_report, out_is_file=True)  # --out names the report file, not a folder

    f = sub.add_parser("surface", help="the interaction surface h − h_a − h_b of one gene pair (paper A Fig. 7b)")
    _add_train_source(f)
    f.add_argument("--pair", nargs=2, required=True, metavar=("GENE_A", "GENE_B"), help="the two genes")
    f.add_argument("--grid", type=int, default=40, help="grid points per axis")
    f.add_argument("--steps", type=int, default=400, help="Adam steps of each surface fit")
    f.add_argument("--grid-csv", metavar="OUT", help="write the surface grid (g_a, g_b, interaction) as CSV")
    f.add_argument("--json", metavar="OUT", help="write R² of the joint and additive fits and the surface range")
    f.set_defaults(func=cmd_surface)

    c = sub.add_parser("cache", help="check the cache (verify every entry's files) or clean it (gc)")
    c.add_argument("action", choices=("verify", "gc"))
    c.add_argument("--delete", action="store_true", help="verify: delete damaged entries (they are recomputed)")
    c.add_argument(
        "--older-than",
        type=float,
        default=1.0,
        metavar="HOURS",
        help="gc: remove temporary folders of killed jobs older than this (default 1 h)",
    )
    c.add_argument("--json", metavar="OUT", help="verify: write the report as JSON")
    c.set_defaults(func=cmd_cache)
    return ap


def _check_outputs(a) -> None:
    """Fail before any work when an output cannot be written (a folder where a file goes, a file
    where a folder goes, a parent that cannot be created or written)."""
    for flag, path in (("--json", getattr(a, "json", None)), ("--grid-csv", getattr(a, "grid_csv", None))):
        if path:
            _writable(flag, Path(path), folder=False)
    if getattr(a, "out", None):
        _writable("--out", Path(a.out), folder=not getattr(a, "out_is_file", False))


def _writable(flag: str, path: Path, folder: bool) -> None:
    if folder and path.exists() and not path.is_dir():
        raise GxError(f"{flag} {path}: is a file; give a folder for the output files")
    if not folder and path.is_dir():
        raise GxError(f"{flag} {path}: is a folder; give a file name")
    parent = path if folder else path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GxError(f"{flag} {path}: cannot create {parent} ({exc.strerror or exc})") from None
    if not os.access(parent, os.W_OK):
        raise GxError(f"{flag} {path}: {parent} is not writable")


@contextlib.contextmanager
def _executor(address):
    """The process's executor for one command: a Dask cluster when ``--dask`` is given."""
    if not address:
        yield
        return
    from gxapp import execute

    ex = execute.from_spec(address)
    try:
        with execute.use(ex):
            yield
    finally:
        ex.close()


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check_outputs(args)
        with _executor(getattr(args, "dask", None)):
            return args.func(args)
    except GxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
