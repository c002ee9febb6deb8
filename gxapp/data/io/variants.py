"""Annotated variant tables (sample, gene, functional class[, count]) and the
gene-centric tensor of docs/method.md#gene-centric-encoding (paper B)."""

from __future__ import annotations

import io
import re
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from gxapp.data.io.sources import decode_text, file_suffix, read_bytes
from gxapp.errors import DuplicateIdError, EmptyDataError, InputFormatError, ParameterError

# ANNOVAR functional classes used by paper B's gene-centric encoding, in a fixed order.
CLASSES = (
    "UTR3",
    "UTR5",
    "splicing",
    "upstream",
    "downstream",
    "intronic",
    "ncRNA_exonic",
    "ncRNA_intronic",
    "ncRNA_splicing",
    "frameshift_insertion",
    "frameshift_deletion",
    "nonframeshift_insertion",
    "nonframeshift_deletion",
    "stopgain",
    "stoploss",
    "startloss",
    "nonsynonymous",
)

#: Common spellings (ANNOVAR Func/ExonicFunc, VEP/Sequence Ontology, MAF Variant_Classification)
#: -> canonical class. Matching ignores case, spaces, hyphens and underscores' differences.
CLASS_ALIASES = {
    # UTRs
    "UTR3": "UTR3",
    "UTR_3": "UTR3",
    "3'UTR": "UTR3",
    "3UTR": "UTR3",
    "3_prime_UTR": "UTR3",
    "3_prime_UTR_variant": "UTR3",
    "three_prime_UTR_variant": "UTR3",
    "UTR_3_prime": "UTR3",
    "UTR5": "UTR5",
    "UTR_5": "UTR5",
    "5'UTR": "UTR5",
    "5UTR": "UTR5",
    "5_prime_UTR": "UTR5",
    "5_prime_UTR_variant": "UTR5",
    "five_prime_UTR_variant": "UTR5",
    "UTR_5_prime": "UTR5",
    "UTR5;UTR3": "UTR5",
    # splicing
    "splicing": "splicing",
    "splice": "splicing",
    "splice_site": "splicing",
    "splice site": "splicing",
    "splice_acceptor_variant": "splicing",
    "splice_donor_variant": "splicing",
    "splice_region_variant": "splicing",
    "exonic;splicing": "splicing",
    # flanks
    "upstream": "upstream",
    "upstream_gene_variant": "upstream",
    "5'Flank": "upstream",
    "downstream": "downstream",
    "downstream_gene_variant": "downstream",
    "3'Flank": "downstream",
    "upstream;downstream": "upstream",
    # introns
    "intronic": "intronic",
    "intron": "intronic",
    "intron_variant": "intronic",
    # non-coding RNA
    "ncRNA_exonic": "ncRNA_exonic",
    "ncRNA exonic": "ncRNA_exonic",
    "exonic ncRNA": "ncRNA_exonic",
    "non_coding_transcript_exon_variant": "ncRNA_exonic",
    "RNA": "ncRNA_exonic",
    "ncRNA_exonic;splicing": "ncRNA_exonic",
    "ncRNA_intronic": "ncRNA_intronic",
    "intronic ncRNA": "ncRNA_intronic",
    "ncRNA_splicing": "ncRNA_splicing",
    "splicing ncRNA": "ncRNA_splicing",
    # exonic functions
    "frameshift insertion": "frameshift_insertion",
    "frameshift_insertion": "frameshift_insertion",
    "frameshift_ins": "frameshift_insertion",
    "Frame_Shift_Ins": "frameshift_insertion",
    "exonic frameshift insertion": "frameshift_insertion",
    "frameshift deletion": "frameshift_deletion",
    "frameshift_deletion": "frameshift_deletion",
    "frameshift_del": "frameshift_deletion",
    "Frame_Shift_Del": "frameshift_deletion",
    "exonic frameshift deletion": "frameshift_deletion",
    "nonframeshift insertion": "nonframeshift_insertion",
    "non-frameshift insertion": "nonframeshift_insertion",
    "nonframeshift_insertion": "nonframeshift_insertion",
    "In_Frame_Ins": "nonframeshift_insertion",
    "inframe_insertion": "nonframeshift_insertion",
    "exonic non-frameshift insertion": "nonframeshift_insertion",
    "nonframeshift deletion": "nonframeshift_deletion",
    "non-frameshift deletion": "nonframeshift_deletion",
    "nonframeshift_deletion": "nonframeshift_deletion",
    "In_Frame_Del": "nonframeshift_deletion",
    "inframe_deletion": "nonframeshift_deletion",
    "exonic non-frameshift deletion": "nonframeshift_deletion",
    "stopgain": "stopgain",
    "stopgain SNV": "stopgain",
    "stop_gain": "stopgain",
    "stop_gained": "stopgain",
    "Nonsense_Mutation": "stopgain",
    "exonic stopgain": "stopgain",
    "stoploss": "stoploss",
    "stoploss SNV": "stoploss",
    "stop_loss": "stoploss",
    "stop_lost": "stoploss",
    "Nonstop_Mutation": "stoploss",
    "exonic stoploss": "stoploss",
    "startloss": "startloss",
    "start_loss": "startloss",
    "start_lost": "startloss",
    "Translation_Start_Site": "startloss",
    "exonic startloss": "startloss",
    "nonsynonymous SNV": "nonsynonymous",
    "nonsynonymous": "nonsynonymous",
    "non-synonymous SNV": "nonsynonymous",
    "nonsynonymous_SNV": "nonsynonymous",
    "missense": "nonsynonymous",
    "missense_variant": "nonsynonymous",
    "Missense_Mutation": "nonsynonymous",
    "exonic nonsynonymous": "nonsynonymous",
}

