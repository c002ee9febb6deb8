"""A planted truth given with one's own files (``truth.json`` as ``python -m gxapp simulate`` writes
it): which gene pairs interact, so that AP, precision-recall and the realised FDR are shown against
it, as for the built-in simulations."""

from __future__ import annotations

import json
from pathlib import Path

from gxapp.errors import InputFormatError

MAX_BYTES = 10 << 20


def read_truth(path) -> dict:
    """``{"pairs": [[a, b], …], "types": {"a|b": type, …}, …}`` from a JSON file; InputFormatError naming
    the file and what is wrong otherwise."""
    p = Path(path)
    name = p.name
    try:
        if p.stat().st_size > MAX_BYTES:
            raise InputFormatError(f"{name}: {p.stat().st_size:,} bytes is too large for a truth file")
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFormatError(f"{name}: not a readable JSON truth file ({exc})") from None
    pairs = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(pairs, list) or not all(
        isinstance(q, (list, tuple)) and len(q) == 2 and all(isinstance(g, str) for g in q) for q in pairs
    ):
        raise InputFormatError(
            f'{name}: expected {{"pairs": [["GENE_A", "GENE_B"], …]}} (the truth.json gxapp simulate writes)'
        )
    if not pairs:
        raise InputFormatError(f"{name}: lists no planted pair; leave the truth file out when nothing was planted")
    selfs = [q for q in pairs if q[0] == q[1]]
    if selfs:
        raise InputFormatError(f"{name}: pair {selfs[0][0]} × {selfs[0][1]} pairs a gene with itself")
    types = data.get("types") or {}
    if not isinstance(types, dict):
        raise InputFormatError(f'{name}: "types" must map "GENE_A|GENE_B" to an interaction type')
    untyped = [q for q in pairs if f"{q[0]}|{q[1]}" not in types and f"{q[1]}|{q[0]}" not in types]
    if types and untyped:
        raise InputFormatError(
            f'{name}: "types" names no type for {untyped[0][0]} × {untyped[0][1]} ({len(untyped)} pairs without '
            'one); give every pair a type or leave "types" out'
        )
    out = {k: v for k, v in data.items() if k in ("scenario", "types", "effects", "params")}
    out.update({"pairs": [list(q) for q in pairs], "types": {str(k): str(v) for k, v in types.items()}})
    out.setdefault("scenario", "given with the files")
    return out


def check_truth_genes(truth: dict, genes) -> dict:
    """The truth restricted to pairs whose two genes are in the cohort; InputFormatError when none are."""
    have = set(genes)
    kept = [q for q in truth["pairs"] if q[0] in have and q[1] in have]
    if truth["pairs"] and not kept:
        ex = ", ".join(f"{a} × {b}" for a, b in truth["pairs"][:3])
        raise InputFormatError(
            f"truth file: none of its {len(truth['pairs'])} pairs ({ex}…) has both genes among the cohort's genes; "
            "check the gene names (the gene table the files were loaded with)"
        )
    dropped = len(truth["pairs"]) - len(kept)
    return {**truth, "pairs": kept, "pairs_not_in_cohort": dropped}
