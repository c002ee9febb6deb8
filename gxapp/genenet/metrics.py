"""Scoring gene-pair rankings against the planted truth of a simulation (docs/method.md#evaluation).

Scores are (M, M) matrices over genes, larger = more likely an interaction
(use :func:`p_to_score` for p-values: −log10 p). Only the upper triangle
(i < j) is used, so a symmetric matrix and an upper-triangular one give the same
result. A NaN score (an undefined test) ranks below every finite score.
"""

from __future__ import annotations

import numpy as np

from gxapp.errors import ParameterError

__all__ = [
    "INTERACTION_TYPES",
    "pair_labels",
    "p_to_score",
    "upper_pairs",
    "average_precision",
    "auroc",
    "precision_recall_curve_pairs",
    "roc_curve_pairs",
    "per_type_ap",
    "per_type_auroc",
]

INTERACTION_TYPES = ("max", "sqdiff", "product")
# Smallest p kept when turning p into −log10 p (p = 0 from underflow would give inf).
_P_FLOOR = np.finfo(np.float64).tiny


def pair_labels(gene_names, truth_pairs) -> np.ndarray:
    """(M, M) symmetric bool matrix, True where ``{a, b}`` is a planted pair.

    ``truth_pairs``: iterable of (geneA, geneB) (e.g. ``cohort.truth["pairs"]``).
    A gene not in ``gene_names`` raises :class:`ParameterError`.
    """
    names = [str(g) for g in gene_names]
    index = {g: k for k, g in enumerate(names)}
    lab = np.zeros((len(names), len(names)), dtype=bool)
    for pair in truth_pairs:
        a, b = (str(g) for g in pair)
        for g in (a, b):
            if g not in index:
                raise ParameterError(f"truth pairs: gene '{g}' is not among the {len(names)} genes scored")
        if a == b:
            raise ParameterError(f"truth pairs: pair ('{a}', '{b}') pairs a gene with itself")
        lab[index[a], index[b]] = lab[index[b], index[a]] = True
    return lab


def p_to_score(p) -> np.ndarray:
    """−log10 p, with p floored at the smallest positive double (p = 0 stays finite); NaN stays NaN."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return -np.log10(np.where(np.isnan(p), np.nan, np.maximum(p, _P_FLOOR)))


def upper_pairs(scores, labels) -> tuple:
    """(scores, labels) of the pairs i < j as 1-D arrays; NaN scores are put below the rest."""
    s = np.asarray(scores, dtype=np.float64)
    lab = np.asarray(labels, dtype=bool)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ParameterError(f"scores: expected a square (M, M) matrix, got shape {s.shape}")
    if lab.shape != s.shape:
        raise ParameterError(f"labels: shape {lab.shape} does not match scores {s.shape}")
    if len(s) < 2:
        raise ParameterError("scores: at least 2 genes (one pair) are needed")
    iu = np.triu_indices(len(s), 1)
    v, y = s[iu], lab[iu]
    if np.isposinf(v).any() or np.isneginf(v).any():
        raise ParameterError("scores: infinite values; use p_to_score for p-values")
    bad = np.isnan(v)
    if bad.any():
        low = np.nanmin(v) - 1.0 if (~bad).any() else 0.0
        v = np.where(bad, low, v)
    return v, y


def _both_classes(y, what: str) -> None:
    if y.all() or not y.any():
        raise ParameterError(f"{what}: needs at least one true and one false pair, got {int(y.sum())} true of {len(y)}")


def average_precision(scores, labels) -> float:
    """Average precision (area under the precision-recall curve, sklearn's step rule)."""
    from sklearn.metrics import average_precision_score

    v, y = upper_pairs(scores, labels)
    _both_classes(y, "average_precision")
    return float(average_precision_score(y, v))


def auroc(scores, labels) -> float:
    """Area under the ROC curve (ties count one half; a constant score gives 0.5)."""
    from sklearn.metrics import roc_auc_score

    v, y = upper_pairs(scores, labels)
    _both_classes(y, "auroc")
    return float(roc_auc_score(y, v))


def precision_recall_curve_pairs(scores, labels) -> dict:
    """Precision-recall curve for plotting: ``{"precision", "recall", "thresholds", "ap", "prevalence"}``.

    ``precision[k]`` / ``recall[k]`` belong to calling every pair with score ≥
    ``thresholds[k]`` positive (sklearn's convention: the last point is recall 0,
    precision 1, with no threshold).
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    v, y = upper_pairs(scores, labels)
    _both_classes(y, "precision_recall_curve_pairs")
    prec, rec, thr = precision_recall_curve(y, v)
    return {
        "precision": prec,
        "recall": rec,
        "thresholds": thr,
        "ap": float(average_precision_score(y, v)),
        "prevalence": float(y.mean()),
    }


def roc_curve_pairs(scores, labels) -> dict:
    """ROC curve for plotting: ``{"fpr", "tpr", "thresholds", "auroc"}``."""
    from sklearn.metrics import roc_auc_score, roc_curve

    v, y = upper_pairs(scores, labels)
    _both_classes(y, "roc_curve_pairs")
    fpr, tpr, thr = roc_curve(y, v)
    return {"fpr": fpr, "tpr": tpr, "thresholds": thr, "auroc": float(roc_auc_score(y, v))}


def _type_labels(gene_names, truth) -> tuple:
    """(all true pairs (M, M), {type: true pairs of that type (M, M)})."""
    pairs = truth.get("pairs", [])
    types = truth.get("types", {})
    names = [str(g) for g in gene_names]
    every = pair_labels(names, pairs)
    by_type: dict = {}
    for a, b in pairs:
        kind = types.get(f"{a}|{b}", types.get(f"{b}|{a}"))
        if kind is None:
            raise ParameterError(f"truth: pair '{a}|{b}' has no entry in truth['types']")
        by_type.setdefault(kind, []).append((a, b))
    return every, {k: pair_labels(names, v) for k, v in by_type.items()}


def _per_type(metric, scores, gene_names, truth) -> dict:
    """``{type: metric(y, scores)}`` over the true pairs of that type plus every false pair."""
    every, by_type = _type_labels(gene_names, truth)
    v, _ = upper_pairs(scores, every)
    iu = np.triu_indices(len(every), 1)
    false = ~every[iu]
    out = {}
    for kind, lab in by_type.items():
        keep = false | lab[iu]  # drop the true pairs of the other types
        y = lab[iu][keep]
        out[kind] = float(metric(y, v[keep])) if (y.any() and not y.all()) else float("nan")
    return out


def per_type_ap(scores, gene_names, truth) -> dict:
    """AP per interaction type: the true pairs of one type ranked against all false pairs.

    ``truth``: the simulation's truth dict (``pairs`` and ``types``: "max",
    "sqdiff", "product"). Returns ``{type: AP}`` (NaN for a type with no false pair left).
    """
    from sklearn.metrics import average_precision_score

    return _per_type(average_precision_score, scores, gene_names, truth)


def per_type_auroc(scores, gene_names, truth) -> dict:
    """AUROC per interaction type (true pairs of one type vs all false pairs)."""
    from sklearn.metrics import roc_auc_score

    return _per_type(roc_auc_score, scores, gene_names, truth)
