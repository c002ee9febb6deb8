"""PLINK 1 binary filesets (.bed/.bim/.fam): reading and writing.

Genotypes count copies of allele ``a1`` (column 5 of the .bim, PLINK's A1),
-1 = missing. Reading goes through ``bed_reader``; writing is a small numpy
encoder (SNP-major mode) so that missing values and text columns round-trip
exactly as given.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from bed_reader import open_bed

from gxapp.data.io.genotypes import Genotypes, normalise_chrom
from gxapp.errors import EmptyDataError, InputFormatError
from gxapp.progress import check_cancel, report

BIM_COLUMNS = ("chrom", "snp", "cm", "pos", "a1", "a2")
FAM_COLUMNS = ("fid", "iid", "father", "mother", "sex", "pheno")
BED_MAGIC = b"\x6c\x1b"
# bed-reader's int8 code for a missing genotype.
_BED_READER_MISSING = -127
# Genotype cells read per chunk (bounds memory and sets the progress granularity).
_CHUNK_CELLS = 1 << 26
# 2-bit .bed codes indexed by (copies of a1) + 1: missing 01, 0 -> 11, 1 -> 10, 2 -> 00.
_BED_CODE = np.array([0b01, 0b11, 0b10, 0b00], dtype=np.uint8)


def _read_columns(path, names, what: str) -> pd.DataFrame:
    """Whitespace-separated text file with exactly ``len(names)`` str columns.
    Blank lines are skipped; a line with another number of fields raises an
    InputFormatError naming the file and the line."""
    path = Path(path)
    n = len(names)
    fix = f"each line of a {what} file must have {n} whitespace-separated columns ({', '.join(names)})"
    if path.is_dir():
        raise InputFormatError(f"{path.name}: is a folder, not a {what} file")
    if not path.is_file():
        raise InputFormatError(f"{path.name}: file not found at {path}; check the path")
    try:
        df = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            dtype=str,
            names=range(n + 1),
            skip_blank_lines=False,
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError:
        raise EmptyDataError(f"{path.name} is empty; {fix}") from None
    except pd.errors.ParserError as e:
        raise InputFormatError(f"{path.name}: too many columns ({e}); {fix}") from None
    except UnicodeDecodeError:
        raise InputFormatError(f"{path.name} is not a text file; {fix}") from None
    blank = df.isna().all(axis=1)
    counts = df.notna().sum(axis=1)
    bad = ~blank & (counts != n)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFormatError(f"{path.name} line {i + 1}: {int(counts.iloc[i])} columns found; {fix}")
    df = df.loc[~blank, list(range(n))]
    df.columns = list(names)
    df.index = df.index + 1  # file line numbers, used in later error messages
    if df.empty:
        raise EmptyDataError(f"{path.name} has no data lines; {fix}")
    return df


def read_bim(path) -> pd.DataFrame:
    """Read a .bim file into columns ``snp, chrom, cm, pos, a1, a2`` (pos int64,
    cm float64, chrom normalised, the rest str)."""
    path = Path(path)
    df = _read_columns(path, BIM_COLUMNS, ".bim")
    numbers = {}
    for col in ("cm", "pos"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | ((values % 1 != 0) & (col == "pos"))
        if bad.any():
            line = bad.idxmax()
            raise InputFormatError(
                f"{path.name} line {line}: {col} '{df.at[line, col]}' is not a number; "
                f"column {BIM_COLUMNS.index(col) + 1} ({col}) of a .bim file must be numeric"
            )
        numbers[col] = values
    return pd.DataFrame(
        {
            "snp": df["snp"].to_numpy(),
            "chrom": normalise_chrom(df["chrom"].to_numpy()).to_numpy(),
            "cm": numbers["cm"].to_numpy(np.float64),
            "pos": numbers["pos"].to_numpy(np.int64),
            "a1": df["a1"].to_numpy(),
            "a2": df["a2"].to_numpy(),
        }
    )


def read_fam(path) -> pd.DataFrame:
    """Read a .fam file into str columns ``fid, iid, father, mother, sex, pheno``."""
    return _read_columns(path, FAM_COLUMNS, ".fam").reset_index(drop=True)


def _fileset(prefix) -> tuple[Path, Path, Path]:
    """The .bed/.bim/.fam paths of ``prefix`` (given with or without an extension)."""
    p = Path(prefix)
    if p.suffix.lower() in (".bed", ".bim", ".fam"):
        p = p.with_suffix("")
    paths = tuple(p.with_name(p.name + ext) for ext in (".bed", ".bim", ".fam"))
    missing = [q.name for q in paths if not q.is_file()]
    if missing:
        raise InputFormatError(
            f"PLINK fileset '{p}': missing {', '.join(missing)}; a PLINK fileset needs "
            f"{p.name}.bed, {p.name}.bim and {p.name}.fam side by side"
        )
    return paths


def _check_bed(bed: Path, fam: Path, bim: Path, n: int, p: int) -> None:
    """Check the magic bytes, the SNP-major mode and the size of ``bed``."""
    with open(bed, "rb") as f:
        head = f.read(3)
    if len(head) < 3 or head[:2] != BED_MAGIC:
        raise InputFormatError(
            f"{bed.name} is not a PLINK .bed file (its first bytes are not 0x6c 0x1b); "
            f"re-create it with plink --make-bed"
        )
    if head[2] != 1:
        raise InputFormatError(
            f"{bed.name} is in sample-major mode (old PLINK format), which gxapp does not read; "
            f"convert it with plink --bfile {bed.with_suffix('').name} --make-bed --out NEW"
        )
    size, need = bed.stat().st_size, 3 + -(-n // 4) * p
    if size != need:
        raise InputFormatError(
            f"{bed.name} has {size} bytes but {fam.name} ({n} samples) and {bim.name} ({p} SNPs) "
            f"need {need}: the files are truncated or do not belong together"
        )
    _check_padding(bed, fam, n, p)


def _check_padding(bed: Path, fam: Path, n: int, p: int) -> None:
    """The unused 2-bit slots after the last sample in each SNP's last byte must be 0.

    The byte size cannot tell 1,999 samples from 2,000 (both need 500 bytes per SNP); the padding
    can: a .fam that lost a few lines leaves real genotypes where padding should be. One byte per
    SNP is read (memory-mapped)."""
    spare = (-n) % 4
    if not spare or not p:
        return
    last = np.asarray(np.memmap(bed, np.uint8, "r", offset=3, shape=(p, -(-n // 4)))[:, -1])
    bad = np.flatnonzero(last >> (2 * (4 - spare)))
    if bad.size:
        raise InputFormatError(
            f"{bed.name}: {bad.size:,} of {p:,} SNPs (the first at .bim line {bad[0] + 1}) hold genotypes "
            f"beyond the {n:,} samples that {fam.name} lists: {fam.name} is probably missing lines, or belongs "
            "to another fileset; use the .fam written with this .bed"
        )


def check_plink(prefix) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the .fam and .bim of a fileset and check that the .bed fits them
    (magic bytes, mode, size), without reading genotypes. Returns (fam, bim)."""
    bed, bim_path, fam_path = _fileset(prefix)
    fam, bim = read_fam(fam_path), read_bim(bim_path)
    _check_bed(bed, fam_path, bim_path, len(fam), len(bim))
    return fam, bim


