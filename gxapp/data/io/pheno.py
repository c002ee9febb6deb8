"""Phenotype and covariate files.

Two layouts are accepted:

* PLINK style, no header: ``FID IID v1 [v2 ...]``, whitespace separated
  (value columns are then named ``V1``, ``V2``...);
* a header row with an ``IID`` column (case-insensitive, optional ``FID``, a
  leading ``#`` is ignored), separated by whitespace, tabs or commas.

Missing values: -9, NA, nan, '.', empty.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.data.io.sources import decode_text, gunzip
from gxapp.data.io.table import source_bytes, source_label
from gxapp.errors import DuplicateIdError, EmptyDataError, InputFormatError

MISSING = frozenset({"", "-9", "na", "nan", "."})
MAX_LEVELS = 10


@dataclass
class _Table:
    """Parsed text file: value columns as str, with sample ids and file line numbers."""

    label: str
    iid: list
    lines: list
    values: pd.DataFrame

    def fail(self, row: int, col: str, what: str) -> InputFormatError:
        v = self.values[col].iloc[row]
        return InputFormatError(
            f"{self.label} line {self.lines[row]}: value '{v}' in column '{col}' (sample '{self.iid[row]}') {what}"
        )


def _split(line: str, sep):
    if sep is None:
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=sep))]


def _read_table(source, name) -> _Table:
    label = source_label(source, name)
    try:
        data = source_bytes(source, label)
        text = decode_text(gunzip(data, label) if data[:2] == b"\x1f\x8b" else data)
    except UnicodeDecodeError:
        raise InputFormatError(
            f"{label} is not a text file; upload a whitespace, tab or comma separated file"
        ) from None
    lines = [(i, s) for i, s in enumerate(text.splitlines(), start=1) if s.strip()]
    if not lines:
        raise EmptyDataError(f"{label} is empty; it needs one line per sample (FID IID value...)")
    first = lines[0][1]
    sep = "," if "," in first else "\t" if "\t" in first else None
    head = [f.lstrip("#").strip() for f in _split(first, sep)]
    lower = [h.lower() for h in head]
    if "iid" in lower:
        names, body = head, lines[1:]
        id_col = lower.index("iid")
        value_idx = [k for k, h in enumerate(lower) if h not in ("fid", "iid")]
    else:
        if len(head) < 3:
            raise InputFormatError(
                f"{label} line {lines[0][0]}: expected a header row with an IID column, or PLINK layout "
                f"'FID IID value...' without header; found {len(head)} column(s)"
            )
        names = ["FID", "IID"] + [f"V{k}" for k in range(1, len(head) - 1)]
        body, id_col, value_idx = lines, 1, list(range(2, len(head)))
    rows, line_no = [], []
    for i, s in body:
        fields = _split(s, sep)
        if len(fields) != len(names):
            raise InputFormatError(
                f"{label} line {i}: {len(fields)} columns but the file has {len(names)} "
                f"({' '.join(names)}); give every line the same columns"
            )
        rows.append(fields)
        line_no.append(i)
    if not rows:
        raise EmptyDataError(f"{label} has a header but no sample lines")
    iid = [r[id_col] for r in rows]
    seen: dict = {}
    for k, s in enumerate(iid):
        if s in seen:
            raise DuplicateIdError(
                f"{label}: sample '{s}' appears on lines {line_no[seen[s]]} and {line_no[k]}; keep one line per sample"
            )
        seen[s] = k
    values = pd.DataFrame([[r[k] for k in value_idx] for r in rows], columns=[names[k] for k in value_idx], dtype=str)
    return _Table(label, iid, line_no, values)


def _pick(table: _Table, column) -> str:
    """Name of a value column given by header name or 1-based index."""
    cols = list(table.values.columns)
    if not cols:
        raise InputFormatError(f"{table.label}: no value column besides FID/IID; add a column of values")
    if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
        if 1 <= column <= len(cols):
            return cols[column - 1]
    else:
        for c in cols:
            if c == str(column) or c.lower() == str(column).lower():
                return c
    raise InputFormatError(
        f"{table.label}: column {column!r} not found; value columns there are: {', '.join(cols)} "
        f"(give a name or a 1-based index among them)"
    )


def _missing(col: pd.Series) -> np.ndarray:
    return col.str.strip().str.lower().isin(MISSING).to_numpy()


def _numbers(table: _Table, col: str) -> np.ndarray:
    """float64 values of a column; missing codes and -9 become NaN."""
    raw = table.values[col]
    num = pd.to_numeric(raw.str.strip(), errors="coerce").to_numpy(np.float64, copy=True)
    missing = _missing(raw)
    bad = np.isnan(num) & ~missing
    if bad.any():
        raise table.fail(int(np.flatnonzero(bad)[0]), col, "is not a number; use a number or NA/-9 for missing")
    infinite = np.isinf(num)
    if infinite.any():
        raise table.fail(int(np.flatnonzero(infinite)[0]), col, "is infinite; use a finite number or NA for missing")
    num[missing | (num == -9)] = np.nan
    return num


def read_pheno(source, column=None, name=None) -> tuple[pd.DataFrame, str]:
    """Read one phenotype column. Returns (DataFrame ``iid``, ``value``; trait)
    with trait "binary" (coded 0/1; PLINK 1/2 is recoded) or "quantitative"."""
    table = _read_table(source, name)
    col = _pick(table, 1 if column is None else column)
    y = _numbers(table, col)
    seen = set(np.unique(y[~np.isnan(y)]))
    if not seen:
        raise EmptyDataError(f"{table.label}: column '{col}' has no non-missing value")
    trait = "quantitative"
    if seen <= {1.0, 2.0}:
        y, trait = y - 1.0, "binary"
    elif seen <= {0.0, 1.0}:
        trait = "binary"
    return pd.DataFrame({"iid": pd.Series(table.iid, dtype=str), "value": y}), trait


def _dummies(table: _Table, col: str) -> pd.DataFrame:
    """0/1 columns ``col_level`` for a text column (first level dropped)."""
    raw = table.values[col].str.strip()
    missing = _missing(raw)
    levels = sorted(set(raw[~missing]))
    if len(levels) > MAX_LEVELS:
        raise InputFormatError(
            f"{table.label}: column '{col}' has {len(levels)} distinct text values (e.g. {', '.join(levels[:3])}); "
            f"a text covariate may have at most {MAX_LEVELS} levels: recode it as numbers or leave it out"
        )
    out = {}
    for level in levels[1:]:
        d = (raw == level).to_numpy(np.float64)
        d[missing] = np.nan
        out[f"{col}_{level}"] = d
    return pd.DataFrame(out, index=range(len(raw)))


def read_covar(source, columns=None, name=None, exclude=()) -> Optional[pd.DataFrame]:
    """Read covariates: a float DataFrame indexed by ``iid`` (NaN = missing).
    ``columns``: names or 1-based indices of value columns (default all but those named in ``exclude``,
    any case; None when nothing is left). Text columns with at most 10 levels are dummy-coded, first
    level dropped."""
    table = _read_table(source, name)
    if columns is None:
        skip = {str(e).lower() for e in exclude}
        picked = [c for c in table.values.columns if str(c).strip().lower() not in skip]
        if not picked and len(table.values.columns):
            return None  # only a population label: shown, not a covariate
        if not picked:
            raise InputFormatError(f"{table.label}: no covariate column besides FID/IID")
    else:
        picked = [_pick(table, c) for c in ([columns] if isinstance(columns, (str, int)) else columns)]
    parts = []
    for col in picked:
        raw = table.values[col]
        num = pd.to_numeric(raw.str.strip(), errors="coerce").to_numpy(np.float64)
        text = np.isnan(num) & ~_missing(raw)
        if text.any() and (~np.isnan(num)).any():
            raise table.fail(int(np.flatnonzero(text)[0]), col, "is text in a numeric column; fix it or use NA")
        if text.any():
            parts.append(_dummies(table, col))
        else:
            parts.append(pd.DataFrame({col: _numbers(table, col)}))
    out = pd.concat(parts, axis=1)
    out.index = pd.Index(table.iid, dtype=str, name="iid")
    return out.astype(np.float64)


POPULATION_COLUMNS = ("population", "pop", "superpop", "super_pop", "ancestry", "ethnicity", "ethnic_group")


def read_population(source, name=None) -> Optional[pd.Series]:
    """The population / ancestry label of each sample (a Series indexed by ``iid``) from a covariate or
    sample table whose header names one of :data:`POPULATION_COLUMNS` (any case), else None. Shown on
    the Data page's PC plot; never a covariate (the genotype PCs carry ancestry)."""
    table = _read_table(source, name)
    for col in table.values.columns:
        if str(col).strip().lower() in POPULATION_COLUMNS:
            labels = table.values[col].str.strip()
            return pd.Series(labels.to_numpy(), index=pd.Index(table.iid, dtype=str, name="iid"), name="population")
    return None
