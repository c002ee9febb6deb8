"""Cross-validated architecture comparison (paper B; docs/method.md#architecture-comparison).

* :func:`make_splits` - R repeats of stratified k-fold (sklearn ``RepeatedStratifiedKFold``
  with a recorded seed); the SAME splits serve every model of a comparison.
* :func:`compare` - the networks (logreg, biosparse, dense, linear, ensemble: ONE batched
  training run over all splits) and the additive baselines (l2, l1 on the per-gene features;
  l2-snps, l1-snps on every SNP's dosage) on the same splits;
  ROC AUC per split, mean +- sd, parameter counts, corrected resampled t-tests.
* :func:`learning_curve` - the same comparison on nested stratified random subsets
  (paper B, Fig. 2).
* :func:`sparsity_sweep` - biosparse networks with 25/50/75/100 % of the genes connected,
  pathway or random wiring, and the fully connected (dense) network (paper B, Figs. 4-5),
  all in ONE batched run on the same splits.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from typing import Optional, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold

from gxapp import execute
from gxapp.data.cohort import Cohort
from gxapp.data.io.gmt import restrict_pathways
from gxapp.epistasis import additive
from gxapp.epistasis import models as M
from gxapp.epistasis.features import binary_phenotype, gene_features, snp_dosages
from gxapp.epistasis.results import (
    ComparisonResult,
    LearningCurve,
    SweepResult,
    corrected_ttest,
    model_result,
)
from gxapp.epistasis.train import EpiTrainConfig, FitResult, RowGroup, fit_networks
from gxapp.errors import ParameterError
from gxapp.params import check_int
from gxapp.progress import check_cancel, publish, report, sub_progress

NETWORKS = ("logreg", "biosparse", "dense", "linear", "ensemble")
SNP_MODELS = tuple(additive.SNP_MODELS)  # the dosage-level baselines (docs/method.md#additive-baselines)
ADDITIVE = ("l2", "l1") + SNP_MODELS
MODELS = NETWORKS + ADDITIVE
WIRINGS = ("pathway", "random")
# Paper B found random wiring as good as KEGG pathways: without gene sets, "pathway" wiring runs as
# random wiring (same number of neurons and connections rule) and every result says so.
NO_PATHWAYS_NOTE = (
    "no gene sets (GMT) loaded: the pathway-wired networks use random wiring instead, with as many "
    "neurons (genes / 10) — paper B found random wiring as good as KEGG pathways; load a GMT file for "
    "pathway neurons"
)
DEFAULT_MODELS = ("logreg", "biosparse", "dense", "linear", "l2")
# Per-gene principal components added to the SNP summary of cohorts without annotated variants
# (features.gene_pcs; docs/method.md#gene-centric-encoding). 3: over 1000G EUR and a coalescent
# cohort x 2 seeds (GWAS-like trait), mean AUC change vs the bins alone l1 +0.049, biosparse +0.038,
# logreg +0.005 (5 PCs: +0.047 / +0.039 / +0.014); bench/README.md, "Gene PCs".
DEFAULT_GENE_PCS = 3

__all__ = [
    "compare",
    "compare_arrays",
    "learning_curve",
    "sparsity_sweep",
    "make_splits",
    "corrected_ttest",
    "ComparisonResult",
    "LearningCurve",
    "SweepResult",
    "MODELS",
    "NETWORKS",
    "ADDITIVE",
    "SNP_MODELS",
    "WIRINGS",
]


# ------------------------------------------------------------------ checks


def _int(name, v, lo):
    return check_int(name, v, lo)


def _check_models(models) -> list:
    if isinstance(models, str):
        models = (models,)
    models = list(dict.fromkeys(models))
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ParameterError(
            f"models: unknown model name(s) {unknown!r}; valid names are {', '.join(MODELS)}"
            if unknown
            else f"models: give at least one of {', '.join(MODELS)}"
        )
    return models


def _check_wiring(wiring) -> str:
    if wiring not in WIRINGS:
        raise ParameterError(f"wiring: expected one of {WIRINGS}, got {wiring!r}")
    return wiring


# ------------------------------------------------------------------ splits


def make_splits(y: np.ndarray, folds: int = 3, repeats: int = 10, seed: int = 0) -> list:
    """``[(repeat, fold, train_idx, test_idx)]`` from ``RepeatedStratifiedKFold(folds, repeats,
    random_state=seed)`` in its order. Raises ParameterError when a test fold would lack cases
    or controls (suggesting a lower k)."""
    folds = _int("folds", folds, 2)
    repeats = _int("repeats", repeats, 1)
    _int("seed", seed, 0)
    y = np.asarray(y)
    n_case, n_ctrl = int((y == 1).sum()), int((y == 0).sum())
    if min(n_case, n_ctrl) < folds:
        which = "cases" if n_case < n_ctrl else "controls"
        raise ParameterError(
            f"folds: {folds}-fold CV leaves a fold without {which} ({n_case} cases, {n_ctrl} controls); "
            f"use a lower k (at most {max(2, min(n_case, n_ctrl))}) or more samples"
        )
    rskf = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    out = []
    for i, (tr, te) in enumerate(rskf.split(np.zeros(len(y)), y)):
        r, f = divmod(i, folds)
        for rows, what in ((te, "test"), (tr, "training")):
            yy = y[rows]
            if (yy == 1).sum() == 0 or (yy == 0).sum() == 0:
                lack = "cases" if (yy == 1).sum() == 0 else "controls"
                raise ParameterError(
                    f"folds: fold {f + 1} of repeat {r + 1} has no {lack} in its {what} rows; use a lower k "
                    "or more samples"
                )
        out.append((r, f, np.sort(tr), np.sort(te)))
    return out


# ------------------------------------------------------------------ wiring


def _pathway_neurons(genes, pathways: Optional[dict], cohort_pathways: Optional[dict], needed: bool):
    """Restricted pathways (or None) and a report; GeneMappingError when a given GMT matches none."""
    pw = pathways if pathways is not None else cohort_pathways
    if not pw:  # pathway wiring then falls back to random wiring (NO_PATHWAYS_NOTE)
        return None, None
    src = "the given pathways" if pathways is not None else "the cohort's pathways"
    return restrict_pathways(pw, genes, source=src)


def _n_neurons(pw: Optional[dict], genes, n_neurons: Optional[int]) -> int:
    if n_neurons is not None:
        return _int("n_neurons", n_neurons, 1)
    if pw:
        covered = {g for v in pw.values() for g in v}
        return len(pw) + (1 if any(g not in covered for g in genes) else 0)
    return max(2, int(round(len(genes) / 10)))


def _wiring(kind: str, genes, pw, P: int, connected: float, seed: int):
    """(wiring, n_neurons, neuron_names) for one biosparse network."""
    if kind == "pathway":
        w, names = M.pathway_wiring(genes, pw, connected, seed=np.random.default_rng([seed, 11]))
        return w, len(names), names
    w = M.random_wiring(len(genes), P, connected, seed=np.random.default_rng([seed, 13, int(round(connected * 1e6))]))
    return w, P, None


# ------------------------------------------------------------------ evaluation


def _auc(y, p) -> float:
    return float(roc_auc_score(y, p))


def _network_aucs(specs, groups, test_prob, y, names_to_specs: dict, js) -> dict:
    """name -> per-split AUCs over groups ``js`` (``test_prob[j]``: (S, n_test) of group j); an
    ensemble averages its members' probabilities."""
    index = {s.name: i for i, s in enumerate(specs)}
    out = {}
    for name, spec_names in names_to_specs.items():
        ids = [index[n] for n in spec_names]
        out[name] = [_auc(y[groups[j].test], test_prob[j][ids].mean(0)) for j in js]
    return out


