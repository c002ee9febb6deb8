"""Simulators: shapes, reproducibility, and that the planted structure is really there."""

import json
import threading

import numpy as np
import pytest
from scipy import stats

from gxapp.data.cohort import validate
from gxapp.data.io.variants import CLASSES
from gxapp.data.simulate import (
    SimParams,
    binomial_genotypes,
    coalescent_genotypes,
    gene_centric_counts,
    simulate_casecontrol,
    simulate_cohort,
    simulate_on_cohort,
    simulate_phenotype,
)
from gxapp.data.simulate.casecontrol import gene_burden, hit_indicator
from gxapp.data.simulate.phenotypes import standardised_block
from gxapp.errors import Cancelled, ParameterError

EQ1 = [["G01", "G02"], ["G07", "G09"], ["G03", "G05"], ["G04", "G08"], ["G06", "G07"], ["G08", "G10"]]
EQ1_TYPES = {
    "G01|G02": "max",
    "G07|G09": "max",
    "G03|G05": "sqdiff",
    "G04|G08": "sqdiff",
    "G06|G07": "product",
    "G08|G10": "product",
}


# ---- helpers ---------------------------------------------------------------------
def _std(v):
    return (v - v.mean()) / v.std()


def gene_expr(cohort, gene):
    """Rebuild g_i from the truth (causal SNPs and their weights)."""
    t = cohort.truth
    x = standardised_block(cohort.genotypes, t["causal_snps"][gene])
    return _std(x @ np.asarray(t["snp_weights"][gene]))


def ols(y, *cols):
    """OLS with intercept: (coefficients, t statistics, two-sided p values, R^2)."""
    X = np.column_stack([np.ones(len(y)), *cols])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    df = len(y) - X.shape[1]
    s2 = resid @ resid / df
    se = np.sqrt(np.diag(np.linalg.inv(X.T @ X)) * s2)
    t = beta / se
    return beta, t, 2 * stats.t.sf(np.abs(t), df), 1 - resid.var() / y.var()


def logit(y, *cols, iters=50):
    """Logistic regression by IRLS: (coefficients, z statistics)."""
    X = np.column_stack([np.ones(len(y)), *cols])
    beta = np.zeros(X.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ beta))
        W = p * (1 - p)
        H = X.T @ (X * W[:, None])
        beta = beta + np.linalg.solve(H, X.T @ (y - p))
    p = 1 / (1 + np.exp(-X @ beta))
    cov = np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None]))
    return beta, beta / np.sqrt(np.diag(cov))


def signal_parts(cohort):
    """(main, interaction) parts of a complex/simple phenotype rebuilt from truth."""
    t = cohort.truth
    g = {name: gene_expr(cohort, name) for name in t["genes"]}
    main = sum(w * g[name] for name, w in t["main_weights"].items())
    inter = np.zeros(cohort.n_samples)
    for a, b in t["pairs"]:
        kind = t["types"][f"{a}|{b}"]
        if t["scenario"] == "simple":
            xa = standardised_block(cohort.genotypes, [t["top_snps"][a]])[:, 0]
            xb = standardised_block(cohort.genotypes, [t["top_snps"][b]])[:, 0]
            term = xa * xb
        elif kind == "max":
            term = np.maximum(g[a], g[b])
        elif kind == "sqdiff":
            term = (g[a] - g[b]) ** 2
        else:
            term = g[a] * g[b]
        inter += t["interaction_weights"][f"{a}|{b}"] * _std(term)
    return main, inter


@pytest.fixture(scope="module")
def complex_cohort():
    return simulate_cohort(SimParams(scenario="complex", n_samples=3000, snr=5.0, mi=0.25, seed=3))


@pytest.fixture(scope="module")
def cc_cohort():
    return simulate_cohort(
        SimParams(scenario="casecontrol", n_samples=3000, n_genes=20, case_fraction=0.3, effect=2.0, seed=5)
    )


# ---- shapes, ids, reproducibility ----------------------------------------------
def test_shapes_and_validate(complex_cohort):
    c = complex_cohort
    validate(c)
    assert c.genotypes.dtype == np.int8 and c.genotypes.shape == (3000, c.n_snps)
    assert c.phenotype.dtype == np.float64 and c.phenotype.shape == (3000,)
    assert c.trait == "quantitative"
    assert c.gene_names == [f"G{i:02d}" for i in range(1, 11)]
    assert list(c.samples["iid"][:2]) == ["S00001", "S00002"] and (c.samples["fid"] == c.samples["iid"]).all()
    assert c.snps["snp"].iloc[0] == "G01_s001"
    assert set(c.genotypes.ravel().tolist()) <= {0, 1, 2}
    assert (c.maf() >= 0.01).all()
    for _, row in c.genes.iterrows():
        pos = c.snps["pos"].to_numpy()[c.gene_snps[row["gene"]]]
        assert (row["start"] <= pos).all() and (pos <= row["end"]).all()
        assert 1 <= len(c.gene_snps[row["gene"]]) <= 40
    assert (c.snps["a1"] != c.snps["a2"]).all()
    assert c.meta["source"] == "simulation" and c.meta["params"]["snr"] == 5.0
    json.dumps(c.truth)
    json.dumps(c.meta)


