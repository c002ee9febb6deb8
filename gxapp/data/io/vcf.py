"""VCF/BCF reader (.vcf, .vcf.gz, .bcf) through cyvcf2.

Dosages are hard calls from GT: copies of the ALT allele (``a1`` = ALT,
``a2`` = REF), -1 when any allele of the call is missing. Haploid calls give
0/1.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import cyvcf2
import numpy as np
import pandas as pd

from gxapp.data.io.genotypes import Genotypes, normalise_chrom
from gxapp.errors import DuplicateIdError, EmptyDataError, GxError, InputFormatError, ParameterError
from gxapp.progress import check_cancel, report

MULTIALLELIC = ("split", "skip")
# Progress is reported every this many records.
_REPORT_EVERY = 2000


def _check_unique(samples, name: str) -> None:
    dup = pd.Series(samples)[pd.Series(samples).duplicated()]
    if len(dup):
        raise DuplicateIdError(
            f"{name}: sample id '{dup.iloc[0]}' appears more than once in the header "
            f"({len(dup)} duplicate(s)); sample ids must be unique"
        )


def _header_samples(path: Path) -> list:
    """Sample ids of the #CHROM line of a text (optionally gzipped) VCF; [] if not found."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(path, "rt") if gz else open(path) as f:
            for line in f:
                if line.startswith("#CHROM"):
                    return line.rstrip("\r\n").split("\t")[9:]
                if not line.startswith("##"):
                    break
    except (OSError, UnicodeDecodeError, EOFError):
        pass
    return []


def _open(path: Path):
    try:
        return cyvcf2.VCF(str(path))
    except OSError:
        if not path.is_file():
            raise InputFormatError(f"{path.name}: file not found at {path}; check the path") from None
        raise InputFormatError(
            f"{path.name} is not a readable VCF/BCF file; gxapp reads .vcf, bgzipped .vcf.gz and .bcf"
        ) from None
    except Exception as e:  # htslib rejects some headers, e.g. duplicated sample names
        _check_unique(_header_samples(path), path.name)
        raise InputFormatError(f"{path.name}: the VCF header cannot be parsed ({e}); fix the header lines") from None


def _has_gt(vcf) -> bool:
    return any(h.type == "FORMAT" and h.info().get("ID") == "GT" for h in vcf.header_iter())


def _region_filter(regions):
    """A function (chrom, pos) -> bool keeping positions inside any region
    (1-based, inclusive), or None when ``regions`` is None."""
    if regions is None:
        return None
    by_chrom: dict = {}
    try:
        regions = list(regions)
        chroms = normalise_chrom([r[0] for r in regions]).tolist() if regions else []  # once, not per region
        for c, (_, start, end) in zip(chroms, regions):
            by_chrom.setdefault(c, []).append((int(start), int(end)))
    except (TypeError, ValueError, IndexError):
        raise ParameterError("regions: expected a list of (chrom, start, end) tuples with integer start/end") from None
    bounds = {c: (np.array([s for s, _ in v]), np.array([e for _, e in v])) for c, v in by_chrom.items()}

    def keep(chrom: str, pos: int) -> bool:
        b = bounds.get(chrom)
        return b is not None and bool(((b[0] <= pos) & (pos <= b[1])).any())

    return keep


def _dosage(alleles: np.ndarray, k: int) -> np.ndarray:
    """Copies of allele index ``k`` per sample; -1 if any allele is missing.
    ``alleles`` is cyvcf2's genotype array without the phase column (-2 pads
    lower ploidies)."""
    missing = (alleles == -1).any(axis=1)
    d = (alleles == k).sum(axis=1).astype(np.int8)
    d[missing] = -1
    return d