def fit_through_executor(X, y, groups, specs, config, progress=None, cancel=None, on_groups_done=None) -> FitResult:
    """:func:`fit_networks` with the cross-validation folds spread over the current executor's
    workers (docs/scale-out.md): one chunk of folds × heads per worker (in this process: one
    chunk, as before). Every network's seeds are its fold's and its spec's, so the result
    does not depend on how the folds were split. ``on_groups_done(js, probs)``: as in
    :func:`fit_networks` — in this process as each group stops, on workers as each chunk comes back."""
    ex = execute.current()
    n = max(1, min(len(groups), ex.n_workers)) if ex.kind != "local" else 1
    parts = [list(map(int, p)) for p in np.array_split(np.arange(len(groups)), n)]
    shared = dict(X=X, y=y, groups=list(groups), specs=list(specs), config=config)
    if ex.kind == "local" and on_groups_done is not None:  # same process: the hook goes along
        shared["on_groups_done"] = on_groups_done
    stage = f"training {len(groups) * len(specs)} networks ({len(groups)} CV splits × {len(specs)} architectures)"
    fits = [None] * n
    for i, fit in ex.map(fit_chunk, parts, shared=shared, progress=progress, cancel=cancel, stage=stage):
        fits[i] = fit
        if on_groups_done is not None and "on_groups_done" not in shared:
            on_groups_done(parts[i], fit.test_prob)
    return fits[0] if n == 1 else merge_fits(fits)


