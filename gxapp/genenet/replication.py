"""Replication of gene pairs in a second cohort (paper A, Eq. 5, Table 1, Fig. 7a;
docs/method.md#replication).

The discovery run's gene layer is carried over: the second cohort's genotypes are aligned to
the discovery SNPs (:func:`match_snps`, :func:`align_genotypes`: same variant by position and
alleles, or by id; swapped alleles flipped; absent SNPs set to the discovery mean), centred
with the discovery means, and turned into gene representations ``g`` by the discovery
network. For each pair, a joint MLP ``h(g_i, g_j)`` and an additive network
``h_i(g_i) + h_j(g_j)`` are fitted on the DISCOVERY training rows; in the replication cohort
the main-effect residual ``r = y − (β0 + βi g_i + βj g_j)`` (fitted there) is regressed on the
predicted interaction ``s = h − h_i − h_j``, and the slope's one-sided t-test (HC3 standard
error, as the held-out test) is the replication p. The top-SNP test (Eq. 4) is repeated in the
replication cohort with each gene's top SNP chosen in discovery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.errors import GeneMappingError, ParameterError
from gxapp.genenet.baselines import top_snps
from gxapp.genenet.heldout import _slope_test, bh_qvalues
from gxapp.genenet.peers import _gene_pair_matrix
from gxapp.genenet.surface import fit_pair_models, gene_nodes
from gxapp.genenet.train import TrainResult
from gxapp.progress import check_cancel, report

# A gene with more than this share of its SNPs absent from the replication cohort is not tested.
MAX_MISSING_PER_GENE = 0.5


@dataclass
class SnpMatch:
    """Where each discovery SNP is in the replication cohort: ``index`` (column or −1),
    ``flip`` (alleles swapped: dosage becomes 2 − g), and what could not be matched."""

    index: np.ndarray
    flip: np.ndarray
    n_by_position: int = 0
    n_by_id: int = 0
    n_flipped: int = 0
    n_allele_mismatch: int = 0
    missing_examples: list = field(default_factory=list)

    @property
    def n_missing(self) -> int:
        return int((self.index < 0).sum())

    def report(self) -> dict:
        return {
            "n_snps": int(self.index.size),
            "matched_by_position": self.n_by_position,
            "matched_by_id": self.n_by_id,
            "flipped": self.n_flipped,
            "allele_mismatch": self.n_allele_mismatch,
            "missing": self.n_missing,
            "missing_examples": self.missing_examples[:5],
        }


def _alleles(df: pd.DataFrame) -> tuple:
    return df["a1"].astype(str).str.upper().to_numpy(), df["a2"].astype(str).str.upper().to_numpy()


def match_snps(discovery: pd.DataFrame, replication: pd.DataFrame) -> SnpMatch:
    """Match discovery SNPs (``snp, chrom, pos, a1, a2``) to the replication cohort's: the same
    chromosome, position and allele pair (in either order: swapped → flipped), else the same id
    with the same allele pair. A position or id whose alleles differ is not matched."""
    for name, df in (("discovery", discovery), ("replication", replication)):
        miss = [c for c in ("snp", "chrom", "pos", "a1", "a2") if c not in df.columns]
        if miss:
            raise ParameterError(f"{name} SNP table: missing column(s) {miss}")
    da1, da2 = _alleles(discovery)
    ra1, ra2 = _alleles(replication)
    pos_key = {(str(c), int(p)): k for k, (c, p) in enumerate(zip(replication["chrom"], replication["pos"]))}
    id_key = {str(s): k for k, s in enumerate(replication["snp"])}
    P = len(discovery)
    index = np.full(P, -1, np.int64)
    flip = np.zeros(P, bool)
    by_pos = by_id = mismatch = 0
    missing = []
    for k, (sid, c, p) in enumerate(zip(discovery["snp"].astype(str), discovery["chrom"], discovery["pos"])):
        found = False
        for how, r in (("pos", pos_key.get((str(c), int(p)))), ("id", id_key.get(sid))):
            if r is None:
                continue
            if (ra1[r], ra2[r]) == (da1[k], da2[k]):
                index[k], found = r, True
            elif (ra1[r], ra2[r]) == (da2[k], da1[k]):
                index[k], flip[k], found = r, True, True
            else:
                mismatch += 1
                continue
            by_pos += how == "pos"
            by_id += how == "id"
            break
        if not found:
            missing.append(sid)
    return SnpMatch(index, flip, by_pos, by_id, int(flip.sum()), mismatch, missing)


def align_genotypes(genotypes: np.ndarray, match: SnpMatch, snp_means: np.ndarray) -> np.ndarray:
    """``(N, P_discovery)`` float32: replication genotypes (int8 allele counts, −1 missing, or
    imputed dosages, NaN missing) in
    discovery SNP order and allele coding, centred with the DISCOVERY means; a missing call or
    an absent SNP becomes 0 (the discovery mean), as imputation does in discovery."""
    g = np.asarray(genotypes)
    N, P = g.shape[0], match.index.size
    if len(snp_means) != P:
        raise ParameterError(f"snp_means: expected {P} discovery means, got {len(snp_means)}")
    out = np.zeros((N, P), np.float32)
    have = np.flatnonzero(match.index >= 0)
    if have.size:
        cols = g[:, match.index[have]].astype(np.float32)
        called = np.isfinite(cols) & (cols >= 0)  # int8 calls (−1 missing) or float dosages (NaN missing)
        cols = np.where(match.flip[have], 2.0 - cols, cols)
        cols -= np.asarray(snp_means, np.float64)[have].astype(np.float32)
        cols[~called] = 0.0
        out[:, have] = cols
    return out


def main_effect_residual(y: np.ndarray, gi: np.ndarray, gj: np.ndarray) -> np.ndarray:
    """``y − (β0 + βi g_i + βj g_j)``, the OLS fit in this cohort."""
    D = np.column_stack([np.ones_like(gi), gi, gj])
    beta, *_ = np.linalg.lstsq(D, y, rcond=None)
    return y - D @ beta


@dataclass
class PairReplication:
    """One pair: the Eq. 5 slope test and the data of its Fig. 7a scatter."""

    slope: float
    t: float
    p: float
    n: int
    predicted: np.ndarray  # s = h − h_i − h_j per replication individual
    residual: np.ndarray  # main-effect residual per replication individual


def eq5_pair_test(
    nodes_fit: np.ndarray,
    y_fit: np.ndarray,
    nodes_rep: np.ndarray,
    y_rep: np.ndarray,
    steps: int = 400,
    width: int = 32,
    seed: int = 0,
) -> PairReplication:
    """Array-level Eq. 5 for one pair: ``nodes_fit`` (n, 2) / ``y_fit`` discovery training rows,
    ``nodes_rep`` (m, 2) / ``y_rep`` the replication cohort."""
    pm = fit_pair_models(nodes_fit, y_fit, steps=steps, width=width, seed=seed)
    s = pm.interaction(nodes_rep)
    r = main_effect_residual(np.asarray(y_rep, np.float64), nodes_rep[:, 0], nodes_rep[:, 1])
    if np.ptp(s) <= 1e-12:
        return PairReplication(np.nan, np.nan, np.nan, len(r), s, r)
    slope, t, p = _slope_test(np.column_stack([np.ones_like(s), s]), r)
    return PairReplication(slope, t, p, len(r), s, r)


def replicate_pairs(
    result: TrainResult,
    X_fit: np.ndarray,
    y_fit: np.ndarray,
    fit_rows: np.ndarray,
    X_rep: np.ndarray,
    y_rep: np.ndarray,
    pairs,
    gene_names,
    missing_share: Optional[np.ndarray] = None,
    steps: int = 400,
    width: int = 32,
    seed: int = 0,
    progress=None,
    cancel=None,
) -> tuple:
    """Eq. 5 and the replication top-SNP test for ``pairs`` (gene index pairs).

    ``X_fit``/``y_fit``: discovery data (``fit_rows``: its training rows); ``X_rep``/``y_rep``:
    the replication cohort aligned to the discovery SNPs (:func:`align_genotypes`);
    ``missing_share``: per gene, the share of its SNPs absent from the replication cohort (genes
    above :data:`MAX_MISSING_PER_GENE` are not tested). Returns ``(table, details)``: one row per
    pair and ``{(i, j): PairReplication}``."""
    M = len(result.gene_blocks)
    pairs = [(int(a), int(b)) for a, b in pairs]
    if any(a == b or not (0 <= a < M and 0 <= b < M) for a, b in pairs):
        raise ParameterError(f"pairs: expected pairs of two different gene indices in [0, {M})")
    best = int(np.nanargmin(result.best_val))
    nodes_d = gene_nodes(result, X_fit, best)
    nodes_r = gene_nodes(result, X_rep, best)
    # the replication top-SNP test: each gene's top SNP chosen in discovery (Table 1's last column)
    tops = top_snps(X_fit, y_fit, result.gene_blocks, fit_rows)
    rows, details = [], {}
    for k, (i, j) in enumerate(pairs):
        check_cancel(cancel)
        report(progress, k / max(len(pairs), 1), f"pair {k + 1} of {len(pairs)}: {gene_names[i]} × {gene_names[j]}")
        miss = 0.0 if missing_share is None else float(max(missing_share[i], missing_share[j]))
        row = {"gene_a": gene_names[i], "gene_b": gene_names[j], "missing_share": miss}
        if miss > MAX_MISSING_PER_GENE:
            row.update(slope=np.nan, t=np.nan, p_replication=np.nan, p_topsnp_replication=np.nan)
            row["note"] = f"not tested: {miss:.0%} of a gene's SNPs are absent from the replication cohort"
        else:
            rep = eq5_pair_test(
                nodes_d[fit_rows][:, [i, j]],
                np.asarray(y_fit)[fit_rows],
                nodes_r[:, [i, j]],
                y_rep,
                steps=steps,
                width=width,
                seed=seed,
            )
            details[(i, j)] = rep
            row.update(
                slope=rep.slope,
                t=rep.t,
                p_replication=rep.p,
                p_topsnp_replication=_topsnp_p(X_rep, y_rep, tops[i], tops[j]),
            )
            row["note"] = ""
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["q_replication"] = bh_qvalues(table["p_replication"].to_numpy())
    report(progress, 1.0, f"{len(details)} pairs tested")
    return table, details


def _topsnp_p(X: np.ndarray, y: np.ndarray, a: int, b: int) -> float:
    """Two-sided t-test p of ``a·b`` in OLS ``y ~ 1 + a + b + a·b`` (Eq. 4) on these rows: the
    top-SNP peer's own kernel on the two chosen SNP columns."""
    yy = np.asarray(y, np.float64)
    return float(_gene_pair_matrix(np.asarray(X[:, [a, b]], np.float64), yy - yy.mean(), "t")[0, 1])


def check_match(match: SnpMatch, gene_blocks, max_missing: float = 0.5) -> np.ndarray:
    """Per gene, the share of its SNPs absent from the replication cohort; refuse when more than
    ``max_missing`` of all the run's SNPs are absent (the cohorts do not share a panel)."""
    share = np.array([float((match.index[b] < 0).mean()) for b in gene_blocks])
    total = match.n_missing / max(match.index.size, 1)
    if total > max_missing:
        ex = ", ".join(match.missing_examples[:3])
        raise GeneMappingError(
            f"replication cohort: {match.n_missing} of the run's {match.index.size} SNPs ({total:.0%}) are not in it "
            f"(e.g. {ex}); it must be genotyped on the same variants (same positions and alleles, or ids) — "
            "check the genome build and the variant ids"
        )
    return share