#: Classes that are not part of the encoding (paper B's 16/17 classes exclude them): rows are
#: dropped and counted in ``attrs["n_rows_ignored"]``.
IGNORED_CLASSES = (
    "synonymous SNV",
    "synonymous",
    "synonymous_variant",
    "Silent",
    "intergenic",
    "IGR",
    "intergenic_variant",
)

# When a value names several classes ("exonic;splicing", "UTR5;UTR3"), the most severe wins.
_SEVERITY = (
    "stopgain",
    "stoploss",
    "startloss",
    "frameshift_insertion",
    "frameshift_deletion",
    "nonframeshift_insertion",
    "nonframeshift_deletion",
    "nonsynonymous",
    "splicing",
    "ncRNA_exonic",
    "ncRNA_splicing",
    "UTR5",
    "UTR3",
    "ncRNA_intronic",
    "intronic",
    "upstream",
    "downstream",
)
_IGNORE = object()

_COLUMN_ALIASES = {
    "iid": (
        "iid",
        "sample",
        "sample_id",
        "sampleid",
        "sample_name",
        "samples",
        "id",
        "individual",
        "subject",
        "tumor_sample_barcode",
    ),
    "gene": ("gene", "symbol", "gene_symbol", "gene_name", "genename", "gene_refgene", "hugo_symbol"),
    "class": (
        "class",
        "func",
        "type",
        "func_refgene",
        "variant_class",
        "consequence",
        "effect",
        "annotation",
        "variant_classification",
        "functional_class",
    ),
    "exonic": ("exonicfunc", "exonicfunc_refgene", "exonic_func", "exonic_function"),
    "count": ("count", "counts", "n", "n_variants", "nvar", "value", "dosage"),
}


def _norm_key(s) -> str:
    s = str(s).strip().strip('"').lower()
    return re.sub(r"[\s\-_]+", "_", s).strip("_")


_LOOKUP = {_norm_key(k): v for k, v in CLASS_ALIASES.items()}
_LOOKUP.update({_norm_key(c): c for c in CLASSES})
_IGNORED = {_norm_key(k) for k in IGNORED_CLASSES}


def canonical_class(value):
    """Canonical class name of one spelling; ``None`` if it is a class the encoding ignores
    (synonymous, intergenic); raises KeyError if unknown."""
    key = _norm_key(value)
    if key in _LOOKUP:
        return _LOOKUP[key]
    if key in _IGNORED:
        return None
    parts = [p for p in re.split(r"[;&,|/]+", key) if p.strip("_")]
    if len(parts) > 1:
        found = [_LOOKUP[p.strip("_")] for p in parts if p.strip("_") in _LOOKUP]
        if found:
            return min(found, key=_SEVERITY.index)
        if all(p.strip("_") in _IGNORED or p.strip("_") == "exonic" for p in parts) and any(
            p.strip("_") in _IGNORED for p in parts
        ):
            return None
    raise KeyError(value)