def fit_chunk(shared: dict, group_ids: list, progress=None, cancel=None) -> FitResult:
    """Some folds of a comparison, every head (a task of the executor seam)."""
    s = shared
    groups = [copy.copy(s["groups"][i]) for i in group_ids]
    hook = s.get("on_groups_done")
    done = None if hook is None else (lambda js, probs: hook([group_ids[j] for j in js], probs))
    return fit_networks(
        s["X"], s["y"], groups, s["specs"], s["config"], progress=progress, cancel=cancel, on_groups_done=done
    )


def merge_fits(fits: list) -> FitResult:
    """One :class:`FitResult` from chunks of folds (in fold order)."""
    E = max(f.val_curve.shape[0] for f in fits)
    curves = []
    for f in fits:
        pad = np.full((E - f.val_curve.shape[0],) + f.val_curve.shape[1:], np.nan)
        curves.append(np.concatenate([f.val_curve, pad], axis=0))
    return FitResult(
        specs=fits[0].specs,
        groups=[g for f in fits for g in f.groups],
        test_prob=[p for f in fits for p in f.test_prob],
        best_epoch=np.concatenate([f.best_epoch for f in fits], axis=0),
        epochs_run=max(f.epochs_run for f in fits),
        val_curve=np.concatenate(curves, axis=1),
        seconds=sum(f.seconds for f in fits),
        n_steps=sum(f.n_steps for f in fits),
    )


def _run(X, y, genes, classes, models, splits, **kw) -> ComparisonResult:
    """The comparison on arrays, every row (shared by compare / sparsity_sweep)."""
    return _run_subsets(X, y, genes, classes, models, [(None, splits)], **kw)[0]


