"""PLINK 2 reader (.pgen/.pvar/.psam) through ``pgenlib``, PLINK 2's own Python binding.

Dosages are hard calls: copies of the ALT allele (``a1`` = ALT, ``a2`` = REF, as the VCF reader
and PLINK 2's own .bim export), -1 when missing. Only the requested variants are read (the
ones inside the chosen genes). Multi-allelic variants are split into one column per ALT (id
suffixed ``:ALT``) or skipped, as for VCF. Sample ids come from the .psam: ``#FID IID`` or
``#IID`` alone (then FID = IID, as PLINK 2 does); a header-less .psam is read as a .fam.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gxapp.data.io.genotypes import Genotypes, normalise_chrom
from gxapp.errors import EmptyDataError, InputFormatError, ParameterError
from gxapp.progress import check_cancel, report

_CHUNK_CELLS = 1 << 26


def fileset(prefix) -> tuple:
    p = str(prefix)
    for ext in (".pgen", ".pvar", ".psam"):
        if p.endswith(ext):
            p = p[: -len(ext)]
    files = tuple(Path(p + ext) for ext in (".pgen", ".pvar", ".psam"))
    for f in files:
        if f.suffix == ".pvar" and not f.is_file() and Path(str(f) + ".zst").is_file():
            raise InputFormatError(
                f"{f.name}.zst: a Zstandard-compressed .pvar; decompress it first (`zstd -d {f.name}.zst`) "
                "or write a plain one (`plink2 --pfile PREFIX vzs --make-just-pvar --out PREFIX`)"
            )
        if not f.is_file():
            raise InputFormatError(f"{f.name}: file not found (a PLINK 2 fileset is PREFIX.pgen, .pvar and .psam)")
    return files


def read_psam(path: Path) -> pd.DataFrame:
    """``fid, iid`` of every sample, in file order; says which id columns it used in ``attrs``."""
    with open(path) as fh:
        first = fh.readline().rstrip("\r\n")
    if first.startswith("#"):
        cols = first[1:].split()
        df = pd.read_csv(path, sep=r"\s+", comment=None, skiprows=1, header=None, names=cols, dtype=str)
        if "IID" not in cols:
            raise InputFormatError(f"{path.name}: the header has no IID column (got {cols[:6]})")
        fid = df["FID"] if "FID" in cols else df["IID"]
        out = pd.DataFrame({"fid": fid.astype(str).to_numpy(), "iid": df["IID"].astype(str).to_numpy()})
        out.attrs["ids"] = "FID and IID" if "FID" in cols else "IID only (FID set to IID)"
        return out
    df = pd.read_csv(path, sep=r"\s+", header=None, dtype=str)
    if df.shape[1] < 2:
        raise InputFormatError(f"{path.name}: expected a header (#FID IID … or #IID …) or .fam columns")
    out = pd.DataFrame({"fid": df[0].to_numpy(), "iid": df[1].to_numpy()})
    out.attrs["ids"] = "FID and IID (no header: .fam columns)"
    return out


def read_pvar(path: Path) -> pd.DataFrame:
    """``snp, chrom, pos, a1 (ALT), a2 (REF), n_alt`` of every variant (one row per .pvar line)."""
    header, skip = None, 0
    with open(path) as fh:
        for line in fh:
            if line.startswith("##"):
                skip += 1
                continue
            if line.startswith("#CHROM"):
                header = line[1:].split()
                skip += 1
            break
    if header is None:
        header = ["CHROM", "ID", "CM", "POS", "ALT", "REF"]  # header-less .pvar is .bim-like
    need = [c for c in ("CHROM", "POS", "ID", "REF", "ALT") if c not in header]
    if need:
        raise InputFormatError(f"{path.name}: missing column(s) {need} in the header")
    df = pd.read_csv(
        path,
        sep="\t" if "\t" in open(path).readline() else r"\s+",
        skiprows=skip,
        header=None,
        names=header,
        usecols=["CHROM", "POS", "ID", "REF", "ALT"],
        dtype=str,
    )
    try:
        pos = df["POS"].astype(np.int64)
    except ValueError:
        raise InputFormatError(f"{path.name}: POS must be whole numbers") from None
    alt = df["ALT"].astype(str)
    return pd.DataFrame(
        {
            "snp": df["ID"].astype(str).to_numpy(),
            "chrom": normalise_chrom(df["CHROM"]).to_numpy(),
            "pos": pos.to_numpy(),
            "a1": alt.to_numpy(),
            "a2": df["REF"].astype(str).to_numpy(),
            "n_alt": alt.str.count(",").to_numpy() + 1,
        }
    )


def check_pgen(prefix) -> tuple:
    """``(psam, pvar)`` tables, checked against the .pgen's own counts."""
    import pgenlib

    pgen, pvar_path, psam_path = fileset(prefix)
    psam, pvar = read_psam(psam_path), read_pvar(pvar_path)
    try:
        r = pgenlib.PgenReader(str(pgen).encode(), raw_sample_ct=len(psam))
    except Exception as exc:  # pgenlib raises RuntimeError with PLINK's message
        raise InputFormatError(f"{pgen.name}: not a readable .pgen file ({exc})") from None
    try:
        if r.get_variant_ct() != len(pvar):
            raise InputFormatError(
                f"{pgen.name}: holds {r.get_variant_ct()} variants but {pvar_path.name} lists {len(pvar)}"
            )
    finally:
        r.close()
    return psam, pvar


