"""Quantitative phenotypes with planted gene-gene interactions (paper A, Eqs. 1-3).

Works on any int8 genotype matrix (-1 = missing) and any list of gene blocks, so a
user can plant interactions on their own genotypes (power analysis).

Model
-----
SNPs are mean-imputed and standardised. Gene ``i`` gets ``g_i = X_i @ alpha_i`` with a
fraction ``prop_causal`` of ``alpha_i`` non-zero, N(0, 1) (at least one, chosen among
polymorphic SNPs), then ``g_i`` is standardised.

* ``complex`` (Eq. 1): max(g1,g2), max(g7,g9), (g3-g5)^2, (g4-g8)^2, g6*g7, g8*g10;
* ``simple`` (Eq. 2): the same six pairs, each term the product of the two genes'
  standardised top SNPs (largest |alpha|);
* ``null`` (Eq. 3): main effects only.

Each interaction term is standardised, weighted by w ~ N(0, 1) and summed into ``I``;
main effects ``M = sum_k w_k g_k`` (w_k ~ N(0, 1), all genes). ``M`` and ``I`` are
rescaled so var(M)/var(I) = ``mi`` exactly (in-sample); the signal ``S = M + I`` is
scaled to variance snr/(1+snr) and Gaussian noise to 1/(1+snr), so
var(S)/var(noise) = ``snr`` exactly and var(y) is about 1. Gene numbers are 1-based
positions in ``gene_names``; pairs with a gene beyond the list are dropped.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from gxapp.data.cohort import check_gene_blocks
from gxapp.errors import ParameterError

SCENARIOS = ("complex", "simple", "null")
# Eq. 1 pairs (1-based gene numbers) and the interaction type of each.
EQ1_PAIRS = (
    (1, 2, "max"),
    (7, 9, "max"),
    (3, 5, "sqdiff"),
    (4, 8, "sqdiff"),
    (6, 7, "product"),
    (8, 10, "product"),
)


def pair_key(a: str, b: str) -> str:
    """The key of a gene pair in ``truth['types']``: ``"geneA|geneB"``."""
    return f"{a}|{b}"


def _std(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    sd = v.std()
    return (v - v.mean()) / sd if sd > 0 else np.zeros_like(v)


def standardised_block(genotypes: np.ndarray, cols) -> np.ndarray:
    """Columns ``cols`` of ``genotypes`` as float64, mean-imputed (-1 = missing) and
    standardised (monomorphic columns become 0)."""
    x = np.asarray(genotypes[:, np.asarray(cols, dtype=np.int64)], dtype=np.float64)
    miss = x < 0
    if miss.any():
        x[miss] = 0.0
        called = (~miss).sum(axis=0)
        mean = x.sum(axis=0) / np.maximum(called, 1)
        x = np.where(miss, mean, x)
    x -= x.mean(axis=0)
    sd = x.std(axis=0)
    x /= np.where(sd > 0, sd, 1.0)
    return x


def check_inputs(genotypes, gene_blocks, gene_names) -> None:
    """Raise :class:`ParameterError` unless genotypes / blocks / names fit together."""
    if not isinstance(genotypes, np.ndarray) or genotypes.ndim != 2:
        raise ParameterError("genotypes: expected a 2-D array (N individuals x P SNPs)")
    if len(gene_blocks) != len(gene_names):
        raise ParameterError(f"gene_blocks: {len(gene_blocks)} blocks for {len(gene_names)} gene names")
    if len(gene_names) == 0:
        raise ParameterError("gene_names: at least one gene is needed")
    if len(set(gene_names)) != len(gene_names):
        raise ParameterError("gene_names: gene names must be unique")
    check_gene_blocks(gene_blocks, genotypes.shape[1], names=list(gene_names))


def _check_params(scenario, snr, mi, prop_causal) -> None:
    if scenario not in SCENARIOS:
        raise ParameterError(f"scenario: expected one of {SCENARIOS}, got {scenario!r}")
    for name, v in (("snr", snr), ("mi", mi)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and np.isfinite(v) and v > 0):
            raise ParameterError(f"{name}: expected a number > 0, got {v!r}")
    if not (isinstance(prop_causal, (int, float, np.floating, np.integer)) and 0 < prop_causal <= 1):
        raise ParameterError(f"prop_causal: expected a number in (0, 1], got {prop_causal!r}")


def active_pairs(n_genes: int):
    """Eq. 1 pairs (0-based indices, type) whose genes both exist among ``n_genes``."""
    return [(a - 1, b - 1, t) for a, b, t in EQ1_PAIRS if a <= n_genes and b <= n_genes]


def simulate_phenotype(
    genotypes: np.ndarray,
    gene_blocks,
    gene_names,
    scenario: str,
    snr: float = 0.1,
    mi: float = 1.0,
    prop_causal: float = 0.5,
    seed: Optional[int] = None,
):
    """Simulate a quantitative phenotype; return ``(y float64 (N,), truth dict)``.

    ``truth`` (JSON-serialisable): scenario, pairs ([[geneA, geneB], ...], [] for
    null), types ({"A|B": "max"|"sqdiff"|"product"}), interaction_weights, snr, mi,
    prop_causal, seed, main_weights ({gene: w} on standardised g, after scaling),
    causal_snps ({gene: [columns]}), snp_weights ({gene: [alpha of each causal SNP]}, on
    standardised SNPs), top_snps ({gene: column}), genes (gene order).
    """
    _check_params(scenario, snr, mi, prop_causal)
    check_inputs(genotypes, gene_blocks, gene_names)
    gene_names = [str(g) for g in gene_names]
    n_genes = len(gene_names)
    pairs = active_pairs(n_genes) if scenario != "null" else []
    if scenario != "null" and not pairs:
        raise ParameterError(f"n_genes: the '{scenario}' scenario needs at least 2 genes (Eq. 1 pairs), got {n_genes}")
    rng = np.random.default_rng(seed)
    n = genotypes.shape[0]

    gexp = np.empty((n, n_genes))
    top_x = np.empty((n, n_genes))
    causal, alphas, top = {}, {}, {}
    for i, (name, cols) in enumerate(zip(gene_names, gene_blocks)):
        cols = np.asarray(cols, dtype=np.int64)
        x = standardised_block(genotypes, cols)
        poly = np.flatnonzero(x.std(axis=0) > 0)
        pool = poly if len(poly) else np.arange(len(cols))
        k = max(1, int(round(prop_causal * len(pool))))
        chosen = np.sort(rng.choice(pool, size=k, replace=False))
        alpha = np.zeros(len(cols))
        alpha[chosen] = rng.standard_normal(k)
        t = int(np.argmax(np.abs(alpha)))
        gexp[:, i] = _std(x @ alpha)
        top_x[:, i] = x[:, t]
        causal[name] = [int(c) for c in cols[chosen]]
        alphas[name] = [float(a) for a in alpha[chosen]]
        top[name] = int(cols[t])

    w_main = rng.standard_normal(n_genes)
    main = gexp @ w_main
    terms, types, w_int = [], {}, {}
    for a, b, kind in pairs:
        if scenario == "simple":
            kind, term = "product", top_x[:, a] * top_x[:, b]
        elif kind == "max":
            term = np.maximum(gexp[:, a], gexp[:, b])
        elif kind == "sqdiff":
            term = (gexp[:, a] - gexp[:, b]) ** 2
        else:
            term = gexp[:, a] * gexp[:, b]
        terms.append(_std(term))
        types[pair_key(gene_names[a], gene_names[b])] = kind
    w_pair = rng.standard_normal(len(terms))
    noise = _std(rng.standard_normal(n))

    main_sd = main.std()
    main_scale = 1.0 / main_sd if main_sd > 0 else 0.0
    if terms:
        inter = np.column_stack(terms) @ w_pair
        inter_sd = inter.std()
        inter_scale = 1.0 / (inter_sd * np.sqrt(mi)) if inter_sd > 0 else 0.0
    else:
        inter, inter_scale = np.zeros(n), 0.0
    signal = main * main_scale + inter * inter_scale  # var(M)/var(I) = mi
    sig_sd = signal.std()
    s_scale = np.sqrt(snr / (1.0 + snr)) / sig_sd if sig_sd > 0 else 0.0
    y = signal * s_scale + noise * np.sqrt(1.0 / (1.0 + snr))

    for (a, b, _), w in zip(pairs, w_pair):
        w_int[pair_key(gene_names[a], gene_names[b])] = float(w * inter_scale * s_scale)
    truth = {
        "scenario": scenario,
        "genes": list(gene_names),
        "pairs": [[gene_names[a], gene_names[b]] for a, b, _ in pairs],
        "types": types,
        "interaction_weights": w_int,
        "snr": float(snr),
        "mi": float(mi),
        "prop_causal": float(prop_causal),
        "seed": None if seed is None else int(seed),
        "main_weights": {g: float(w * main_scale * s_scale) for g, w in zip(gene_names, w_main)},
        "causal_snps": causal,
        "snp_weights": alphas,
        "top_snps": top,
    }
    return np.ascontiguousarray(y, dtype=np.float64), truth
