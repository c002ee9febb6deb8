"""Classical gene-pair interaction tests (gxapp.genenet.peers) and ranking metrics (gxapp.genenet.metrics)."""

import shutil
import subprocess
import threading

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from gxapp.data.io.genotypes import Genotypes
from gxapp.data.io.plink import write_plink
from gxapp.data.preprocess import prepare
from gxapp.data.simulate import SimParams, simulate_cohort
from gxapp.errors import Cancelled, ParameterError
from gxapp.genenet import metrics, peers
from gxapp.genenet.baselines import top_snps


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _dosages(rng, n, p, lo=0.1, hi=0.5):
    return rng.binomial(2, rng.uniform(lo, hi, p), size=(n, p)).astype(np.int8)


def _sm_interaction(a, b, y):
    """statsmodels OLS y ~ 1 + a + b + a*b: (beta, t, p) of a*b."""
    fit = sm.OLS(y, np.column_stack([np.ones(len(y)), a, b, a * b])).fit()
    return fit.params[3], fit.tvalues[3], fit.pvalues[3]


def _log10_close(p, q, atol):
    p, q = np.asarray(p, float), np.asarray(q, float)
    return np.max(np.abs(np.log10(p) - np.log10(q))) <= atol


@pytest.fixture(scope="module")
def small():
    """4 genes x 6 SNPs, n = 1500, an interaction between SNP 1 (gene 0) and SNP 14 (gene 2)."""
    rng = np.random.default_rng(7)
    n, m, k = 1500, 4, 6
    G = _dosages(rng, n, m * k)
    g = G.astype(float)
    y = 0.3 * g[:, 1] + 0.3 * g[:, 14] + 0.4 * (g[:, 1] - 0.5) * (g[:, 14] - 0.5) + rng.normal(size=n)
    blocks = [np.arange(i * k, (i + 1) * k) for i in range(m)]
    X = (g - g.mean(0)).astype(np.float32)  # centred float32, as prepare() gives
    rows = np.sort(rng.choice(n, 1100, replace=False))
    return {"G": G, "X": X, "y": y, "blocks": blocks, "rows": rows}


@pytest.fixture(scope="module")
def simple_sim():
    """Paper A's simple scenario (products of the genes' top SNPs), high S/N, independent SNPs."""
    c = simulate_cohort(
        SimParams(
            scenario="simple",
            n_samples=6000,
            n_genes=10,
            snr=2.0,
            mi=0.5,
            prop_causal=0.5,
            genotype_model="binomial",
            snps_per_gene=8,
            seed=1,
        )
    )
    return c, prepare(c, test_fraction=0.3)


# ---------------------------------------------------------------------------
# agreement with statsmodels
# ---------------------------------------------------------------------------
def test_topsnp_matches_statsmodels(small):
    X, y, blocks, rows = small["X"], small["y"], small["blocks"], small["rows"]
    p = peers.topsnp_interaction_test(X, y, blocks, rows)
    cols = top_snps(X, y, blocks, rows)
    raw = small["G"].astype(float)[rows]
    assert p.shape == (4, 4) and np.isnan(np.diag(p)).all()
    assert np.array_equal(p, p.T, equal_nan=True)
    for i in range(4):
        for j in range(i + 1, 4):
            _, _, q = _sm_interaction(raw[:, cols[i]], raw[:, cols[j]], y[rows])
            assert p[i, j] == pytest.approx(q, rel=1e-6)
    # the planted pair (gene 0, gene 2) is the most significant
    assert np.nanargmin(p[0]) == 2 and p[0, 2] < 1e-6


def test_pca_matches_statsmodels(small):
    X, y, blocks, rows = small["X"], small["y"], small["blocks"], small["rows"]
    p = peers.pca_interaction_test(X, y, blocks, rows)
    pcs = []
    for b in blocks:  # first PC by an SVD of the centred raw dosages, independent of gene_pcs
        a = small["G"].astype(float)[np.ix_(rows, b)]
        a -= a.mean(0)
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        pcs.append(u[:, 0] * s[0])
    for i in range(4):
        for j in range(i + 1, 4):
            _, _, q = _sm_interaction(pcs[i], pcs[j], y[rows])
            assert p[i, j] == pytest.approx(q, rel=1e-4)  # PCs from float32 X vs float64 dosages
            assert p[j, i] == p[i, j]
    # PC sign is arbitrary; the score is the PC up to sign
    got = peers.gene_pcs(X, blocks, rows)
    for k in range(4):
        assert abs(np.corrcoef(got[:, k], pcs[k])[0, 1]) == pytest.approx(1.0, abs=1e-9)


