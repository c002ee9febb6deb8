"""One click to results: train a run and score its gene pairs as one job, with presets
(docs/method.md#presets).

The pipeline is two cached analyses in a row (:mod:`gxapp.analyses.runs`, then
:mod:`gxapp.analyses.interactions`), so a second click, the CLI ``demo`` command and the
Train / Interactions pages all reuse the same cached run and analysis. Progress is one bar
for the whole pipeline with the stage names of both analyses; Cancel stops either stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from gxapp.analyses import interactions as ia
from gxapp.analyses import peers_ahead, runs
from gxapp.errors import ParameterError
from gxapp.jobs import JobSpec
from gxapp.progress import CancelFlag, ProgressFn, report, sub_progress

JOB_KIND = "pipeline"


@dataclass(frozen=True)
class Preset:
    """A named recipe: the run's and the analysis's parameters, and what it costs."""

    label: str
    run: runs.RunParams
    interactions: ia.InteractionParams
    help: str
    train_share: float  # of the pipeline's wall time, for one honest progress bar


PRESETS = {
    "quick": Preset(
        "Quick look",
        runs.RunParams(ensemble=3),
        ia.InteractionParams(permutations=0),
        "3 networks, no permutations: scores, held-out p/q and the classical tests in seconds.",
        0.7,
    ),
    "demo": Preset(
        "Lab-meeting demo",
        runs.RunParams(ensemble=10),
        ia.InteractionParams(permutations=20),
        "10 networks and 20 permutations (Perm I's global test reaches p = 1/21): 20–30 s for the "
        "5,000-person demo on a 2-core CPU.",
        0.15,
    ),
    "paper": Preset(
        "Paper protocol",
        runs.RunParams(ensemble=50),
        ia.InteractionParams(permutations=50),
        "Paper A's protocol: 50 networks and 50 permutations (2,550 networks; ~15 min at N = 20,000 on a "
        "2-core CPU, bench/README.md).",
        0.02,
    ),
}
DEFAULT_PRESET = "demo"


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ParameterError(f"preset: expected one of {sorted(PRESETS)}, got '{name}'")
    return PRESETS[name]


@dataclass(frozen=True)
class PipelineResult:
    run_key: str
    interactions_key: str


def run_pipeline(
    cohort_key: str,
    name: str = DEFAULT_PRESET,
    root=None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
) -> PipelineResult:
    """Train (or reopen) the preset's run on ``cohort_key`` and score it (or reopen the scores)."""
    p = preset(name)
    split = p.train_share

    def staged(lo, hi, stage):
        inner = sub_progress(progress, lo, hi)
        if inner is None:
            return None
        return lambda f, m="": inner(f, f"{stage}: {m}" if m else stage)

    report(progress, 0.0, "training the networks")
    with peers_ahead.ahead(cohort_key, p.run, p.interactions, root, cancel):  # classical tests beside training
        run = runs.get(cohort_key, p.run, root, staged(0.0, split, "1/2 training"), cancel)
        res = ia.get(run.key, p.interactions, root, staged(split, 1.0, "2/2 scoring gene pairs"), cancel)
    report(progress, 1.0, "done")
    return PipelineResult(run.key, res.key)


def job_spec(cohort_key: str, name: str = DEFAULT_PRESET, root=None) -> JobSpec:
    p = preset(name)
    run_key = runs.key(cohort_key, p.run, root)
    return JobSpec(
        kind=JOB_KIND,
        key=f"{run_key}:{name}",
        params={"cohort": cohort_key, "preset": name, "root": None if root is None else str(root)},
        label=f"{p.label}: train E={p.run.ensemble}, score B={p.interactions.permutations}",
    )


def run_job(spec: JobSpec, progress, cancel) -> dict:
    res = run_pipeline(spec.params["cohort"], spec.params["preset"], spec.params.get("root"), progress, cancel)
    return {"run": res.run_key, "interactions": res.interactions_key}
