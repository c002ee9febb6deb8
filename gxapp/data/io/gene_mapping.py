"""SNP -> gene mapping (docs/method.md#data-model) and its report.

A SNP belongs to a gene when it lies on the gene's chromosome inside
``[start - flank, end + flank]`` (1-based, both ends included); a SNP may belong
to several genes. Genes without SNPs are reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from gxapp.data.io.gene_tables import BUILD_LABEL, BUILTIN, GENE_COLS, chrom_rank, drop_duplicate_genes, genome_order
from gxapp.data.io.genome_build import guess_build_from_positions
from gxapp.data.io.genotypes import normalise_chrom
from gxapp.data.io.snp_index import SnpIndex, expand_ranges, snp_positions
from gxapp.errors import EmptyDataError, GeneMappingError, InputFormatError, ParameterError

__all__ = ["MappingResult", "map_snps_to_genes"]


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


def _expected_coverage(idx: SnpIndex, chrom: np.ndarray, pos: np.ndarray, gchrom, lo_pos, hi_pos) -> float:
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
        lo = np.clip(g["lo"].to_numpy(np.int64), a, b + 1)
        h = np.clip(g["hi"].to_numpy(np.int64) + 1, a, b + 1)
        # union length of [lo, h)
        h = np.maximum.accumulate(h)
        prev = np.concatenate([[a], h[:-1]])
        cov = np.maximum(h - np.maximum(lo, prev), 0).sum()
        exp += n * (cov / max(b + 1 - a, 1)) if b > a else n * float(cov > 0)
    return exp / total if total else 0.0


def map_snps_to_genes(
    snps: pd.DataFrame, genes: Optional[pd.DataFrame], flank: int = 10_000, keep_genes: Optional[Iterable[str]] = None
) -> MappingResult:
    """Assign SNPs to genes.

    snps: DataFrame with ``chrom``, ``pos`` (1-based) and optionally ``gene``: an explicit
    assignment (several genes separated by ``;`` or ``,``) that wins over positions for that SNP.
    genes: a gene table (:func:`~gxapp.data.io.gene_tables.load_gene_table`), or None when every SNP
    has an explicit gene.
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
    chrom, pos = snp_positions(snps)
    table_label = "the gene table" if genes is None else str(genes.attrs.get("source") or "the gene table")
    build = None if genes is None else genes.attrs.get("build")
    if genes is None:
        genes = pd.DataFrame({c: pd.Series(dtype=object if c in ("gene", "chrom") else np.int64) for c in GENE_COLS})
    for c in GENE_COLS:
        if c not in genes.columns:
            raise InputFormatError(f"genes: the gene table lacks column '{c}'; load it with load_gene_table")
    gnames = genes["gene"].astype(str).to_numpy(dtype=object)
    if len(set(gnames)) != len(gnames):
        genes = drop_duplicate_genes(genes)
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
            hint = (
                f" ({len(case_hits)} match if case is ignored, e.g. '{case_hits[0]}': gene symbols are case-sensitive)"
                if case_hits
                else ""
            )
            raise GeneMappingError(
                f"keep_genes: none of the {len(requested)} requested gene(s) ({', '.join(requested[:5])}"
                f"{', ...' if len(requested) > 5 else ''}) is in {table_label}{hint}; check the symbols, "
                "or choose the gene table / genome build that names them"
            )
        if not requested:
            raise ParameterError("keep_genes: the list of genes is empty; give at least one gene or leave it unset")

    # ---- positional mapping over the full table ---------------------------------------
    pos_rows = np.flatnonzero(~explicit)
    idx = SnpIndex(chrom[pos_rows], pos[pos_rows])
    lo, hi = idx.bounds(gchrom, gstart, gend, flank)
    covered_all = idx.covered(lo, hi) if len(pos_rows) else np.zeros(0, bool)
    n_pos = len(pos_rows)
    frac_all = float(covered_all.mean()) if n_pos else 1.0

    warnings = []
    guess = None
    if n_pos and build in BUILTIN:
        guess = guess_build_from_positions(chrom[pos_rows], pos[pos_rows])
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
                f"{', '.join(sorted(set(chrom[pos_rows]), key=chrom_rank)[:10])}, the table has "
                f"{', '.join(sorted(table_chroms, key=chrom_rank)[:10])}; check the chromosome names or the gene table"
            )
        frac_on = n_mapped / max(int(on_table.sum()), 1)
        expected = 1.0
        if frac_on < 0.01:
            expected = _expected_coverage(
                idx, chrom[pos_rows][on_table], pos[pos_rows][on_table], gchrom, gstart - flank, gend + flank
            )
        if n_mapped == 0 or (frac_on < 0.01 and expected >= 0.10):
            if guess is None:
                guess = guess_build_from_positions(chrom[pos_rows], pos[pos_rows])
            better = ""
            if guess["best"] is not None and guess["best"] != build:
                better = (
                    f" The positions fit {BUILD_LABEL[guess['best']]} better ({guess['reason']}); use that gene table."
                )
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
    gid, rows = expand_ranges(lo[sel], hi[sel], idx.order)
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
    gene_snps_unordered = {names_full[g]: rows[bounds[k] : bounds[k + 1]] for k, g in enumerate(used.tolist())}

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