def test_same_seed_same_cohort_different_seed_differs():
    p = SimParams(n_samples=300, n_genes=4, seed=11)
    a, b = simulate_cohort(p), simulate_cohort(p)
    assert a.fingerprint() == b.fingerprint()
    c = simulate_cohort(SimParams(n_samples=300, n_genes=4, seed=12))
    assert a.fingerprint() != c.fingerprint()
    assert not np.array_equal(a.phenotype, c.phenotype)
    pb = SimParams(n_samples=300, n_genes=4, seed=11, genotype_model="binomial")
    assert simulate_cohort(pb).fingerprint() == simulate_cohort(pb).fingerprint()


def test_gene_name_width_and_small_gene_count():
    c = simulate_cohort(SimParams(n_samples=200, n_genes=5, seed=1, genotype_model="binomial", snps_per_gene=6))
    assert c.gene_names == ["G01", "G02", "G03", "G04", "G05"]
    assert c.truth["pairs"] == [["G01", "G02"], ["G03", "G05"]]  # pairs with a gene > 5 are dropped
    c = simulate_cohort(SimParams(n_samples=200, n_genes=120, seed=1, genotype_model="binomial", snps_per_gene=2))
    assert c.gene_names[0] == "G001" and c.gene_names[-1] == "G120"


# ---- quantitative scenarios -------------------------------------------------------
def test_truth_pairs_are_eq1(complex_cohort):
    t = complex_cohort.truth
    assert t["scenario"] == "complex"
    assert t["pairs"] == EQ1
    assert t["types"] == EQ1_TYPES
    assert set(t["main_weights"]) == set(complex_cohort.gene_names)
    for g in complex_cohort.gene_names:
        assert t["top_snps"][g] in t["causal_snps"][g]
        assert set(t["causal_snps"][g]) <= set(complex_cohort.gene_snps[g].tolist())


def test_planted_sqdiff_is_detected_false_pair_is_not(complex_cohort):
    c = complex_cohort
    y = c.phenotype
    g3, g5 = gene_expr(c, "G03"), gene_expr(c, "G05")
    _, t, p, _ = ols(y, g3, g5, (g3 - g5) ** 2)
    assert p[3] < 1e-6
    g1 = gene_expr(c, "G01")
    _, t, p, _ = ols(y, g1, g3, g1 * g3)  # G01 x G03 is a false pair
    assert p[3] > 1e-3


def test_snr_and_mi_are_respected(complex_cohort):
    c = complex_cohort
    main, inter = signal_parts(c)
    signal = main + inter
    noise = c.phenotype - signal
    assert signal.var() / noise.var() == pytest.approx(5.0, rel=1e-6)
    assert main.var() / inter.var() == pytest.approx(0.25, rel=1e-6)
    assert abs(np.corrcoef(signal, noise)[0, 1]) < 0.1


def test_simple_scenario_top_snp_products():
    c = simulate_cohort(SimParams(scenario="simple", n_samples=2000, snr=1.0, mi=4.0, prop_causal=0.1, seed=8))
    assert c.truth["pairs"] == EQ1 and set(c.truth["types"].values()) == {"product"}
    main, inter = signal_parts(c)
    assert (main + inter).var() / (c.phenotype - main - inter).var() == pytest.approx(1.0, rel=1e-6)
    assert main.var() / inter.var() == pytest.approx(4.0, rel=1e-6)


def test_null_scenario_has_no_interaction():
    c = simulate_cohort(SimParams(scenario="null", n_samples=3000, snr=5.0, seed=4))
    assert c.truth["pairs"] == [] and c.truth["types"] == {}
    g = {n: gene_expr(c, n) for n in c.gene_names}
    _, _, _, r2 = ols(c.phenotype, *g.values())
    assert r2 == pytest.approx(5.0 / 6.0, abs=0.01)  # main effects explain all the signal
    _, _, p, _ = ols(c.phenotype, *g.values(), (g["G03"] - g["G05"]) ** 2, g["G06"] * g["G07"])
    assert p[-2] > 1e-3 and p[-1] > 1e-3
    # ... whereas under the complex scenario they explain clearly less
    cx = simulate_cohort(SimParams(scenario="complex", n_samples=3000, snr=5.0, mi=0.25, seed=4))
    _, _, _, r2x = ols(cx.phenotype, *[gene_expr(cx, n) for n in cx.gene_names])
    assert r2x < 0.7