def _run_subsets(
    X,
    y,
    genes,
    classes,
    models,
    parts,
    *,
    wiring,
    sparsity,
    seed,
    pathways,
    cohort_pathways,
    config,
    dense_hidden,
    ensemble_size,
    n_neurons,
    additive_cs,
    progress,
    cancel,
    extra_specs=None,
    dosages=None,
    on_part=None,
) -> list:
    """One comparison per part ``(rows, splits)`` (rows None: every row; splits index into the
    part's rows), the networks of EVERY part trained as one batched model (a learning curve's
    sizes x folds x heads: one run, docs/method.md#learning-curve). Part i's groups are keyed
    ``(i, repeat, fold)``, so a part trained alone is the same computation. ``on_part(i, result)``:
    called with part i's comparison so far — after its additive baselines (fitted first), and again
    when all its networks have stopped — so a learning curve is drawn size by size."""
    t0 = time.perf_counter()
    G, C = X.shape[1], X.shape[2]
    nets = [m for m in models if m in NETWORKS]
    adds = [m for m in models if m in ADDITIVE]
    needs_pw = wiring == "pathway" and any(m in ("biosparse", "linear") for m in nets)
    pw, pw_report = _pathway_neurons(genes, pathways, cohort_pathways, needs_pw)
    note = None
    if needs_pw and pw is None:
        wiring, note = "random", NO_PATHWAYS_NOTE
    P = _n_neurons(pw, genes, n_neurons)
    H = _int("dense_hidden", dense_hidden, 1) if dense_hidden is not None else P
    specs, groups_of = [], {}
    settings = {
        "wiring": wiring,
        "sparsity": sparsity,
        "n_neurons": P,
        "dense_hidden": H,
        "train": asdict(config),
        "additive_Cs": list(additive_cs),
    }
    if pw_report is not None:
        settings["pathways"] = {k: pw_report[k] for k in ("n_pathways_kept", "n_genes_matched", "n_genes_unmatched")}
    if note:
        settings["wiring_note"] = note
    if nets:
        wire, Pw, names = (
            _wiring(wiring, genes, pw, P, sparsity, seed)
            if any(m in ("biosparse", "linear") for m in nets)
            else (None, P, None)
        )
        for m in nets:
            if m == "logreg":
                sp = [M.logreg_spec("logreg")]
            elif m == "dense":
                sp = [M.dense_spec(H, "dense")]
            elif m in ("biosparse", "linear"):
                sp = [M.sparse_spec(wire, Pw, name=m, linear=(m == "linear"), neuron_names=names)]
            else:
                sp = M.ensemble_specs("ensemble", ensemble_size, G, P, sparsity, seed=seed)
            specs += sp
            groups_of[m] = [s.name for s in sp]
    for name, sp in (extra_specs or {}).items():
        specs += sp
        groups_of[name] = [s.name for s in sp]
    order = list(groups_of) + adds if extra_specs else models
    all_rows = np.arange(len(y))
    part_rows = [all_rows if rows is None else np.asarray(rows, np.int64) for rows, _ in parts]
    part_groups = [
        [RowGroup(key=(i, r, f), train=rows[tr], test=rows[te]) for r, f, tr, te in splits]
        for i, (rows, (_, splits)) in enumerate(zip(part_rows, parts))
    ]
    results = [{} for _ in parts]
    all_groups = [g for gs in part_groups for g in gs]
    js_of = []  # part -> its groups' indices in all_groups
    for gs in part_groups:
        start = sum(len(j) for j in js_of)
        js_of.append(list(range(start, start + len(gs))))

    def comparison(i: int) -> ComparisonResult:
        """Part i with the models finished so far (in the asked order)."""
        rows, (_, splits) = part_rows[i], parts[i]
        yy = y[rows]
        part_settings = dict(settings)
        if fit is not None:
            part_settings["train_seconds"] = fit.seconds
            if len(parts) > 1:
                part_settings["trained_with_sizes"] = len(parts)  # one batched run for every size
        return ComparisonResult(
            models={name: results[i][name] for name in order if name in results[i]},
            splits=[(s[0], s[1]) for s in splits],
            folds=1 + max(s[1] for s in splits),
            repeats=1 + max(s[0] for s in splits),
            seed=seed,
            n_samples=int(len(yy)),
            n_cases=int((yy == 1).sum()),
            n_controls=int((yy == 0).sum()),
            n_train=float(np.mean([len(s[2]) for s in splits])),
            n_test=float(np.mean([len(s[3]) for s in splits])),
            n_genes=G,
            classes=list(classes),
            settings=part_settings,
            seconds=time.perf_counter() - t0,
        )

    # the additive baselines first (seconds): a learning curve draws them at once (docs/method.md#learning-curve)
    fit = None
    steps = [(i, m) for i in range(len(parts)) for m in adds]
    share = 0.1 if specs else 1.0
    for k, (i, m) in enumerate(steps):
        check_cancel(cancel)
        lo, hi = share * k / len(steps), share * (k + 1) / len(steps)
        if m in additive.SNP_MODELS:  # dosages: from the cohort (_prepare) or checked in compare_arrays
            xa, penalty, n_par = dosages, additive.SNP_MODELS[m], dosages.shape[1] + 1
        else:
            xa, penalty, n_par = X, m, additive.n_params(G, C)
        gs = part_groups[i]
        probs, cs = additive.fit_additive(xa, y, gs, penalty, additive_cs, seed, sub_progress(progress, lo, hi), cancel)
        aucs = [_auc(y[g.test], p) for g, p in zip(gs, probs)]
        details = {"C": cs} if xa is X else {"C": cs, "n_snps": int(xa.shape[1])}
        results[i][m] = model_result(m, "additive", aucs, n_par, details)
        if on_part is not None and (k + 1 == len(steps) or steps[k + 1][0] != i):
            on_part(i, comparison(i))
    if specs:
        by_name = {s.name: s for s in specs}
        index = {s.name: i for i, s in enumerate(specs)}
        n_par = {name: sum(M.n_params(by_name[s], G, C) for s in members) for name, members in groups_of.items()}
        collected, shown = {}, set()

        def groups_done(js, probs) -> None:
            """A part whose every fold has stopped is drawn before the larger sizes finish."""
            collected.update(zip(js, probs))
            for i, pj in enumerate(js_of):
                if i in shown or any(j not in collected for j in pj):
                    continue
                shown.add(i)
                aucs = _network_aucs(specs, all_groups, collected, y, groups_of, pj)
                for name, members in groups_of.items():
                    results[i][name] = model_result(
                        name, "network", aucs[name], n_par[name], {"n_networks": len(members)}
                    )
                on_part(i, comparison(i))

        fit = fit_through_executor(
            X,
            y,
            all_groups,
            specs,
            config,
            progress=sub_progress(progress, 1.0 - share if adds else 0.0, 1.0),
            cancel=cancel,
            on_groups_done=groups_done if on_part is not None else None,
        )
        for i, js in enumerate(js_of):
            aucs = _network_aucs(specs, fit.groups, fit.test_prob, y, groups_of, js)
            for name, members in groups_of.items():
                be = fit.best_epoch[np.ix_(js, [index[s] for s in members])]
                details = {
                    "best_epoch_mean": float(be.mean()),
                    "epochs_run": fit.epochs_run,
                    "n_networks": len(members),
                }
                s0 = by_name[members[0]]
                if s0.head == "sparse":
                    details["n_connections"] = int(np.mean([by_name[s].n_connections for s in members]))
                    details["n_neurons"] = int(np.mean([len(by_name[s].used_neurons()) for s in members]))
                if s0.head == "dense":
                    details["n_hidden"] = s0.n_neurons
                results[i][name] = model_result(name, "network", aucs[name], n_par[name], details)
    report(progress, 1.0, "comparison done")
    return [comparison(i) for i in range(len(parts))]


