"""Paper A's power figures (Figs. 2-4) at sizes this CPU holds: AP / AUROC of the gene interaction
networks (gxapp's defaults) and the classical peers, varying one knob at a time around a base.

    python bench/power_study.py --seeds 3 --ensemble 10 --out bench/figures

Base: N 20,000, 10 genes, S/N 0.25, 50 % causal, M/I 1; then N in {5k, 10k, 20k, 40k}, S/N in
{0.1, 0.25, 0.5}, causal fraction in {0.1, 0.5, 1}, M/I in {0.25, 1, 4} (``--vary`` chooses), and
on request genes in {10, 30, 65, 100} (paper A Suppl. 2.4-2.5: ``--vary n_genes --tag genes``), for
the complex and simple scenarios. B = 0: AP / AUROC of every method, and the NN's held-out test
(which needs no permutations): its false discovery proportion and power at q < 0.1 / 0.2 and its
false-positive rate at p < 0.05, pooled over seeds (``power_study_heldout.csv``,
``heldout_fdp_power.png``). Perm I at thresholds needs B > 0: ``interactions_science.py thresholds``.
Writes ``power_study.csv`` and one
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

BASE = {"n_samples": 20_000, "snr": 0.25, "prop_causal": 0.5, "mi": 1.0, "n_genes": 10}
GRID = {
    "n_samples": [5_000, 10_000, 20_000, 40_000],
    "n_genes": [10, 30, 65, 100],
    "snr": [0.1, 0.25, 0.5],
    "prop_causal": [0.1, 0.5, 1.0],
    "mi": [0.25, 1.0, 4.0],
}
LEVELS = (0.1, 0.2)  # FDR levels at which the held-out test's calls are counted
LABEL = {"n_samples": "N", "snr": "S/N", "prop_causal": "causal fraction", "mi": "M/I", "n_genes": "genes"}


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
    ap.add_argument("--vary", nargs="+", default=[k for k in GRID if k != "n_genes"], choices=list(GRID))
    ap.add_argument("--values", nargs="+", type=float, default=None, help="only these values of the knobs varied")
    ap.add_argument("--tag", default="", help="suffix of the output files (e.g. genes: power_study_genes.csv)")
    ap.add_argument("--head-hidden", type=int, default=None, help="head width (default: gxapp's)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "figures"))
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gxapp-power-"))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, done = [], {}
    t_all = time.perf_counter()
    for scenario in a.scenarios:
        for knob, value, c in conditions(a.vary):
            if a.values is not None and value not in a.values:
                continue
            for seed in range(a.first_seed, a.first_seed + a.seeds):
                key = (scenario, tuple(sorted(c.items())), seed)
                if key not in done:
                    t0 = time.perf_counter()
                    h = cohorts.from_simulation(SimParams(scenario=scenario, seed=seed, **c), root=root)
                    width = {} if a.head_hidden is None else {"head_hidden": a.head_hidden}
                    r = runs.get(h.key, runs.RunParams(ensemble=a.ensemble, seed=seed, **width), root)
                    res = ia.get(r.key, ia.InteractionParams(), root)
                    m = res.meta["metrics"]
                    t = res.table
                    for level in LEVELS:  # the held-out test's calls (it needs no permutations)
                        called = t["q"] < level
                        m["NN"][f"called {level:g}"] = int(called.sum())
                        m["NN"][f"planted {level:g}"] = int((called & t["true"]).sum())
                    m["NN"]["false p<0.05"] = int(((t["p"] < 0.05) & ~t["true"]).sum())
                    m["NN"]["n_false"] = int((~t["true"]).sum())
                    m["NN"]["n_true"] = int(t["true"].sum())
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
                            **{k: v[k] for k in v if k.startswith(("called", "planted", "false", "n_"))},
                        }
                    )
    df = pd.DataFrame(rows)
    sfx = f"_{a.tag}" if a.tag else ""
    df.to_csv(out / f"power_study{sfx}.csv", index=False)
    summary = df.groupby(["scenario", "knob", "value", "method"])["AP"].agg(["mean", "std"]).round(3)
    print(
        f"\nAP of the gene pairs (6 planted; random 0.133 at 10 genes), E={a.ensemble}, {a.seeds} seeds "
        f"from {a.first_seed}, defaults otherwise; {time.perf_counter() - t_all:.0f} s"
    )
    print(summary.unstack("method").to_string())
    nn = df[df.method == "NN"]
    g = nn.groupby(["scenario", "knob", "value"])[
        [f"{w} {lv:g}" for lv in LEVELS for w in ("called", "planted")] + ["false p<0.05", "n_false", "n_true"]
    ].sum()
    for lv in LEVELS:
        called, planted = g[f"called {lv:g}"], g[f"planted {lv:g}"]
        g[f"FDP q<{lv:g}"] = ((called - planted) / called.where(called > 0)).round(3)
        g[f"power q<{lv:g}"] = (planted / g["n_true"].where(g["n_true"] > 0)).round(3)
    g["false-positive rate p<0.05"] = (g["false p<0.05"] / g["n_false"]).round(3)
    print(
        "\nheld-out test of the NN (pooled over seeds): FDP and power at q < 0.1 / 0.2, false-positive rate at p < 0.05"
    )
    print(g[[c for c in g.columns if c.startswith(("FDP", "power", "false-positive"))]].to_string())
    g.reset_index().to_csv(out / f"power_study_heldout{sfx}.csv", index=False)
    _figures(df, out, sfx)
    _heldout_figure(g.reset_index(), out, f"heldout_fdp_power{sfx}.png")


def _heldout_figure(g: pd.DataFrame, out: Path, name: str = "heldout_fdp_power.png") -> None:
    """FDP and power of the held-out test at q < 0.1 along each knob (a dashed line at 0.1)."""
    import altair as alt
    import vl_convert as vlc

    long = g.melt(
        id_vars=["scenario", "knob", "value"],
        value_vars=["FDP q<0.1", "power q<0.1"],
        var_name="measure",
        value_name="fraction",
    )
    long["nominal"] = 0.1
    base = alt.Chart().encode(x=alt.X("value:Q", title=None, scale=alt.Scale(type="log")))
    lines = base.mark_line(point=True).encode(
        y=alt.Y("fraction:Q", title="fraction", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("measure:N", title=None),
        strokeDash=alt.StrokeDash("scenario:N"),
    )
    rule = alt.Chart().mark_rule(color="grey", strokeDash=[2, 2]).encode(y="mean(nominal):Q")
    chart = (
        alt.layer(lines, rule, data=long)
        .properties(width=220, height=180)
        .facet(column=alt.Column("knob:N", title=None))
        .resolve_scale(x="independent")
        .properties(title="Held-out test at q < 0.1: false discovery proportion and power (pooled over seeds)")
    )
    (out / name).write_bytes(vlc.vegalite_to_png(chart.to_json(), scale=2))


def _figures(df: pd.DataFrame, out: Path, sfx: str = "") -> None:
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
        (out / f"power_{scenario}{sfx}.png").write_bytes(vlc.vegalite_to_png(chart.to_json(), scale=2))


if __name__ == "__main__":
    main()
