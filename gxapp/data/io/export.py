"""Write a cohort as plain files any tool reads: PLINK .bed/.bim/.fam, a
phenotype table, a gene table, the planted truth, and (when present) the
annotated variant table, pathways and covariates."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.data.io.genotypes import Genotypes
from gxapp.data.io.gmt import write_gmt
from gxapp.data.io.plink import write_plink


def phenotype_table(cohort: Cohort) -> pd.DataFrame:
    """FID IID y; binary traits coded PLINK-style (1 control, 2 case, -9 missing)."""
    y = cohort.phenotype if cohort.phenotype is not None else np.full(cohort.n_samples, np.nan)
    if cohort.trait == "binary":
        y = np.where(np.isfinite(y), y + 1, -9)
    else:
        y = np.where(np.isfinite(y), y, -9)
    return pd.DataFrame({"FID": cohort.samples["fid"], "IID": cohort.samples["iid"], "y": y})


def export_cohort(cohort: Cohort, out_dir) -> list:
    """Write the cohort's files into ``out_dir``; returns the paths written."""
    validate(cohort)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    snps = cohort.snps.copy()
    geno = Genotypes(cohort.genotypes, cohort.samples[["fid", "iid"]], snps)
    pheno = phenotype_table(cohort)
    fam_y = pheno["y"].to_numpy(np.float64)
    write_plink(out / "cohort", geno, phenotype=np.where(fam_y == -9, np.nan, fam_y))
    written = [out / f"cohort.{e}" for e in ("bed", "bim", "fam")]
    pheno.to_csv(out / "phenotype.tsv", sep="\t", index=False)
    cohort.genes[["gene", "chrom", "start", "end"]].to_csv(out / "genes.tsv", sep="\t", index=False)
    written += [out / "phenotype.tsv", out / "genes.tsv"]
    if cohort.truth is not None:
        with open(out / "truth.json", "w") as fh:
            json.dump(cohort.truth, fh, indent=1, default=str)
        written.append(out / "truth.json")
    if cohort.covariates is not None:
        cov = cohort.covariates.copy()
        cov.insert(0, "IID", cohort.samples["iid"].to_numpy())
        cov.insert(0, "FID", cohort.samples["fid"].to_numpy())
        cov.to_csv(out / "covariates.tsv", sep="\t", index=False, na_rep="NA")
        written.append(out / "covariates.tsv")
    if cohort.variants is not None:
        cohort.variants.to_csv(out / "variants.tsv", sep="\t", index=False)
        written.append(out / "variants.tsv")
    if cohort.pathways is not None:
        write_gmt(out / "pathways.gmt", cohort.pathways)
        written.append(out / "pathways.gmt")
    if "class" in cohort.snps.columns:
        cohort.snps[["snp", "class"]].to_csv(out / "snp_classes.tsv", sep="\t", index=False)
        written.append(out / "snp_classes.tsv")
    return written


def export_zip(cohort: Cohort) -> bytes:
    """The same files as :func:`export_cohort`, zipped in memory (for downloads)."""
    with tempfile.TemporaryDirectory() as d:
        files = export_cohort(cohort, d)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, arcname=Path(f).name)
        return buf.getvalue()