def _prepare(cohort: Cohort, source: str, models=(), gene_pcs: int = 0):
    """(features, y, genes, classes, dosages) of the rows with a phenotype; dosages only when a
    dosage-level baseline is asked for (else None); ``gene_pcs`` per-gene principal components
    added to the SNP summary (features.gene_pcs)."""
    X, genes, classes = gene_features(cohort, source, pcs=gene_pcs)
    y = binary_phenotype(cohort)
    dos = snp_dosages(cohort)[0] if any(m in additive.SNP_MODELS for m in models) else None
    keep = np.isfinite(y)
    if not keep.all():
        X, y = X[keep], y[keep]
        dos = None if dos is None else dos[keep]
    return X, y, genes, classes, dos


def _check_settings(models, sparsity, wiring, config, seed) -> tuple:
    """(models, training config) after checking every comparison setting, before any work."""
    models = _check_models(models)
    M._check_connected(sparsity)
    _check_wiring(wiring)
    return models, _config(config, seed)


def _config(config, seed) -> EpiTrainConfig:
    cfg = config or EpiTrainConfig(seed=seed)
    if not isinstance(cfg, EpiTrainConfig):
        raise ParameterError(f"config: expected an EpiTrainConfig, got {type(cfg).__name__}")
    return cfg.validate()


# ------------------------------------------------------------------ public