def test_snp_pair_matches_statsmodels_on_random_pairs(small):
    X, y, blocks, rows = small["X"], small["y"], small["blocks"], small["rows"]
    raw = small["G"].astype(float)[rows]
    rng = np.random.default_rng(0)
    for _ in range(12):
        gi, gj = np.sort(rng.choice(4, 2, replace=False))
        a, b = int(rng.choice(blocks[gi])), int(rng.choice(blocks[gj]))
        got = peers.snp_pair_block(X, y, [a], [b], rows)
        beta, t, q = _sm_interaction(raw[:, a], raw[:, b], y[rows])
        assert got["beta"][0, 0] == pytest.approx(beta, rel=1e-5)  # X is float32: ~1e-7 relative input error
        assert got["t"][0, 0] == pytest.approx(t, rel=1e-5)
        assert got["p"][0, 0] == pytest.approx(q, rel=1e-4)


def test_batched_float64_accuracy_and_centring_invariance():
    """Raw dosages, shifted dosages and statsmodels agree to ~1e-10 in float64."""
    rng = np.random.default_rng(11)
    n = 20_000
    A = _dosages(rng, n, 7).astype(float)
    B = _dosages(rng, n, 5).astype(float)
    y = 0.05 * A[:, 2] * B[:, 3] + rng.normal(size=n) + 3.0
    raw = peers.interaction_ols(A, B, y)
    shifted = peers.interaction_ols(A - 1.0, B + 0.37, y - 3.0)
    np.testing.assert_allclose(raw["p"], shifted["p"], rtol=1e-9)
    np.testing.assert_allclose(raw["beta"], shifted["beta"], rtol=1e-9)
    worst = 0.0
    for i, j in [(0, 0), (2, 3), (6, 4), (1, 2), (5, 0), (3, 1)]:
        beta, t, q = _sm_interaction(A[:, i], B[:, j], y)
        worst = max(worst, abs(raw["t"][i, j] - t) / abs(t), abs(np.log10(raw["p"][i, j]) - np.log10(q)))
        assert raw["beta"][i, j] == pytest.approx(beta, rel=1e-9)
    assert worst < 1e-9


def test_snp_pair_min_p_bonferroni_and_best(small):
    X, y, blocks, rows = small["X"], small["y"], small["blocks"], small["rows"]
    out = peers.snp_pair_test(X, y, blocks, rows)
    assert set(out) == {"min_p", "bonferroni", "n_tests", "best_snps"}
    assert out["best_snps"].shape == (4, 4, 2)
    for i in range(4):
        for j in range(i + 1, 4):
            blk = peers.snp_pair_block(X, y, blocks[i], blocks[j], rows)["p"]
            assert out["n_tests"][i, j] == out["n_tests"][j, i] == 36
            assert out["min_p"][i, j] == out["min_p"][j, i] == pytest.approx(blk.min(), rel=1e-12)
            assert out["bonferroni"][i, j] == pytest.approx(min(1.0, 36 * blk.min()), rel=1e-12)
            a, b = out["best_snps"][i, j]
            assert a in blocks[i] and b in blocks[j]
            assert tuple(out["best_snps"][j, i]) == (b, a)
    assert tuple(out["best_snps"][0, 2]) == (1, 14)
    assert out["bonferroni"][0, 2] < 1e-6
    assert np.all(out["bonferroni"][np.triu_indices(4, 1)] <= 1.0)


def test_degenerate_pairs_are_nan_and_not_counted():
    rng = np.random.default_rng(5)
    n = 400
    G = _dosages(rng, n, 6).astype(float)
    G[:, 1] = 1.0  # monomorphic SNP in gene 0
    G[:, 5] = G[:, 0]  # perfect copy of a gene-0 SNP in gene 1
    y = rng.normal(size=n)
    blocks = [np.arange(0, 3), np.arange(3, 6)]
    blk = peers.snp_pair_block(G, y, blocks[0], blocks[1])["p"]
    assert np.isnan(blk[1]).all()  # a is constant
    assert np.isnan(blk[0, 2])  # a == b: collinear
    assert np.isfinite(blk[[0, 2]][:, :2]).all()
    out = peers.snp_pair_test(G, y, blocks)
    assert out["n_tests"][0, 1] == int(np.isfinite(blk).sum()) == 5
    assert out["bonferroni"][0, 1] == pytest.approx(min(1.0, 5 * np.nanmin(blk)))


