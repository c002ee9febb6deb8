"""Dask workers on a SLURM cluster, through ``dask-jobqueue`` (docs/scale-out.md#slurm).

:func:`worker_job_script` writes the batch script of one gxapp worker job (one GPU per job
when ``gpus`` is 1: SLURM sets ``CUDA_VISIBLE_DEVICES`` for the job, and the worker trains
its chunks there); :func:`slurm_cluster` starts a scheduler here and asks SLURM for
``jobs`` of them. Building the script submits nothing."""

from __future__ import annotations

from typing import Optional

from gxapp.params import check_int


def _options(cores, memory, gpus, walltime, queue, account, env_setup) -> dict:
    extra = [f"--gres=gpu:{check_int('gpus', gpus, 0)}"] if gpus else []
    return dict(
        cores=check_int("cores", cores, 1),
        memory=memory,
        processes=1,  # one worker per job: one GPU, one copy of the genotypes
        walltime=walltime,
        queue=queue,
        account=account,
        job_extra_directives=extra,
        job_script_prologue=list(env_setup or []),
        worker_extra_args=["--resources", f"GPU={gpus}"] if gpus else [],
    )


def worker_job_script(
    scheduler: str,
    *,
    cores: int = 4,
    memory: str = "32GB",
    gpus: int = 1,
    walltime: str = "04:00:00",
    queue: Optional[str] = None,
    account: Optional[str] = None,
    env_setup=(),
    name: str = "gxapp-worker",
) -> str:
    """The ``sbatch`` script of one worker job that joins ``scheduler`` (nothing is submitted)."""
    from dask_jobqueue.slurm import SLURMJob

    opts = _options(cores, memory, gpus, walltime, queue, account, env_setup)
    return SLURMJob(scheduler=scheduler, name=name, **opts).job_script()


def slurm_cluster(jobs: int, **kw):
    """A ``dask_jobqueue.SLURMCluster`` of ``jobs`` worker jobs (``kw`` as
    :func:`worker_job_script`); pass its ``scheduler_address`` to gxapp (``--dask`` /
    ``GXAPP_DASK``). Keep the Python process that made it alive while gxapp works."""
    from dask_jobqueue import SLURMCluster

    kw = {k: v for k, v in kw.items() if k != "name"}
    cluster = SLURMCluster(**_options(**{**_DEFAULTS, **kw}))
    cluster.scale(jobs=check_int("jobs", jobs, 1))
    return cluster


_DEFAULTS = dict(cores=4, memory="32GB", gpus=1, walltime="04:00:00", queue=None, account=None, env_setup=())
