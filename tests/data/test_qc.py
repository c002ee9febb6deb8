"""SNP / sample QC (gxapp.data.qc) and the exact HWE test (gxapp.data.hwe)."""

from fractions import Fraction
from math import factorial

import numpy as np
import pytest

from gxapp.data.hwe import hwe_pvalues_from_counts
from gxapp.data.qc import (
    STEPS,
    QCParams,
    QCReport,
    genotype_counts,
    hwe_pvalues,
    run_qc,
)
from gxapp.errors import Cancelled, EmptyDataError, ParameterError

from helpers import make_cohort
from reference.hwe import hwe_exact_reference

# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def hwe_column(n, q, rng, missing=0):
    """A genotype column with exactly HWE proportions for allele frequency q (then shuffled)."""
    n_called = n - missing
    n2 = int(round(q * q * n_called))
    n1 = int(round(2 * q * (1 - q) * n_called))
    col = np.array([2] * n2 + [1] * n1 + [0] * (n_called - n1 - n2) + [-1] * missing, dtype=np.int8)
    return rng.permutation(col)


N = 400


@pytest.fixture
def planted():
    """400 samples; SNPs planted to fail exactly one QC step each, plus boundary cases."""
    rng = np.random.default_rng(1)
    cols, genes, fate = [], [], {}

    def add(name, col, gene, step):
        cols.append(col)
        genes.append(gene)
        fate[f"rs{len(cols) - 1}"] = step

    for _ in range(4):
        add("good", hwe_column(N, 0.3, rng), "GOOD1", None)
    add("good", hwe_column(N, 0.2, rng), "GOOD2", None)
    add("miss_boundary", hwe_column(N, 0.3, rng, missing=20), "GOOD2", None)  # exactly 5 %: kept
    add(
        "maf_boundary", rng.permutation(np.r_[np.ones(8), np.zeros(N - 8)]).astype(np.int8), "GOOD2", None
    )  # MAF = 8 / 800 = 0.01 exactly: kept
    add("all_missing", np.full(N, -1, np.int8), "BAD", "all_missing_snps")
    add("mono", np.zeros(N, np.int8), "BAD", "maf")
    add("high_missing", hwe_column(N, 0.3, rng, missing=21), "GOOD1", "snp_missing")  # 5.25 %
    add("rare", rng.permutation(np.r_[np.ones(7), np.zeros(N - 7)]).astype(np.int8), "GOOD1", "maf")
    add("hwe_all_het", np.ones(N, np.int8), "MIXED", "hwe")
    add("hwe_no_het", rng.permutation(np.r_[np.zeros(200), 2 * np.ones(200)]).astype(np.int8), "MIXED", "hwe")
    add("good", hwe_column(N, 0.4, rng), "MIXED", None)
    G = np.column_stack(cols)
    y = rng.normal(size=N)
    return make_cohort(G, genes=genes, phenotype=y), fate


# ---------------------------------------------------------------------------
# QCParams
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("geno", -0.1),
        ("geno", 1.5),
        ("maf", 0.6),
        ("maf", -1),
        ("hwe", 2.0),
        ("hwe", "x"),
        ("mind", 1.2),
        ("geno", float("nan")),
        ("maf", True),
    ],
)
def test_params_validate_names_the_field(field, value):
    with pytest.raises(ParameterError, match=field):
        QCParams(**{field: value}).validate()


@pytest.mark.parametrize(
    "params, message",
    [
        (QCParams(maf=0.6), "maf: expected a number in [0, 0.5], got 0.6"),
        (QCParams(mind="x"), "mind: expected a number in [0, 1] or None, got 'x'"),
    ],
    ids=["maf_too_high", "mind_not_a_number"],
)
def test_params_messages_say_what_to_give(params, message):
    with pytest.raises(ParameterError) as e:
        params.validate()
    assert str(e.value) == message


def test_params_dict_round_trip():
    assert QCParams.from_dict(QCParams(geno=0.1).to_dict()) == QCParams(geno=0.1)


def test_params_defaults_valid():
    p = QCParams().validate()
    assert (p.geno, p.maf, p.hwe, p.mind) == (0.05, 0.01, 1e-6, None)
    QCParams(geno=0, maf=0, hwe=0, mind=0).validate()
    QCParams(geno=1, maf=0.5, hwe=1, mind=1).validate()


