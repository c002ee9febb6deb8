"""Training runs: an ensemble of gene interaction networks and the main-effect
network on one cohort, cached under (cohort, every parameter, gxapp version).

``get(cohort_key, params)`` returns a :class:`Run`; a second call with the same
key loads the stored weights (``torch.load(weights_only=True)``) in well under
a second. Device and thread count are execution settings: they are recorded in
the provenance but do not enter the key.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from gxapp import cache, execute
from gxapp.analyses import cohorts
from gxapp.analyses.base import OnCohort, Result
from gxapp.data.preprocess import TEST_FRACTION, prepare
from gxapp.errors import ParameterError
from gxapp.genenet.baselines import additive_topsnp_r2, r2_score
from gxapp.genenet.models import NetConfig, n_params
from gxapp.genenet.train import TrainConfig, TrainResult, resolve_device, train_ensemble
from gxapp.genenet.tuning import DEFAULT_GRID, choose_l1
from gxapp.params import Integral, Interval, Params, Real
from gxapp.progress import report, sub_progress

KIND = "runs"


@dataclass(frozen=True)
class RunParams(Params):
    """Everything that defines a run (paper A defaults except a smaller ensemble)."""

    ensemble: int = 10
    l1: float = TrainConfig.l1  # network and optimiser defaults are declared once, in NetConfig / TrainConfig
    l1_cv: bool = False
    cv_folds: int = 5
    gene_hidden: int = NetConfig.gene_hidden
    head_hidden: int = NetConfig.head_hidden
    snp_scale: float = NetConfig.snp_scale
    lr: float = TrainConfig.lr
    batch_size: int = TrainConfig.batch_size
    max_epochs: int = TrainConfig.max_epochs
    patience: int = TrainConfig.patience
    val_fraction: float = TrainConfig.val_fraction
    test_fraction: float = TEST_FRACTION
    covariates: bool = True
    inverse_normal: bool = True
    seed: int = 0
    device: str = "auto"
    threads: Optional[int] = None

    EXECUTION_ONLY = ("device", "threads")
    _parameter_constraints = {
        "ensemble": [Interval(Integral, 1, None)],
        "l1_cv": [bool],
        "cv_folds": [Interval(Integral, 2, None)],
        "test_fraction": [Interval(Real, 0, 1, closed="neither")],
        "covariates": [bool],
        "inverse_normal": [bool],
    }

    def _check(self) -> None:
        self.net().validate()
        self.train_config().validate()

    @classmethod
    def from_dict(cls, d: dict, strict: bool = False):
        """As :meth:`gxapp.params.Params.from_dict`; a run stored before ``snp_scale`` existed was
        trained with 1 (paper A's gene layer)."""
        return super().from_dict({"snp_scale": 1.0, **d}, strict=strict)

    def prepare(self, cohort):
        """The model-ready data of this run (split, transforms) — the same every time for a cohort."""
        return prepare(
            cohort,
            covariates=self.covariates,
            inverse_normal_transform=self.inverse_normal,
            test_fraction=self.test_fraction,
            seed=self.seed,
        )

    def net(self) -> NetConfig:
        return NetConfig(gene_hidden=self.gene_hidden, head_hidden=self.head_hidden, snp_scale=self.snp_scale)

    def main_net(self) -> NetConfig:
        """The main-effect network: the same gene layer, a linear head."""
        return NetConfig(gene_hidden=self.gene_hidden, head_hidden=0, snp_scale=self.snp_scale)

    def train_config(self, l1: Optional[float] = None) -> TrainConfig:
        return TrainConfig(
            l1=self.l1 if l1 is None else l1,
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            patience=self.patience,
            val_fraction=self.val_fraction,
            seed=self.seed,
            device=self.device,
            threads=self.threads,
        )


@dataclass
class Run(Result):
    """A trained run: the interaction ensemble, the main-effect network and the split."""

    cohort_key: str = ""
    interaction: Optional[TrainResult] = None
    main: Optional[TrainResult] = None
    train_idx: Optional[np.ndarray] = None
    test_idx: Optional[np.ndarray] = None
    gene_names: list = field(default_factory=list)

    @property
    def metrics(self) -> dict:
        return self.meta.get("metrics", {})


class Runs(OnCohort):
    kind = KIND
    job_kind = "train"
    params_type = RunParams

    def describe(self, params: RunParams) -> str:
        return f"train E={params.ensemble} λ={'CV' if params.l1_cv else f'{params.l1:g}'}"

    def compute(self, cohort_key: str, params: RunParams, root, progress, cancel) -> tuple:
        resolve_device(params.device)  # fail early on CUDA without a GPU
        t0 = time.perf_counter()
        pre = (_PRETRAINED.get() or {}).get(self.key(cohort_key, params, root))
        cohort = cohorts.open_cohort(cohort_key, root)
        report(progress, 0.0, "preparing data")
        data = params.prepare(cohort)
        X, y, blocks = data.X, data.y, data.gene_blocks
        if len(blocks) < 2:
            raise ParameterError(
                "cohort: a gene interaction network needs at least 2 genes; this cohort has "
                f"{len(blocks)} (load more genes)"
            )
        l1, cv_table, start = params.l1, None, 0.02
        if params.l1_cv:
            l1, cv_table = choose_l1(
                X,
                y,
                blocks,
                data.train_idx,
                params.net(),
                params.train_config(),
                grid=DEFAULT_GRID,
                folds=params.cv_folds,
                progress=sub_progress(progress, 0.02, 0.4),
                cancel=cancel,
            )
            start = 0.4
        timings = {}
        main_net = params.main_net()
        cfg = params.train_config(l1)
        shared = dict(X=X, y=y, blocks=blocks, train_idx=data.train_idx, cfg=cfg, members=params.ensemble)
        trained = {}
        items = [("interaction ensemble", params.net()), ("main-effect network", main_net)]
        stage = f"training {params.ensemble} interaction and {params.ensemble} main-effect networks"
        if pre is not None:  # trained in a batch with other runs (gxapp.analyses.paths)
            inter, main = pre["interaction"], pre["main"]
        else:
            for i, res in execute.current().map(
                train_chunk,
                items,
                shared=shared,
                progress=sub_progress(progress, start, 0.97),
                cancel=cancel,
                stage=stage,
            ):
                trained[items[i][0]] = res
            inter, main = trained["interaction ensemble"], trained["main-effect network"]
        timings["interaction_s"] = round(inter.seconds, 3)
        timings["main_s"] = round(main.seconds, 3)
        report(progress, 0.98, "scoring the test rows")
        metrics = _metrics(X, y, blocks, data.train_idx, data.test_idx, inter, main)
        timings["total_s"] = round(time.perf_counter() - t0, 3)
        if pre is not None:  # this run's share of the batch it was trained in
            share = pre["batch"]["seconds"] / max(1, len(pre["batch"]["l1_values"]))
            timings["total_s"] = round(timings["total_s"] + share, 3)
            timings["interaction_s"] = timings["main_s"] = None
        sizes = [len(b) for b in blocks]
        meta = dict(
            cohort=cohort_key,
            label=cohort.meta.get("label"),
            seed=params.seed,
            l1_used=l1,
            l1_cv=cv_table and {f"{k:g}": v for k, v in cv_table.items()},
            device=inter.device,
            threads=inter.threads,
            timings=timings,
            metrics=metrics,
            n_params={"interaction": n_params(sizes, params.net()), "main": n_params(sizes, main_net)},
            preprocessing={k: v for k, v in data.report.items() if k not in ("snp_means", "covariate_coef")},
            gene_names=list(data.gene_names),
            n_train=int(len(data.train_idx)),
            n_test=int(len(data.test_idx)),
        )
        if pre is not None:
            meta["trained_with"] = pre["batch"]

        def write(d):
            torch.save(inter.state_dict(), d / "interaction.pt")
            torch.save(main.state_dict(), d / "main.pt")
            np.savez(d / "split.npz", train_idx=data.train_idx, test_idx=data.test_idx)

        run = Run(
            "",
            params,
            meta,
            cohort_key=cohort_key,
            interaction=inter,
            main=main,
            train_idx=data.train_idx,
            test_idx=data.test_idx,
            gene_names=list(data.gene_names),
        )
        return run, write

    def read(self, key, meta, d, root) -> Run:
        inter = TrainResult.from_state_dict(torch.load(d / "interaction.pt", weights_only=True))
        main = TrainResult.from_state_dict(torch.load(d / "main.pt", weights_only=True))
        with np.load(d / "split.npz") as z:
            train_idx, test_idx = z["train_idx"], z["test_idx"]
        return Run(
            key,
            RunParams.from_dict(meta["params"]),
            meta,
            cohort_key=meta["cohort"],
            interaction=inter,
            main=main,
            train_idx=train_idx,
            test_idx=test_idx,
            gene_names=meta.get("gene_names", []),
        )


RUNS = Runs()
key, get, load, entries, delete = RUNS.key, RUNS.get, RUNS.load, RUNS.entries, RUNS.delete
job_spec, run_job = RUNS.job_spec, RUNS.run_job


def store(root=None) -> cache.Store:
    return RUNS.store(root)


def train_chunk(shared: dict, item: tuple, progress=None, cancel=None) -> TrainResult:
    """One ensemble of a run (a task of the executor seam): ``item`` = (label, NetConfig). With
    ``shared["l1_of_model"]`` (a sparsity path), ``y`` has one column per λ."""
    label, net = item
    s = shared
    return train_ensemble(
        s["X"],
        s["y"],
        s["blocks"],
        s["train_idx"],
        net,
        s["cfg"],
        s["members"],
        progress=_labelled(progress, label),
        cancel=cancel,
        l1_of_model=s.get("l1_of_model"),
    )


# Runs trained in one batch with others (a sparsity path): run key -> {"interaction", "main", "batch"}.
# Set around RUNS.get by gxapp.analyses.paths; compute() then publishes them instead of training.
_PRETRAINED: contextvars.ContextVar = contextvars.ContextVar("gxapp_pretrained_runs", default=None)


def _labelled(progress, what):
    if progress is None:
        return None
    return lambda f, m="": progress(f, f"{what}: {m}" if m else what)


def _metrics(X, y, blocks, train_idx, test_idx, inter: TrainResult, main: TrainResult) -> dict:
    Xt, yt = X[test_idx], y[test_idx]
    p_inter = inter.predict(Xt)
    p_main = main.predict(Xt)
    return {
        "r2_ensemble": r2_score(yt, p_inter.mean(axis=0)),
        "r2_members": [r2_score(yt, p) for p in p_inter],
        "r2_main": r2_score(yt, p_main.mean(axis=0)),
        "r2_topsnp_ols": additive_topsnp_r2(X, y, blocks, train_idx, test_idx),
        "epochs_interaction": inter.epochs_run.tolist(),
        "epochs_main": main.epochs_run.tolist(),
    }
