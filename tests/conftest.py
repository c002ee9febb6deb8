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