# ---------------------------------------------------------------------------
# run_qc
# ---------------------------------------------------------------------------
def test_each_filter_removes_exactly_the_planted_snps(planted):
    cohort, fate = planted
    fp = cohort.fingerprint()
    out, rep = run_qc(cohort)
    assert isinstance(rep, QCReport)
    assert [s["step"] for s in rep.steps] == list(STEPS)
    expected = {s: sorted(k for k, v in fate.items() if v == s) for s in STEPS}
    for s in rep.steps:
        if s["unit"] == "SNPs":
            assert sorted(s["examples"]) == expected[s["step"]], s["step"]
    assert rep.removed == {
        "no_phenotype": 0,
        "sample_missing": 0,
        "all_missing_snps": 1,
        "snp_missing": 1,
        "maf": 2,
        "hwe": 2,
        "genes_without_snps": 1,
    }
    kept = sorted(k for k, v in fate.items() if v is None)
    assert sorted(out.snps["snp"]) == kept
    assert out.n_samples == N
    # the gene whose only SNPs failed is dropped and named
    assert rep.dropped_genes == ["BAD"]
    assert out.gene_names == ["GOOD1", "GOOD2", "MIXED"]
    assert "BAD" in rep.steps[-1]["detail"] and rep.steps[-1]["examples"] == ["BAD"]
    assert "BAD" in out.meta["dropped_genes"]
    # remaining counts chain
    assert [s["remaining"] for s in rep.steps if s["unit"] == "SNPs"] == [13, 12, 10, 8]
    # gene_snps remapped to the kept columns
    for g in out.gene_names:
        before = set(cohort.snps["snp"].iloc[cohort.gene_snps[g]])
        assert set(out.snps["snp"].iloc[out.gene_snps[g]]) == before & set(kept)
    # the input is untouched, the report is stored and displayable
    assert cohort.fingerprint() == fp and cohort.n_snps == 14
    assert out.meta["qc"]["removed"] == rep.removed
    d = rep.to_dict()
    assert d["dropped_genes"] == ["BAD"] and d["after"]["n_snps"] == 8 and d["before"]["n_snps"] == 14
    f = rep.to_frame()
    assert list(f["step"]) == list(STEPS) and list(f["removed"]) == list(rep.removed.values())


def test_thresholds_at_the_boundary(planted):
    cohort, fate = planted
    # geno exactly at the 21/400 SNP: kept; just below: removed
    out, rep = run_qc(cohort, QCParams(geno=21 / 400))
    assert rep.removed["snp_missing"] == 0 and "rs9" in set(out.snps["snp"])
    _, rep = run_qc(cohort, QCParams(geno=20 / 400 - 1e-6))
    assert rep.removed["snp_missing"] == 2  # the 5.25 % and the 5 % SNPs
    # maf exactly 7/800: the 7-copy SNP is kept
    out, rep = run_qc(cohort, QCParams(maf=7 / 800))
    assert rep.removed["maf"] == 1 and "rs10" in set(out.snps["snp"])  # only the monomorphic one
    _, rep = run_qc(cohort, QCParams(maf=0.0101))
    assert rep.removed["maf"] == 3  # + the 0.01 boundary SNP
    # maf = 0 still removes monomorphic SNPs
    _, rep = run_qc(cohort, QCParams(maf=0))
    assert rep.removed["maf"] == 1
    # hwe = 0 disables the test
    out, rep = run_qc(cohort, QCParams(hwe=0))
    assert rep.removed["hwe"] == 0 and {"rs11", "rs12"} <= set(out.snps["snp"])


def column_from_counts(n_het, n_hom1, n_hom2, rng):
    return rng.permutation(np.r_[np.ones(n_het), np.zeros(n_hom1), 2 * np.ones(n_hom2)]).astype(np.int8)


