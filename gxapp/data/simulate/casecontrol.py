"""Case/control phenotypes with pathway-local epistasis (paper B flavour).

Model
-----
* Gene burden ``b_g = sum_j dosage_j * CLASS_WEIGHTS[class_j]`` over the gene's SNPs
  (missing dosages mean-imputed; damaging classes weigh ~1, intronic / upstream /
  downstream 0). Without SNP classes every SNP weighs 1; a SNP whose class is missing
  (NaN) weighs 0 and is left out of the gene-centric counts.
* Gene state ``h_g = 1[b_g > tau_g]``, a binary "gene is hit" indicator. ``tau_g`` is the
  burden value that makes the hit fraction closest to ``HIT_TARGET`` (30 %): for a gene
  whose damaging alleles are rare that is plain carrier status (tau = 0); for a gene
  where most people carry some damaging allele it is a high-burden indicator. Genes
  with a hit fraction outside [1 %, 99 %] are not used for effects. A binary h makes the
  epistasis types exact (paper B, Fig. 3):
    - additive:   w*h_g for single genes; an "additive" pair is w*h_i + w*h_j;
    - positive:   w*h_i*h_j, w > 0 (risk only when both genes are hit);
    - negative:   w*h_i*h_j, w < 0 (protection only when both are hit);
    - reciprocal: w*(h_i + h_j - 2*h_i*h_j) = w*XOR(h_i, h_j), w > 0 (each alone raises
      risk, together they cancel).
  Every planted term has |w| = ``effect`` (log-odds), or, with ``h2``, the |w| that makes the
  liability-scale heritability of the planted terms ``var(eta) / (var(eta) + pi^2/3)`` equal h2
  (the logistic model's liability has residual variance pi^2/3); truth["h2_liability"] records it.
* Epistatic pairs are drawn within one pathway (genes not yet used are preferred);
  ``n_additive`` further genes get additive effects.
* ``P(case) = expit(b0 + eta)`` with ``b0`` found by bisection so that the expected case
  fraction equals ``case_fraction``; y ~ Bernoulli.
"""

from __future__ import annotations

from itertools import combinations
from typing import Optional

import numpy as np
import pandas as pd
from scipy.special import expit

from gxapp.data.io.variants import CLASSES
from gxapp.data.simulate.phenotypes import check_inputs, pair_key
from gxapp.errors import ParameterError
from gxapp.params import check_int, check_number

EPISTASIS_TYPES = ("additive", "positive", "negative", "reciprocal")
HIT_TARGET = 0.3
LOGISTIC_VAR = np.pi**2 / 3  # variance of the standard logistic: the liability's residual on the logit scale
HIT_RANGE = (0.01, 0.99)

# Damage weight of each functional class in the burden.
CLASS_WEIGHTS = {
    "stopgain": 1.0,
    "frameshift_insertion": 1.0,
    "frameshift_deletion": 1.0,
    "startloss": 0.9,
    "stoploss": 0.8,
    "splicing": 0.8,
    "nonsynonymous": 0.5,
    "nonframeshift_insertion": 0.4,
    "nonframeshift_deletion": 0.4,
    "ncRNA_splicing": 0.2,
    "ncRNA_exonic": 0.1,
    "UTR5": 0.05,
    "UTR3": 0.05,
    "ncRNA_intronic": 0.0,
    "intronic": 0.0,
    "upstream": 0.0,
    "downstream": 0.0,
}
assert set(CLASS_WEIGHTS) == set(CLASSES)


def _classes(snp_classes, n_snps):
    if snp_classes is None:
        return None
    ser = pd.Series(list(snp_classes), dtype=object)
    if len(ser) != n_snps:
        raise ParameterError(f"snp_classes: {len(ser)} classes for {n_snps} SNP columns")
    missing = ser.isna().to_numpy()
    cls = np.where(missing, "", ser.astype(str).to_numpy()).astype(object)  # "" = not annotated
    bad = sorted(set(cls[~missing]) - set(CLASSES))
    if bad:
        raise ParameterError(f"snp_classes: unknown functional class(es) {bad[:5]}; expected one of {CLASSES}")
    return cls


def gene_burden(genotypes, gene_blocks, gene_names, snp_classes=None) -> np.ndarray:
    """Weighted damaging-allele burden, float64 (N, G); see the module docstring."""
    check_inputs(genotypes, gene_blocks, gene_names)
    cls = _classes(snp_classes, genotypes.shape[1])
    out = np.zeros((genotypes.shape[0], len(gene_names)))
    for i, cols in enumerate(gene_blocks):
        cols = np.asarray(cols, dtype=np.int64)
        w = np.ones(len(cols)) if cls is None else np.array([CLASS_WEIGHTS.get(c, 0.0) for c in cls[cols]])
        keep = w > 0
        if not keep.any():
            continue
        x = genotypes[:, cols[keep]].astype(np.float64)
        miss = x < 0
        if miss.any():
            x[miss] = 0.0
            mean = x.sum(axis=0) / np.maximum((~miss).sum(axis=0), 1)
            x = np.where(miss, mean, x)
        out[:, i] = x @ w[keep]
    return out