def test_phenotype_on_genotypes_with_missing():
    x, blocks, _ = binomial_genotypes(500, 3, 10, seed=1)
    x[::7, ::3] = -1
    y, truth = simulate_phenotype(x, blocks, ["A", "B", "C"], "complex", seed=2)
    assert np.isfinite(y).all() and truth["pairs"] == [["A", "B"]]
    json.dumps(truth)
    with pytest.raises(ParameterError, match="n_genes"):
        simulate_phenotype(x, blocks[:1], ["A"], "complex")
    y1, t1 = simulate_phenotype(x, blocks[:1], ["A"], "null", seed=2)
    assert t1["pairs"] == []


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"scenario": "weird"}, "scenario"),
        ({"snr": 0}, "snr"),
        ({"mi": -1}, "mi"),
        ({"prop_causal": 0}, "prop_causal"),
        ({"prop_causal": 1.5}, "prop_causal"),
    ],
)
def test_simulate_phenotype_bad_params(kwargs, field):
    x, blocks, _ = binomial_genotypes(50, 2, 3, seed=1)
    args = {"scenario": "complex", **kwargs}
    with pytest.raises(ParameterError, match=field):
        simulate_phenotype(x, blocks, ["A", "B"], **args)


# ---- genotypes -----------------------------------------------------------------------
def _adjacent_r2(x, blocks):
    out = []
    for b in blocks:
        r = np.corrcoef(x[:, b].T.astype(float))
        out += list(np.diag(r, 1) ** 2)
    return float(np.nanmean(out))


def test_coalescent_has_ld_binomial_does_not():
    xc, bc, pc = coalescent_genotypes(1000, 3, 30, seed=2)
    xb, bb, pb = binomial_genotypes(1000, 3, 30, seed=2)
    assert xc.dtype == np.int8 and xc.shape[0] == 1000 and len(bc) == 3
    assert all((np.diff(p) > 0).all() for p in pc)
    r2c, r2b = _adjacent_r2(xc, bc), _adjacent_r2(xb, bb)
    assert r2c > 0.08 and r2c > 20 * r2b
    again = coalescent_genotypes(1000, 3, 30, seed=2)[0]
    assert np.array_equal(xc, again)


