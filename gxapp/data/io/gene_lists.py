"""Gene lists: the genes a user wants to keep, typed or uploaded."""

from __future__ import annotations

import os
import re
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.data.io.sources import decode_text, read_bytes
from gxapp.errors import EmptyDataError

__all__ = ["read_gene_list"]


def read_gene_list(source, name: Optional[str] = None, as_text: bool = False) -> list:
    """Gene names, one per line or separated by commas, semicolons or whitespace; blank lines
    and ``#`` comments are ignored; duplicates are removed (first kept).

    source: a path or file-like (an upload), a list of names, or the text itself (what a
    user typed, e.g. ``"APOE, LDLR"``): a string is read as a file when it names an existing
    file or looks like a file name (``genes.txt``, ``lists/genes``), otherwise as the list.
    ``as_text``: a string is always the list itself, never a path (for text from a browser)."""
    if isinstance(source, (list, tuple, set, pd.Series, np.ndarray)):
        text, label = "\n".join(str(s) for s in source), name or "gene list"
    elif isinstance(source, str) and as_text:
        text, label = source, name or "gene list"
    elif (
        isinstance(source, str)
        and not os.path.isfile(source)
        and (
            re.search(r"[\s,;#]", source.strip())
            or not re.search(r"[/\\]|\.(txt|csv|tsv|list|lst|gz|grp|tab)$", source.strip(), flags=re.I)
        )
    ):
        text, label = source, name or "gene list"
    else:
        data, label = read_bytes(source, name)
        text = decode_text(data)
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
