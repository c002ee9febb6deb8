"""Gene tables (built-in GRCh37/GRCh38 or a user BED/TSV/CSV file), gene lists,
the SNP -> gene mapping of SPEC §1 and a genome-build check.

A SNP belongs to a gene when it lies on the gene's chromosome inside
``[start - flank, end + flank]`` (1-based, both ends included); a SNP may belong
to several genes. Genes without SNPs are reported, never silently dropped.
"""
from __future__ import annotations

import csv
import functools
import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from gxapp.errors import (
    EmptyDataError,
    GeneMappingError,
    InputFormatError,
    ParameterError,
)
from gxapp.data.io.genotypes import normalise_chrom

DATA_DIR = Path(__file__).resolve().parents[1] / "resources"

#: Built-in gene tables (NCBI Gene via Bioconductor org.Hs.eg.db, see gxapp/data/README.md).
BUILTIN = {
    "grch37": DATA_DIR / "genes_grch37.tsv.gz",
    "grch38": DATA_DIR / "genes_grch38.tsv.gz",
}
BUILD_ALIASES = {
    "grch37": "grch37", "hg19": "grch37", "b37": "grch37", "37": "grch37",
    "grch38": "grch38", "hg38": "grch38", "b38": "grch38", "38": "grch38",
}
BUILD_LABEL = {"grch37": "GRCh37 (hg19)", "grch38": "GRCh38 (hg38)"}

#: Chromosome lengths (UCSC hg19 / hg38); a position beyond the end is impossible in that build.
CHROM_LENGTHS = {
    "grch37": dict(zip(
        [str(i) for i in range(1, 23)] + ["X", "Y"],
        [249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663, 146364022,
         141213431, 135534747, 135006516, 133851895, 115169878, 107349540, 102531392, 90354753,
         81195210, 78077248, 59128983, 63025520, 48129895, 51304566, 155270560, 59373566])),
    "grch38": dict(zip(
        [str(i) for i in range(1, 23)] + ["X", "Y"],
        [248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
         138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
         83257441, 80373285, 58617616, 64444167, 46709983, 50818468, 156040895, 57227415])),
}

GENE_COLS = ("gene", "chrom", "start", "end")
_HEADER_ALIASES = {
    "gene": ("gene", "symbol", "name", "gene_name", "gene_symbol", "genename", "genesymbol", "gene_id", "hgnc_symbol"),
    "chrom": ("chrom", "chr", "chromosome", "seqname", "seqnames", "seqid", "contig", "chrom_name"),
    "start": ("start", "txstart", "start_position", "gene_start", "chromstart", "begin", "from"),
    "end": ("end", "txend", "end_position", "gene_end", "chromend", "stop", "to"),
    "gene_type": ("gene_type", "type", "biotype", "gene_biotype", "genetype"),
    "strand": ("strand",),
}
_MAX_POS = np.int64(2**32 - 1)