def test_cancel_and_progress():
    seen = []
    simulate_cohort(SimParams(n_samples=100, n_genes=3, seed=1), progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        simulate_cohort(SimParams(n_samples=100, n_genes=3, seed=1), cancel=flag)


# ---- case/control ---------------------------------------------------------------------
def test_casecontrol_cohort(cc_cohort):
    c = cc_cohort
    validate(c)
    assert c.trait == "binary" and set(np.unique(c.phenotype)) == {0.0, 1.0}
    assert set(c.snps["class"]) <= set(CLASSES)
    assert c.truth["expected_case_fraction"] == pytest.approx(0.3, abs=1e-6)
    assert c.phenotype.mean() == pytest.approx(0.3, abs=0.03)
    assert len(c.truth["pairs"]) == 6
    assert sorted(set(c.truth["types"].values())) == ["negative", "positive", "reciprocal"]
    in_pathway = {g for genes in c.pathways.values() for g in genes}
    assert len(in_pathway) == 18 and all(k.startswith("PATHWAY_") for k in c.pathways)
    for a, b in c.truth["pairs"]:
        assert any(a in genes and b in genes for genes in c.pathways.values())
        assert a in c.pathways[c.truth["pair_pathways"][f"{a}|{b}"]]
    json.dumps(c.truth)
    assert list(c.variants.columns) == ["iid", "gene", "class", "count"]


def test_gene_centric_counts_sum_to_dosages(cc_cohort):
    c = cc_cohort
    v = c.variants
    assert (v["count"] > 0).all()
    tot = v.groupby(["iid", "gene"])["count"].sum()
    g = "G04"
    dos = c.genotypes[:, c.gene_snps[g]].sum(axis=1)
    expect = dict(zip(c.samples["iid"], dos))
    got = tot.xs(g, level="gene")
    assert all(expect[i] == n for i, n in got.items())
    assert sum(1 for d in dos if d > 0) == len(got)
    small = gene_centric_counts(c.genotypes[:5], [c.gene_snps[g]], [g], c.snps["class"], c.samples["iid"][:5])
    assert set(small["class"]) <= set(c.snps["class"].to_numpy()[c.gene_snps[g]])


def test_casecontrol_planted_epistasis_types():
    c = simulate_cohort(
        SimParams(
            scenario="casecontrol",
            n_samples=3000,
            n_genes=12,
            effect=3.0,
            epistasis=("positive", "reciprocal"),
            n_pairs_per_type=1,
            seed=2,
        )
    )
    burden = gene_burden(c.genotypes, [c.gene_snps[g] for g in c.gene_names], c.gene_names, c.snps["class"])
    h = {g: hit_indicator(burden[:, i])[0].astype(float) for i, g in enumerate(c.gene_names)}
    for a, b in c.truth["pairs"]:
        beta, z = logit(c.phenotype, h[a], h[b], h[a] * h[b])
        if c.truth["types"][f"{a}|{b}"] == "positive":
            assert beta[3] > 0 and z[3] > 3
        else:  # reciprocal: each alone raises risk, together they cancel
            assert beta[1] > 0 and beta[2] > 0 and beta[3] < 0 and z[3] < -3


@pytest.fixture(scope="module")
def cc_inputs():
    x, blocks, _ = binomial_genotypes(2000, 6, 8, seed=3)
    names = [f"g{i}" for i in range(6)]
    return x, blocks, names


def test_casecontrol_direct_and_additive_only(cc_inputs):
    x, blocks, names = cc_inputs
    y, t = simulate_casecontrol(
        x,
        blocks,
        names,
        None,
        {"P1": names[:3], "P2": names[3:]},
        epistasis=("additive",),
        n_pairs_per_type=1,
        case_fraction=0.2,
        seed=1,
    )
    assert t["pairs"] == [] and len(t["additive_pairs"]) == 1
    assert t["expected_case_fraction"] == pytest.approx(0.2, abs=1e-6)
    partial = ["nonsynonymous", None, "intronic", float("nan")] * (x.shape[1] // 4)
    y, t = simulate_casecontrol(x, blocks, names, partial, None, epistasis=("negative",), seed=2)
    assert len(t["pairs"]) == 2 and set(y) == {0.0, 1.0}
    counts = gene_centric_counts(x, blocks, names, partial, [f"i{k}" for k in range(len(x))])
    assert set(counts["class"]) == {"nonsynonymous", "intronic"}


@pytest.mark.parametrize("h2", [0.05, 0.3, 0.8])
def test_casecontrol_heritability_sets_every_effect(cc_inputs, h2):
    """With h2, every planted |log-odds| is the one whose liability-scale heritability
    var(eta) / (var(eta) + pi^2/3) is h2; the signs and the pairs stay those of ``effect``."""
    x, blocks, names = cc_inputs
    pw = {"P1": names[:3], "P2": names[3:]}
    y0, t0 = simulate_casecontrol(x, blocks, names, None, pw, n_pairs_per_type=1, seed=4, effect=2.0)
    y, t = simulate_casecontrol(x, blocks, names, None, pw, n_pairs_per_type=1, seed=4, effect=2.0, h2=h2)
    assert t["pairs"] == t0["pairs"] and t["h2_target"] == h2
    # rebuild eta from the truth: hit indicators x weights, as the model says
    burden = gene_burden(x, blocks, names, None)
    hit = {g: (burden[:, i] > t["hit_thresholds"][g]).astype(float) for i, g in enumerate(names)}
    eta = np.zeros(len(x))
    for a, b in t["pairs"]:
        w, kind = t["weights"][f"{a}|{b}"], t["types"][f"{a}|{b}"]
        eta += w * (hit[a] * hit[b] if kind != "reciprocal" else hit[a] + hit[b] - 2 * hit[a] * hit[b])
    for g, w in t["additive_genes"].items():
        eta += w * hit[g]
    assert eta.var() / (eta.var() + np.pi**2 / 3) == pytest.approx(h2, rel=1e-9)
    assert t["h2_liability"] == pytest.approx(h2, rel=1e-9)
    scale = t["effect"] / 2.0
    assert all(np.sign(w) == np.sign(t0["weights"][k]) for k, w in t["weights"].items())
    assert all(w == pytest.approx(t0["weights"][k] * scale) for k, w in t["weights"].items())
    assert t0["h2_target"] is None and 0 < t0["h2_liability"] < 1
    assert abs(y.mean() - 0.5) < 0.05


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda x, blocks, names: simulate_casecontrol(
                x, blocks, names, None, {"P1": names[:2]}, n_pairs_per_type=2, seed=1
            ),
            "n_pairs_per_type",
        ),
        (
            lambda x, blocks, names: simulate_casecontrol(x, blocks, names, None, None, case_fraction=1.0),
            "case_fraction",
        ),
        (lambda x, blocks, names: simulate_casecontrol(x, blocks, names, ["bogus"] * x.shape[1], None), "snp_classes"),
    ],
    ids=["too_many_pairs_for_pathways", "case_fraction_one", "unknown_snp_class"],
)
def test_casecontrol_bad_inputs_name_the_field(cc_inputs, call, match):
    with pytest.raises(ParameterError, match=match):
        call(*cc_inputs)