def _find(cols_norm: list, role: str) -> Optional[int]:
    for alias in _COLUMN_ALIASES[role]:
        if alias in cols_norm:
            return cols_norm.index(alias)
    return None


def _line_of(text: Optional[str], k: int) -> str:
    """'line L' for data row k of a text table (blank lines skipped), or 'row k+1' for parquet."""
    if text is None:
        return f"row {k + 1}"
    seen = -1  # -1 = header not yet seen
    for no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if seen == k:
            return f"line {no}"
        seen += 1
    return f"row {k + 1}"


def read_variant_table(source, name: Optional[str] = None) -> pd.DataFrame:
    """Read an annotated variant table: one row per (sample, gene, class[, count]).

    source: path, bytes or file-like (an upload; ``name`` gives its file name). CSV, TSV or
    parquet by suffix (``.csv``, ``.tsv``/``.txt``/``.tab``, ``.parquet``/``.pq``; ``.gz`` allowed;
    otherwise the separator is sniffed). The header names the sample (sample/iid/id...), the gene
    (gene/symbol/Gene.refGene...), the class (class/func/type/Func.refGene/consequence...) and
    optionally a count (default 1). With ANNOVAR's Func.refGene and ExonicFunc.refGene both
    present, exonic rows take their exonic function.

    Returns DataFrame ``iid, gene, class, count`` (str, str, canonical class of CLASSES, float64);
    repeated (iid, gene, class) rows are summed. Synonymous and intergenic rows are dropped and
    counted in ``attrs["n_rows_ignored"]``; unknown classes raise InputFormatError listing them.
    """
    data, label = read_bytes(source, name)
    suf = file_suffix(label)
    text = None
    if suf in (".parquet", ".pq") or data[:4] == b"PAR1":
        try:
            df = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise InputFormatError(
                f"{label}: cannot read it as parquet ({exc}); export it again as parquet or CSV"
            ) from exc
        df = df.astype(object).where(df.notna(), "").astype(str)
    else:
        text = decode_text(data)
        first = next((ln for ln in text.splitlines() if ln.strip()), None)
        if first is None:
            raise EmptyDataError(f"{label}: the variant table is empty; give a table with sample, gene, class[, count]")
        if suf == ".csv":
            sep = ","
        elif suf in (".tsv", ".tab"):
            sep = "\t"
        else:
            sep = "\t" if "\t" in first else ("," if "," in first else r"\s+")
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                engine="c" if sep != r"\s+" else "python",
            )
        except pd.errors.ParserError as exc:
            raise InputFormatError(
                f"{label}: not a well-formed table ({exc}); check the separator and the number of fields"
            ) from exc
        except pd.errors.EmptyDataError:
            raise EmptyDataError(f"{label}: the variant table is empty") from None
    norm = [_norm_key(c).replace(".", "_") for c in df.columns]
    idx = {role: _find(norm, role) for role in _COLUMN_ALIASES}
    missing = [r for r in ("iid", "gene", "class") if idx[r] is None]
    if missing and idx["exonic"] is not None and "class" in missing:
        idx["class"], idx["exonic"] = idx["exonic"], None
        missing.remove("class")
    if missing:
        want = {"iid": "sample/iid", "gene": "gene/symbol", "class": "class/func/type"}
        raise InputFormatError(
            f"{label}: the header lacks column(s) {', '.join(want[m] for m in missing)} (found: "
            f"{', '.join(map(str, df.columns[:12]))}); name the columns sample, gene, class[, count]"
        )
    if len(df) == 0:
        raise EmptyDataError(f"{label}: the variant table has a header but no rows")
    col = lambda r: df.iloc[:, idx[r]].astype(str).str.strip()  # noqa: E731
    iid, gene, cls = col("iid"), col("gene"), col("class")
    if idx["exonic"] is not None:
        ex = col("exonic")
        parts = cls.str.lower().str.split(";")
        is_exonic = parts.map(lambda p: "exonic" in p)
        use = is_exonic & ~ex.isin(["", ".", "NA", "unknown"])
        cls = cls.where(~use, ex)
    for what, s in (("sample id", iid), ("gene", gene), ("class", cls)):
        bad = s.isin(["", ".", "NA", "nan"])
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFormatError(f"{label}, {_line_of(text, k)}: the {what} is missing; fill it in or remove the row")
    if idx["count"] is not None:
        raw = col("count")
        cnt = pd.to_numeric(raw, errors="coerce")
        bad = cnt.isna() | ~np.isfinite(cnt.to_numpy(np.float64, na_value=np.nan)) | (cnt < 0)
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFormatError(
                f"{label}, {_line_of(text, k)}: count '{raw.iloc[k]}' is not a non-negative number; "
                "counts are numbers of variants (>= 0)"
            )
        cnt = cnt.to_numpy(np.float64)
    else:
        cnt = np.ones(len(df), dtype=np.float64)

    # canonicalise each distinct spelling once
    codes, uniq = pd.factorize(cls)
    canon, unknown = [], {}
    for u in uniq:
        try:
            c = canonical_class(u)
            canon.append(_IGNORE if c is None else c)
        except KeyError:
            canon.append(None)
            unknown[u] = None
    if unknown:
        counts = pd.Series(np.asarray(uniq, dtype=object)[codes]).value_counts()
        listed = list(unknown)[:10]
        first_k = int(np.flatnonzero(np.isin(np.asarray(uniq, dtype=object)[codes], listed[:1]))[0])
        hint = ""
        if any(_norm_key(u) == "exonic" for u in unknown):
            hint = (
                " 'exonic' alone is not a class: give the exonic function (ANNOVAR ExonicFunc.refGene, "
                "e.g. nonsynonymous SNV, stopgain)."
            )
        raise InputFormatError(
            f"{label}: {len(unknown)} unknown variant class(es): "
            + ", ".join(f"'{u}' ({counts[u]} rows)" for u in listed)
            + (", ..." if len(unknown) > 10 else "")
            + f" (first at {_line_of(text, first_k)}). Accepted classes: {', '.join(CLASSES)} "
            f"(ANNOVAR/VEP spellings such as 'nonsynonymous SNV' or '3'UTR' are accepted; "
            f"{', '.join(IGNORED_CLASSES[:2] + IGNORED_CLASSES[4:5])} rows are ignored).{hint} "
            "Rename or remove those rows."
        )
    canon_arr = np.asarray(canon, dtype=object)[codes]
    ignored = np.fromiter((c is _IGNORE for c in canon_arr), dtype=bool, count=len(canon_arr))
    ignored_names = sorted(set(np.asarray(uniq, dtype=object)[codes][ignored]))
    out = pd.DataFrame(
        {
            "iid": iid.to_numpy(object)[~ignored],
            "gene": gene.to_numpy(object)[~ignored],
            "class": canon_arr[~ignored],
            "count": cnt[~ignored],
        }
    )
    if len(out) == 0:
        raise EmptyDataError(
            f"{label}: no variant of an encoded class is left ({int(ignored.sum())} rows were "
            f"{', '.join(ignored_names)}); the table needs rows of classes {', '.join(CLASSES)}"
        )
    n_in = len(out)
    out = out.groupby(["iid", "gene", "class"], sort=False, as_index=False)["count"].sum()
    out["count"] = out["count"].astype(np.float64)
    for c in ("iid", "gene", "class"):
        out[c] = out[c].astype(str)
    out.attrs = {
        "source": label,
        "n_rows_read": int(len(df)),
        "n_rows_ignored": int(ignored.sum()),
        "ignored_classes": ignored_names,
        "n_duplicates_summed": int(n_in - len(out)),
    }
    return out


