"""Raw genotypes as read from a file, before SNPs are mapped to genes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.errors import DuplicateIdError, InputFormatError


@dataclass(eq=False)
class Genotypes:
    """genotypes: int8 (N, P), copies of allele ``a1``, -1 missing.
    samples: DataFrame ``fid``, ``iid`` (str). snps: DataFrame ``snp``, ``chrom``
    (str, no "chr"), ``pos`` (int64), ``a1``, ``a2`` (str) [, ``cm``].
    meta: what the reader did (source, counts of skipped sites...)."""

    genotypes: np.ndarray
    samples: pd.DataFrame
    snps: pd.DataFrame
    meta: dict = field(default_factory=dict)
    # imputed dosages (float32 copies of a1 in [0, 2], NaN missing) when the file has them (BGEN);
    # ``genotypes`` then holds their hard calls
    dosages: Optional[np.ndarray] = None

    def with_unique_variant_ids(self, duplicates: str = "rename") -> "Genotypes":
        """These genotypes with variant ids made unique (:func:`resolve_variant_ids`); what was
        done is in ``meta["variant_ids"]``."""
        keep, ids, rep = resolve_variant_ids(self.snps, duplicates)
        if not rep["changed"]:
            return self
        snps = self.snps[keep].reset_index(drop=True).copy()
        snps["snp"] = ids
        g = self.genotypes if keep.all() else np.asarray(self.genotypes[:, keep], order="F")
        d = self.dosages if self.dosages is None or keep.all() else np.asarray(self.dosages[:, keep], order="F")
        return Genotypes(
            genotypes=g, samples=self.samples, snps=snps, meta={**self.meta, "variant_ids": rep}, dosages=d
        )

    def validate(self, source: str = "genotypes", samples_source=None, snps_source=None) -> "Genotypes":
        """Shapes and unique ids; errors name ``source``, or the file the sample ids
        (``samples_source``, e.g. the .fam) or SNP ids (``snps_source``, the .bim) came from."""
        g = self.genotypes
        if g.ndim != 2 or g.dtype != np.int8:
            raise InputFormatError(f"{source}: genotypes must be a 2-D int8 array")
        if g.shape != (len(self.samples), len(self.snps)):
            raise InputFormatError(
                f"{source}: {g.shape[0]}x{g.shape[1]} genotypes but {len(self.samples)} samples "
                f"and {len(self.snps)} SNPs"
            )
        if self.dosages is not None and self.dosages.shape != g.shape:
            raise InputFormatError(f"{source}: dosages {self.dosages.shape} do not match the genotypes {g.shape}")
        d = self.samples["iid"][self.samples["iid"].duplicated()]
        if len(d):
            raise DuplicateIdError(
                f"{samples_source or source}: duplicated sample id '{d.iloc[0]}' ({len(d)} duplicate(s))"
            )
        d = self.snps["snp"][self.snps["snp"].duplicated()]
        if len(d):
            raise DuplicateIdError(f"{snps_source or source}: duplicated SNP id '{d.iloc[0]}' ({len(d)} duplicate(s))")
        return self


DUPLICATE_IDS = ("rename", "drop")


def resolve_variant_ids(snps: pd.DataFrame, duplicates: str = "rename") -> tuple:
    """Make variant ids unique the way PLINK 2 users do (``--set-missing-var-ids``, ``--rm-dup``):

    * a missing id (``.``, empty) becomes ``chrom:pos:a2:a1`` (REF:ALT for a VCF);
    * an exact duplicate — the same chromosome, position and allele pair as an earlier row —
      is dropped (whatever its id);
    * distinct variants sharing an id are renamed ``id``, ``id_2``, ``id_3``… in file order
      (``duplicates="rename"``, the default) or all but the first dropped (``"drop"``).

    Returns ``(keep, ids, report)``: a boolean mask over the rows, the new ids of the kept
    rows, and counts with examples (``report["changed"]`` is False when nothing was done)."""
    if duplicates not in DUPLICATE_IDS:
        raise InputFormatError(f"duplicate_ids: expected one of {DUPLICATE_IDS}, got {duplicates!r}")
    ids = snps["snp"].astype(str).str.strip()
    chrom, pos = snps["chrom"].astype(str), snps["pos"].astype(np.int64).astype(str)
    a1, a2 = snps["a1"].astype(str).str.upper(), snps["a2"].astype(str).str.upper()
    missing = ids.isin(["", ".", "nan", "NA"])
    ids = ids.where(~missing, chrom + ":" + pos + ":" + a2 + ":" + a1)
    allele_set = np.where(a1 <= a2, a1 + "/" + a2, a2 + "/" + a1)
    exact = pd.Series(list(zip(chrom, pos, allele_set))).duplicated().to_numpy()
    keep = ~exact
    kept_ids = ids[keep]
    shared = kept_ids[kept_ids.duplicated(keep=False)]
    rep = {
        "missing_ids_set": int(missing.sum()),
        "missing_id_examples": ids[missing].head(3).tolist(),
        "exact_duplicates_dropped": int(exact.sum()),
        "exact_duplicate_examples": snps["snp"][exact].astype(str).head(3).tolist(),
        "shared_id_policy": duplicates,
        "shared_ids": int(shared.nunique()),
        "shared_id_examples": shared.drop_duplicates().head(3).tolist(),
    }
    n_shared = 0
    if len(shared):
        rank = kept_ids.groupby(kept_ids).cumcount()
        if duplicates == "rename":
            new = kept_ids.where(rank == 0, kept_ids + "_" + (rank + 1).astype(str))
            n_shared = int((rank > 0).sum())
            # a renamed id may collide with an id already in the file: suffix until unique
            seen = set(kept_ids[rank == 0])
            out = []
            for v, r in zip(new, rank):
                if r > 0:
                    base, k = v.rsplit("_", 1)[0], int(v.rsplit("_", 1)[1])
                    while v in seen:
                        k += 1
                        v = f"{base}_{k}"
                seen.add(v)
                out.append(v)
            kept_ids = pd.Series(out, index=kept_ids.index)
        else:
            drop = (rank > 0).to_numpy()
            n_shared = int(drop.sum())
            idx = np.flatnonzero(keep)[drop]
            keep = keep.copy()
            keep[idx] = False
            kept_ids = kept_ids[~drop]
    rep["shared_id_rows_" + ("renamed" if duplicates == "rename" else "dropped")] = n_shared
    rep["changed"] = bool(rep["missing_ids_set"] or rep["exact_duplicates_dropped"] or n_shared)
    return keep, kept_ids.to_numpy(dtype=object), rep


def describe_variant_ids(rep: dict) -> str:
    """One line of what was done to make variant ids unique."""

    def eg(key):
        return f" (e.g. {', '.join(rep.get(key) or [])})" if rep.get(key) else ""

    parts = []
    if rep.get("missing_ids_set"):
        parts.append(f"{rep['missing_ids_set']} missing set to chrom:pos:ref:alt")
    if rep.get("exact_duplicates_dropped"):
        parts.append(f"{rep['exact_duplicates_dropped']} exact duplicates dropped{eg('exact_duplicate_examples')}")
    if rep.get("shared_id_rows_renamed"):
        parts.append(f"{rep['shared_id_rows_renamed']} variants sharing an id renamed id_2…{eg('shared_id_examples')}")
    if rep.get("shared_id_rows_dropped"):
        parts.append(f"{rep['shared_id_rows_dropped']} variants sharing an id dropped{eg('shared_id_examples')}")
    return "; ".join(parts) or "all unique"


def normalise_chrom(values) -> pd.Series:
    """'chr1' -> '1', 'chrX' -> 'X', 23 -> 'X' (PLINK codes), as str."""
    s = pd.Series(values).astype(str).str.strip()
    s = s.str.replace(r"^(?i:chr)", "", regex=True)
    return s.replace({"23": "X", "24": "Y", "25": "XY", "26": "MT", "M": "MT"})
