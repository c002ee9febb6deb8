import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).parent))  # tests/helpers.py

# Keep torch and BLAS small and deterministic in tests on a 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def shared_data() -> Path:
    """The real 1000 Genomes test files beside the checkout; skipped on a user's machine."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (only present in the development checkout)")
    return SHARED_DATA


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """An isolated gxapp cache for one test."""
    d = tmp_path / "cache"
    monkeypatch.setenv("GXAPP_CACHE", str(d))
    return d


# ---- shared cohorts and trained ensembles (built once per test session) -------------------
@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory):
    """(key, cache root) of a small simulated cohort: paper A's simple scenario, 400 people,
    4 genes × 4 independent SNPs, strong signal."""
    from gxapp.analyses import cohorts
    from gxapp.data.simulate import SimParams

    root = tmp_path_factory.mktemp("shared-cache")
    h = cohorts.from_simulation(
        SimParams(
            scenario="simple", n_samples=400, n_genes=4, snr=1.0, seed=5, genotype_model="binomial", snps_per_gene=4
        ),
        root=root,
    )
    return h.key, root


@pytest.fixture(scope="session")
def small_run(small_cohort):
    """(run, cache root): a tiny ensemble (helpers.TINY_RUN) trained on ``small_cohort``."""
    from gxapp.analyses import runs

    from helpers import TINY_RUN

    key, root = small_cohort
    return runs.get(key, TINY_RUN, root), root


@pytest.fixture(scope="session")
def casecontrol_cohort(tmp_path_factory):
    """(key, cache root) of a small case/control cohort (paper B's simulator: 240 people, 8 genes)."""
    from gxapp.analyses import cohorts
    from gxapp.data.simulate import SimParams

    root = tmp_path_factory.mktemp("shared-cc")
    h = cohorts.from_simulation(
        SimParams(scenario="casecontrol", n_samples=240, n_genes=8, seed=2, genotype_model="binomial", snps_per_gene=3),
        root=root,
    )
    return h.key, root
