"""Paper A's power figures (Figs. 2-4) at sizes this CPU holds: AP / AUROC of the gene interaction
networks (gxapp's defaults) and the classical peers, varying one knob at a time around a base.

    python bench/power_study.py --seeds 3 --ensemble 10 --out bench/figures

Base: N 20,000, 10 genes, S/N 0.25, 50 % causal, M/I 1; then N in {10k, 20k, 40k}, S/N in
{0.1, 0.25, 0.5}, causal fraction in {0.1, 0.5, 1}, M/I in {0.25, 1, 4} (``--vary`` chooses), for
the complex and simple scenarios. B = 0 (rankings only: power / specificity at a p threshold need
permutations and are measured by ``interactions_science.py``). Writes ``power_study.csv`` and one
PNG per scenario (Altair + vl-convert) into ``--out``, and prints the mean ± sd table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gxapp.analyses import cohorts, runs  # noqa: E402
from gxapp.analyses import interactions as ia  # noqa: E402
from gxapp.data.simulate import SimParams  # noqa: E402

BASE = {"n_samples": 20_000, "snr": 0.25, "prop_causal": 0.5, "mi": 1.0}
GRID = {
    "n_samples": [10_000, 20_000, 40_000],
    "snr": [0.1, 0.25, 0.5],
    "prop_causal": [0.1, 0.5, 1.0],
    "mi": [0.25, 1.0, 4.0],
}
LABEL = {"n_samples": "N", "snr": "S/N", "prop_causal": "causal fraction", "mi": "M/I"}


def conditions(vary):
    """(knob, value, simulation settings): one knob moved from BASE at a time."""
    for knob in vary:
        for value in GRID[knob]:
            yield knob, value, dict(BASE, **{knob: value})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--ensemble", type=int, default=10)
    ap.add_argument("--scenarios", nargs="+", default=["complex", "simple"])
    ap.add_argument("--vary", nargs="+", default=list(GRID), choices=list(GRID))
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "figures"))
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gxapp-power-"))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, done = [], {}
    t_all = time.perf_counter()
    for scenario in a.scenarios:
        for knob, value, c in conditions(a.vary):
            for seed in range(a.first_seed, a.first_seed + a.seeds):
                key = (scenario, tuple(sorted(c.items())), seed)
                if key not in done:
                    t0 = time.perf_counter()
                    h = cohorts.from_simulation(SimParams(scenario=scenario, n_genes=10, seed=seed, **c), root=root)
                    r = runs.get(h.key, runs.RunParams(ensemble=a.ensemble, seed=seed), root)
                    m = ia.get(r.key, ia.InteractionParams(), root).meta["metrics"]
                    done[key] = m
                    print(
                        f"{scenario} {LABEL[knob]}={value:g} seed {seed}: NN AP {m['NN']['AP']:.3f} "
                        f"({time.perf_counter() - t0:.0f} s)",
                        flush=True,
                    )
                for method, v in done[key].items():
                    rows.append(
                        {
                            "scenario": scenario,
                            "knob": LABEL[knob],
                            "value": value,
                            "seed": seed,
                            "method": method,
                            "AP": v["AP"],
                            "AUROC": v["AUROC"],
                            **{f"AP {t}": x for t, x in (v.get("AP_by_type") or {}).items()},
                        }
                    )
    df = pd.DataFrame(rows)
    df.to_csv(out / "power_study.csv", index=False)
    summary = df.groupby(["scenario", "knob", "value", "method"])["AP"].agg(["mean", "std"]).round(3)
    print(
        f"\nAP of the 45 gene pairs (6 planted; random 0.133), E={a.ensemble}, {a.seeds} seeds "
        f"from {a.first_seed}, defaults otherwise; {time.perf_counter() - t_all:.0f} s"
    )
    print(summary.unstack("method").to_string())
    _figures(df, out)


def _figures(df: pd.DataFrame, out: Path) -> None:
    import altair as alt
    import vl_convert as vlc

    for scenario, d in df.groupby("scenario"):
        agg = d.groupby(["knob", "value", "method"])["AP"].agg(["mean", "std"]).reset_index()
        agg["lo"], agg["hi"] = agg["mean"] - agg["std"].fillna(0), agg["mean"] + agg["std"].fillna(0)
        base = alt.Chart(agg).encode(
            x=alt.X("value:Q", title=None, scale=alt.Scale(type="log")), color=alt.Color("method:N", title="method")
        )
        chart = (
            (
                base.mark_line(point=True).encode(y=alt.Y("mean:Q", title="AP", scale=alt.Scale(domain=[0, 1])))
                + base.mark_errorbar().encode(y=alt.Y("lo:Q", title="AP"), y2="hi:Q")
            )
            .properties(width=220, height=180)
            .facet(column=alt.Column("knob:N", title=None))
            .resolve_scale(x="independent")
            .properties(title=f"{scenario} scenario: AP by knob (mean ± sd over seeds)")
        )
        (out / f"power_{scenario}.png").write_bytes(vlc.vegalite_to_png(chart.to_json(), scale=2))


if __name__ == "__main__":
    main()
