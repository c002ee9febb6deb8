"""Results of the architecture comparison and the corrected resampled t-test."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import combinations
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from gxapp.errors import ParameterError


def corrected_ttest(a, b, n_train: float, n_test: float) -> dict:
    """Corrected resampled t-test of Nadeau & Bengio (2003) for paired per-split scores.

    ``d = a - b`` over the J = R*k splits; ``t = mean(d) / sqrt((1/J + n_test/n_train) *
    var(d))`` with the sample variance (ddof 1); df = J - 1; two-sided p from Student's t.
    With var(d) = 0: t = 0, p = 1 when mean(d) = 0, else t = +-inf, p = 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ParameterError(f"scores: expected two paired 1-D score lists, got shapes {a.shape} and {b.shape}")
    J = a.size
    if J < 2:
        raise ParameterError("scores: the corrected t-test needs at least 2 splits (repeats x folds >= 2)")
    if n_train <= 0 or n_test <= 0:
        raise ParameterError("n_train, n_test: must be positive")
    d = a - b
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    se = np.sqrt((1.0 / J + n_test / n_train) * var)
    if se == 0 or not np.isfinite(se):
        t = 0.0 if mean == 0 else float(np.sign(mean) * np.inf)
        p = 1.0 if mean == 0 else 0.0
    else:
        t = mean / se
        p = float(2 * stats.t.sf(abs(t), J - 1))
    return {"t": float(t), "p": p, "df": J - 1, "mean_diff": mean}


@dataclass
class ModelResult:
    name: str
    kind: str  # "network" | "additive"
    aucs: list  # per split, in split order
    n_params: int
    details: dict = field(default_factory=dict)

    @property
    def auc_mean(self) -> float:
        return float(np.mean(self.aucs))

    @property
    def auc_sd(self) -> float:
        return float(np.std(self.aucs, ddof=1)) if len(self.aucs) > 1 else 0.0


@dataclass
class ComparisonResult:
    """Per model: ``aucs`` (split order = ``splits``), ``auc_mean``, ``auc_sd`` (ddof 1),
    ``n_params``; ``ttest``: corrected resampled t-test for every pair of models."""

    models: dict  # name -> ModelResult, in the requested order
    splits: list  # [(repeat, fold)]
    folds: int
    repeats: int
    seed: int
    n_samples: int
    n_cases: int
    n_controls: int
    n_train: float  # mean training rows per split (for the t-test correction)
    n_test: float
    n_genes: int
    classes: list
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ttest(self) -> list:
        out = []
        for a, b in combinations(list(self.models), 2):
            r = corrected_ttest(self.models[a].aucs, self.models[b].aucs, self.n_train, self.n_test)
            out.append({"model_a": a, "model_b": b, **r})
        return out

    def test(self, a: str, b: str) -> dict:
        """Corrected t-test of model ``a`` against ``b`` (t > 0: a has the higher AUC)."""
        for m in (a, b):
            if m not in self.models:
                raise ParameterError(f"model: '{m}' is not in this comparison ({', '.join(self.models)})")
        return {
            "model_a": a,
            "model_b": b,
            **corrected_ttest(self.models[a].aucs, self.models[b].aucs, self.n_train, self.n_test),
        }

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"model": m.name, "kind": m.kind, "auc_mean": m.auc_mean, "auc_sd": m.auc_sd, "n_params": m.n_params}
                for m in self.models.values()
            ]
        )

    def aucs_long(self) -> pd.DataFrame:
        """One row per (model, split): model, repeat, fold, auc."""
        rows = []
        for m in self.models.values():
            for (r, f), auc in zip(self.splits, m.aucs):
                rows.append({"model": m.name, "repeat": r, "fold": f, "auc": auc})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {
            "models": {
                name: {
                    "auc_mean": m.auc_mean,
                    "auc_sd": m.auc_sd,
                    "aucs": [float(a) for a in m.aucs],
                    "n_params": int(m.n_params),
                    "kind": m.kind,
                    "details": _jsonable(m.details),
                }
                for name, m in self.models.items()
            },
            "ttest": [{k: _num(v) for k, v in t.items()} for t in self.ttest],
            "folds": self.folds,
            "repeats": self.repeats,
            "seed": self.seed,
            "splits": [list(s) for s in self.splits],
            "n_samples": self.n_samples,
            "n_cases": self.n_cases,
            "n_controls": self.n_controls,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_genes": self.n_genes,
            "classes": list(self.classes),
            "settings": _jsonable(self.settings),
            "seconds": self.seconds,
        }

    def to_json(self, **kw) -> str:
        """JSON text of :meth:`to_dict` (per model auc_mean, auc_sd, aucs, n_params; ttest as
        a list of {model_a, model_b, t, p, df, mean_diff}). Infinite t is written as a string."""
        return json.dumps(self.to_dict(), **kw)