# ---- simulate_on_cohort -------------------------------------------------------------------
def test_simulate_on_cohort(complex_cohort):
    base = complex_cohort
    genes = ["G10", "G09", "G08", "G07", "G06", "G05", "G04", "G03", "G02", "G01"]
    out = simulate_on_cohort(base, SimParams(scenario="complex", seed=9), genes=genes)
    assert out.genotypes is base.genotypes or np.array_equal(out.genotypes, base.genotypes)
    assert out.truth["pairs"][0] == ["G10", "G09"]
    assert out.meta["source_fingerprint"] == base.fingerprint()
    assert not np.array_equal(out.phenotype, base.phenotype)
    cc = simulate_on_cohort(base, SimParams(scenario="casecontrol", seed=9, epistasis=("positive",)))
    assert cc.trait == "binary" and len(cc.truth["pairs"]) == 2
    with pytest.raises(ParameterError, match="genes"):
        simulate_on_cohort(base, SimParams(seed=1), genes=["nope"])


# ---- parameters --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field, value",
    [
        ("scenario", "other"),
        ("n_samples", 10),
        ("n_genes", 1),
        ("snr", 0.0),
        ("mi", -2.0),
        ("prop_causal", 0.0),
        ("prop_causal", 1.2),
        ("seed", -1),
        ("genotype_model", "wf"),
        ("snps_per_gene", 0),
        ("case_fraction", 1.0),
        ("epistasis", ("bad",)),
        ("epistasis", ()),
        ("n_pathways", 0),
        ("n_pairs_per_type", 0),
        ("effect", 0.0),
        ("h2", 1.0),
        ("h2", 0.0),
        ("n_samples", 100.5),
    ],
)
@pytest.mark.parametrize(
    "entry",
    [lambda p: p.validate(), simulate_cohort],
    ids=["validate", "simulate_cohort"],
)
def test_bad_params_name_the_field(field, value, entry):
    with pytest.raises(ParameterError, match=field):
        entry(SimParams(**{field: value}))


def test_casecontrol_needs_four_genes_and_params_roundtrip():
    with pytest.raises(ParameterError, match="n_genes"):
        SimParams(scenario="casecontrol", n_genes=3).validate()
    p = SimParams(scenario="casecontrol", n_genes=4, n_samples=200, seed=1, epistasis=("positive",))
    d = p.to_dict()
    json.dumps(d)
    assert SimParams.from_dict(d) == p
    c = simulate_cohort(p)
    validate(c)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_samples": 100.5}, "n_samples: expected an integer >= 20, got 100.5"),
        ({"prop_causal": 0.0}, "prop_causal: expected a number in (0, 1], got 0.0"),
        ({"seed": -1}, "seed: expected an integer >= 0 or None, got -1"),
        (
            {"scenario": "casecontrol", "n_genes": 3},
            "n_genes: expected an integer >= 4 for the 'casecontrol' scenario, got 3",
        ),
        (
            {"n_genes": 10, "n_pathways": 6},
            "n_pathways: expected None or an integer in 1..5 (at least 2 genes per pathway), got 6",
        ),
    ],
    ids=["fractional_n_samples", "zero_prop_causal", "negative_seed", "casecontrol_three_genes", "too_many_pathways"],
)
def test_param_messages(kwargs, message):
    with pytest.raises(ParameterError) as e:
        SimParams(**kwargs).validate()
    assert str(e.value) == message


def test_epistasis_string_and_strict_from_dict():
    SimParams(epistasis="positive").validate()
    assert SimParams(epistasis="positive").to_dict()["epistasis"] == ["positive"]
    assert SimParams.from_dict({"epistasis": ["negative"]}).epistasis == ("negative",)
    with pytest.raises(ParameterError, match="bogus: not a parameter of SimParams"):
        SimParams.from_dict({"bogus": 1})
