"""Training-recipe study for the gene interaction networks (detection power by default).

    python bench/recipe_study.py --n 20000 --snr 0.25 --seeds 1 2 3 \
        --recipe b30000:lr0.005 --recipe b256:lr0.005 --recipe s100:lr0.001 --recipe s100:lr0.005

Each recipe is ``default`` (gxapp's defaults) and/or parts joined by ``:``: ``b<batch>`` (a
constant batch size), ``s<steps>`` (batch = fitting rows / steps, i.e. that many Adam steps per
epoch), ``lr<rate>``, ``p<patience>``, ``e<max epochs>``, ``l1<λ>``, ``gh<gene hidden>``,
``hh<head hidden>``, ``sc<SNP scale>`` (``sc1``: paper A's gene layer). On paper A's complex
scenario (10 genes, M/I 1, 50 % causal) it trains E members with B = 0 and prints the AP of the
45 gene pairs for the NN and the classical peers, per seed and as mean ± sd, with the wall time.
Everything uses a throw-away cache (cohorts are shared between recipes of one seed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gxapp.analyses import cohorts, runs  # noqa: E402
from gxapp.analyses import interactions as ia  # noqa: E402
from gxapp.data.simulate import SimParams  # noqa: E402


def parse_recipe(text: str, n_fit: int) -> dict:
    out = {}
    for part in text.split(":"):
        if part == "default":
            continue
        if part.startswith("b"):
            out["batch_size"] = int(part[1:])
        elif part.startswith("sc"):
            out["snp_scale"] = float(part[2:])
        elif part.startswith("s"):
            out["batch_size"] = max(1, n_fit // int(part[1:]))
        elif part.startswith("lr"):
            out["lr"] = float(part[2:])
        elif part.startswith("l1"):
            out["l1"] = float(part[2:])
        elif part.startswith("p"):
            out["patience"] = int(part[1:])
        elif part.startswith("e"):
            out["max_epochs"] = int(part[1:])
        elif part.startswith("gh"):
            out["gene_hidden"] = int(part[2:])
        elif part.startswith("hh"):
            out["head_hidden"] = int(part[2:])
        else:
            raise SystemExit(f"unknown recipe part {part!r}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--snr", type=float, default=0.25)
    ap.add_argument("--scenario", default="complex")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--ensemble", type=int, default=10)
    ap.add_argument("--recipe", action="append", required=True)
    ap.add_argument(
        "--rows", type=int, default=ia.InteractionParams.max_rows, help="test individuals scored (0: all test rows)"
    )
    ap.add_argument("--csv", help="append the per-seed rows to this CSV")
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gxapp-recipe-"))
    base = runs.RunParams()
    n_fit = int(round(a.n * (1 - base.test_fraction) * (1 - base.val_fraction)))
    rows = []
    for seed in a.seeds:
        c = cohorts.from_simulation(
            SimParams(scenario=a.scenario, n_samples=a.n, n_genes=10, snr=a.snr, mi=1.0, prop_causal=0.5, seed=seed),
            root=root,
        )
        for recipe in a.recipe:
            kw = parse_recipe(recipe, n_fit)
            t0 = time.perf_counter()
            r = runs.get(c.key, runs.RunParams(ensemble=a.ensemble, seed=seed, **kw), root)
            t_train = time.perf_counter() - t0
            res = ia.get(r.key, ia.InteractionParams(permutations=0, max_rows=a.rows or None), root)
            m = res.meta["metrics"]
            row = {
                "recipe": recipe,
                "seed": seed,
                "N": a.n,
                "S/N": a.snr,
                "batch": kw.get("batch_size"),
                "train_s": round(t_train, 1),
                "r2": r.metrics["r2_ensemble"],
                "epochs": float(np.mean(r.metrics["epochs_interaction"])),
                **{f"AP {k}": v["AP"] for k, v in m.items()},
            }
            rows.append(row)
            print(
                f"seed {seed} {recipe:>24}: NN AP {row['AP NN']:.3f} (top-SNP {row['AP top-SNP']:.3f}, "
                f"SNP-pair {row['AP SNP-pair']:.3f}) R² {row['r2']:.3f}, {row['epochs']:.0f} epochs, "
                f"train {t_train:.0f} s",
                flush=True,
            )
    df = pd.DataFrame(rows)
    if a.csv:
        df.to_csv(a.csv, mode="a", header=not Path(a.csv).exists(), index=False)
    cols = [c for c in df.columns if c.startswith("AP ")] + ["r2", "train_s"]
    print(f"\n{a.scenario}, N={a.n}, S/N={a.snr}, E={a.ensemble}, seeds {a.seeds} (random AP = 6/45 = 0.133)")
    print(df.groupby("recipe", sort=False)[cols].agg(lambda v: f"{np.mean(v):.3f}±{np.std(v):.3f}").to_string())


if __name__ == "__main__":
    main()