def compare(
    cohort: Cohort,
    models: Sequence[str] = DEFAULT_MODELS,
    folds: int = 3,
    repeats: int = 10,
    sparsity: float = 1.0,
    wiring: str = "pathway",
    seed: int = 0,
    progress=None,
    cancel=None,
    *,
    pathways: Optional[dict] = None,
    source: str = "auto",
    config: Optional[EpiTrainConfig] = None,
    dense_hidden: Optional[int] = None,
    ensemble_size: int = 10,
    n_neurons: Optional[int] = None,
    additive_cs: Sequence[float] = additive.DEFAULT_CS,
    gene_pcs: int = DEFAULT_GENE_PCS,
) -> ComparisonResult:
    """Compare architectures by R x k stratified CV with identical splits (paper B, Table 1).

    models: any of ``MODELS`` ("logreg", "biosparse", "dense", "linear", "ensemble", "l2",
    "l1"). sparsity: fraction of genes connected in biosparse / linear / ensemble networks,
    in (0, 1]. wiring: "pathway" (the cohort's GMT, or ``pathways``) or "random" (same number
    of neurons and connections). dense_hidden: hidden width of the dense head (default: the
    number of pathway neurons, the paper's "fully connected" layer). ensemble_size: K random
    wirings averaged. config: training settings (EpiTrainConfig; its seed is used for the
    networks, ``seed`` for the splits and wirings). gene_pcs: SNP cohorts (no annotated variants):
    each gene's first K principal components beside its MAF-bin sums (features.gene_pcs; 0: the
    bins only). Missing phenotypes are dropped."""
    models, cfg = _check_settings(models, sparsity, wiring, config, seed)
    X, y, genes, classes, dos = _prepare(cohort, source, models, gene_pcs)
    return _compare_checked(
        X,
        y,
        genes,
        classes,
        models,
        folds,
        repeats,
        sparsity,
        wiring,
        seed,
        progress,
        cancel,
        pathways=pathways,
        cohort_pathways=cohort.pathways,
        config=cfg,
        dense_hidden=dense_hidden,
        ensemble_size=ensemble_size,
        n_neurons=n_neurons,
        additive_cs=additive_cs,
        dosages=dos,
    )


def compare_arrays(
    X: np.ndarray,
    y: np.ndarray,
    genes: Sequence[str],
    classes: Sequence[str],
    models: Sequence[str] = DEFAULT_MODELS,
    folds: int = 3,
    repeats: int = 10,
    sparsity: float = 1.0,
    wiring: str = "pathway",
    seed: int = 0,
    progress=None,
    cancel=None,
    *,
    pathways: Optional[dict] = None,
    config: Optional[EpiTrainConfig] = None,
    dense_hidden: Optional[int] = None,
    ensemble_size: int = 10,
    n_neurons: Optional[int] = None,
    additive_cs: Sequence[float] = additive.DEFAULT_CS,
    dosages: Optional[np.ndarray] = None,
) -> ComparisonResult:
    """:func:`compare` on arrays: ``X`` (N, G, C) per-gene counts of each class (raw; they are
    standardised per training fold), ``y`` (N,) case/control as 0/1, ``genes`` the G gene names
    (matched to ``pathways``), ``classes`` the C class names; ``dosages`` (N, P) SNP dosages for
    the "l2-snps" / "l1-snps" baselines. Same models, splits and outputs."""
    X = np.asarray(X)
    y = np.asarray(y, dtype=float)
    if X.ndim != 3 or X.shape[1] != len(genes) or X.shape[2] != len(classes):
        raise ParameterError(f"X: expected shape (N, {len(genes)} genes, {len(classes)} classes), got {X.shape}")
    if y.shape != (X.shape[0],) or not np.isin(y, (0.0, 1.0)).all() or len(np.unique(y)) < 2:
        raise ParameterError(f"y: expected {X.shape[0]} case/control values 0/1 with both classes present")
    models, cfg = _check_settings(models, sparsity, wiring, config, seed)
    if dosages is None and any(m in SNP_MODELS for m in models):  # say so before any network trains
        raise ParameterError(
            f"dosages: {', '.join(m for m in models if m in SNP_MODELS)} fit every SNP's dosage; pass dosages=(N, P)"
        )
    if dosages is not None:
        dosages = np.asarray(dosages, dtype=np.float32)
        if dosages.ndim != 2 or dosages.shape[0] != X.shape[0] or not np.isfinite(dosages).all():
            raise ParameterError(
                f"dosages: expected a finite (N={X.shape[0]}, P) array of SNP dosages (impute missing values), "
                f"got shape {dosages.shape}"
            )
    return _compare_checked(
        X,
        y,
        list(genes),
        list(classes),
        models,
        folds,
        repeats,
        sparsity,
        wiring,
        seed,
        progress,
        cancel,
        pathways=pathways,
        cohort_pathways=None,
        config=cfg,
        dense_hidden=dense_hidden,
        ensemble_size=ensemble_size,
        n_neurons=n_neurons,
        additive_cs=additive_cs,
        dosages=dosages,
    )