# --------------------------------------------------------------------------- sources
def _read_bytes(source, name: Optional[str] = None) -> tuple[bytes, str]:
    """Raw (gunzipped) bytes of a path, bytes or file-like (an upload), and a label for messages."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise InputFormatError(f"{label}: file not found; check the path")
        if path.is_dir():
            raise InputFormatError(f"{label}: is a folder, not a file; give the file inside it")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "<uploaded data>"
    elif hasattr(source, "read"):
        try:
            source.seek(0)
        except Exception:  # not seekable: read what is left
            pass
        data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        label = name or getattr(source, "name", None) or "<uploaded file>"
        label = str(label)
    else:
        raise TypeError(f"expected a path or a file-like object, got {type(source).__name__}")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputFormatError(f"{label}: corrupt or truncated gzip file ({exc}); re-compress or upload it again") from exc
    return data, label


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _suffix(label: str) -> str:
    """Lower-case suffix of a file name, ignoring a trailing .gz (``a.tsv.gz`` -> ``.tsv``)."""
    s = str(label).lower()
    if s.endswith(".gz"):
        s = s[:-3]
    return os.path.splitext(s)[1]


def _builtin_key(source) -> Optional[str]:
    if isinstance(source, str) and not os.path.exists(source):
        return BUILD_ALIASES.get(source.strip().lower())
    return None


# --------------------------------------------------------------------------- ordering
def _chrom_rank(chrom: str) -> tuple:
    c = str(chrom)
    if c.isdigit():
        return (0, int(c), "")
    special = {"X": 23, "Y": 24, "XY": 25, "MT": 26}
    if c in special:
        return (0, special[c], "")
    return (1, 0, c)


def genome_order(df: pd.DataFrame, start: str = "start", end: str = "end") -> pd.DataFrame:
    """Rows sorted by chromosome (1..22, X, Y, XY, MT, others), start, end (stable)."""
    if len(df) == 0:
        return df.reset_index(drop=True)
    ranks = {c: i for i, c in enumerate(sorted(df["chrom"].unique(), key=_chrom_rank))}
    key = df["chrom"].map(ranks).to_numpy(np.int64)
    order = np.lexsort((df[end].to_numpy(np.int64), df[start].to_numpy(np.int64), key))
    out = df.iloc[order].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


# --------------------------------------------------------------------------- gene tables
@functools.lru_cache(maxsize=4)
def _load_builtin(key: str) -> pd.DataFrame:
    df = pd.read_csv(BUILTIN[key], sep="\t", dtype={"symbol": str, "chrom": str, "gene_type": str, "strand": str})
    df = df.rename(columns={"symbol": "gene"})
    df["chrom"] = normalise_chrom(df["chrom"]).to_numpy()
    df = df[["gene", "chrom", "start", "end", "gene_type", "strand"]]
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    df = _drop_duplicates(df)
    df = genome_order(df)
    df.attrs.update(source=f"the built-in {BUILD_LABEL[key]} gene table", build=key, format="builtin")
    return df


def _drop_duplicates(df: pd.DataFrame) -> pd.DataFrame:
    dup = df["gene"].duplicated(keep="first")
    attrs = dict(df.attrs)
    out = df[~dup].reset_index(drop=True)
    out.attrs = attrs
    out.attrs["n_duplicates_dropped"] = int(dup.sum())
    out.attrs["duplicates_dropped"] = sorted(set(df.loc[dup, "gene"]))[:50]
    return out


def _split_line(line: str, sep: Optional[str]) -> list:
    if sep is None:
        return line.split()
    return next(csv.reader([line], delimiter=sep))


def _sniff_sep(line: str) -> Optional[str]:
    if "\t" in line:
        return "\t"
    if "," in line:
        return ","
    return None


def _find_col(header: list, role: str) -> Optional[int]:
    norm = [re.sub(r"[\s.\-]+", "_", h.strip().lower().lstrip("#")) for h in header]
    for alias in _HEADER_ALIASES[role]:
        if alias in norm:
            return norm.index(alias)
    return None


def _parse_user_table(text: str, label: str) -> pd.DataFrame:
    """Parse a BED or header TSV/CSV gene table with line numbers for errors."""
    lines = []  # (line number, text)
    for i, raw in enumerate(text.splitlines(), start=1):
        s = raw.strip()
        if not s or s.startswith(("track ", "browser ")) or s in ("track", "browser"):
            continue
        if s.startswith("#") and lines == [] and _find_col(_split_line(s.lstrip("#"), _sniff_sep(s)), "start") is None:
            continue  # a comment before the header
        if s.startswith("#") and lines:
            continue
        lines.append((i, raw.rstrip("\r\n")))
    if not lines:
        raise EmptyDataError(f"{label}: the gene table is empty (no gene lines); give a BED file or a table with gene, chrom, start, end")
    first_no, first = lines[0]
    sep = _sniff_sep(first)
    head = _split_line(first.lstrip("#"), sep)
    has_header = _find_col(head, "start") is not None or _find_col(head, "chrom") is not None
    is_bed = _suffix(label) == ".bed" or not has_header

    if is_bed:
        fmt = "bed"
        rows = lines[1:] if has_header else lines
        cols = {"chrom": 0, "start": 1, "end": 2, "gene": 3, "strand": 5}
        need = 4
    else:
        fmt = "table"
        rows = lines[1:]
        cols = {role: _find_col(head, role) for role in _HEADER_ALIASES}
        missing = [r for r in GENE_COLS if cols[r] is None]
        if missing:
            raise InputFormatError(
                f"{label}, line {first_no}: the header lacks column(s) {', '.join(missing)} "
                f"(found: {', '.join(h.strip() for h in head)}); name them e.g. gene/symbol, chrom/chr, start, end "
                "or give a BED file (chrom, start, end, name)"
            )
        need = max(cols[r] for r in GENE_COLS) + 1
    if not rows:
        raise EmptyDataError(f"{label}: the gene table has a header but no gene lines")

    fields = {r: [] for r in cols if cols[r] is not None}
    line_no = []
    for no, line in rows:
        parts = _split_line(line, sep)
        if len(parts) < need:
            what = "BED needs at least 4 columns: chrom, start, end, name" if is_bed else f"expected at least {need} fields"
            raise InputFormatError(f"{label}, line {no}: {len(parts)} field(s); {what}")
        for r, j in cols.items():
            if j is None:
                continue
            fields[r].append(parts[j].strip() if j < len(parts) else "")
        line_no.append(no)
    line_no = np.asarray(line_no)
    df = pd.DataFrame(fields)
    for r in ("start", "end"):
        num = pd.to_numeric(df[r], errors="coerce")
        bad = num.isna() | (num != np.floor(num))
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFormatError(
                f"{label}, line {line_no[k]}: {r} '{df[r].iloc[k]}' is not a whole number; fix or remove the line"
            )
        df[r] = num.astype(np.int64)
    if fmt == "bed":
        df["start"] = df["start"] + 1  # BED is 0-based half-open -> 1-based closed
    for r in ("gene", "chrom"):
        empty = df[r].isin(["", ".", "NA", "nan"])
        if empty.any():
            k = int(np.flatnonzero(empty.to_numpy())[0])
            raise InputFormatError(f"{label}, line {line_no[k]}: the {r} is missing; fill it in or remove the line")
    neg = (df["start"] < 1) if fmt == "bed" else (df["start"] < 0)
    if neg.any():
        k = int(np.flatnonzero(neg.to_numpy())[0])
        raise InputFormatError(f"{label}, line {line_no[k]}: negative start position; coordinates must be >= 0")
    bad = df["start"] > df["end"]
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFormatError(
            f"{label}, line {line_no[k]}: gene '{df['gene'].iloc[k]}' has start {df['start'].iloc[k]} > end "
            f"{df['end'].iloc[k]}; swap or fix the coordinates"
        )
    if "strand" in df and not df["strand"].isin(["+", "-", "."]).all():
        df = df.drop(columns="strand")  # not a strand column (e.g. a BED score layout we do not know)
    df["chrom"] = normalise_chrom(df["chrom"]).to_numpy()
    df.attrs.update(source=label, format=fmt, build=None)
    return df


def _norm_type(t: str) -> str:
    return re.sub(r"[\s_\-]+", "-", str(t).strip().lower())


def load_gene_table(source, name: Optional[str] = None, gene_types: Optional[Iterable[str]] = None) -> pd.DataFrame:
    """Load a gene table.

    source: ``"grch37"`` / ``"grch38"`` (aliases hg19/hg38, any case: the built-in tables),
    or a user file (path, bytes or file-like; ``name`` labels it in messages): a BED file
    (chrom, start 0-based, end, name[, score, strand]) or a TSV/CSV with a header naming
    gene/symbol/name, chrom/chr/chromosome, start, end (1-based; any case). gzip is accepted.
    gene_types: keep only these gene types (e.g. ``["protein-coding"]``; needs a gene_type column).

    Returns a DataFrame ``gene, chrom, start, end`` (+ ``gene_type``, ``strand`` when known) in
    genome order, chromosomes without "chr", 1-based closed coordinates. A gene symbol seen twice
    keeps its first line; ``df.attrs["n_duplicates_dropped"]`` counts the others.
    ``df.attrs`` also holds ``source``, ``build`` (for built-in tables) and ``format``.
    """
    key = _builtin_key(source)
    if key is not None:
        df = _load_builtin(key).copy()
        df.attrs = dict(_load_builtin(key).attrs)
    else:
        if isinstance(source, str) and not os.path.exists(source) and "." not in os.path.basename(source) \
                and "/" not in source and "\\" not in source:
            raise ParameterError(
                f"gene table '{source}': not a built-in build nor an existing file; use one of "
                f"{', '.join(sorted(BUILD_ALIASES))} or the path of a BED/TSV/CSV gene table"
            )
        data, label = _read_bytes(source, name)
        df = _parse_user_table(_decode(data), label)
        df = _drop_duplicates(df)
        df = genome_order(df)
    if gene_types is not None:
        if isinstance(gene_types, str):
            gene_types = [gene_types]
        wanted = {_norm_type(t) for t in gene_types}
        if "gene_type" not in df.columns:
            raise ParameterError(
                f"gene_types: the gene table {df.attrs.get('source')} has no gene_type column; "
                "leave gene_types empty or add a gene_type column"
            )
        keep = df["gene_type"].map(_norm_type).isin(wanted)
        if not keep.any():
            raise EmptyDataError(
                f"gene_types: no gene of {df.attrs.get('source')} has type {sorted(gene_types)}; "
                f"available types: {sorted(df['gene_type'].unique())}"
            )
        attrs = dict(df.attrs)
        df = df[keep].reset_index(drop=True)
        df.attrs = attrs
    return df


# --------------------------------------------------------------------------- gene lists
def read_gene_list(source, name: Optional[str] = None) -> list:
    """Gene names, one per line or separated by commas, semicolons or whitespace; blank lines
    and ``#`` comments are ignored; duplicates are removed (first kept).

    source: a path or file-like (an upload), a list of names, or the text itself (what a
    user typed, e.g. ``"APOE, LDLR"``): a string is read as a file when it names an existing
    file or looks like a file name (``genes.txt``, ``lists/genes``), otherwise as the list."""
    if isinstance(source, (list, tuple, set, pd.Series, np.ndarray)):
        text, label = "\n".join(str(s) for s in source), name or "gene list"
    elif isinstance(source, str) and not os.path.isfile(source) and (
            re.search(r"[\s,;#]", source.strip()) or not re.search(
                r"[/\\]|\.(txt|csv|tsv|list|lst|gz|grp|tab)$", source.strip(), flags=re.I)):
        text, label = source, name or "gene list"
    else:
        data, label = _read_bytes(source, name)
        text = _decode(data)
    out, seen = [], set()
    first = True
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        toks = [t.strip().strip('"').strip("'") for t in re.split(r"[,;\s]+", line)]
        toks = [t for t in toks if t]
        if not toks:
            continue
        if first and len(toks) == 1 and toks[0].lower() in ("gene", "genes", "symbol", "gene_symbol", "gene_name"):
            first = False
            continue  # a header line
        first = False
        for t in toks:
            if t not in seen:
                seen.add(t)
                out.append(t)
    if not out:
        raise EmptyDataError(f"{label}: no gene names found; give one gene symbol per line (or comma separated)")
    return out


# --------------------------------------------------------------------------- mapping
@dataclass(eq=False)
class MappingResult:
    """genes: the genes that got at least one SNP, in genome order (columns of the gene table).
    gene_snps: gene -> sorted int64 array of row positions into ``snps``.
    snp_mask: bool (n_snps,), True for SNPs in at least one gene.
    report: counts, the requested genes without SNPs, unknown names and warnings."""

    genes: pd.DataFrame
    gene_snps: dict
    snp_mask: np.ndarray
    report: dict = field(default_factory=dict)


def _snp_positions(snps: pd.DataFrame, label: str = "snps") -> tuple[np.ndarray, np.ndarray]:
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


class _Index:
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


def _expand(lo: np.ndarray, hi: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(gene index, SNP row) pairs for every gene g and sorted slot in [lo[g], hi[g])."""
    counts = hi - lo
    total = int(counts.sum())
    gid = np.repeat(np.arange(len(lo), dtype=np.int64), counts)
    if total == 0:
        return gid, np.zeros(0, np.int64)
    starts = np.cumsum(counts) - counts
    slot = np.arange(total, dtype=np.int64) - np.repeat(starts, counts) + np.repeat(lo, counts)
    return gid, order[slot].astype(np.int64)


