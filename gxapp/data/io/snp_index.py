"""SNP positions sorted by (chromosome, position) for interval queries: which SNPs lie
in each of many ranges (genes), and which SNPs lie in at least one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxapp.data.io.genotypes import normalise_chrom
from gxapp.errors import InputFormatError

__all__ = ["SnpIndex", "expand_ranges", "snp_positions"]

_MAX_POS = np.int64(2**32 - 1)


def snp_positions(snps: pd.DataFrame, label: str = "snps") -> tuple[np.ndarray, np.ndarray]:
    """Normalised chromosome names (object array) and int64 positions of a SNP table."""
    for col in ("chrom", "pos"):
        if col not in snps.columns:
            raise InputFormatError(f"{label}: missing column '{col}' (need chrom and pos)")
    chrom = normalise_chrom(snps["chrom"].to_numpy()).to_numpy(dtype=object)
    pos = pd.to_numeric(snps["pos"], errors="coerce")
    if pos.isna().any():
        k = int(np.flatnonzero(pos.isna().to_numpy())[0])
        raise InputFormatError(
            f"{label}: position of SNP row {k} ('{snps['pos'].iloc[k]}') is not a number; fix the SNP table"
        )
    return chrom, pos.to_numpy(np.int64)


class SnpIndex:
    """SNP positions sorted by (chromosome, position) for interval queries."""

    def __init__(self, chrom: np.ndarray, pos: np.ndarray):
        codes, self.cats = pd.factorize(pd.Series(chrom, dtype=object), sort=False)
        self.codes = codes
        self.code_of = {c: i for i, c in enumerate(self.cats)}
        key = codes.astype(np.int64) * (np.int64(2**32)) + np.clip(pos, 0, _MAX_POS)
        self.order = np.argsort(key, kind="stable")
        self.keys = key[self.order]
        self.n = len(pos)

    def bounds(self, chrom, start, end, flank: int) -> tuple[np.ndarray, np.ndarray]:
        code = pd.Series(chrom, dtype=object).map(self.code_of)
        has = code.notna().to_numpy()
        code = code.fillna(0).to_numpy(np.int64)
        base = code * np.int64(2**32)
        lo_k = base + np.clip(np.asarray(start, np.int64) - flank, 0, _MAX_POS)
        hi_k = base + np.clip(np.asarray(end, np.int64) + flank, 0, _MAX_POS)
        lo = np.searchsorted(self.keys, lo_k, side="left")
        hi = np.searchsorted(self.keys, hi_k, side="right")
        lo = np.where(has, lo, 0)
        hi = np.where(has, hi, 0)
        return lo, np.maximum(hi, lo)

    def covered(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """bool per SNP (original order): inside at least one [lo, hi) range of sorted positions."""
        diff = np.zeros(self.n + 1, dtype=np.int64)
        np.add.at(diff, lo, 1)
        np.add.at(diff, hi, -1)
        inside = np.cumsum(diff[:-1]) > 0
        mask = np.zeros(self.n, dtype=bool)
        mask[self.order] = inside
        return mask


def expand_ranges(lo: np.ndarray, hi: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gene index, SNP row) pairs for every gene g and sorted slot in [lo[g], hi[g])."""
    counts = hi - lo
    total = int(counts.sum())
    gid = np.repeat(np.arange(len(lo), dtype=np.int64), counts)
    if total == 0:
        return gid, np.zeros(0, np.int64)
    starts = np.cumsum(counts) - counts
    slot = np.arange(total, dtype=np.int64) - np.repeat(starts, counts) + np.repeat(lo, counts)
    return gid, order[slot].astype(np.int64)
