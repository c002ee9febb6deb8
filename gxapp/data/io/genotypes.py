"""Raw genotypes as read from a file, before SNPs are mapped to genes."""

from __future__ import annotations

from dataclasses import dataclass, field

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
        d = self.samples["iid"][self.samples["iid"].duplicated()]
        if len(d):
            raise DuplicateIdError(
                f"{samples_source or source}: duplicated sample id '{d.iloc[0]}' ({len(d)} duplicate(s))"
            )
        d = self.snps["snp"][self.snps["snp"].duplicated()]
        if len(d):
            raise DuplicateIdError(f"{snps_source or source}: duplicated SNP id '{d.iloc[0]}' ({len(d)} duplicate(s))")
        return self


def normalise_chrom(values) -> pd.Series:
    """'chr1' -> '1', 'chrX' -> 'X', 23 -> 'X' (PLINK codes), as str."""
    s = pd.Series(values).astype(str).str.strip()
    s = s.str.replace(r"^(?i:chr)", "", regex=True)
    return s.replace({"23": "X", "24": "Y", "25": "XY", "26": "MT", "M": "MT"})
