"""The interaction surface of one gene pair of a trained run (paper A, Fig. 7b), cached.

Source: a run key; params: the pair and the fit's settings. The surface is
``h(g_a, g_b) − h_a(g_a) − h_b(g_b)`` on the run's gene representations
(:func:`gxapp.genenet.surface.interaction_surface`; docs/method.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd

from gxapp.analyses.base import OnRun, Result
from gxapp.errors import ParameterError
from gxapp.genenet.surface import Surface, interaction_surface
from gxapp.params import Integral, Interval, Params

KIND = "surfaces"


@dataclass(frozen=True)
class SurfaceParams(Params):
    """``gene_a``, ``gene_b``: the pair (gene names of the run); ``grid``: points per axis;
    ``steps``: Adam steps of each fit; ``width``: hidden units of the small MLPs;
    ``max_points``: individuals drawn on the surface (a recorded random sample)."""

    gene_a: str = ""
    gene_b: str = ""
    grid: int = 40
    steps: int = 400
    width: int = 32
    max_points: int = 1500
    seed: int = 0

    _parameter_constraints = {
        "gene_a": [str],
        "gene_b": [str],
        "grid": [Interval(Integral, 5, 400)],
        "steps": [Interval(Integral, 1, None)],
        "width": [Interval(Integral, 1, None)],
        "max_points": [Interval(Integral, 1, None)],
        "seed": [Interval(Integral, 0, None)],
    }

    def _check(self) -> None:
        if not self.gene_a or not self.gene_b or self.gene_a == self.gene_b:
            raise ParameterError(
                f"gene_a/gene_b: expected two different gene names, got {self.gene_a!r} and {self.gene_b!r}"
            )


@dataclass
class SurfaceResult(Result):
    surface: Optional[Surface] = None


class Surfaces(OnRun):
    kind = KIND
    job_kind = "surface"
    params_type = SurfaceParams

    def describe(self, params: SurfaceParams) -> str:
        return f"interaction surface {params.gene_a} × {params.gene_b}"

    def compute(self, run_key: str, params: SurfaceParams, root, progress, cancel) -> tuple:
        from gxapp.analyses import cohorts, runs

        run = runs.load(run_key, root)
        data = run.params.prepare(cohorts.open_cohort(run.cohort_key, root))
        names = list(data.gene_names)
        missing = [g for g in (params.gene_a, params.gene_b) if g not in names]
        if missing:
            raise ParameterError(
                f"gene_a/gene_b: {', '.join(missing)} not among the run's genes "
                f"({', '.join(names[:10])}{'…' if len(names) > 10 else ''})"
            )
        surf = interaction_surface(
            run.interaction,
            data.X,
            data.y,
            data.train_idx,
            (names.index(params.gene_a), names.index(params.gene_b)),
            names,
            grid=params.grid,
            steps=params.steps,
            width=params.width,
            max_points=params.max_points,
            seed=params.seed,
        )
        meta = {
            "run": run_key,
            "cohort": run.cohort_key,
            "gene_a": surf.gene_a,
            "gene_b": surf.gene_b,
            "r2_joint": surf.r2_joint,
            "r2_additive": surf.r2_additive,
        }

        def write(d):
            surf.grid.to_parquet(d / "grid.parquet", index=False)
            surf.points.to_parquet(d / "points.parquet", index=False)

        return SurfaceResult("", params, meta, surface=surf), write

    def read(self, key, meta, d, root) -> SurfaceResult:
        surf = Surface(
            gene_a=meta["gene_a"],
            gene_b=meta["gene_b"],
            grid=pd.read_parquet(d / "grid.parquet"),
            points=pd.read_parquet(d / "points.parquet"),
            r2_joint=meta["r2_joint"],
            r2_additive=meta["r2_additive"],
        )
        return SurfaceResult(key, SurfaceParams.from_dict(meta["params"]), meta, surface=surf)


SURFACES = Surfaces()
key, get, load, entries, delete = SURFACES.key, SURFACES.get, SURFACES.load, SURFACES.entries, SURFACES.delete
job_spec, run_job = SURFACES.job_spec, SURFACES.run_job
