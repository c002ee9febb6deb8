"""Cached analyses: cohorts, runs, interactions, comparisons and surfaces, all
through one protocol (:mod:`gxapp.analyses.base`): key = data fingerprint +
science parameters + code version, atomic publish, verified load, provenance.
"""


def analyses() -> list:
    """Every analysis that runs as a background job (one instance each)."""
    from gxapp.analyses import cohorts, comparisons, interactions, replications, reports, runs, surfaces

    return [
        cohorts.FROM_FILES,
        cohorts.SIMULATION,
        cohorts.SIMULATE_ON,
        cohorts.SPLIT,
        runs.RUNS,
        interactions.INTERACTIONS,
        comparisons.COMPARISONS,
        comparisons.VARIANT_TABLES,
        surfaces.SURFACES,
        replications.REPLICATIONS,
        reports.REPORTS,
    ]


def register_jobs(manager) -> None:
    """Register each analysis's job kind with a :class:`gxapp.jobs.JobManager`."""
    kinds = [a.job_kind for a in analyses()]
    assert len(set(kinds)) == len(kinds), f"job kinds must be unique: {kinds}"
    for a in analyses():
        manager.register(a.job_kind, a.run_job)
    from gxapp.analyses import paths, pipeline

    manager.register(pipeline.JOB_KIND, pipeline.run_job)
    manager.register(paths.JOB_KIND, paths.run_job)