def guess_build(snps: pd.DataFrame) -> dict:
    """Which built-in build do the SNP positions fit?

    Maps the positions against the protein-coding genes of both built-in tables (no flank) and
    counts positions past the end of their chromosome in each build (impossible there).
    Returns ``{"grch37": fraction in genes, "grch38": fraction in genes,
    "beyond_end": {build: n SNPs past the chromosome end}, "best": build or None, "reason": str}``.
    ``best`` is None when the evidence does not separate the builds.
    """
    chrom, pos = _snp_positions(snps)
    return _guess_build(chrom, pos)


def _guess_build(chrom: np.ndarray, pos: np.ndarray) -> dict:
    idx = _Index(chrom, pos)
    frac, beyond = {}, {}
    for key in BUILTIN:
        g = _load_builtin(key)
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
        reason = (f"{beyond[hi_b]} SNP(s) lie past the end of their chromosome in {BUILD_LABEL[hi_b]} "
                  f"but {beyond[lo_b]} in {BUILD_LABEL[lo_b]}")
    else:
        top, other = (a, b) if frac[a] >= frac[b] else (b, a)
        if frac[top] > 0 and frac[other] < 0.5 * frac[top]:
            best = top
            reason = (f"{frac[top]:.0%} of SNPs fall in protein-coding genes with {BUILD_LABEL[top]} "
                      f"but {frac[other]:.0%} with {BUILD_LABEL[other]}")
    return {"grch37": frac["grch37"], "grch38": frac["grch38"], "beyond_end": beyond, "best": best, "reason": reason}