def test_hwe_threshold_at_the_boundary():
    rng = np.random.default_rng(7)
    tables = [(64, 128, 8), (40, 140, 20), (52, 134, 14)]  # in HWE, strong and mild het deficit
    G = np.column_stack([column_from_counts(*t, rng) for t in tables])
    p = hwe_pvalues_from_counts(*np.array(tables).T)
    assert p[1] < p[2] < 0.05 < p[0]
    c = make_cohort(G, genes=["A", "A", "B"])
    out, rep = run_qc(c, QCParams(hwe=float(p[2])))  # p equal to the threshold: kept
    assert rep.steps[5]["examples"] == ["rs1"] and list(out.snps["snp"]) == ["rs0", "rs2"]
    out, rep = run_qc(c, QCParams(hwe=float(p[2]) * 1.001))  # just above: removed, gene B dropped
    assert rep.steps[5]["examples"] == ["rs1", "rs2"] and rep.dropped_genes == ["B"]
    assert rep.removed["genes_without_snps"] == 1 and out.gene_names == ["A"]


def test_samples_without_phenotype_removed(planted):
    cohort, _ = planted
    y = cohort.phenotype.copy()
    y[[3, 10, 50]] = np.nan
    cohort.phenotype = y
    out, rep = run_qc(cohort)
    assert rep.removed["no_phenotype"] == 3
    assert rep.steps[0]["examples"] == ["s3", "s10", "s50"]
    assert rep.steps[0]["remaining"] == N - 3
    assert out.n_samples == N - 3 and np.isfinite(out.phenotype).all()
    assert "s3" not in set(out.samples["iid"])


def test_no_phenotype_step_skipped_without_phenotype(planted):
    cohort, _ = planted
    cohort.phenotype = None
    out, rep = run_qc(cohort)
    assert rep.removed["no_phenotype"] == 0 and "skipped" in rep.steps[0]["detail"]
    assert out.n_samples == N


def test_sample_missingness_mind():
    rng = np.random.default_rng(2)
    G = np.column_stack([hwe_column(200, 0.3, rng) for _ in range(20)])
    G[0, :10] = -1  # 50 % missing
    G[1, :2] = -1  # 10 % missing: kept at mind=0.1 (boundary)
    c = make_cohort(G, phenotype=rng.normal(size=200))
    out, rep = run_qc(c, QCParams(mind=0.1, geno=0.01))
    assert rep.removed["sample_missing"] == 1 and rep.steps[1]["examples"] == ["s0"]
    assert out.n_samples == 199
    # once s0 is gone, no SNP misses more than 1 % (s1 adds 1/199)
    assert rep.removed["snp_missing"] == 0
    # without mind, s0's missing calls (1/200 = 0.5 %) push its 10 SNPs over geno = 0.4 %
    _, rep = run_qc(c, QCParams(geno=0.004))
    assert rep.removed["sample_missing"] == 0 and rep.removed["snp_missing"] == 10


def test_hwe_in_controls_only_for_binary_traits():
    rng = np.random.default_rng(3)
    n_ctrl = n_case = 300
    good = [hwe_column(600, 0.3, rng) for _ in range(3)]
    # controls in HWE, cases all homozygous 2: the SNP fails HWE in everybody, not in controls
    snp = np.r_[hwe_column(n_ctrl, 0.3, rng), np.full(n_case, 2)].astype(np.int8)
    G = np.column_stack(good + [snp])
    y = np.r_[np.zeros(n_ctrl), np.ones(n_case)]
    out, rep = run_qc(make_cohort(G, phenotype=y, trait="binary"))
    assert rep.removed["hwe"] == 0 and "controls" in rep.steps[5]["detail"]
    out, rep = run_qc(make_cohort(G, phenotype=y, trait="quantitative"))
    assert rep.removed["hwe"] == 1 and rep.steps[5]["examples"] == ["rs3"]


def _args_removing_all_by_maf(cohort):
    rng = np.random.default_rng(0)
    G = np.column_stack([hwe_column(N, 0.3, rng) for _ in range(3)])
    return make_cohort(G), QCParams(maf=0.45)


def _args_removing_all_by_snp_missing(cohort):
    G = np.column_stack([hwe_column(N, 0.3, np.random.default_rng(0), missing=100)] * 2)
    return (make_cohort(G),)


def _args_removing_all_by_sample_missing(cohort):
    c = make_cohort(np.where(np.eye(20, 10, dtype=bool), 1, -1).astype(np.int8))  # >= 90 % missing
    return c, QCParams(mind=0.5)


