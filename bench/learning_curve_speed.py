"""The case/control demo's learning curve: speed of the batched engine and paper B's crossover
(docs/method.md#learning-curve; the Epistasis issue's target: <= 60 s here, and the crossover shown).

    python bench/learning_curve_speed.py                 # seed 1 (the demo), timings side by side
    python bench/learning_curve_speed.py --seeds 1 2 3   # the story on three cohorts

On the demo cohort (2,000 people x 40 genes, case/control simulator defaults) and its story
settings (``comparisons.DEMO_STORY``: default models, 1 x 3-fold CV, six sizes), measured side by
side in one run (shared machines are noisy):

* the networks of every size trained one size at a time vs as ONE batched model (sizes x folds x
  heads; groups without an active network left out of each step) — same networks, same AUCs;
* the additive baseline (l2) with its splits fitted one after the other vs in threads;
* the whole learning curve as the page runs it — watched: each size published as it finishes, and
  when each size was first drawn — beside the same curve unwatched (the cost of drawing it size by
  size), and the story sentence (best model at the smallest and the largest size, the crossover size).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gxapp import epistasis as epi  # noqa: E402
from gxapp.analyses import cohorts, comparisons  # noqa: E402
from gxapp.epistasis import additive  # noqa: E402
from gxapp.epistasis import cv as cvmod  # noqa: E402


def _parts(y, fractions, folds, repeats, seed):
    subsets = cvmod.nested_subsets(y, fractions, seed)
    return [(subsets[f], cvmod.make_splits(y[subsets[f]], folds, repeats, seed)) for f in fractions]


def _watched(cohort, kw) -> tuple:
    """The curve as the page runs it: (curve, seconds, {fraction or 'additive': seconds when first drawn})."""
    drawn = {}
    t0 = time.perf_counter()

    def progress(fraction, message=""):
        pass

    def seen(curve):
        tab = curve.table()
        drawn.setdefault("additive", time.perf_counter() - t0)
        for f in tab.loc[tab["kind"] == "network", "fraction"].unique():
            drawn.setdefault(float(f), time.perf_counter() - t0)

    progress.publish = seen
    lc = epi.learning_curve(cohort, progress=progress, **kw)
    return lc, time.perf_counter() - t0, drawn


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--no-ratios", action="store_true", help="only the whole learning curve per seed")
    args = ap.parse_args(argv)
    story = comparisons.DEMO_STORY
    root = Path(tempfile.mkdtemp(prefix="gxapp-lc-"))
    print(f"story: models {', '.join(story.models)}; {story.repeats} x {story.folds}-fold CV; sizes {story.fractions}")
    for seed in args.seeds:
        params = replace(cohorts.DEMO_CASECONTROL, seed=seed)
        cohort = cohorts.open_cohort(cohorts.from_simulation(params, root).key, root)
        nets = [m for m in story.models if m in epi.NETWORKS]
        if not args.no_ratios:
            X, y, genes, classes, _ = cvmod._prepare(cohort, "auto", nets)
            parts = _parts(y, list(story.fractions), story.folds, story.repeats, story.seed)
            kw = dict(
                wiring=story.wiring,
                sparsity=story.sparsity,
                seed=story.seed,
                pathways=None,
                cohort_pathways=cohort.pathways,
                config=cvmod._config(None, story.seed),
                dense_hidden=None,
                ensemble_size=10,
                n_neurons=None,
                additive_cs=additive.DEFAULT_CS,
                progress=None,
                cancel=None,
            )
            t = time.perf_counter()
            for p in parts:
                cvmod._run_subsets(X, y, genes, classes, nets, [p], **kw)
            loop = time.perf_counter() - t
            t = time.perf_counter()
            cvmod._run_subsets(X, y, genes, classes, nets, parts, **kw)
            batched = time.perf_counter() - t
            print(
                f"seed {seed}: networks one size at a time {loop:.1f} s, all sizes batched {batched:.1f} s "
                f"(ratio {loop / batched:.2f})"
            )
            groups = [
                cvmod.RowGroup(key=(i, r, f), train=rows[tr], test=rows[te])
                for i, (rows, splits) in enumerate(parts)
                for r, f, tr, te in splits
            ]
            t = time.perf_counter()
            additive.fit_additive(X, y, groups, "l2", threads=1)
            one = time.perf_counter() - t
            t = time.perf_counter()
            additive.fit_additive(X, y, groups, "l2")
            many = time.perf_counter() - t
            print(
                f"seed {seed}: l2 splits one after the other {one:.1f} s, in threads {many:.1f} s "
                f"(ratio {one / many:.2f})"
            )
        kw = dict(
            fractions=story.fractions, models=story.models, folds=story.folds, repeats=story.repeats, seed=story.seed
        )
        t = time.perf_counter()
        plain = epi.learning_curve(cohort, **kw)
        unwatched = time.perf_counter() - t
        lc, total, drawn = _watched(cohort, kw)
        assert lc.table().equals(plain.table()), "watching the curve changed a number"
        print(
            f"seed {seed}: whole learning curve {total:.1f} s watched (target <= 60 s), {unwatched:.1f} s unwatched "
            f"(ratio {total / unwatched:.2f}); first drawn at: "
            + ", ".join(f"{k if isinstance(k, str) else f'{k:g} of the samples'} {v:.1f} s" for k, v in drawn.items())
        )
        table = lc.table()
        c = epi.crossover(table)
        wide = table.pivot(index="n_samples", columns="model", values="auc_mean")[list(story.models)]
        print(wide.round(3).to_string())
        print(
            f"seed {seed}: best at {c['small']['n']}: {c['small']['model']} {c['small']['auc']:.3f}; at "
            f"{c['large']['n']}: {c['large']['model']} {c['large']['auc']:.3f}; networks ahead of every additive model "
            f"from {c['crossover_n']} samples on" + (" (everywhere)" if c.get("networks_lead_everywhere") else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
