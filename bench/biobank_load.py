"""Loading a cohort of UK Biobank's shape (paper A: 424,389 people × ~4,300 SNPs in 65 genes):
load time and peak memory, against the int8 size of the genotypes.

    python bench/biobank_load.py                  # 424,389 × 4,300, PLINK 1 (~0.5 GB .bed)
    python bench/biobank_load.py --n 100000 --formats plink pgen bgen

Writes a synthetic PLINK set (independent SNPs, 65 genes of ~66 SNPs on chromosome 1, a phenotype) in
``--dir`` (default a temporary folder; PLINK 2 and BGEN copies are converted with Debian's ``plink2``
when asked for), then loads it in a fresh process per setting with ``gxapp.analyses.cohorts.from_files``
(the app's and CLI's path, cache in the same folder) and prints wall time and peak RSS (``ru_maxrss``)
minus the process's resident size after its imports, as a ratio to N × P bytes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from gxapp.analyses import cohorts
from gxapp.data.files import FileSpec
from gxapp.data.qc import QCParams
import numpy, pandas, torch  # imported before the baseline is taken
def rss():  # resident now (imports can peak above their steady state, so not ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
base = rss()
spec = FileSpec(**json.loads({spec!r}))
qc = QCParams(**json.loads({qc!r}))
t0 = time.perf_counter()
h = cohorts.from_files(spec, qc, root={cache!r})
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
c = h.cohort
print(json.dumps(dict(seconds=dt, peak=peak, base=base, n=c.n_samples, p=c.n_snps, genes=c.n_genes)))
"""


WHAT = {"bare": "QC only", "default": "QC + 10 PCs, the defaults", "pruned": "QC + 90 % variance pruning + 10 PCs"}


def write_cohort(d: Path, n: int, p: int, n_genes: int, seed: int) -> str:
    from gxapp.data.io.genotypes import Genotypes
    from gxapp.data.io.plink import write_plink

    rng = np.random.default_rng(seed)
    maf = rng.uniform(0.05, 0.5, p)
    g = np.empty((n, p), dtype=np.int8, order="F")
    for j in range(p):  # column by column: no float (n, p) temporary
        g[:, j] = rng.binomial(2, maf[j], n)
    samples = pd.DataFrame({"fid": [f"F{i}" for i in range(n)], "iid": [f"I{i}" for i in range(n)]})
    pos = np.arange(p, dtype=np.int64) * 100 + 1_000_000
    snps = pd.DataFrame({"snp": [f"rs{j}" for j in range(p)], "chrom": "1", "pos": pos, "a1": "A", "a2": "G"})
    y = rng.standard_normal(n)
    write_plink(d / "ukb", Genotypes(g, samples, snps), phenotype=y)
    bounds = np.linspace(0, p, n_genes + 1).astype(int)
    genes = pd.DataFrame(
        {
            "gene": [f"GENE{i + 1}" for i in range(n_genes)],
            "chrom": "1",
            "start": pos[bounds[:-1]],
            "end": pos[bounds[1:] - 1],
        }
    )
    genes.to_csv(d / "genes.tsv", sep="\t", index=False)
    return str(d / "ukb")


def convert(prefix: str, fmt: str) -> str:
    if shutil.which("plink2") is None:
        raise SystemExit("plink2 is not installed (apt-get install plink2)")
    out = prefix + f"_{fmt}"
    args = {"pgen": ["--make-pgen"], "bgen": ["--export", "bgen-1.2", "bits=8"]}[fmt]
    subprocess.run(["plink2", "--bfile", prefix, *args, "--out", out], check=True, capture_output=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=424_389)
    ap.add_argument("--p", type=int, default=4_300)
    ap.add_argument("--genes", type=int, default=65)
    ap.add_argument("--formats", nargs="+", default=["plink"], choices=["plink", "pgen", "bgen"])
    ap.add_argument("--steps", nargs="+", default=["bare", "default", "pruned"], choices=["bare", "default", "pruned"])
    ap.add_argument("--dir")
    a = ap.parse_args()
    d = Path(a.dir or tempfile.mkdtemp(prefix="gxapp-biobank-"))
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    prefix = write_cohort(d, a.n, a.p, a.genes, 0) if not (d / "ukb.bed").exists() else str(d / "ukb")
    print(f"synthetic cohort {a.n:,} × {a.p:,} in {d} ({time.perf_counter() - t0:.0f} s to write)", flush=True)
    size = a.n * a.p
    for fmt in a.formats:
        path = prefix if fmt == "plink" else convert(prefix, fmt)
        geno = path + ".bgen" if fmt == "bgen" else path
        spec = dict(genotypes=geno, format=fmt, pheno=None, genes=str(d / "genes.tsv"), flank=0)
        if fmt == "bgen":
            spec["sample"] = path + ".sample"
        for steps in a.steps:
            qc = {"bare": {"prune": "none", "pca": 0}, "default": {}, "pruned": {"prune": "variance"}}[steps]
            cache = tempfile.mkdtemp(prefix=f"cache-{fmt}-{steps}-", dir=d)  # always a fresh cache
            code = CHILD.format(root=str(ROOT), spec=json.dumps(spec), qc=json.dumps(qc), cache=cache)
            try:
                out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            used = r["peak"] - r["base"]
            print(
                f"{fmt:5s} {steps:7s} ({WHAT[steps]}): "
                f"{r['seconds']:.1f} s, peak RSS above baseline {used / 2**30:.2f} GiB, int8 size "
                f"{size / 2**30:.2f} GiB, ratio={used / size:.2f}; {r['n']:,} × {r['p']:,} SNPs in {r['genes']} genes",
                flush=True,
            )


if __name__ == "__main__":
    main()