def _args_removing_all_by_no_phenotype(cohort):
    cohort.phenotype = np.full(N, np.nan)
    return (cohort,)


@pytest.mark.parametrize(
    "make_args, match",
    [
        (_args_removing_all_by_maf, r"'maf'.*maf=0\.45"),
        (_args_removing_all_by_snp_missing, r"'snp_missing'.*geno"),
        (_args_removing_all_by_sample_missing, r"'sample_missing'.*mind"),
        (_args_removing_all_by_no_phenotype, "no_phenotype"),
    ],
    ids=["maf", "snp_missing", "sample_missing", "no_phenotype"],
)
def test_everything_removed_raises_naming_step_and_threshold(planted, make_args, match):
    cohort, _ = planted
    args = make_args(cohort)
    with pytest.raises(EmptyDataError, match=match):
        run_qc(*args)


def test_progress_and_cancel(planted):
    cohort, _ = planted
    seen = []
    run_qc(cohort, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)

    class Flag:
        def is_set(self):
            return True

    with pytest.raises(Cancelled):
        run_qc(cohort, cancel=Flag())


# ---------------------------------------------------------------------------
# exact HWE test
# ---------------------------------------------------------------------------
def _hwe_fraction(n_het, n_hom1, n_hom2):
    """Exact rational enumeration of every heterozygote count (independent of the paper's recursion)."""
    n = n_het + n_hom1 + n_hom2
    n_a = 2 * n_hom1 + n_het
    n_b = 2 * n - n_a
    if n == 0 or n_a == 0 or n_b == 0:
        return Fraction(1)

    def prob(h):
        aa, bb = (n_a - h) // 2, (n_b - h) // 2
        return Fraction(
            factorial(n) * 2**h * factorial(n_a) * factorial(n_b),
            factorial(aa) * factorial(h) * factorial(bb) * factorial(2 * n),
        )

    states = [prob(h) for h in range(n_a % 2, min(n_a, n_b) + 1, 2)]
    assert sum(states) == 1
    obs = prob(n_het)
    return sum((s for s in states if s <= obs), Fraction(0))


def test_hwe_fast_equals_reference_on_random_triples():
    rng = np.random.default_rng(4)
    triples = []
    for i in range(1500):
        n = int(rng.integers(1, 2000 if i % 5 == 0 else 200))
        if i % 2:
            c = rng.multinomial(n, rng.dirichlet([1, 1, 1]))
        else:
            q = rng.uniform(0, 0.5)
            c = rng.multinomial(n, [(1 - q) ** 2, 2 * q * (1 - q), q * q])
        triples.append((c[1], c[0], c[2]))  # (het, hom1, hom2)
    t = np.array(triples)
    for midp in (False, True):
        fast = hwe_pvalues_from_counts(t[:, 0], t[:, 1], t[:, 2], midp=midp)
        ref = np.array([hwe_exact_reference(*tr, midp=midp) for tr in triples])
        np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-290)
    assert (fast <= 1).all() and (fast >= 0).all()


def test_hwe_both_equal_exact_rational_enumeration_on_all_small_tables():
    trip = [(h, a, b) for n in range(0, 19) for h in range(n + 1) for a in range(n - h + 1) for b in [n - h - a]]
    t = np.array(trip)
    fast = hwe_pvalues_from_counts(t[:, 0], t[:, 1], t[:, 2])
    for (h, a, b), f in zip(trip, fast):
        exact = float(_hwe_fraction(h, a, b))
        assert f == pytest.approx(exact, rel=1e-12), (h, a, b)
        assert hwe_exact_reference(h, a, b) == pytest.approx(exact, rel=1e-12), (h, a, b)


def test_hwe_known_values():
    # hail's documented examples (its default is the mid-p version of the same exact test):
    # hl.hardy_weinberg_test(250, 500, 250) -> p_value=0.9747844394217698
    # hl.hardy_weinberg_test(37, 200, 85)   -> p_value=1.1337210383168987e-06
    assert hwe_pvalues_from_counts(500, 250, 250, midp=True) == pytest.approx(0.9747844394217698, rel=1e-10)
    assert hwe_pvalues_from_counts(200, 37, 85, midp=True) == pytest.approx(1.1337210383168987e-06, rel=1e-8)
    # standard (PLINK default) version: mid-p plus half the observed state's probability
    assert hwe_pvalues_from_counts(500, 250, 250) == pytest.approx(1.0)
    p_std = hwe_pvalues_from_counts(200, 37, 85)
    assert 1.1337210383168987e-06 < p_std < 3e-6


