"""Gene tables: the built-in GRCh37/GRCh38 tables or a user BED/TSV/CSV file, read
into one frame ``gene, chrom, start, end`` (1-based, both ends included) in genome order."""

from __future__ import annotations

import csv
import functools
import os
import re
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from gxapp.data.io.genotypes import normalise_chrom
from gxapp.data.io.sources import decode_text, file_suffix, read_bytes
from gxapp.errors import EmptyDataError, InputFormatError, ParameterError

__all__ = [
    "BUILTIN",
    "BUILD_ALIASES",
    "BUILD_LABEL",
    "GENE_COLS",
    "builtin_table",
    "chrom_rank",
    "drop_duplicate_genes",
    "genome_order",
    "load_gene_table",
]

DATA_DIR = Path(__file__).resolve().parents[1] / "resources"

#: Built-in gene tables (NCBI Gene via Bioconductor org.Hs.eg.db, see gxapp/data/resources/README.md).
BUILTIN = {
    "grch37": DATA_DIR / "genes_grch37.tsv.gz",
    "grch38": DATA_DIR / "genes_grch38.tsv.gz",
}
BUILD_ALIASES = {
    "grch37": "grch37",
    "hg19": "grch37",
    "b37": "grch37",
    "37": "grch37",
    "grch38": "grch38",
    "hg38": "grch38",
    "b38": "grch38",
    "38": "grch38",
}
BUILD_LABEL = {"grch37": "GRCh37 (hg19)", "grch38": "GRCh38 (hg38)"}

GENE_COLS = ("gene", "chrom", "start", "end")
_HEADER_ALIASES = {
    "gene": ("gene", "symbol", "name", "gene_name", "gene_symbol", "genename", "genesymbol", "gene_id", "hgnc_symbol"),
    "chrom": ("chrom", "chr", "chromosome", "seqname", "seqnames", "seqid", "contig", "chrom_name"),
    "start": ("start", "txstart", "start_position", "gene_start", "chromstart", "begin", "from"),
    "end": ("end", "txend", "end_position", "gene_end", "chromend", "stop", "to"),
    "gene_type": ("gene_type", "type", "biotype", "gene_biotype", "genetype"),
    "strand": ("strand",),
}


def _builtin_key(source) -> Optional[str]:
    if isinstance(source, str) and not os.path.exists(source):
        return BUILD_ALIASES.get(source.strip().lower())
    return None


# --------------------------------------------------------------------------- ordering
def chrom_rank(chrom: str) -> tuple:
    """Sort key of a chromosome name: 1..22, X, Y, XY, MT, then the others by name."""
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
    ranks = {c: i for i, c in enumerate(sorted(df["chrom"].unique(), key=chrom_rank))}
    key = df["chrom"].map(ranks).to_numpy(np.int64)
    order = np.lexsort((df[end].to_numpy(np.int64), df[start].to_numpy(np.int64), key))
    out = df.iloc[order].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


# --------------------------------------------------------------------------- gene tables
@functools.lru_cache(maxsize=4)
def builtin_table(key: str) -> pd.DataFrame:
    """The built-in table ``key`` ("grch37" / "grch38"), read once and cached: do not modify it
    (:func:`load_gene_table` hands out copies)."""
    df = pd.read_csv(BUILTIN[key], sep="\t", dtype={"symbol": str, "chrom": str, "gene_type": str, "strand": str})
    df = df.rename(columns={"symbol": "gene"})
    df["chrom"] = normalise_chrom(df["chrom"]).to_numpy()
    df = df[["gene", "chrom", "start", "end", "gene_type", "strand"]]
    df["start"] = df["start"].astype(np.int64)
    df["end"] = df["end"].astype(np.int64)
    df = drop_duplicate_genes(df)
    df = genome_order(df)
    df.attrs.update(source=f"the built-in {BUILD_LABEL[key]} gene table", build=key, format="builtin")
    return df


def drop_duplicate_genes(df: pd.DataFrame) -> pd.DataFrame:
    """Keep the first line of each gene symbol; ``attrs`` count and name (up to 50) the others."""
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
        raise EmptyDataError(
            f"{label}: the gene table is empty (no gene lines); give a BED file or a table with gene, chrom, start, end"
        )
    first_no, first = lines[0]
    sep = _sniff_sep(first)
    head = _split_line(first.lstrip("#"), sep)
    has_header = _find_col(head, "start") is not None or _find_col(head, "chrom") is not None
    is_bed = file_suffix(label) == ".bed" or not has_header

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
            what = (
                "BED needs at least 4 columns: chrom, start, end, name"
                if is_bed
                else f"expected at least {need} fields"
            )
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
        df = builtin_table(key).copy()
        df.attrs = dict(builtin_table(key).attrs)
    else:
        if (
            isinstance(source, str)
            and not os.path.exists(source)
            and "." not in os.path.basename(source)
            and "/" not in source
            and "\\" not in source
        ):
            raise ParameterError(
                f"gene table '{source}': not a built-in build nor an existing file; use one of "
                f"{', '.join(sorted(BUILD_ALIASES))} or the path of a BED/TSV/CSV gene table"
            )
        data, label = read_bytes(source, name)
        df = _parse_user_table(decode_text(data), label)
        df = drop_duplicate_genes(df)
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