def gene_centric_tensor(
    variants: pd.DataFrame,
    iids: Sequence[str],
    genes: Sequence[str],
    classes: Sequence[str] = CLASSES,
    dtype=np.float32,
    return_report: bool = False,
):
    """Raw counts as an array (N samples, G genes, C classes), in the order of ``iids``, ``genes``
    and ``classes``. Samples absent from the table get zeros; rows whose gene (or sample, or class)
    is not listed are left out and counted in the report (``return_report=True`` returns
    ``(tensor, report)``)."""
    for c in ("iid", "gene", "class", "count"):
        if c not in variants.columns:
            raise InputFormatError(f"variants: missing column '{c}'; read the table with read_variant_table")
    iids = [str(s) for s in iids]
    genes = [str(g) for g in genes]
    classes = [str(c) for c in classes]
    for what, seq in (("iids", iids), ("genes", genes), ("classes", classes)):
        s = pd.Series(seq, dtype=object)
        d = s[s.duplicated()]
        if len(d):
            raise DuplicateIdError(
                f"{what}: '{d.iloc[0]}' is listed more than once ({len(d)} duplicate(s)); ids must be unique"
            )
    if not classes:
        raise ParameterError("classes: give at least one variant class")
    n, g, c = len(iids), len(genes), len(classes)
    out = np.zeros((n, g, c), dtype=dtype)
    # position of each row's sample / gene / class in the wanted lists; -1 where it is not listed
    si = pd.Index(iids).get_indexer(variants["iid"].astype(str)).astype(np.int64)
    gi = pd.Index(genes).get_indexer(variants["gene"].astype(str)).astype(np.int64)
    ci = pd.Index(classes).get_indexer(variants["class"].astype(str)).astype(np.int64)
    cnt = pd.to_numeric(variants["count"], errors="coerce").to_numpy(np.float64)
    ok = (si >= 0) & (gi >= 0) & (ci >= 0) & np.isfinite(cnt)
    flat = (si[ok] * g + gi[ok]) * c + ci[ok]
    np.add.at(out.reshape(-1), flat, cnt[ok].astype(dtype))
    if not return_report:
        return out
    unknown_genes = sorted(set(variants.loc[(gi < 0), "gene"].astype(str)))
    report = {
        "n_rows": int(len(variants)),
        "n_rows_used": int(ok.sum()),
        "n_rows_unknown_sample": int((si < 0).sum()),
        "n_rows_unknown_gene": int((gi < 0).sum()),
        "n_rows_other_class": int((ci < 0).sum()),
        "n_genes_not_listed": len(unknown_genes),
        "genes_not_listed": unknown_genes[:50],
        "n_samples_without_variants": int(n - len(np.unique(si[ok]))),
    }
    return out, report