def test_hwe_perfect_proportions_and_extremes():
    # perfect HWE proportions: p ~ 1
    for n, q in [(1000, 0.3), (10000, 0.1), (100000, 0.45)]:
        n2 = round(q * q * n)
        n1 = round(2 * q * (1 - q) * n)
        assert hwe_pvalues_from_counts(n1, n - n1 - n2, n2) > 0.9
    # all heterozygous, no heterozygote: tiny p
    assert hwe_pvalues_from_counts(1000, 0, 0) < 1e-200
    assert hwe_pvalues_from_counts(0, 500, 500) < 1e-200
    assert hwe_pvalues_from_counts(100, 0, 0) < 1e-20
    # symmetric in the two homozygotes; monomorphic and empty -> 1
    assert hwe_pvalues_from_counts(30, 50, 20) == hwe_pvalues_from_counts(30, 20, 50)
    assert hwe_pvalues_from_counts(0, 100, 0) == 1.0 and hwe_pvalues_from_counts(0, 0, 0) == 1.0
    # scalar in, float out; arrays keep their shape
    assert isinstance(hwe_pvalues_from_counts(3, 4, 5), float)
    assert hwe_pvalues_from_counts(np.ones((2, 3), int), 2, 3).shape == (2, 3)
    with pytest.raises(ParameterError):
        hwe_pvalues_from_counts(-1, 2, 3)


def test_hwe_large_counts_agree_with_reference():
    rng = np.random.default_rng(5)
    n = 50_000
    rows = []
    for q, f in [(0.5, 0.0), (0.3, 0.01), (0.05, -0.02), (0.2, 0.03), (0.01, 0.0)]:
        pr = np.array([(1 - q) ** 2 + f * q * (1 - q), 2 * q * (1 - q) * (1 - f), q * q + f * q * (1 - q)])
        c = rng.multinomial(n, pr / pr.sum())
        rows.append((c[1], c[0], c[2]))
    t = np.array(rows)
    fast = hwe_pvalues_from_counts(t[:, 0], t[:, 1], t[:, 2])
    ref = [hwe_exact_reference(*r) for r in rows]
    np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-290)


def test_hwe_pvalues_on_genotype_matrix():
    rng = np.random.default_rng(6)
    G = rng.binomial(2, rng.uniform(0.05, 0.5, 30), size=(500, 30)).astype(np.int8)
    G[rng.random(G.shape) < 0.05] = -1
    c = genotype_counts(G)
    assert (c.sum(axis=0) == 500).all() and (c[3] == (G < 0).sum(axis=0)).all()
    p = hwe_pvalues(G)
    ref = [
        hwe_exact_reference(int((G[:, j] == 1).sum()), int((G[:, j] == 0).sum()), int((G[:, j] == 2).sum()))
        for j in range(30)
    ]
    np.testing.assert_allclose(p, ref, rtol=1e-9)
    rows = np.arange(0, 500, 3)
    np.testing.assert_allclose(hwe_pvalues(G, rows=rows), hwe_pvalues(G[rows]))


def test_hwe_module_is_the_kernel_qc_uses():
    from gxapp.data import hwe, qc

    assert hwe.__all__ == ["TIE_RTOL", "hwe_pvalues_from_counts"]
    assert qc.hwe_pvalues_from_counts is hwe.hwe_pvalues_from_counts
    assert not hasattr(qc, "_hwe_exact_reference")
    rng = np.random.default_rng(5)
    G = rng.choice(np.array([-1, 0, 1, 2], np.int8), size=(300, 20), p=[0.05, 0.5, 0.3, 0.15])
    c = genotype_counts(G)
    np.testing.assert_array_equal(hwe_pvalues(G), hwe.hwe_pvalues_from_counts(c[1], c[0], c[2]))