def _expected_coverage(idx: _Index, chrom: np.ndarray, pos: np.ndarray, gchrom, lo_pos, hi_pos) -> float:
    """Fraction of SNPs one would expect to map if they were spread evenly over their span:
    per chromosome, the share of [min pos, max pos] covered by (flanked) gene intervals."""
    total, exp = 0, 0.0
    gdf = pd.DataFrame({"chrom": gchrom, "lo": lo_pos, "hi": hi_pos})
    groups = dict(tuple(gdf.groupby("chrom", sort=False)))
    s = pd.DataFrame({"chrom": chrom, "pos": pos})
    for c, sub in s.groupby("chrom", sort=False):
        n = len(sub)
        total += n
        if c not in groups:
            continue
        a, b = int(sub["pos"].min()), int(sub["pos"].max())
        g = groups[c].sort_values("lo")
        l = np.clip(g["lo"].to_numpy(np.int64), a, b + 1)
        h = np.clip(g["hi"].to_numpy(np.int64) + 1, a, b + 1)
        # union length of [l, h)
        h = np.maximum.accumulate(h)
        prev = np.concatenate([[a], h[:-1]])
        cov = np.maximum(h - np.maximum(l, prev), 0).sum()
        exp += n * (cov / max(b + 1 - a, 1)) if b > a else n * float(cov > 0)
    return exp / total if total else 0.0