def standardise_counts(tensor: np.ndarray, train_rows, return_stats: bool = False):
    """Standardise each class (last axis) over all (sample, gene) cells of the training rows only
    (docs/method.md#gene-centric-encoding): ``(x - mean_c) / sd_c`` with mean and population sd from
    ``tensor[train_rows]``.
    A class with zero variance in the training rows is only centred. Returns a new array of the
    tensor's float dtype (``return_stats=True``: ``(array, mean, sd)``)."""
    x = np.asarray(tensor)
    if x.ndim != 3:
        raise ParameterError(f"tensor: expected (samples, genes, classes), got shape {x.shape}")
    rows = np.asarray(train_rows)
    if rows.dtype == bool:
        if rows.shape != (x.shape[0],):
            raise ParameterError(f"train_rows: boolean mask of length {rows.shape} for {x.shape[0]} samples")
        rows = np.flatnonzero(rows)
    rows = rows.astype(np.int64)
    if rows.size == 0:
        raise ParameterError("train_rows: no training rows; standardisation needs at least one training sample")
    if rows.min() < -x.shape[0] or rows.max() >= x.shape[0]:
        raise ParameterError(f"train_rows: index out of range for {x.shape[0]} samples")
    train = x[rows]
    mean = train.mean(axis=(0, 1), dtype=np.float64)
    var = train.var(axis=(0, 1), dtype=np.float64)
    sd = np.sqrt(var)
    scale = np.where(sd > 1e-12 * np.maximum(np.abs(mean), 1.0), sd, 1.0)
    dt = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    res = ((x - mean.astype(dt)) / scale.astype(dt)).astype(dt, copy=False)
    if return_stats:
        return res, mean, sd
    return res
