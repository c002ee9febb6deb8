"""Additive baselines of the architecture comparison (paper B, "Baseline additive ... models").

L2- and L1-penalised logistic regression, on either input (docs/method.md#additive-baselines):

* the flattened per-gene features the networks see (``X`` of shape (N, G, C): G x C columns),
  standardised per class on each fold's training rows (docs/method.md#gene-centric-encoding) —
  models "l2" / "l1";
* every SNP's dosage (``X`` of shape (N, P)), each column standardised on each fold's training
  rows — models "l2-snps" / "l1-snps", paper B's own baselines (it fits them on the individual
  variants). They show what a per-gene summary loses: a strong single SNP in a gene of many
  SNPs is one column here and a share of a burden count there.

Paper B uses a fixed penalty (SGDClassifier, alpha 1 for L2, 0.01 for L1); we choose the inverse
penalty ``C`` from ``Cs`` by an inner stratified 3-fold CV on the training rows (ROC AUC), so the
baseline is tuned rather than handicapped.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from gxapp.data.io.variants import standardise_counts
from gxapp.errors import ParameterError
from gxapp.nn.count import count_params
from gxapp.nn.threads import resolve_threads
from gxapp.progress import check_cancel, report

PENALTIES = ("l2", "l1")
#: dosage-level models -> their penalty
SNP_MODELS = {"l2-snps": "l2", "l1-snps": "l1"}
DEFAULT_CS = (1e-3, 1e-2, 1e-1, 1.0)


def _model(penalty: str, C: float) -> LogisticRegression:
    # liblinear: ~5-10x faster than lbfgs on these (rows x G*C) problems
    return LogisticRegression(C=C, l1_ratio=1.0 if penalty == "l1" else 0.0, solver="liblinear", max_iter=2000)


def _fit(penalty, C, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _model(penalty, C).fit(x, y)


def choose_c(penalty: str, x: np.ndarray, y: np.ndarray, Cs: Sequence[float], seed: int, inner_folds: int = 3) -> float:
    """The C of ``Cs`` with the best mean inner-CV ROC AUC (ties: the smallest C)."""
    if len(Cs) == 1:
        return float(Cs[0])
    k = int(min(inner_folds, np.bincount(y.astype(int), minlength=2).min()))
    if k < 2:
        return float(Cs[len(Cs) // 2])
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = np.zeros(len(Cs))
    for tr, te in skf.split(x, y):
        for i, C in enumerate(Cs):
            m = _fit(penalty, C, x[tr], y[tr])
            scores[i] += roc_auc_score(y[te], m.decision_function(x[te]))
    return float(Cs[int(np.argmax(scores))])


def _standardised(X: np.ndarray, rows: np.ndarray, n_train: int) -> np.ndarray:
    """``X[rows]`` as a 2-D design standardised on its first ``n_train`` rows (the fold's training
    rows): per class over all (sample, gene) cells for a (N, G, C) tensor, per column for (N, P)
    dosages (a column constant on the training rows is only centred)."""
    if X.ndim == 3:
        return standardise_counts(X[rows], np.arange(n_train)).reshape(rows.size, -1)
    x = np.asarray(X[rows], dtype=np.float64)
    mean = x[:n_train].mean(axis=0)
    sd = x[:n_train].std(axis=0)
    return (x - mean) / np.where(sd > 0, sd, 1.0)


def fit_additive(
    X: np.ndarray,
    y: np.ndarray,
    groups,
    penalty: str = "l2",
    Cs: Sequence[float] = DEFAULT_CS,
    seed: int = 0,
    progress=None,
    cancel=None,
    threads=None,
) -> tuple:
    """Fit the baseline on every group's training rows; return ``(probs, chosen_Cs)``:
    ``probs[j]`` is the case probability of group j's test rows. ``X``: (N, G, C) per-gene features
    or (N, P) SNP dosages (see the module doc). ``threads``: splits fitted at once (default: every
    core)."""
    X = np.asarray(X)
    if X.ndim not in (2, 3):
        raise ParameterError(f"X: expected (N, G, C) gene features or (N, P) dosages, got shape {X.shape}")
    if penalty not in PENALTIES:
        raise ParameterError(f"penalty: expected one of {PENALTIES}, got {penalty!r}")
    Cs = [float(c) for c in Cs]
    if not Cs or any(not np.isfinite(c) or c <= 0 for c in Cs):
        raise ParameterError(f"Cs: expected positive inverse penalties, got {Cs!r}")
    what = "SNP dosages" if X.ndim == 2 else "gene features"

    def one(j, g):
        check_cancel(cancel)
        train = np.asarray(g.train, np.int64)
        test = np.asarray(g.test, np.int64)
        rows = np.concatenate([train, test])
        xs = _standardised(X, rows, train.size)
        xtr, xte = xs[: train.size], xs[train.size :]
        ytr = y[train].astype(int)
        C = choose_c(penalty, xtr, ytr, Cs, seed + j)
        return _fit(penalty, C, xtr, ytr).predict_proba(xte)[:, 1], C

    # the splits in threads: liblinear releases the GIL (2 cores: 11.7 -> 6.0 s for 6 splits of the
    # 40-gene demo; bench/README.md "Learning curve"); results in split order, each seeded by its index
    n_jobs = max(1, min(len(groups), resolve_threads(threads, spare=0)))
    probs, chosen = [], []
    tasks = (delayed(one)(j, g) for j, g in enumerate(groups))
    for j, (p, C) in enumerate(Parallel(n_jobs=n_jobs, backend="threading", return_as="generator")(tasks)):
        probs.append(p)
        chosen.append(C)
        report(
            progress,
            (j + 1) / len(groups),
            f"{penalty.upper()} logistic regression on {what}: split {j + 1}/{len(groups)}",
        )
    return probs, chosen


def n_params(n_genes: int, n_classes: int) -> int:
    """Coefficients (one per gene and class) and the intercept."""
    return count_params([(n_genes * n_classes,), ()])