def _num(v):
    if isinstance(v, float) and not np.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    return v


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return _num(float(x))
    return x


@dataclass
class LearningCurve:
    """AUC per model per training-set fraction (paper B, Fig. 2)."""

    fractions: list
    results: dict  # fraction -> ComparisonResult
    seed: int

    def table(self) -> pd.DataFrame:
        rows = []
        for f in self.fractions:
            res = self.results[f]
            for m in res.models.values():
                rows.append(
                    {
                        "fraction": f,
                        "n_samples": res.n_samples,
                        "model": m.name,
                        "kind": m.kind,
                        "auc_mean": m.auc_mean,
                        "auc_sd": m.auc_sd,
                        "n_params": m.n_params,
                    }
                )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {
            "fractions": list(self.fractions),
            "seed": self.seed,
            "table": _jsonable(self.table().to_dict(orient="records")),
            "results": {str(f): self.results[f].to_dict() for f in self.fractions},
        }

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)


@dataclass
class SweepResult:
    """AUC per wiring and degree of sparsity (paper B, Figs. 4-5), from ONE batched run."""

    table_rows: list
    comparison: ComparisonResult

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.table_rows)

    def to_dict(self) -> dict:
        return {"table": _jsonable(self.table_rows), "comparison": self.comparison.to_dict()}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)


def model_result(name: str, kind: str, aucs, n_params: int, details: Optional[dict] = None) -> ModelResult:
    return ModelResult(
        name=name, kind=kind, aucs=[float(a) for a in aucs], n_params=int(n_params), details=details or {}
    )


def crossover(table) -> dict:
    """Paper B's story read off a learning-curve table (rows: n_samples, model, kind, auc_mean):
    the best model at the smallest and the largest size, and ``crossover_n``, the smallest size from
    which the best network is ahead of the best additive model at every larger size (None when it
    never is, or when one of the two kinds is missing)."""
    t = pd.DataFrame(table)
    sizes = sorted(t["n_samples"].unique())

    def best(n, kind=None):
        rows = t[(t["n_samples"] == n) & ((t["kind"] == kind) if kind else True)]
        if rows.empty:
            return None
        r = rows.loc[rows["auc_mean"].idxmax()]
        return {"model": str(r["model"]), "auc": float(r["auc_mean"]), "n": int(n)}

    out = {"small": best(sizes[0]), "large": best(sizes[-1]), "crossover_n": None}
    if {"network", "additive"} <= set(t["kind"]):
        ahead = [best(n, "network")["auc"] > best(n, "additive")["auc"] for n in sizes]
        if ahead[-1]:
            i = len(sizes) - 1
            while i > 0 and ahead[i - 1]:
                i -= 1
            out["crossover_n"] = int(sizes[i]) if i > 0 else None  # ahead everywhere: no crossover
            out["networks_lead_everywhere"] = i == 0
        out["large_network"], out["large_additive"] = best(sizes[-1], "network"), best(sizes[-1], "additive")
        out["small_additive"], out["small_network"] = best(sizes[0], "additive"), best(sizes[0], "network")
    return out
