"""Which head can express which epistasis type (paper B, Fig. 3) - decision surfaces.

For two genes with "hit" states h1, h2 in {0, 1} (the gene neurons, seen with a little
noise: ``x = h + N(0, noise^2)``), the log-odds of being a case are (``e`` = effect):

=============  ========================================  ==========================================
type           log-odds (+ intercept)                    expressible by
=============  ========================================  ==========================================
additive       ``e (h1 + h2)``                          logreg, biosparse, dense
positive       ``2e h1 h2`` (risk only when both hit)   biosparse (tanh of a sum saturates), dense
negative       ``-2e h1 h2`` (protection when both)     biosparse, dense
reciprocal     ``2e XOR(h1, h2)`` (each alone raises    dense only (needs >= 2 hidden neurons:
               risk, together they do not)              tanh is monotone, so one neuron cannot)
=============  ========================================  ==========================================

Heads fitted on (x1, x2) as the gene neurons: **logreg** ``sigma(w.x + b)`` (additive
log-odds); **biosparse** with both genes in ONE pathway neuron ``sigma(v tanh(w.x + c) + b)``;
**dense** ``sigma(v . tanh(W x + c) + b)`` with 4 hidden neurons. Each is fitted by
full-batch Adam on the binary cross-entropy (best of a few restarts).

:func:`decision_surfaces` returns the fitted probability on a grid (``grid``: columns type,
head, x, y, p; head "truth" is the generating model) and a ``summary`` (type, head, AUC on
the toy data, log-loss, largest error against the true probabilities and log-odds of the four
states, ``expresses`` = log-odds error < 1). The distinction is on the log-odds scale: with
a strong effect, an additive model can still RANK a positive-epistasis toy almost perfectly
(probabilities saturate), but it cannot give the three non-risk states the same log-odds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from gxapp.errors import ParameterError
from gxapp.nn.threads import torch_threads
from gxapp.params import check_int

TYPES = ("additive", "positive", "negative", "reciprocal")
HEADS = ("logreg", "biosparse", "dense")
DENSE_HIDDEN = 4
EXPRESS_TOLERANCE = 1.0  # log-odds; a missing interaction of size 2e errs by >= e/2


def _eta(kind: str, h1, h2, effect: float):
    if kind == "additive":
        e = effect * (h1 + h2)
    elif kind == "positive":
        e = 2 * effect * h1 * h2
    elif kind == "negative":
        e = -2 * effect * h1 * h2
    elif kind == "reciprocal":
        e = 2 * effect * (h1 + h2 - 2 * h1 * h2)
    else:
        raise ParameterError(f"types: expected a subset of {TYPES}, got {kind!r}")
    return e


def _state_eta(kind: str, effect: float) -> np.ndarray:
    """Log-odds of the 4 states (00, 01, 10, 11), centred so the 4 states average to p = 0.5
    on the log-odds scale (balanced toy data)."""
    h = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    e = _eta(kind, h[:, 0], h[:, 1], effect)
    return e - (e.max() + e.min()) / 2


def toy_data(kind: str, n: int = 2000, effect: float = 3.0, noise: float = 0.1, seed: int = 0):
    """``(x (n, 2) float32, y (n,) 0/1, p_true (n,))`` for one epistasis type."""
    rng = np.random.default_rng([seed, TYPES.index(kind) if kind in TYPES else 99])
    _state_eta(kind, effect)  # validates kind
    h = rng.integers(0, 2, size=(n, 2)).astype(float)
    state = (2 * h[:, 0] + h[:, 1]).astype(int)
    p = expit(_state_eta(kind, effect)[state])
    y = (rng.random(n) < p).astype(float)
    x = h + noise * rng.standard_normal((n, 2))
    return x.astype(np.float32), y, p


def _init(head: str, gen: torch.Generator, k: int) -> list:
    """Weights of ``k`` restarts (leading dimension), U(-1, 1)."""

    def u(*shape, b=1.0):
        return ((torch.rand((k,) + shape, generator=gen) * 2 - 1) * b).requires_grad_()

    if head == "logreg":
        return [u(2), u(1)]
    if head == "biosparse":
        return [u(2), u(1), u(1), u(1)]
    return [u(2, DENSE_HIDDEN), u(DENSE_HIDDEN), u(DENSE_HIDDEN, b=0.5), u(1)]


def _logits(head: str, p: list, x: torch.Tensor) -> torch.Tensor:
    """(k, n) logits of the k restarts."""
    if head == "logreg":
        return p[0] @ x.T + p[1]
    if head == "biosparse":
        return p[2] * torch.tanh(p[0] @ x.T + p[1]) + p[3]
    a = torch.tanh(torch.einsum("nc,kch->knh", x, p[0]) + p[1][:, None, :])
    return torch.einsum("knh,kh->kn", a, p[2]) + p[3]


def fit_head(
    head: str, x: np.ndarray, y: np.ndarray, seed: int = 0, steps: int = 300, lr: float = 0.08, restarts: int = 4
):
    """Fit one head on (x1, x2) by full-batch Adam on the cross-entropy, ``restarts`` random
    starts trained together (the one with the lowest final loss is kept); returns
    ``predict(x) -> p`` (numpy)."""
    if head not in HEADS:
        raise ParameterError(f"heads: expected a subset of {HEADS}, got {head!r}")
    xt = torch.from_numpy(np.asarray(x, np.float32))
    yt = torch.from_numpy(np.asarray(y, np.float32))
    k = 1 if head == "logreg" else int(restarts)
    gen = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, HEADS.index(head)]).generate_state(1)[0]))
    params = _init(head, gen, k)
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        z = _logits(head, params, xt)
        losses = torch.nn.functional.binary_cross_entropy_with_logits(z, yt.expand_as(z), reduction="none").mean(1)
        losses.sum().backward()
        opt.step()
    best = int(torch.argmin(losses.detach()))
    final = [p.detach()[best : best + 1].clone() for p in params]

    def predict(xx):
        with torch.no_grad():
            return torch.sigmoid(_logits(head, final, torch.from_numpy(np.asarray(xx, np.float32))))[0].numpy()

    return predict


@dataclass
class Surfaces:
    grid: pd.DataFrame  # type, head, x, y, p (head "truth": the generating model)
    summary: pd.DataFrame  # type, head, auc, log_loss, max_state_error, expresses
    effect: float
    noise: float

    def to_dict(self) -> dict:
        return {
            "grid": self.grid.to_dict(orient="list"),
            "summary": self.summary.to_dict(orient="records"),
            "effect": self.effect,
            "noise": self.noise,
        }


def decision_surfaces(
    types=TYPES,
    heads=HEADS,
    grid: int = 41,
    n: int = 2000,
    effect: float = 3.0,
    noise: float = 0.1,
    seed: int = 0,
    lo: float = -0.5,
    hi: float = 1.5,
) -> Surfaces:
    """Fit each head on a toy 2-gene data set of each epistasis type; return the decision
    surfaces on a ``grid`` x ``grid`` lattice of [lo, hi]^2 and a fit summary."""
    types = [types] if isinstance(types, str) else list(types)
    heads = [heads] if isinstance(heads, str) else list(heads)
    for t in types:
        if t not in TYPES:
            raise ParameterError(f"types: expected a subset of {TYPES}, got {t!r}")
    for h in heads:
        if h not in HEADS:
            raise ParameterError(f"heads: expected a subset of {HEADS}, got {h!r}")
    check_int("grid", grid, 2, 401)
    if not (np.isfinite(effect) and effect > 0) or not (np.isfinite(noise) and noise >= 0):
        raise ParameterError("effect must be > 0 and noise >= 0")
    axis = np.linspace(lo, hi, grid)
    gx, gy = np.meshgrid(axis, axis, indexing="xy")
    pts = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    states = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    rows, summary = [], []
    with torch_threads(1):  # tiny full-batch problems run fastest on one thread
        for t in types:
            x, y, p_true = toy_data(t, n, effect, noise, seed)
            st_p = expit(_state_eta(t, effect))
            ll_true = float(-np.mean(y * np.log(p_true) + (1 - y) * np.log(1 - p_true)))
            hp = (np.clip(np.rint(pts), 0, 1)).astype(int)
            truth = st_p[2 * hp[:, 0] + hp[:, 1]]
            rows.append(pd.DataFrame({"type": t, "head": "truth", "x": pts[:, 0], "y": pts[:, 1], "p": truth}))
            for h in heads:
                pred = fit_head(h, x, y, seed=seed)
                p_fit = pred(x)
                ps = np.clip(pred(states).astype(np.float64), 1e-9, 1 - 1e-9)
                err = float(np.abs(ps - st_p).max())
                lerr = float(np.abs(np.log(ps / (1 - ps)) - _state_eta(t, effect)).max())
                pf = np.clip(p_fit.astype(np.float64), 1e-9, 1 - 1e-9)
                ll = float(-np.mean(y * np.log(pf) + (1 - y) * np.log(1 - pf)))
                summary.append(
                    {
                        "type": t,
                        "head": h,
                        "auc": float(roc_auc_score(y, p_fit)),
                        "log_loss": ll,
                        "excess_log_loss": ll - ll_true,
                        "max_state_error": err,
                        "max_logodds_error": lerr,
                        "expresses": lerr < EXPRESS_TOLERANCE,
                    }
                )
                rows.append(pd.DataFrame({"type": t, "head": h, "x": pts[:, 0], "y": pts[:, 1], "p": pred(pts)}))
    return Surfaces(
        grid=pd.concat(rows, ignore_index=True), summary=pd.DataFrame(summary), effect=float(effect), noise=float(noise)
    )