def _compare_checked(
    X, y, genes, classes, models, folds, repeats, sparsity, wiring, seed, progress, cancel, **settings
) -> ComparisonResult:
    splits = make_splits(y, folds, repeats, seed)
    return _run(
        X,
        y,
        genes,
        classes,
        models,
        splits,
        wiring=wiring,
        sparsity=float(sparsity),
        seed=seed,
        progress=progress,
        cancel=cancel,
        **settings,
    )


def nested_subsets(y: np.ndarray, fractions: Sequence[float], seed: int = 0) -> dict:
    """fraction -> sorted rows: stratified random subsets, nested (a smaller fraction's rows are
    inside every larger one's)."""
    rng = np.random.default_rng([seed, 17])
    perms = {c: np.flatnonzero(y == c)[rng.permutation(int((y == c).sum()))] for c in (0.0, 1.0)}
    out = {}
    for f in fractions:
        rows = np.concatenate([p[: int(round(f * p.size))] for p in perms.values()])
        out[f] = np.sort(rows)
    return out


def learning_curve(
    cohort: Cohort,
    fractions: Sequence[float] = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0),
    models: Sequence[str] = ("biosparse", "linear", "l2"),
    folds: int = 3,
    repeats: int = 10,
    seed: int = 0,
    progress=None,
    cancel=None,
    **kw,
) -> LearningCurve:
    """The comparison on nested stratified random subsets of the samples (paper B, Fig. 2);
    within each subset, the same R x k CV splits serve every model. ``kw``: as :func:`compare`."""
    fr = [float(f) for f in fractions]
    if not fr or any(not np.isfinite(f) or not 0 < f <= 1 for f in fr):
        raise ParameterError(f"fractions: expected fractions of the samples in (0, 1], got {list(fractions)!r}")
    fr = sorted(set(fr))
    models, cfg = _check_settings(
        models, kw.get("sparsity", 1.0), kw.get("wiring", "pathway"), kw.pop("config", None), seed
    )
    source = kw.pop("source", "auto")
    X, y, genes, classes, dos = _prepare(cohort, source, models, kw.pop("gene_pcs", DEFAULT_GENE_PCS))
    subsets = nested_subsets(y, fr, seed)
    parts = []
    for f in fr:
        rows = subsets[f]
        try:
            parts.append((rows, make_splits(y[rows], folds, repeats, seed)))
        except ParameterError as exc:
            raise ParameterError(f"fractions: at {f:g} of the samples ({rows.size} rows): {exc}") from None
    # every size's baselines, then every size's networks in ONE batched run (sizes x folds x heads);
    # a watcher of ``progress`` (a background job) gets the curve drawn so far as each size finishes
    shown = {}

    def on_part(i: int, res: ComparisonResult) -> None:
        shown[fr[i]] = res
        publish(progress, LearningCurve(fractions=[f for f in fr if f in shown], results=dict(shown), seed=seed))

    done = _run_subsets(
        X,
        y,
        genes,
        classes,
        models,
        parts,
        wiring=kw.get("wiring", "pathway"),
        sparsity=float(kw.get("sparsity", 1.0)),
        seed=seed,
        pathways=kw.get("pathways"),
        cohort_pathways=cohort.pathways,
        config=cfg,
        dense_hidden=kw.get("dense_hidden"),
        ensemble_size=kw.get("ensemble_size", 10),
        n_neurons=kw.get("n_neurons"),
        additive_cs=kw.get("additive_cs", additive.DEFAULT_CS),
        progress=progress,
        cancel=cancel,
        dosages=dos,
        on_part=on_part if getattr(progress, "publish", None) is not None else None,
    )
    results = dict(zip(fr, done))
    report(progress, 1.0, "learning curve done")
    return LearningCurve(fractions=fr, results=results, seed=seed)