def read_pgen(prefix, select=None, progress=None, cancel=None, multiallelic="split", duplicate_ids="rename"):
    """Read a PLINK 2 fileset; ``select``: None (all) or .pvar row indices (int array or mask)."""
    import pgenlib

    if multiallelic not in ("split", "skip"):
        raise ParameterError(f"multiallelic: expected 'split' or 'skip', got {multiallelic!r}")
    pgen, pvar_path, psam_path = fileset(prefix)
    psam, pvar = check_pgen(prefix)
    n = len(psam)
    rows = np.arange(len(pvar)) if select is None else np.asarray(select)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    rows = np.unique(rows.astype(np.int64))
    if rows.size and (rows[0] < 0 or rows[-1] >= len(pvar)):
        raise ParameterError(f"select: variant indices must lie in [0, {len(pvar)})")
    sel = pvar.iloc[rows]
    multi = sel["n_alt"].to_numpy() > 1
    n_multi = int(multi.sum())
    # one output column per (variant, ALT index)
    jobs = []
    for r, (_, row) in zip(rows, sel.iterrows()):
        alts = row["a1"].split(",")
        if len(alts) > 1 and multiallelic == "skip":
            continue
        for a, alt in enumerate(alts, start=1):
            sid = row["snp"] if len(alts) == 1 else (f"{row['snp']}:{alt}" if row["snp"] != "." else ".")
            jobs.append((int(r), a, sid, row["chrom"], int(row["pos"]), alt, row["a2"]))
    if not jobs:
        raise EmptyDataError(f"{pgen.name}: no variant to read among the {len(rows)} selected")
    g = np.empty((n, len(jobs)), dtype=np.int8, order="F")
    step = max(1, _CHUNK_CELLS // max(n, 1))
    kw = {}
    if (pvar["n_alt"].to_numpy() > 1).any():  # pgenlib needs the allele offsets of a multi-allelic file
        counts = pvar["n_alt"].to_numpy(np.uint64) + 1
        kw["allele_idx_offsets"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.uintp)
    reader = pgenlib.PgenReader(str(pgen).encode(), raw_sample_ct=n, **kw)
    try:
        by_allele: dict = {}
        for c, job in enumerate(jobs):
            by_allele.setdefault(job[1], []).append(c)
        done = 0
        for allele, cols in by_allele.items():
            for s in range(0, len(cols), step):
                check_cancel(cancel)
                part = cols[s : s + step]
                buf = np.empty((len(part), n), dtype=np.int8)
                reader.read_list(np.array([jobs[c][0] for c in part], np.uint32), buf, allele_idx=allele)
                buf[buf < 0] = -1
                g[:, part] = buf.T
                done += len(part)
                report(progress, done / len(jobs), f"read {done}/{len(jobs)} variants")
    finally:
        reader.close()
    snps = pd.DataFrame([j[2:] for j in jobs], columns=["snp", "chrom", "pos", "a1", "a2"])
    geno = Genotypes(
        genotypes=g,
        samples=psam[["fid", "iid"]].reset_index(drop=True),
        snps=snps,
        meta={
            "source": "pgen",
            "path": str(pgen),
            "n_snps_in_file": int(len(pvar)),
            "sample_ids": psam.attrs.get("ids"),
            "multiallelic_" + ("split" if multiallelic == "split" else "skipped"): n_multi,
        },
    )
    return geno.with_unique_variant_ids(duplicate_ids).validate(
        pgen.name, samples_source=psam_path.name, snps_source=pvar_path.name
    )