# ---------------------------------------------------------------------------
# power and calibration on a simulation
# ---------------------------------------------------------------------------
def test_planted_products_found_false_pairs_uniform(simple_sim):
    cohort, prep = simple_sim
    names, truth = prep.gene_names, cohort.truth
    lab = metrics.pair_labels(names, truth["pairs"])
    iu = np.triu_indices(len(lab), 1)
    top = peers.topsnp_interaction_test(prep.X, prep.y, prep.gene_blocks, prep.train_idx)
    sp = peers.snp_pair_test(prep.X, prep.y, prep.gene_blocks, prep.train_idx)
    chosen = top_snps(prep.X, prep.y, prep.gene_blocks, prep.train_idx)
    planted = [truth["top_snps"][g] for g in names]
    strong = 0
    for a, b in truth["pairs"]:
        i, j = names.index(a), names.index(b)
        if abs(truth["interaction_weights"][f"{a}|{b}"]) < 0.1:
            continue  # weights are N(0, 1) draws: a weak pair carries too little variance to test
        strong += 1
        # the SNP-pair test scans every SNP pair, so it finds every strong planted product
        assert sp["bonferroni"][i, j] < 1e-6
        assert tuple(sp["best_snps"][i, j]) == (planted[i], planted[j])
        # the top-SNP test finds it when both genes' top SNPs are the planted ones
        if chosen[i] == planted[i] and chosen[j] == planted[j]:
            assert top[i, j] < 1e-8
    assert strong >= 4
    assert sum(top[iu][lab[iu]] < 1e-8) >= 3
    # false pairs: top-SNP p close to uniform, SNP-pair Bonferroni not small
    false = ~lab[iu]
    assert stats.kstest(top[iu][false], "uniform").pvalue > 0.01
    assert top[iu][false].min() > 1e-4
    assert sp["bonferroni"][iu][false].min() > 1e-3
    assert 0.02 < np.median(sp["min_p"][iu][false]) * 64 < 2  # ~ 1 / (n_tests + 1) scale


def test_null_snp_pair_p_uniform():
    """Under no interaction, single SNP-pair p-values are uniform (t-test calibration)."""
    rng = np.random.default_rng(2)
    n = 800
    G = _dosages(rng, n, 40)
    y = G[:, :3].astype(float) @ [0.2, -0.1, 0.3] + rng.normal(size=n)
    p = peers.snp_pair_block(G, y, np.arange(20), np.arange(20, 40))["p"].ravel()
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.02 < np.mean(p < 0.05) < 0.09