def sparsity_sweep(
    cohort: Cohort,
    degrees: Sequence[float] = (0.25, 0.5, 0.75, 1.0),
    wiring=("random", "pathway"),
    folds: int = 3,
    repeats: int = 10,
    seed: int = 0,
    include_dense: bool = True,
    progress=None,
    cancel=None,
    *,
    pathways: Optional[dict] = None,
    source: str = "auto",
    config: Optional[EpiTrainConfig] = None,
    n_neurons: Optional[int] = None,
    baselines: Sequence[str] = (),
    gene_pcs: int = DEFAULT_GENE_PCS,
) -> SweepResult:
    """Biosparse networks with ``degrees`` of the genes connected, for each wiring, and the fully
    connected network (dense, hidden width = number of pathway neurons): one batched run on the
    same splits (paper B, Figs. 4-5). Names: "random@25%", "pathway@100%", "dense"."""
    wirings = [wiring] if isinstance(wiring, str) else list(dict.fromkeys(wiring))
    if not wirings:
        raise ParameterError(f"wiring: give at least one of {WIRINGS}")
    for w in wirings:
        _check_wiring(w)
    degs = [M._check_connected(d) for d in degrees]
    if not degs:
        raise ParameterError("degrees: give at least one fraction of genes connected in (0, 1]")
    adds = _check_models(baselines) if baselines else []
    if any(a not in ADDITIVE for a in adds):
        raise ParameterError(f"baselines: expected a subset of {ADDITIVE}")
    cfg = _config(config, seed)
    X, y, genes, classes, dos = _prepare(cohort, source, adds, gene_pcs)
    pw, _ = _pathway_neurons(genes, pathways, cohort.pathways, "pathway" in wirings)
    sweep_note = None
    if pw is None and "pathway" in wirings:  # no gene sets: the pathway-wired curve cannot be drawn
        wirings = [w for w in wirings if w != "pathway"] or ["random"]
        sweep_note = (
            "no gene sets (GMT) loaded: the sweep shows random wiring only (paper B found random wiring as good "
            "as KEGG pathways); load a GMT file for the pathway-wired curve"
        )
    P = _n_neurons(pw, genes, n_neurons)
    splits = make_splits(y, folds, repeats, seed)
    extra, rows = {}, []
    for w in wirings:
        for d in sorted(set(degs)):
            name = f"{w}@{d * 100:g}%"
            wire, Pw, names = _wiring(w, genes, pw, P, d, seed)
            extra[name] = [M.sparse_spec(wire, Pw, name=name, neuron_names=names)]
            rows.append({"model": name, "wiring": w, "degree": d})
    if include_dense:
        extra["dense"] = [M.dense_spec(P, "dense")]
        rows.append({"model": "dense", "wiring": "fully connected", "degree": None})
    res = _run(
        X,
        y,
        genes,
        classes,
        adds,
        splits,
        wiring="random",
        sparsity=1.0,
        seed=seed,
        pathways=pathways,
        cohort_pathways=cohort.pathways,
        config=cfg,
        dense_hidden=P,
        ensemble_size=1,
        n_neurons=P,
        additive_cs=additive.DEFAULT_CS,
        progress=progress,
        cancel=cancel,
        extra_specs=extra,
        dosages=dos,
    )
    if sweep_note:
        res.settings["wiring_note"] = sweep_note
    for a in adds:
        rows.append({"model": a, "wiring": "additive", "degree": None})
    for r in rows:
        m = res.models[r["model"]]
        r.update(
            {
                "n_connections": m.details.get("n_connections"),
                "n_params": m.n_params,
                "auc_mean": m.auc_mean,
                "auc_sd": m.auc_sd,
            }
        )
    return SweepResult(table_rows=rows, comparison=res)
