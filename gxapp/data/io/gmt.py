"""Pathways as GMT files (one gene set per line: name<TAB>description<TAB>gene<TAB>gene...)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable, Optional

from gxapp.data.io.sources import decode_text, read_bytes
from gxapp.errors import DuplicateIdError, EmptyDataError, GeneMappingError, InputFormatError, ParameterError


def read_gmt(source, name: Optional[str] = None) -> dict:
    """Read a GMT file (path, bytes or file-like; ``name`` labels it in messages).

    Returns ``{pathway: [gene, ...]}`` in file order; genes keep their order, repeats within a
    pathway are dropped. Blank lines are skipped. A line with fewer than 3 tab-separated fields
    (name, description, at least one gene) raises InputFormatError naming the line; a pathway name
    seen twice raises DuplicateIdError; a file without gene sets raises EmptyDataError.
    """
    data, label = read_bytes(source, name)
    text = decode_text(data)
    out: dict = {}
    first_line: dict = {}
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        genes = [g.strip() for g in fields[2:] if g.strip()]
        if len(fields) < 3 or not genes:
            hint = ""
            if "\t" not in line and len(line.split()) >= 3:
                hint = " (the fields seem to be separated by spaces; GMT needs tabs)"
            raise InputFormatError(
                f"{label}, line {no}: {len(fields)} tab-separated field(s) and {len(genes)} gene(s); a GMT line "
                f"needs a pathway name, a description and at least one gene, separated by tabs{hint}"
            )
        pname = fields[0].strip()
        if not pname:
            raise InputFormatError(f"{label}, line {no}: the pathway name (first field) is empty; name the gene set")
        if pname in out:
            raise DuplicateIdError(
                f"{label}, line {no}: pathway '{pname}' already defined on line {first_line[pname]}; "
                "pathway names must be unique: rename or merge the two lines"
            )
        first_line[pname] = no
        out[pname] = list(dict.fromkeys(genes))
    if not out:
        raise EmptyDataError(
            f"{label}: no gene set found (the file is empty); give a GMT file with one pathway per line"
        )
    return out


def write_gmt(path, pathways: dict, descriptions: Optional[dict] = None) -> None:
    """Write ``pathways`` ({name: [genes]}) as GMT to a path or a writable file-like.
    ``descriptions``: {name: text}; missing ones are written as "na"."""
    descriptions = descriptions or {}
    lines = []
    for pname, genes in pathways.items():
        desc = str(descriptions.get(pname, "na")) or "na"
        genes = [str(g) for g in genes]
        for what, val in [("pathway name", str(pname)), ("description", desc)] + [("gene", g) for g in genes]:
            if "\t" in val or "\n" in val or "\r" in val:
                raise ParameterError(
                    f"pathways: the {what} '{val[:40]}' of pathway '{pname}' contains a tab or a line break, "
                    "which GMT cannot hold; remove it"
                )
        if not str(pname).strip():
            raise ParameterError("pathways: a pathway has an empty name; name every pathway")
        if not genes:
            raise ParameterError(f"pathways: pathway '{pname}' has no genes; a GMT line needs at least one gene")
        lines.append("\t".join([str(pname), desc] + genes))
    text = "\n".join(lines) + ("\n" if lines else "")
    if hasattr(path, "write"):
        if isinstance(path, io.TextIOBase):
            path.write(text)
        else:
            try:
                path.write(text.encode("utf-8"))
            except TypeError:
                path.write(text)
        return
    Path(path).write_text(text, encoding="utf-8")


def restrict_pathways(
    pathways: dict, genes: Iterable[str], min_size: int = 1, source: str = "the pathway file"
) -> tuple:
    """Keep, in every pathway, only the genes of the cohort; drop pathways left with fewer than
    ``min_size`` genes.

    Returns ``(pathways, report)``; the report counts cohort genes matched / unmatched and the
    pathways kept and dropped. Raises GeneMappingError when no cohort gene appears in any pathway
    (``source`` names the file in the message), or when no pathway keeps ``min_size`` genes.
    """
    try:
        min_size = int(min_size)
    except (TypeError, ValueError):
        raise ParameterError(f"min_size: expected a whole number of genes, got {min_size!r}") from None
    if min_size < 1:
        raise ParameterError(f"min_size: must be at least 1 gene, got {min_size}")
    cohort = list(dict.fromkeys(str(g) for g in genes))
    if not cohort:
        raise EmptyDataError("genes: the cohort has no genes to match against the pathways")
    cset = set(cohort)
    kept, dropped_small = {}, []
    matched = set()
    for pname, pgenes in pathways.items():
        inter = [g for g in dict.fromkeys(pgenes) if g in cset]
        matched.update(inter)
        if len(inter) >= min_size:
            kept[pname] = inter
        else:
            dropped_small.append(pname)
    if not matched:
        all_pg = {g for pg in pathways.values() for g in pg}
        upper = {g.upper() for g in all_pg}
        n_case = sum(g.upper() in upper for g in cohort)
        hint = ""
        if n_case:
            hint = f" ({n_case} match if case is ignored: gene symbols are case-sensitive)"
        elif all_pg and sum(str(g).isdigit() for g in all_pg) > 0.5 * len(all_pg):
            hint = " (the pathway file uses numeric ids, e.g. Entrez ids, while the cohort uses gene symbols)"
        raise GeneMappingError(
            f"none of the {len(cohort)} genes of the cohort appear in {source}: check gene symbols{hint} "
            f"(cohort genes e.g. {', '.join(cohort[:5])})"
        )
    if not kept:
        raise GeneMappingError(
            f"no pathway of {source} keeps at least {min_size} cohort gene(s) ({len(matched)} cohort genes "
            f"matched in all); lower min_size"
        )
    unmatched = [g for g in cohort if g not in matched]
    report = {
        "n_pathways": len(pathways),
        "n_pathways_kept": len(kept),
        "n_pathways_dropped": len(dropped_small),
        "pathways_dropped": dropped_small[:50],
        "min_size": min_size,
        "n_genes_cohort": len(cohort),
        "n_genes_matched": len(matched),
        "n_genes_unmatched": len(unmatched),
        "genes_unmatched": unmatched,
        "fraction_matched": len(matched) / len(cohort),
        "source": source,
    }
    return kept, report