def _read_records(vcf, name: str, keep, multiallelic: str, progress, cancel):
    """Iterate the records: (dosage columns, snp rows, counts for meta)."""
    chroms: dict = {}  # raw CHROM -> normalised, computed once per contig
    columns, rows = [], []
    n_split = n_skipped = n_no_alt = n_seen = 0
    last = "the header"
    try:
        for v in vcf:
            n_seen += 1
            if n_seen % _REPORT_EVERY == 0:
                check_cancel(cancel)
                # The record count is unknown without an index: the fraction only approaches 1.
                report(progress, n_seen / (n_seen + 100_000), f"read {n_seen} VCF records")
            chrom = chroms.get(v.CHROM) or chroms.setdefault(v.CHROM, normalise_chrom([v.CHROM]).iloc[0])
            pos, ref, alts = int(v.POS), v.REF, list(v.ALT)
            last = f"{v.CHROM}:{pos}"
            if keep is not None and not keep(chrom, pos):
                continue
            if not alts:
                n_no_alt += 1
                continue
            if len(alts) > 1:
                if multiallelic == "skip":
                    n_skipped += 1
                    continue
                n_split += 1
            alleles = v.genotype.array()[:, :-1]
            for k, alt in enumerate(alts, start=1):
                if v.ID is None:
                    snp = "."  # set to chrom:pos:ref:alt, and counted, by resolve_variant_ids
                else:
                    snp = v.ID if len(alts) == 1 else f"{v.ID}:{alt}"
                columns.append(_dosage(alleles, k))
                rows.append((snp, chrom, pos, alt, ref))
    except GxError:
        raise
    except Exception as e:  # cyvcf2 raises a bare Exception on a malformed record
        raise InputFormatError(f"{name}: cannot parse the record after {last} ({e}); fix or remove that line") from None
    counts = {
        "n_records_in_file": n_seen,
        "n_multiallelic_split": n_split,
        "n_multiallelic_skipped": n_skipped,
        "n_no_alt_skipped": n_no_alt,
    }
    return columns, rows, counts


def read_vcf(path, regions=None, multiallelic="split", progress=None, cancel=None, duplicate_ids="rename") -> Genotypes:
    """Read GT calls of a VCF/BCF file.

    duplicate_ids: what to do with distinct variants sharing an id ("rename" or "drop"); exact
    duplicates are dropped and missing ids set to ``chrom:pos:ref:alt`` either way
    (:func:`gxapp.data.io.genotypes.resolve_variant_ids`, reported in ``meta["variant_ids"]``).
    regions: optional list of (chrom, start, end); only variants inside one are kept.
    multiallelic: "split" (one record per ALT, id suffixed ``:ALT``) or "skip".
    Records with no ALT allele ('.') are dropped and counted in meta.
    """
    if multiallelic not in MULTIALLELIC:
        raise ParameterError(f"multiallelic: expected one of {MULTIALLELIC}, got '{multiallelic}'")
    path = Path(path)
    vcf = _open(path)
    try:
        samples = list(vcf.samples)
        if not samples:
            raise EmptyDataError(f"{path.name} has no sample columns; gxapp needs genotypes of samples")
        if not _has_gt(vcf):
            raise InputFormatError(f"{path.name} has no GT (genotype) field; gxapp needs called genotypes")
        columns, rows, counts = _read_records(vcf, path.name, _region_filter(regions), multiallelic, progress, cancel)
    finally:
        vcf.close()
    check_cancel(cancel)
    if not columns:
        where = "inside the requested regions" if regions is not None else "with an ALT allele"
        raise EmptyDataError(
            f"{path.name}: no variant {where} ({counts['n_records_in_file']} records read); "
            "check the file or the regions"
        )
    g = np.column_stack(columns)
    snps = pd.DataFrame(rows, columns=["snp", "chrom", "pos", "a1", "a2"])
    snps["pos"] = snps["pos"].astype(np.int64)
    geno = Genotypes(
        genotypes=np.ascontiguousarray(g, dtype=np.int8),
        samples=pd.DataFrame({"fid": samples, "iid": samples}),
        snps=snps,
        meta={"source": "vcf", "path": str(path), **counts},
    )
    report(progress, 1.0, f"read {len(rows)} variants from {path.name}")
    return geno.with_unique_variant_ids(duplicate_ids).validate(path.name)