def read_plink(prefix, select=None, progress=None, cancel=None, duplicate_ids="rename") -> Genotypes:
    """Read a PLINK fileset. ``select``: None (all SNPs) or .bim row indices (int
    array or boolean mask); only those columns of the .bed are read, returned in
    .bim order (sorted, duplicates dropped). ``duplicate_ids``: as :func:`gxapp.data.io.vcf.read_vcf`."""
    bed, bim_path, fam_path = _fileset(prefix)
    fam, bim = check_plink(prefix)
    n, p = len(fam), len(bim)
    cols = _selection(select, p, bim_path.name)
    props = {
        "fid": fam["fid"].tolist(),
        "iid": fam["iid"].tolist(),
        "sid": bim["snp"].tolist(),
        "chromosome": bim["chrom"].tolist(),
        "bp_position": bim["pos"].tolist(),
        "allele_1": bim["a1"].tolist(),
        "allele_2": bim["a2"].tolist(),
    }
    # Fortran order: bed-reader returns SNP-major blocks, so each chunk is one memcpy
    # and each gene's SNP block is contiguous.
    g = np.empty((n, len(cols)), dtype=np.int8, order="F")
    step = max(1, _CHUNK_CELLS // max(n, 1))
    with open_bed(bed, iid_count=n, sid_count=p, properties=props, count_A1=True) as reader:
        for start in range(0, len(cols), step):
            check_cancel(cancel)
            chunk = cols[start : start + step]
            block = reader.read(index=np.s_[:, chunk], dtype="int8", order="F")
            block[block == _BED_READER_MISSING] = -1
            g[:, start : start + len(chunk)] = block
            report(progress, (start + len(chunk)) / len(cols), f"read {start + len(chunk)}/{len(cols)} SNPs")
    geno = Genotypes(
        genotypes=g,
        samples=fam[["fid", "iid"]].reset_index(drop=True),
        snps=bim.iloc[cols][["snp", "chrom", "pos", "a1", "a2", "cm"]].reset_index(drop=True),
        meta={"source": "plink", "path": str(bed), "n_snps_in_file": p},
    )
    return geno.with_unique_variant_ids(duplicate_ids).validate(
        bed.name, samples_source=fam_path.name, snps_source=bim_path.name
    )


def read_bed_block(prefix, rows, cols, fam=None, bim=None) -> np.ndarray:
    """Genotypes (len(rows), len(cols)) int8 (-1 missing) of .fam rows ``rows`` and .bim rows ``cols``
    (any order, as given), without building a :class:`Genotypes` (for blockwise scans of large sets)."""
    bed = _fileset(prefix)[0]
    if fam is None or bim is None:
        fam, bim = check_plink(prefix)
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    with open_bed(bed, iid_count=len(fam), sid_count=len(bim), count_A1=True) as reader:
        block = reader.read(index=np.s_[rows, cols], dtype="int8", order="F")
    block[block == _BED_READER_MISSING] = -1
    return block


def _selection(select, p: int, bim_name: str) -> np.ndarray:
    """Sorted unique .bim row indices from ``select``; every index must exist."""
    if select is None:
        return np.arange(p, dtype=np.int64)
    sel = np.asarray(select)
    if sel.dtype == bool:
        if sel.shape != (p,):
            raise InputFormatError(f"select: boolean mask of length {len(sel)} but {bim_name} has {p} SNPs")
        sel = np.flatnonzero(sel)
    if sel.size and not np.issubdtype(sel.dtype, np.integer):
        raise InputFormatError(f"select: expected .bim row indices (integers), got {sel.dtype}")
    sel = np.unique(sel.astype(np.int64).ravel())
    if sel.size and (sel[0] < 0 or sel[-1] >= p):
        bad = sel[0] if sel[0] < 0 else sel[-1]
        raise InputFormatError(f"select: row index {bad} is out of range; {bim_name} has {p} SNPs (0..{p - 1})")
    if sel.size == 0:
        raise EmptyDataError(f"select: no SNP of {bim_name} was selected; select at least one row")
    return sel


def _fam_text(geno: Genotypes, phenotype) -> str:
    s = geno.samples
    n = len(s)

    def col(name, default):
        return s[name].astype(str).to_numpy() if name in s.columns else np.full(n, default, dtype=object)

    if phenotype is None:
        pheno = np.full(n, "-9", dtype=object)
    else:
        y = np.asarray(phenotype, dtype=np.float64)
        if y.shape != (n,):
            raise InputFormatError(f"phenotype: expected {n} values (one per sample), got shape {y.shape}")
        pheno = np.array(["-9" if np.isnan(v) else f"{v:.10g}" for v in y], dtype=object)
    cols = [col("fid", "0"), col("iid", "0"), col("father", "0"), col("mother", "0"), col("sex", "0"), pheno]
    return "".join(" ".join(row) + "\n" for row in zip(*cols))


def _bim_text(snps: pd.DataFrame) -> str:
    cm = snps["cm"] if "cm" in snps.columns else pd.Series(0.0, index=snps.index)
    cols = [
        snps["chrom"].astype(str),
        snps["snp"].astype(str),
        cm.astype(str),
        snps["pos"].astype(np.int64).astype(str),
        snps["a1"].astype(str),
        snps["a2"].astype(str),
    ]
    return "".join("\t".join(row) + "\n" for row in zip(*cols))


def _write_bed(path: Path, g: np.ndarray) -> None:
    """Encode ``g`` (N, P; copies of a1, -1 missing) as a SNP-major .bed."""
    n, p = g.shape
    nbytes = -(-n // 4)
    step = max(1, _CHUNK_CELLS // max(n, 1))
    with open(path, "wb") as f:
        f.write(BED_MAGIC + b"\x01")
        for start in range(0, p, step):
            codes = np.zeros((min(step, p - start), nbytes * 4), dtype=np.uint8)
            codes[:, :n] = _BED_CODE[g[:, start : start + step].T.astype(np.int16) + 1]
            codes = codes.reshape(len(codes), nbytes, 4)
            packed = codes[..., 0] | (codes[..., 1] << 2) | (codes[..., 2] << 4) | (codes[..., 3] << 6)
            f.write(packed.astype(np.uint8).tobytes())


def write_plink(prefix, geno: Genotypes, phenotype=None) -> None:
    """Write ``geno`` as ``prefix``.bed/.bim/.fam. ``phenotype`` (float, NaN =
    missing, written -9) fills the 6th .fam column. Files are written under
    temporary names and renamed at the end, so a crash leaves no half file."""
    geno.validate("write_plink")
    g = geno.genotypes
    if g.size and (g.min() < -1 or g.max() > 2):
        raise InputFormatError("write_plink: genotypes must be 0, 1, 2 or -1 (missing)")
    p = Path(prefix)
    if p.suffix.lower() in (".bed", ".bim", ".fam"):
        p = p.with_suffix("")
    final = [p.with_name(p.name + ext) for ext in (".bed", ".bim", ".fam")]
    tmp = [q.with_name(q.name + ".tmp") for q in final]
    try:
        _write_bed(tmp[0], g)
        tmp[1].write_text(_bim_text(geno.snps))
        tmp[2].write_text(_fam_text(geno, phenotype))
        for t, f in zip(tmp, final):
            os.replace(t, f)
    finally:
        for t in tmp:
            t.unlink(missing_ok=True)