def hit_indicator(burden: np.ndarray):
    """``(h int8 (N,), tau)``: 1[burden > tau], tau chosen so the hit fraction is
    closest to HIT_TARGET (ties -> the smaller tau)."""
    values = np.unique(burden)
    if len(values) < 2:
        return np.zeros(len(burden), np.int8), float(values[0]) if len(values) else 0.0
    cands = values[:-1]
    srt = np.sort(burden)
    frac = 1.0 - np.searchsorted(srt, cands, side="right") / len(burden)
    tau = float(cands[int(np.argmin(np.abs(frac - HIT_TARGET)))])
    return (burden > tau).astype(np.int8), tau


def gene_centric_counts(genotypes, gene_blocks, gene_names, snp_classes, iids) -> pd.DataFrame:
    """Long table ``iid, gene, class, count`` of non-zero counts, where count = sum of
    the dosages (missing = 0) of the gene's SNPs of that class (paper B encoding)."""
    check_inputs(genotypes, gene_blocks, gene_names)
    cls = _classes(snp_classes, genotypes.shape[1])
    if cls is None:
        raise ParameterError("snp_classes: functional classes are needed for gene-centric counts")
    iids = np.asarray(iids, dtype=object)
    if len(iids) != genotypes.shape[0]:
        raise ParameterError(f"iids: {len(iids)} ids for {genotypes.shape[0]} genotype rows")
    class_rank = {c: k for k, c in enumerate(CLASSES)}
    rows, genes, classes, counts = [], [], [], []
    for gi, (_name, cols) in enumerate(zip(gene_names, gene_blocks)):
        cols = np.asarray(cols, dtype=np.int64)
        for c in sorted(set(cls[cols]) - {""}, key=class_rank.get):
            sub = cols[cls[cols] == c]
            cnt = np.clip(genotypes[:, sub], 0, None).sum(axis=1, dtype=np.int64)
            nz = np.flatnonzero(cnt)
            rows.append(nz)
            genes.append(np.full(len(nz), gi))
            classes.append(np.full(len(nz), class_rank[c]))
            counts.append(cnt[nz])
    if not rows:
        return pd.DataFrame({"iid": [], "gene": [], "class": [], "count": np.zeros(0, np.int64)})
    r, g, c, n = (np.concatenate(v) for v in (rows, genes, classes, counts))
    order = np.lexsort((c, g, r))
    names = np.asarray([str(x) for x in gene_names], dtype=object)
    return pd.DataFrame(
        {
            "iid": iids[r[order]].astype(str),
            "gene": names[g[order]].astype(str),
            "class": np.asarray(CLASSES, dtype=object)[c[order]].astype(str),
            "count": n[order].astype(np.int64),
        }
    )


def _check(epistasis, case_fraction, n_pairs_per_type, effect, n_additive):
    if isinstance(epistasis, str):
        epistasis = (epistasis,)
    epistasis = tuple(epistasis)
    if not epistasis or any(t not in EPISTASIS_TYPES for t in epistasis):
        raise ParameterError(f"epistasis: expected a non-empty subset of {EPISTASIS_TYPES}, got {epistasis!r}")
    check_number("case_fraction", case_fraction, 0, 1, closed="neither")
    check_int("n_pairs_per_type", n_pairs_per_type, 1)
    check_number("effect", effect, 0, None, closed="neither")
    if n_additive is not None:
        check_int("n_additive", n_additive, 0)
    return tuple(dict.fromkeys(epistasis))


def intercept_for(eta: np.ndarray, case_fraction: float) -> float:
    """Bisection for b0 with mean(expit(b0 + eta)) == case_fraction."""
    lo, hi = -40.0 - float(eta.max()), 40.0 - float(eta.min())
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if expit(mid + eta).mean() < case_fraction:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)


def _pick_pairs(rng, pathways, eligible, epistasis, n_pairs_per_type):
    """[(a, b, type, pathway)] drawn within pathways, unused genes preferred."""
    cands = []
    for pw in sorted(pathways):
        genes = [g for g in dict.fromkeys(pathways[pw]) if g in eligible]
        cands += [(a, b, pw) for a, b in combinations(genes, 2)]
    need = len(epistasis) * n_pairs_per_type
    if len(cands) < need:
        raise ParameterError(
            f"n_pairs_per_type: {need} within-pathway pairs are needed but only {len(cands)} exist among genes "
            f"with a usable burden; lower n_pairs_per_type, use fewer epistasis types or add genes to pathways"
        )
    used, taken, out = set(), set(), []
    for kind in epistasis:
        for _ in range(n_pairs_per_type):
            free = [c for c in cands if (c[0], c[1]) not in taken]
            score = np.array([(c[0] in used) + (c[1] in used) for c in free])
            best = [c for c, s in zip(free, score) if s == score.min()]
            a, b, pw = best[int(rng.integers(len(best)))]
            taken.add((a, b))
            used.update((a, b))
            out.append((a, b, kind, pw))
    return out, used


