"""A :class:`~gxapp.data.cohort.Cohort` as the files of one folder: int8 genotypes
(.npy) + Parquet tables + JSON; :func:`save_cohort` writes them, :func:`load_cohort_dir`
reads them back.

Used by the cohort cache (:mod:`gxapp.analyses.cohorts`); loading memory-maps nothing
and parses no text, so a cached cohort opens in well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.errors import CacheError


def _write_json(path: Path, obj) -> None:
    with open(path, "w") as fh:
        json.dump(obj, fh, default=str)


def save_cohort(cohort: Cohort, folder) -> None:
    """Write ``cohort`` into ``folder`` (which must exist)."""
    validate(cohort)
    folder = Path(folder)
    np.save(folder / "genotypes.npy", cohort.genotypes, allow_pickle=False)
    if cohort.dosages is not None:
        np.save(folder / "dosages.npy", cohort.dosages, allow_pickle=False)
    cohort.samples.to_parquet(folder / "samples.parquet", index=False)
    cohort.snps.to_parquet(folder / "snps.parquet", index=False)
    cohort.genes.to_parquet(folder / "genes.parquet", index=False)
    np.savez(
        folder / "gene_snps.npz",
        **{f"g{i}": np.asarray(cohort.gene_snps[g], np.int64) for i, g in enumerate(cohort.gene_names)},
    )
    if cohort.phenotype is not None:
        np.save(folder / "phenotype.npy", np.asarray(cohort.phenotype, np.float64), allow_pickle=False)
    if cohort.covariates is not None:
        cohort.covariates.reset_index(drop=True).to_parquet(folder / "covariates.parquet", index=False)
    if cohort.variants is not None:
        cohort.variants.to_parquet(folder / "variants.parquet", index=False)
    _write_json(
        folder / "cohort.json",
        {
            "trait": cohort.trait,
            "pathways": cohort.pathways,
            "truth": cohort.truth,
            "meta": cohort.meta,
        },
    )


def load_cohort_dir(folder) -> Cohort:
    """Read a cohort written by :func:`save_cohort`."""
    folder = Path(folder)
    try:
        with open(folder / "cohort.json") as fh:
            info = json.load(fh)
        genes = pd.read_parquet(folder / "genes.parquet")
        with np.load(folder / "gene_snps.npz", allow_pickle=False) as z:
            gene_snps = {g: z[f"g{i}"] for i, g in enumerate(genes["gene"])}
        opt = lambda name, fn: fn(folder / name) if (folder / name).exists() else None  # noqa: E731
        cohort = Cohort(
            genotypes=np.load(folder / "genotypes.npy", allow_pickle=False),
            dosages=opt("dosages.npy", lambda p: np.load(p, allow_pickle=False)),
            samples=pd.read_parquet(folder / "samples.parquet"),
            snps=pd.read_parquet(folder / "snps.parquet"),
            genes=genes,
            gene_snps=gene_snps,
            phenotype=opt("phenotype.npy", lambda p: np.load(p, allow_pickle=False)),
            trait=info["trait"],
            covariates=opt("covariates.parquet", pd.read_parquet),
            pathways=info.get("pathways"),
            variants=opt("variants.parquet", pd.read_parquet),
            truth=info.get("truth"),
            meta=info.get("meta") or {},
        )
    except (OSError, KeyError, ValueError) as exc:
        raise CacheError(f"cached cohort at {folder} is unreadable ({exc}); delete it and load again") from None
    return validate(cohort)
