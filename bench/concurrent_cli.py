"""N concurrent CLI jobs on one cache: failures (target 0) and wall time.

    python bench/concurrent_cli.py --jobs 6

Simulates one small cohort, then starts ``--jobs`` processes at once, half training the SAME run
(they race to publish one cache entry) and half scoring interactions with different seeds, all on
one throw-away cache. Reports each job's exit status, the wall time, and then checks that every
cache entry verifies (``python -m gxapp cache verify``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=6)
    ap.add_argument("--n", type=int, default=1500)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gxapp-concurrent-"))
    env = dict(os.environ, GXAPP_CACHE=str(tmp / "cache"), OMP_NUM_THREADS="1")
    gx = [sys.executable, "-m", "gxapp"]
    sim = tmp / "sim"
    subprocess.run(
        gx
        + [
            "simulate",
            "--n-samples",
            str(a.n),
            "--n-genes",
            "5",
            "--genotype-model",
            "binomial",
            "--snps-per-gene",
            "5",
            "--out",
            str(sim),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    data = [
        "--bfile",
        str(sim / "cohort"),
        "--pheno",
        str(sim / "phenotype.tsv"),
        "--genes",
        str(sim / "genes.tsv"),
        "--ensemble",
        "3",
        "--epochs",
        "20",
        "--quiet",
        "--threads",
        "1",
    ]
    cmds = []
    for j in range(a.jobs):
        if j % 2 == 0:
            cmds.append(gx + ["train", *data])  # the same run: a race to publish one entry
        else:
            cmds.append(gx + ["interactions", *data, "--permutations", "2", "--seed", str(j)])
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds
    ]
    results = [(p.wait(), p.stdout.read(), p.stderr.read()) for p in procs]
    wall = time.perf_counter() - t0
    failures = [(c[3], rc, err.strip()[-300:]) for c, (rc, _, err) in zip(cmds, results) if rc != 0]
    verify = subprocess.run(gx + ["cache", "verify"], cwd=ROOT, env=env, capture_output=True, text=True)
    print(f"{a.jobs} concurrent jobs on one cache (N={a.n}): {len(failures)} failed, wall {wall:.1f} s")
    for f in failures:
        print("  failed:", f)
    print(" ", verify.stdout.strip(), f"(exit {verify.returncode})")


if __name__ == "__main__":
    main()