def map_snps_to_genes(snps: pd.DataFrame, genes: Optional[pd.DataFrame], flank: int = 10_000,
                      keep_genes: Optional[Iterable[str]] = None) -> MappingResult:
    """Assign SNPs to genes.

    snps: DataFrame with ``chrom``, ``pos`` (1-based) and optionally ``gene``: an explicit
    assignment (several genes separated by ``;`` or ``,``) that wins over positions for that SNP.
    genes: a gene table (:func:`load_gene_table`), or None when every SNP has an explicit gene.
    flank: bases added on both sides of each gene (>= 0).
    keep_genes: restrict to these gene names; names not in the table and names without SNPs are reported.

    Raises GeneMappingError when no requested gene is in the table, or when (almost) no SNP
    maps although the table covers the SNPs' chromosomes (probably the wrong genome build).
    """
    try:
        flank = int(flank)
    except (TypeError, ValueError):
        raise ParameterError(f"flank: expected a whole number of bases, got {flank!r}") from None
    if flank < 0:
        raise ParameterError(f"flank: must be >= 0 bases, got {flank}; use 0 for no flank (default 10000)")
    if snps is None or len(snps) == 0:
        raise EmptyDataError("snps: the SNP table is empty; there is nothing to map to genes")
    n = len(snps)
    chrom, pos = _snp_positions(snps)
    table_label = "the gene table" if genes is None else str(genes.attrs.get("source") or "the gene table")
    build = None if genes is None else genes.attrs.get("build")
    if genes is None:
        genes = pd.DataFrame({c: pd.Series(dtype=object if c in ("gene", "chrom") else np.int64) for c in GENE_COLS})
    for c in GENE_COLS:
        if c not in genes.columns:
            raise InputFormatError(f"genes: the gene table lacks column '{c}'; load it with load_gene_table")
    gnames = genes["gene"].astype(str).to_numpy(dtype=object)
    if len(set(gnames)) != len(gnames):
        genes = _drop_duplicates(genes)
        gnames = genes["gene"].astype(str).to_numpy(dtype=object)
    gchrom = normalise_chrom(genes["chrom"].to_numpy()).to_numpy(dtype=object) if len(genes) else np.array([], object)
    gstart = genes["start"].to_numpy(np.int64)
    gend = genes["end"].to_numpy(np.int64)
    gpos = {g: i for i, g in enumerate(gnames)}

    # ---- explicit assignments -------------------------------------------------------
    explicit = np.zeros(n, dtype=bool)
    ex_rows, ex_genes = np.zeros(0, np.int64), np.zeros(0, object)
    if "gene" in snps.columns:
        gcol = snps["gene"]
        val = gcol.astype(object).where(gcol.notna(), "").astype(str).str.strip()
        explicit = ~val.isin(["", ".", "-", "NA", "nan", "None", "<NA>"]).to_numpy()
        if explicit.any():
            parts = val[explicit].str.split(r"\s*[;,]\s*", regex=True)
            ex = pd.DataFrame({"row": np.flatnonzero(explicit), "gene": parts.to_numpy()}).explode("gene")
            ex = ex[ex["gene"].astype(str).str.len() > 0]
            ex_rows = ex["row"].to_numpy(np.int64)
            ex_genes = ex["gene"].astype(str).to_numpy(object)
    if len(genes) == 0 and (~explicit).any():
        raise ParameterError(
            "genes: no gene table given and "
            f"{int((~explicit).sum())} SNP(s) have no explicit gene; give a gene table (e.g. 'grch37') "
            "or a gene for every SNP"
        )

    # ---- genes that are not in the table but named explicitly: span of their SNPs --------
    extra = sorted(set(ex_genes) - set(gpos))
    extra_rows = []
    if extra:
        e = pd.DataFrame({"gene": ex_genes, "chrom": chrom[ex_rows], "pos": pos[ex_rows]})
        e = e[e["gene"].isin(extra)]
        agg = e.groupby("gene", sort=False).agg(chrom=("chrom", "first"), start=("pos", "min"), end=("pos", "max"))
        extra_rows = agg.reset_index()

    # ---- requested genes -------------------------------------------------------------
    all_names = list(gnames) + list(extra)
    report_unknown, requested = [], None
    if keep_genes is not None:
        if isinstance(keep_genes, str):
            keep_genes = [keep_genes]
        requested = list(dict.fromkeys(str(g).strip() for g in keep_genes if str(g).strip()))
        known = set(all_names)
        report_unknown = [g for g in requested if g not in known]
        if requested and len(report_unknown) == len(requested):
            upper = {g.upper(): g for g in all_names}
            case_hits = [upper[g.upper()] for g in requested if g.upper() in upper]
            hint = (f" ({len(case_hits)} match if case is ignored, e.g. '{case_hits[0]}': gene symbols are case-sensitive)"
                    if case_hits else "")
            raise GeneMappingError(
                f"keep_genes: none of the {len(requested)} requested gene(s) ({', '.join(requested[:5])}"
                f"{', ...' if len(requested) > 5 else ''}) is in {table_label}{hint}; check the symbols, "
                "or choose the gene table / genome build that names them"
            )
        if not requested:
            raise ParameterError("keep_genes: the list of genes is empty; give at least one gene or leave it unset")

    # ---- positional mapping over the full table ---------------------------------------
    pos_rows = np.flatnonzero(~explicit)
    idx = _Index(chrom[pos_rows], pos[pos_rows])
    lo, hi = idx.bounds(gchrom, gstart, gend, flank)
    covered_all = idx.covered(lo, hi) if len(pos_rows) else np.zeros(0, bool)
    n_pos = len(pos_rows)
    frac_all = float(covered_all.mean()) if n_pos else 1.0

    warnings = []
    guess = None
    if n_pos and build in BUILTIN:
        guess = _guess_build(chrom[pos_rows], pos[pos_rows])
        if guess["best"] is not None and guess["best"] != build:
            warnings.append(
                f"positions look like {BUILD_LABEL[guess['best']]}; you chose {BUILD_LABEL[build]} "
                f"({guess['reason']}); choose the {BUILD_LABEL[guess['best']]} gene table if your "
                "genotypes use that build"
            )
    if n_pos and len(genes):
        table_chroms = set(gchrom)
        on_table = np.array([c in table_chroms for c in idx.cats], dtype=bool)[idx.codes]
        n_mapped = int(covered_all.sum())
        if not on_table.any():
            raise GeneMappingError(
                f"no SNP is on a chromosome of {table_label}: the SNPs are on "
                f"{', '.join(sorted(set(chrom[pos_rows]), key=_chrom_rank)[:10])}, the table has "
                f"{', '.join(sorted(table_chroms, key=_chrom_rank)[:10])}; check the chromosome names or the gene table"
            )
        frac_on = n_mapped / max(int(on_table.sum()), 1)
        expected = 1.0
        if frac_on < 0.01:
            expected = _expected_coverage(idx, chrom[pos_rows][on_table], pos[pos_rows][on_table],
                                          gchrom, gstart - flank, gend + flank)
        if n_mapped == 0 or (frac_on < 0.01 and expected >= 0.10):
            if guess is None:
                guess = _guess_build(chrom[pos_rows], pos[pos_rows])
            better = ""
            if guess["best"] is not None and guess["best"] != build:
                better = f" The positions fit {BUILD_LABEL[guess['best']]} better ({guess['reason']}); use that gene table."
            raise GeneMappingError(
                f"only {n_mapped} of {n_pos} SNPs ({frac_on:.2%}) fall within {flank} bp of a gene of {table_label} "
                f"although its genes cover about {expected:.0%} of the SNPs' span: the genome build is probably "
                f"wrong (or positions are not 1-based base pairs).{better} Check that the gene table uses the "
                "same build as the genotypes."
            )

    # ---- restrict to requested genes, expand pairs ------------------------------------
    if requested is not None:
        req_set = set(requested)
        sel_mask = np.fromiter((g in req_set for g in gnames), dtype=bool, count=len(gnames))
    else:
        sel_mask = np.ones(len(gnames), dtype=bool)
    sel = np.flatnonzero(sel_mask)
    gid, rows = _expand(lo[sel], hi[sel], idx.order)
    gid = sel[gid]
    rows = pos_rows[rows] if len(rows) else rows

    # explicit pairs (table genes get their table index; extra genes come after)
    if len(ex_rows):
        name_to_id = dict(gpos)
        for j, g in enumerate(extra):
            name_to_id[g] = len(gnames) + j
        ex_id = np.fromiter((name_to_id[g] for g in ex_genes), dtype=np.int64, count=len(ex_genes))
        if requested is not None:
            keep = np.fromiter((g in req_set for g in ex_genes), dtype=bool, count=len(ex_genes))
            ex_id, ex_r = ex_id[keep], ex_rows[keep]
        else:
            ex_r = ex_rows
        gid = np.concatenate([gid, ex_id])
        rows = np.concatenate([rows, ex_r])

    if len(extra):
        ext = extra_rows.copy()
        full = pd.concat([genes.reset_index(drop=True), ext], ignore_index=True)
    else:
        full = genes.reset_index(drop=True)
    if len(gid):
        key = np.sort(gid * np.int64(n) + rows)  # sorted by gene id, then row
        if len(key) > 1:
            key = key[np.concatenate([[True], np.diff(key) != 0])]  # deduplicated
        gid, rows = key // n, key % n
    rows = rows.astype(np.int64)
    brk = np.flatnonzero(np.diff(gid)) + 1 if len(gid) else np.zeros(0, np.int64)
    first = np.concatenate([[0], brk]).astype(np.int64) if len(gid) else brk
    used = gid[first]
    bounds = np.concatenate([first, [len(rows)]]).tolist()
    names_full = list(gnames) + list(extra)
    gene_snps_unordered = {names_full[g]: rows[bounds[k]:bounds[k + 1]]
                           for k, g in enumerate(used.tolist())}

    kept = full.iloc[used].copy()
    kept["gene"] = kept["gene"].astype(str)
    kept["chrom"] = normalise_chrom(kept["chrom"].to_numpy()).to_numpy()
    kept["start"] = kept["start"].astype(np.int64)
    kept["end"] = kept["end"].astype(np.int64)
    kept.attrs = {}
    kept = genome_order(kept)
    kept.attrs = {k: v for k, v in genes.attrs.items() if k in ("source", "build", "format")}
    gene_snps = {g: gene_snps_unordered[g] for g in kept["gene"]}

    snp_mask = np.zeros(n, dtype=bool)
    snp_mask[rows] = True
    if requested is not None:
        with_snps = set(gene_snps)
        without = [g for g in requested if g not in with_snps and g not in set(report_unknown)]
    else:
        without = []
    n_table_without = int(len(gnames) - np.count_nonzero((hi - lo)[:] > 0)) if len(gnames) else 0
    report = {
        "n_snps": n,
        "n_snps_mapped": int(snp_mask.sum()),
        "n_snps_unmapped": int(n - snp_mask.sum()),
        "n_snps_explicit": int(explicit.sum()),
        "n_snps_multi_gene": int((np.bincount(rows, minlength=n) > 1).sum()) if len(rows) else 0,
        "n_genes_with_snps": int(len(kept)),
        "n_genes_table": int(len(gnames)),
        "n_table_genes_without_snps": n_table_without,
        "fraction_mapped_table": frac_all,
        "flank": flank,
        "build": build,
        "gene_table": table_label,
        "n_genes_requested": None if requested is None else len(requested),
        "genes_without_snps": without,
        "keep_genes_unknown": report_unknown,
        "explicit_genes_not_in_table": list(extra),
        "warnings": warnings,
    }
    if guess is not None:
        report["build_check"] = guess
    if without:
        warnings.append(
            f"{len(without)} requested gene(s) have no SNP within {flank} bp and are dropped: "
            f"{', '.join(without[:10])}{', ...' if len(without) > 10 else ''}"
        )
    if report_unknown:
        warnings.append(
            f"{len(report_unknown)} requested gene(s) are not in {table_label}: "
            f"{', '.join(report_unknown[:10])}{', ...' if len(report_unknown) > 10 else ''}"
        )
    if len(kept) == 0:
        raise GeneMappingError(
            f"none of the {len(requested) if requested else len(gnames)} gene(s) has a SNP within {flank} bp "
            f"({', '.join((requested or list(gnames))[:5])}...); the genotypes do not cover these genes: "
            "choose other genes, a larger flank, or check the genome build"
        )
    return MappingResult(genes=kept, gene_snps=gene_snps, snp_mask=snp_mask, report=report)
