"""Loading speed: PLINK .bed (gxapp.data.io.plink via bed-reader) vs np.loadtxt of
the same genotypes as CSV, measured side by side; and the time until the demo
cohort is ready from an empty cache (fresh interpreter, as on first start).

    python bench/load_speed.py                 # 100,000 x 5,000 (np.loadtxt timed on a slice)
    python bench/load_speed.py --full-csv      # time np.loadtxt on the whole CSV too (slow)

np.loadtxt is linear in rows; by default it is timed on --csv-rows rows and
scaled to the full size, and the output says so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gxapp.data.io.genotypes import Genotypes  # noqa: E402
from gxapp.data.io.plink import read_plink, write_plink  # noqa: E402


def make_genotypes(n, p, seed=0):
    rng = np.random.default_rng(seed)
    maf = rng.uniform(0.02, 0.5, p)
    g = np.empty((n, p), dtype=np.int8)
    for j0 in range(0, p, 500):
        j1 = min(p, j0 + 500)
        g[:, j0:j1] = rng.binomial(2, maf[j0:j1], size=(n, j1 - j0)).astype(np.int8)
    samples = pd.DataFrame({"fid": [f"S{i}" for i in range(n)], "iid": [f"S{i}" for i in range(n)]})
    snps = pd.DataFrame(
        {"snp": [f"rs{j}" for j in range(p)], "chrom": "1", "pos": np.arange(1, p + 1) * 100, "a1": "A", "a2": "G"}
    )
    return Genotypes(g, samples, snps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-samples", type=int, default=100_000)
    ap.add_argument("--n-snps", type=int, default=5_000)
    ap.add_argument("--csv-rows", type=int, default=5_000, help="rows of the CSV timed with np.loadtxt")
    ap.add_argument("--full-csv", action="store_true")
    a = ap.parse_args()
    n, p = a.n_samples, a.n_snps
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        geno = make_genotypes(n, p)
        write_plink(d / "g", geno)
        rows = n if a.full_csv else min(a.csv_rows, n)
        np.savetxt(d / "g.csv", geno.genotypes[:rows], fmt="%d", delimiter=",")

        t0 = time.perf_counter()
        got = read_plink(d / "g")
        t_bed = time.perf_counter() - t0
        assert np.array_equal(got.genotypes, geno.genotypes)

        t0 = time.perf_counter()
        csv = np.loadtxt(d / "g.csv", delimiter=",", dtype=np.int8)
        t_csv_part = time.perf_counter() - t0
        assert np.array_equal(csv, geno.genotypes[:rows])
        t_csv = t_csv_part * n / rows
        note = "" if rows == n else f" (np.loadtxt timed on {rows:,} rows, {t_csv_part:.2f} s, scaled x{n / rows:g})"
        print(f"bed: {n:,} x {p:,} read in {t_bed:.2f} s; csv np.loadtxt: {t_csv:.1f} s{note}")
        print(f"ratio={t_csv / t_bed:.1f}  (csv time / bed time; higher = bed faster)")

        env = dict(os.environ, GXAPP_CACHE=str(d / "cache"))
        code = (
            "import time; t=time.perf_counter(); from gxapp.analyses import cohorts; h=cohorts.demo(); "
            "print(f'{time.perf_counter()-t:.2f} {h.cohort.n_samples} {h.cohort.n_snps}')"
        )
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        wall = time.perf_counter() - t0
        inner, n_s, n_p = out.stdout.split()
        code2 = (
            "import time; t=time.perf_counter(); from gxapp.analyses import cohorts; h=cohorts.demo(); "
            "print(f'{time.perf_counter()-t:.2f}')"
        )
        again = subprocess.run(
            [sys.executable, "-c", code2], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        print(
            f"demo cohort ({n_s} x {n_p}) from an empty cache: {wall:.2f} s wall incl. interpreter start "
            f"({inner} s in gxapp); cached reopen: {again} s (target <= 10 s)"
        )


if __name__ == "__main__":
    main()