def simulate_casecontrol(
    genotypes,
    gene_blocks,
    gene_names,
    snp_classes,
    pathways,
    epistasis=("positive", "negative", "reciprocal"),
    case_fraction: float = 0.5,
    n_pairs_per_type: int = 2,
    effect: float = 1.0,
    seed: Optional[int] = None,
    n_additive: Optional[int] = None,
    h2: Optional[float] = None,
):
    """Simulate a 0/1 phenotype; return ``(y float64 (N,), truth dict)``.

    ``pathways``: dict pathway -> genes (None or empty: all genes form one pathway
    "ALL"). ``n_additive`` genes (default ``n_pairs_per_type``) outside the pairs get
    additive effects. truth: scenario "casecontrol", pairs (interacting pairs only),
    types {"A|B": type}, weights, pair_pathways, additive_pairs, additive_genes
    {gene: w}, intercept, case_fraction, expected/observed case fraction, effect,
    epistasis, seed, hit_thresholds {gene: tau}, hit_fractions, class_weights.
    """
    epistasis = _check(epistasis, case_fraction, n_pairs_per_type, effect, n_additive)
    if h2 is not None:
        check_number("h2", h2, 0, 1, closed="neither")
    gene_names = [str(g) for g in gene_names]
    burden = gene_burden(genotypes, gene_blocks, gene_names, snp_classes)
    rng = np.random.default_rng(seed)
    n = genotypes.shape[0]
    h, tau, frac = {}, {}, {}
    for i, g in enumerate(gene_names):
        h[g], tau[g] = hit_indicator(burden[:, i])
        frac[g] = float(h[g].mean())
    eligible = {g for g in gene_names if HIT_RANGE[0] <= frac[g] <= HIT_RANGE[1]}
    if pathways:
        pw = {str(k): [str(g) for g in v if str(g) in set(gene_names)] for k, v in pathways.items()}
    else:
        pw = {"ALL": list(gene_names)}
    picked, used = _pick_pairs(rng, pw, eligible, epistasis, n_pairs_per_type)

    eta = np.zeros(n)
    pairs, types, weights, pair_pw, add_pairs = [], {}, {}, {}, []
    for a, b, kind, pwname in picked:
        ha, hb = h[a].astype(np.float64), h[b].astype(np.float64)
        w = -effect if kind == "negative" else effect
        if kind == "additive":
            eta += w * (ha + hb)
            add_pairs.append([a, b])
        else:
            eta += w * (ha * hb if kind in ("positive", "negative") else ha + hb - 2 * ha * hb)
            pairs.append([a, b])
            types[pair_key(a, b)] = kind
            weights[pair_key(a, b)] = float(w)
        pair_pw[pair_key(a, b)] = pwname
    n_add = n_pairs_per_type if n_additive is None else int(n_additive)
    pool = sorted(eligible - used) or sorted(eligible)
    add_genes = {}
    for g in rng.permutation(pool)[: min(n_add, len(pool))]:
        add_genes[str(g)] = float(effect)
        eta += effect * h[str(g)]

    if h2 is not None:  # every |w| solved for the liability-scale heritability
        var = float(eta.var())
        if var <= 0:
            raise ParameterError(
                "h2: the planted genes do not vary in this cohort, so no effect size gives that heritability"
            )
        scale = float(np.sqrt(h2 / (1.0 - h2) * LOGISTIC_VAR / var))
        eta *= scale
        effect = effect * scale
        weights = {k: w * scale for k, w in weights.items()}
        add_genes = {g: w * scale for g, w in add_genes.items()}
    b0 = intercept_for(eta, float(case_fraction))
    p = expit(b0 + eta)
    y = (rng.random(n) < p).astype(np.float64)
    truth = {
        "scenario": "casecontrol",
        "genes": list(gene_names),
        "pairs": pairs,
        "types": types,
        "weights": weights,
        "pair_pathways": pair_pw,
        "additive_pairs": add_pairs,
        "additive_genes": add_genes,
        "intercept": float(b0),
        "case_fraction": float(case_fraction),
        "expected_case_fraction": float(p.mean()),
        "observed_case_fraction": float(y.mean()),
        "effect": float(effect),
        "h2_target": None if h2 is None else float(h2),
        "h2_liability": float(eta.var() / (eta.var() + LOGISTIC_VAR)),
        "epistasis": list(epistasis),
        "n_pairs_per_type": int(n_pairs_per_type),
        "seed": None if seed is None else int(seed),
        "h": "h_g = 1[burden_g > tau_g], tau_g chosen so about 30% of individuals are hit (carrier status when "
        "damaging alleles are rare); burden = sum of dosage x class weight",
        "hit_thresholds": {g: float(tau[g]) for g in gene_names},
        "hit_fractions": frac,
        "class_weights": dict(CLASS_WEIGHTS) if snp_classes is not None else "all SNPs weigh 1",
    }
    return y, truth