# ---------------------------------------------------------------------------
# PLINK 1.9 --epistasis
# ---------------------------------------------------------------------------
def test_snp_pair_matches_plink(tmp_path):
    exe = shutil.which("plink1.9")
    if exe is None:
        pytest.skip("plink1.9 is not installed (Debian: apt-get install plink1.9); PLINK comparison skipped")
    rng = np.random.default_rng(42)
    n, k = 400, 5
    G = _dosages(rng, n, 2 * k, 0.15, 0.5)
    g = G.astype(float)
    y = 0.2 * g[:, 1] + 0.8 * g[:, 1] * g[:, 7] + rng.normal(size=n)
    ids = [f"s{i}" for i in range(n)]
    samples = pd.DataFrame({"fid": ids, "iid": ids})
    snps = pd.DataFrame(
        {
            "snp": [f"rs{j}" for j in range(2 * k)],
            "chrom": "1",
            "pos": np.arange(2 * k, dtype=np.int64) * 1000 + 1,
            "a1": "A",
            "a2": "G",
        }
    )
    write_plink(tmp_path / "d", Genotypes(G, samples, snps))
    (tmp_path / "p.txt").write_text("".join(f"{i} {i} {v:.12g}\n" for i, v in zip(ids, y)))
    cmd = [
        exe,
        "--bfile",
        str(tmp_path / "d"),
        "--pheno",
        str(tmp_path / "p.txt"),
        "--epistasis",
        "--epi1",
        "1",
        "--allow-no-sex",
        "--threads",
        "1",
        "--out",
        str(tmp_path / "o"),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    epi = pd.read_csv(tmp_path / "o.epi.qt", sep=r"\s+")
    assert list(epi.columns) == ["CHR1", "SNP1", "CHR2", "SNP2", "BETA_INT", "STAT", "P"]
    assert len(epi) == (2 * k) * (2 * k - 1) // 2  # --epi1 1 keeps every pair
    gene = {f"rs{j}": j // k for j in range(2 * k)}
    cross = epi[[gene[a] != gene[b] for a, b in zip(epi.SNP1, epi.SNP2)]]
    assert len(cross) == k * k
    a_idx = np.array([int(s[2:]) for s in cross.SNP1])
    b_idx = np.array([int(s[2:]) - k for s in cross.SNP2])
    ours_t = peers.snp_pair_block(G, y, np.arange(k), np.arange(k, 2 * k), dist="t")
    ours_n = peers.snp_pair_block(G, y, np.arange(k), np.arange(k, 2 * k), dist="normal")
    t = ours_t["t"][a_idx, b_idx]
    # PLINK's STAT is t^2 and its P is chi2(1) of it; BETA_INT is the a*b coefficient
    # (its sign flips if PLINK recodes A1, which leaves t^2 and p unchanged)
    np.testing.assert_allclose(cross.STAT.to_numpy(), t * t, rtol=1e-4)
    np.testing.assert_allclose(np.abs(cross.BETA_INT.to_numpy()), np.abs(ours_t["beta"][a_idx, b_idx]), rtol=1e-4)
    plink_p = cross.P.to_numpy()
    # PLINK prints 4 significant digits and its chi-square tail is approximate far out
    # (2.303e-11 for chi2 = 44.7055, exactly 2.290e-11): log10 p within 0.01
    assert _log10_close(ours_n["p"][a_idx, b_idx], plink_p, 0.01)
    # our default exact t-test (n - 4 df) differs from PLINK only by the t vs normal
    # reference: slightly larger p, indistinguishable for moderate p
    p_t = ours_t["p"][a_idx, b_idx]
    assert np.all(p_t >= ours_n["p"][a_idx, b_idx])
    moderate = plink_p > 1e-3
    assert _log10_close(p_t[moderate], plink_p[moderate], 0.02)
    assert plink_p.min() == cross.P[(cross.SNP1 == "rs1") & (cross.SNP2 == "rs7")].iloc[0] < 1e-6
    # the gene-level summary uses the same p-values
    out = peers.snp_pair_test(G, y, [np.arange(k), np.arange(k, 2 * k)], dist="normal")
    assert _log10_close(out["min_p"][0, 1], plink_p.min(), 0.01)
    assert tuple(out["best_snps"][0, 1]) == (1, 7)


# ---------------------------------------------------------------------------
# progress, cancel, errors
# ---------------------------------------------------------------------------
def test_progress_and_cancel(small):
    X, y, blocks = small["X"], small["y"], small["blocks"]
    seen = []
    peers.snp_pair_test(X, y, blocks, progress=lambda f, msg: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        peers.snp_pair_test(X, y, blocks, cancel=stop)


_BAD_CALLS = {  # id -> (match, how to spoil the arguments X, y, blocks -> (args, kwargs))
    "one-gene": ("at least 2 genes", lambda X, y, b: ((X, y, b[:1]), {})),
    "constant-y": ("constant", lambda X, y, b: ((X, np.full(len(y), 2.5), b), {})),
    "too-few-rows": ("rows", lambda X, y, b: ((X, y, b, np.arange(3)), {})),
    "unknown-dist": ("dist", lambda X, y, b: ((X, y, b), {"dist": "f"})),
    "y-length": ("y", lambda X, y, b: ((X, y[:-1], b), {})),
    "column-out-of-range": ("column index", lambda X, y, b: ((X, y, [b[0], np.array([999])]), {})),
    "zero-threads": ("threads", lambda X, y, b: ((X, y, b), {"threads": 0})),
}


@pytest.mark.parametrize("case", list(_BAD_CALLS))
@pytest.mark.parametrize("fn", [peers.topsnp_interaction_test, peers.pca_interaction_test, peers.snp_pair_test])
def test_errors(fn, small, case):
    match, spoil = _BAD_CALLS[case]
    args, kwargs = spoil(small["X"], small["y"], small["blocks"])
    with pytest.raises(ParameterError, match=match):
        fn(*args, **kwargs)


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------
def test_metrics_hand_made():
    genes = ["A", "B", "C", "D"]
    lab = metrics.pair_labels(genes, [("A", "B"), ["D", "C"]])
    assert lab[0, 1] and lab[1, 0] and lab[2, 3] and lab[3, 2] and lab.sum() == 4
    perfect = np.where(lab, 5.0, 1.0)
    assert metrics.average_precision(perfect, lab) == 1.0
    assert metrics.auroc(perfect, lab) == 1.0
    const = np.ones((4, 4))
    assert metrics.auroc(const, lab) == 0.5
    assert metrics.average_precision(const, lab) == pytest.approx(2 / 6)
    assert metrics.auroc(-perfect, lab) == 0.0
    # upper triangle only; NaN ranks lowest
    up = np.triu(perfect, 1)
    up[0, 2] = np.nan
    assert metrics.auroc(up, lab) == 1.0
    # one false pair above one true pair: AP = (1/1 + 2/3) / 2
    s = np.zeros((4, 4))
    s[0, 1], s[0, 2], s[2, 3] = 3.0, 2.0, 1.0
    assert metrics.average_precision(s, lab) == pytest.approx((1 + 2 / 3) / 2)
    curve = metrics.precision_recall_curve_pairs(s, lab)
    assert curve["recall"][0] == 1.0 and curve["precision"][-1] == 1.0 and curve["prevalence"] == pytest.approx(1 / 3)
    roc = metrics.roc_curve_pairs(s, lab)
    assert roc["auroc"] == metrics.auroc(s, lab)
    assert metrics.p_to_score([[0.0, 1e-3], [1.0, np.nan]])[0, 1] == pytest.approx(3.0)
    assert np.isfinite(metrics.p_to_score(0.0))


def test_per_type_ap():
    genes = ["A", "B", "C", "D", "E"]
    truth = {"pairs": [["A", "B"], ["C", "D"]], "types": {"A|B": "max", "C|D": "product"}}
    s = np.zeros((5, 5))
    s[0, 1] = 10.0  # max pair ranked first
    s[0, 4] = 5.0  # a false pair
    s[2, 3] = 1.0  # product pair below the false pair
    ap = metrics.per_type_ap(s, genes, truth)
    assert ap["max"] == 1.0
    assert ap["product"] == pytest.approx(0.5)
    au = metrics.per_type_auroc(s, genes, truth)
    assert au["max"] == 1.0 and au["product"] == pytest.approx(1 - 1 / 8)  # 8 false pairs, one above


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: metrics.pair_labels(["A", "B"], [("A", "Z")]), "'Z'"),
        (lambda: metrics.average_precision(np.ones((3, 3)), np.zeros((3, 3), bool)), "true"),
        (lambda: metrics.auroc(np.ones((3, 3)), np.zeros((4, 4), bool)), "shape"),
        (lambda: metrics.auroc(np.full((3, 3), np.inf), metrics.pair_labels("ABC", [("A", "B")])), "infinite"),
    ],
    ids=["unknown-gene", "no-true-pair", "shape-mismatch", "infinite-scores"],
)
def test_metrics_errors(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_snp_pair_centred_once_equals_centred_per_block(small, monkeypatch):
    """All SNPs centred once (the default when they fit in memory) and each block centred
    when needed (large cohorts) give the same tests, partner groups split or not."""
    X, y, blocks, rows = small["X"], small["y"], small["blocks"], small["rows"]
    once = peers.snp_pair_test(X, y, blocks, rows)
    monkeypatch.setattr(peers, "_CENTRED_BYTES", 0)
    monkeypatch.setattr(peers, "_CHUNK_COLS", 7)
    per_block = peers.snp_pair_test(X, y, blocks, rows)
    for key in once:
        np.testing.assert_array_equal(once[key], per_block[key])
