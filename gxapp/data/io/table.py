"""Genotype tables (samples x SNPs; csv, tsv/txt or parquet) and SNP maps.

The first column holds sample ids, every other column one SNP with values
0/1/2 (copies of ``a1``); empty, NA or -9 is missing. SNP positions come from
the column names (``1:12345``, ``chr1:12345``, ``1:12345:A:G`` where the values
count copies of the first allele, A) or from a SNP map with columns ``snp,
chrom, pos[, a1, a2][, gene]``.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from gxapp.data.io.genotypes import Genotypes, normalise_chrom
from gxapp.data.io.sources import gunzip
from gxapp.errors import DuplicateIdError, EmptyDataError, InputFormatError, ParameterError

FORMATS = ("csv", "tsv", "parquet")
_SUFFIX_FORMAT = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".parquet": "parquet", ".pq": "parquet"}
# Missing genotype codes besides -9 (read as NaN by the csv parser).
_NA_TEXT = ("", "NA", "na", "NaN", "nan", "N/A", "None", ".")
# Cell text (stripped, lower case) -> genotype code; anything else is an error.
_CELL_CODES = {
    "0": 0,
    "1": 1,
    "2": 2,
    "0.0": 0,
    "1.0": 1,
    "2.0": 2,
    "-9": -1,
    "-9.0": -1,
    **{t.lower(): -1 for t in _NA_TEXT},
    "<na>": -1,
}
_POS_NAME = re.compile(r"^(?:chr)?([0-9A-Za-z]+):(\d+)(?::([^:]+):([^:]+))?$", re.IGNORECASE)
UNKNOWN_ALLELE = "."


def source_label(source, name=None) -> str:
    """A short name for ``source`` to put in error messages."""
    if name:
        return os.path.basename(str(name))
    if isinstance(source, (str, os.PathLike)):
        return os.path.basename(os.fspath(source))
    return os.path.basename(str(getattr(source, "name", "") or "")) or "uploaded file"


def source_bytes(source, label: str) -> bytes:
    """The whole content of a path, bytes, or file-like object."""
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise InputFormatError(f"{label}: {source} is a folder, not a file; give the file inside it")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise InputFormatError(f"{label}: file not found at {source}; check the path") from None
        except OSError as exc:
            raise InputFormatError(f"{label}: cannot read {source} ({exc.strerror or exc})") from None
    if not hasattr(source, "read"):
        raise InputFormatError(f"{label}: expected a file path or an uploaded file, got {type(source).__name__}")
    data = source.read()
    return data.encode() if isinstance(data, str) else data


def _infer_format(fmt, source, name, label: str) -> str:
    if fmt is None:
        where = name or (source if isinstance(source, (str, os.PathLike)) else getattr(source, "name", None))
        suffixes = [s.lower() for s in Path(str(where or "")).suffixes if s.lower() != ".gz"]
        fmt = _SUFFIX_FORMAT.get(suffixes[-1] if suffixes else "")
        if fmt is None:
            raise InputFormatError(
                f"{label}: cannot tell the format from the file name; use a .csv, .tsv, .txt or "
                f".parquet name or pass fmt= one of {FORMATS}"
            )
    if fmt not in FORMATS:
        raise ParameterError(f"fmt: expected one of {FORMATS}, got '{fmt}'")
    return fmt


def _check_row_lengths(data: bytes, sep: str, n_fields: int, label: str) -> None:
    """Refuse a row with fewer fields than the header (pandas would fill the gap with missing
    values and the row's cells would silently shift into the wrong columns' meaning)."""
    token = None if sep == r"\s+" else sep.encode()
    for i, line in enumerate(data.split(b"\n")[1:], start=2):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        k = len(line.split()) if token is None else line.count(token) + 1
        if k < n_fields:
            raise InputFormatError(
                f"{label}, line {i}: {k} field(s) but the header has {n_fields}; every row needs a value (or a "
                "missing code such as NA) in every column"
            )


def _read_frame(source, fmt, name, text_only=False) -> tuple[pd.DataFrame, str, str]:
    """Read ``source`` into a DataFrame and return it with its label and format.
    The first column is str; the others are str when ``text_only``, otherwise
    typed by pandas (so that numeric genotypes parse fast) with the missing
    codes read as NaN. Column names are kept exactly as written (pandas would
    rename duplicates)."""
    label = source_label(source, name)
    fmt = _infer_format(fmt, source, name, label)
    data = source_bytes(source, label)
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, label)
    if not data.strip():
        raise EmptyDataError(f"{label} is empty; upload a table with a header row and one row per sample")
    try:
        if fmt == "parquet":
            df = pd.read_parquet(io.BytesIO(data))
        else:
            head = data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")
            sep = "," if fmt == "csv" else "\t" if "\t" in head else r"\s+"
            header = head.split() if sep == r"\s+" else next(csv.reader([head], delimiter=sep))
            _check_row_lengths(data, sep, len(header), label)
            df = pd.read_csv(
                io.BytesIO(data),
                sep=sep,
                header=None,
                skiprows=1,
                names=range(len(header)),
                dtype=str if text_only else {0: str},
                keep_default_na=False,
                encoding="utf-8-sig",
                na_values=None if text_only else {k: list(_NA_TEXT) for k in range(1, len(header))},
            )
            df.columns = header
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as e:
        raise InputFormatError(f"{label} could not be read as {fmt} ({e}); check the file format") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df, label, fmt


def read_snp_map(source, name=None) -> pd.DataFrame:
    """Read a SNP map (path, file-like or DataFrame) with columns ``snp, chrom,
    pos`` and optional ``a1, a2, gene`` (case-insensitive). Returns ``snp`` (str,
    unique), ``chrom`` (normalised), ``pos`` (int64), ``a1``, ``a2`` (``.`` when
    absent) and ``gene`` when given ("" for SNPs without a gene)."""
    if isinstance(source, pd.DataFrame):
        df, label = source.copy(), name or "snp_map"
    else:
        df, label, _ = _read_frame(source, None, name, text_only=True)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("snp", "chrom", "pos") if c not in df.columns]
    if missing:
        raise InputFormatError(
            f"{label}: SNP map lacks column(s) {', '.join(missing)} (found: {', '.join(df.columns)}); "
            f"a SNP map needs columns snp, chrom, pos and optionally a1, a2, gene"
        )
    if df.empty:
        raise EmptyDataError(f"{label}: the SNP map has no rows")
    pos = pd.to_numeric(df["pos"], errors="coerce")
    bad = pos.isna() | (pos % 1 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFormatError(
            f"{label} row {i + 1} (SNP '{df['snp'].iloc[i]}'): pos '{df['pos'].iloc[i]}' is not an integer "
            f"position; fix that row"
        )
    out = pd.DataFrame(
        {
            "snp": df["snp"].astype(str).str.strip().to_numpy(),
            "chrom": normalise_chrom(df["chrom"].to_numpy()).to_numpy(),
            "pos": pos.to_numpy(np.int64),
        }
    )
    for col in ("a1", "a2", "gene"):
        if col in df.columns:
            out[col] = df[col].fillna("").astype(str).str.strip().to_numpy()
        elif col != "gene":
            out[col] = UNKNOWN_ALLELE
    dup = out["snp"][out["snp"].duplicated()]
    if len(dup):
        raise DuplicateIdError(
            f"{label}: SNP '{dup.iloc[0]}' appears more than once in the SNP map; keep one row per SNP"
        )
    return out


def _snps_from_names(names: list, label: str) -> pd.DataFrame:
    parsed = [_POS_NAME.match(n) for n in names]
    bad = [n for n, m in zip(names, parsed) if m is None]
    if bad:
        raise InputFormatError(
            f"{label}: column '{bad[0]}' ({len(bad)} of {len(names)} SNP columns) does not name a position; "
            f"name SNP columns chrom:pos (e.g. 1:12345 or 1:12345:A:G) or supply a SNP map "
            f"with columns snp, chrom, pos"
        )
    return pd.DataFrame(
        {
            "snp": names,
            "chrom": normalise_chrom([m.group(1) for m in parsed]).to_numpy(),
            "pos": np.array([int(m.group(2)) for m in parsed], dtype=np.int64),
            "a1": [m.group(3) or UNKNOWN_ALLELE for m in parsed],
            "a2": [m.group(4) or UNKNOWN_ALLELE for m in parsed],
        }
    )


def _snps_from_map(names: list, snp_map, label: str) -> pd.DataFrame:
    m = read_snp_map(snp_map).set_index("snp")
    absent = [n for n in names if n not in m.index]
    if absent:
        raise InputFormatError(
            f"{label}: {len(absent)} SNP column(s) are not in the SNP map, e.g. '{absent[0]}'; "
            f"add them to the map or drop them from the table"
        )
    return m.loc[names].reset_index()


def _genotype_codes(values: pd.DataFrame) -> np.ndarray:
    """int8 codes of ``values``: 0/1/2, -1 missing (NaN, NA, -9...), -2 not a genotype."""
    codes = np.empty(values.shape, dtype=np.int8)
    numeric = np.array(
        [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in values.dtypes], dtype=bool
    )
    if numeric.any():
        v = values.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.where(np.isin(v, (0.0, 1.0, 2.0)), np.nan_to_num(v), -2)
        codes[:, numeric] = np.where(np.isnan(v) | (v == -9), -1, ok)
    if not numeric.all():
        text = values.iloc[:, ~numeric]
        text = text.astype(object).where(text.notna(), "").to_numpy(dtype=str)
        uniq, inverse = np.unique(text, return_inverse=True)
        lut = np.array([_CELL_CODES.get(u.strip().lower(), -2) for u in uniq], dtype=np.int8)
        codes[:, ~numeric] = lut[inverse].reshape(text.shape)
    return codes


def read_genotype_table(source, fmt=None, snp_map=None, name=None) -> Genotypes:
    """Read a samples x SNPs genotype table from a path or file-like (``name``
    gives the upload's file name). ``fmt``: "csv", "tsv" (also whitespace
    separated .txt) or "parquet", inferred from the name when None."""
    df, label, fmt = _read_frame(source, fmt, name)
    if df.shape[0] == 0 or df.shape[1] < 2:
        raise EmptyDataError(
            f"{label}: {df.shape[0]} sample row(s) and {max(df.shape[1] - 1, 0)} SNP column(s); a genotype table "
            f"needs a sample id column followed by SNP columns, one row per sample"
        )
    ids = df.iloc[:, 0].astype(str).str.strip()
    if (ids == "").any() or df.iloc[:, 0].isna().any():
        row = int(np.flatnonzero(((ids == "") | df.iloc[:, 0].isna()).to_numpy())[0])
        raise InputFormatError(f"{label} row {row + 1}: empty sample id; fill in the first column")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise DuplicateIdError(f"{label}: sample id '{dup.iloc[0]}' appears more than once; keep one row per sample")
    names = list(df.columns[1:])
    dup = pd.Series(names)[pd.Series(names).duplicated()]
    if len(dup):
        raise DuplicateIdError(f"{label}: SNP column '{dup.iloc[0]}' appears more than once; keep one column per SNP")
    snps = _snps_from_names(names, label) if snp_map is None else _snps_from_map(names, snp_map, label)
    g = _genotype_codes(df.iloc[:, 1:])
    bad = g == -2
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise InputFormatError(
            f"{label}: sample '{ids.iloc[i]}', column '{names[j]}': value '{df.iat[i, j + 1]}' is not a genotype "
            f"({int(bad.sum())} such cell(s)); use 0, 1, 2 (copies of a1) and empty, NA or -9 for missing"
        )
    geno = Genotypes(
        genotypes=np.ascontiguousarray(g),
        samples=pd.DataFrame({"fid": ids.to_numpy(), "iid": ids.to_numpy()}),
        snps=snps,
        meta={"source": "table", "path": label, "format": fmt},
    )
    return geno.validate(label)
