"""Small hand-built objects shared by tests."""

import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gxapp.analyses.runs import RunParams
from gxapp.data.cohort import Cohort
from gxapp.genenet.models import NetConfig, init_params


def make_cohort(G, genes=None, phenotype=None, trait="quantitative", covariates=None) -> Cohort:
    """A small hand-built cohort. ``genes``: gene name per SNP column (default two SNPs per gene)."""
    G = np.asarray(G, dtype=np.int8)
    n, p = G.shape
    if genes is None:
        genes = [f"G{j // 2}" for j in range(p)]
    samples = pd.DataFrame({"fid": [f"f{i}" for i in range(n)], "iid": [f"s{i}" for i in range(n)]})
    snps = pd.DataFrame(
        {
            "snp": [f"rs{j}" for j in range(p)],
            "chrom": "1",
            "pos": np.arange(p, dtype=np.int64) * 1000 + 1,
            "a1": "A",
            "a2": "G",
        }
    )
    names = list(dict.fromkeys(genes))
    gene_snps = {g: np.array([j for j in range(p) if genes[j] == g], dtype=np.int64) for g in names}
    gene_df = pd.DataFrame(
        {
            "gene": names,
            "chrom": "1",
            "start": [int(snps["pos"].iloc[gene_snps[g]].min()) for g in names],
            "end": [int(snps["pos"].iloc[gene_snps[g]].max()) for g in names],
        }
    )
    ph = None if phenotype is None else np.asarray(phenotype, dtype=np.float64)
    return Cohort(
        genotypes=G,
        samples=samples,
        snps=snps,
        genes=gene_df,
        gene_snps=gene_snps,
        phenotype=ph,
        trait=trait,
        covariates=covariates,
    )


# ---- paper B (epistasis) spies ------------------------------------------------------
def spy_epistasis_fits(monkeypatch):
    """Record every batched network fit (spec names, row groups, result) and additive fit (groups)."""
    from gxapp.epistasis import cv as cvmod

    calls = {"nn": [], "add": []}
    real_fit, real_add = cvmod.fit_networks, cvmod.additive.fit_additive

    def fit_spy(X, y, groups, specs, *a, **k):
        res = real_fit(X, y, groups, specs, *a, **k)
        calls["nn"].append(
            {
                "names": [s.name for s in specs],
                "specs": list(specs),
                "result": res,
                "groups": [(g.key, np.asarray(g.train).copy(), np.asarray(g.test).copy()) for g in groups],
            }
        )
        return res

    def add_spy(X, y, groups, penalty, *a, **k):
        calls["add"].append(
            {
                "penalty": penalty,
                "groups": [(g.key, np.asarray(g.train).copy(), np.asarray(g.test).copy()) for g in groups],
            }
        )
        return real_add(X, y, groups, penalty, *a, **k)

    monkeypatch.setattr(cvmod, "fit_networks", fit_spy)
    monkeypatch.setattr(cvmod.additive, "fit_additive", add_spy)
    return calls


def same_groups(got, ref_splits, subset=0):
    """``got`` (key, train, test) per group equals make_splits' (r, f, train, test)."""
    import numpy as np

    assert len(got) == len(ref_splits)
    for (key, tr, te), (r, f, rtr, rte) in zip(got, ref_splits):
        assert key == (subset, r, f)
        np.testing.assert_array_equal(np.sort(tr), rtr)
        np.testing.assert_array_equal(np.sort(te), rte)


# ---- AppTest helpers -------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]

# The smallest ensemble that trains in well under a second (2 members, narrow, 4 epochs).
TINY_RUN = RunParams(ensemble=2, gene_hidden=3, head_hidden=8, max_epochs=4, patience=2)


@contextmanager
def app_cache(path):
    """Point gxapp's cache (and Streamlit's cached resources) at ``path`` for a test module."""
    import pytest
    import streamlit as st

    mp = pytest.MonkeyPatch()
    mp.setenv("GXAPP_CACHE", str(path))
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        yield path
    finally:
        mp.undo()
        st.cache_resource.clear()
        st.cache_data.clear()


def open_page(page=None, cohort_key=None, timeout=120):
    """Start at the entry point as a browser does (optionally with a current cohort), then switch to ``page``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if cohort_key is not None:
        at.session_state["cohort_key"] = cohort_key
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run_until(at, cond, timeout=120, what="the background job"):
    """Rerun the app until ``cond(at)`` holds (background jobs finish between reruns)."""
    t0 = time.time()
    while not cond(at):
        assert time.time() - t0 < timeout, f"timed out waiting for {what}"
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


# ---- small heads for the Shapley kernels (tests/genenet/test_shapley*.py)
def random_net(M, K=2, B=3, H=7, seed=0):
    """Random head (scaled up so that ReLU kinks fall among the coalitions),
    random gene nodes and baseline."""
    cfg = NetConfig(gene_hidden=0, head_hidden=H)
    params = init_params([1] * M, K, cfg, list(range(seed, seed + K)))
    gen = torch.Generator().manual_seed(seed)
    params["Wh"] = params["Wh"] * 2
    nodes = torch.randn(K, B, M, generator=gen)
    base = torch.randn(K, M, generator=gen) * 0.3
    return params, cfg, nodes, base


def planted_net():
    """Head y = relu(g0 + g1) + relu(g2) - relu(-g3) + 0.5 relu(g4): only genes 0
    and 1 meet in a hidden unit."""
    cfg = NetConfig(gene_hidden=0, head_hidden=5)
    params = init_params([1] * 5, 1, cfg, [0])
    Wh = torch.zeros(1, 5, 5)
    Wh[0, 0, 0] = Wh[0, 1, 0] = 1
    Wh[0, 2, 1], Wh[0, 3, 2], Wh[0, 4, 3] = 1, -1, 1
    params.update(Wh=Wh, bh=torch.zeros(1, 5), wo=torch.tensor([[1.0, 1.0, -1.0, 0.5, 0.0]]), bo=torch.zeros(1))
    return params, cfg
