"""Which genome build (GRCh37 or GRCh38) do SNP positions use? Judged from the share of
SNPs inside the built-in protein-coding genes and from positions past a chromosome's end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxapp.data.io.gene_tables import BUILD_LABEL, BUILTIN, builtin_table
from gxapp.data.io.snp_index import SnpIndex, snp_positions

__all__ = ["CHROM_LENGTHS", "guess_build", "guess_build_from_positions"]

#: Chromosome lengths (UCSC hg19 / hg38); a position beyond the end is impossible in that build.
CHROM_LENGTHS = {
    "grch37": dict(
        zip(
            [str(i) for i in range(1, 23)] + ["X", "Y"],
            [
                249250621,
                243199373,
                198022430,
                191154276,
                180915260,
                171115067,
                159138663,
                146364022,
                141213431,
                135534747,
                135006516,
                133851895,
                115169878,
                107349540,
                102531392,
                90354753,
                81195210,
                78077248,
                59128983,
                63025520,
                48129895,
                51304566,
                155270560,
                59373566,
            ],
        )
    ),
    "grch38": dict(
        zip(
            [str(i) for i in range(1, 23)] + ["X", "Y"],
            [
                248956422,
                242193529,
                198295559,
                190214555,
                181538259,
                170805979,
                159345973,
                145138636,
                138394717,
                133797422,
                135086622,
                133275309,
                114364328,
                107043718,
                101991189,
                90338345,
                83257441,
                80373285,
                58617616,
                64444167,
                46709983,
                50818468,
                156040895,
                57227415,
            ],
        )
    ),
}


def guess_build(snps: pd.DataFrame) -> dict:
    """Which built-in build do the SNP positions fit?

    Maps the positions against the protein-coding genes of both built-in tables (no flank) and
    counts positions past the end of their chromosome in each build (impossible there).
    Returns ``{"grch37": fraction in genes, "grch38": fraction in genes,
    "beyond_end": {build: n SNPs past the chromosome end}, "best": build or None, "reason": str}``.
    ``best`` is None when the evidence does not separate the builds.
    """
    chrom, pos = snp_positions(snps)
    return guess_build_from_positions(chrom, pos)


def guess_build_from_positions(chrom: np.ndarray, pos: np.ndarray) -> dict:
    """:func:`guess_build` on normalised chromosome names and int64 positions."""
    idx = SnpIndex(chrom, pos)
    frac, beyond = {}, {}
    for key in BUILTIN:
        g = builtin_table(key)
        g = g[g["gene_type"] == "protein-coding"]
        lo, hi = idx.bounds(g["chrom"].to_numpy(object), g["start"].to_numpy(), g["end"].to_numpy(), 0)
        frac[key] = float(idx.covered(lo, hi).mean()) if len(pos) else 0.0
        length = np.array([CHROM_LENGTHS[key].get(c, np.inf) for c in idx.cats], dtype=float)[idx.codes]
        beyond[key] = int(np.count_nonzero(pos > length))
    best, reason = None, "the positions fit both builds about equally well"
    a, b = "grch37", "grch38"
    hi_b, lo_b = (a, b) if beyond[a] >= beyond[b] else (b, a)
    if beyond[hi_b] >= max(3, 0.001 * len(pos)) and beyond[lo_b] * 10 <= beyond[hi_b]:
        best = lo_b
        reason = (
            f"{beyond[hi_b]} SNP(s) lie past the end of their chromosome in {BUILD_LABEL[hi_b]} "
            f"but {beyond[lo_b]} in {BUILD_LABEL[lo_b]}"
        )
    else:
        top, other = (a, b) if frac[a] >= frac[b] else (b, a)
        if frac[top] > 0 and frac[other] < 0.5 * frac[top]:
            best = top
            reason = (
                f"{frac[top]:.0%} of SNPs fall in protein-coding genes with {BUILD_LABEL[top]} "
                f"but {frac[other]:.0%} with {BUILD_LABEL[other]}"
            )
    return {"grch37": frac["grch37"], "grch38": frac["grch38"], "beyond_end": beyond, "best": best, "reason": reason}
