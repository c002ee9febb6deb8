"""Batched training of many paper-B networks at once (docs/method.md#architecture-comparison).

``fit_networks(X, y, groups, specs, cfg)`` trains every network spec (``S`` of them) on
every row group (``J``: CV folds x repeats, or subsets) as ONE batched model of ``R = J*S``
networks and returns each network's test-row probabilities.

Training (paper B, "Implementation details"): focal binary cross-entropy with
``gamma = 2`` and ``alpha`` = fraction of the minority class (the majority class is
weighted ``alpha``, the minority class ``1 - alpha``, i.e. a row of class c weighs
``1 - freq(c)`` in the fold's training rows; for paper B's cohort that is
``alpha = 480/3798`` on the cases, as in torchvision's ``sigmoid_focal_loss``); Adam,
lr 1e-3, batch 128, weight decay (coupled L2, as ``torch.optim.Adam(weight_decay=...)``),
dropout on the gene neurons and hidden neurons (not on the inputs, so that the inputs are
shared by the networks of a group).

Epoch budget and early stopping (the paper trains 20-75 epochs per architecture, chosen by
a grid search; we choose per network instead): each group's training rows are split once,
stratified, into fitting rows and an inner validation part (``val_fraction``, default 20 %);
after every epoch each network's focal loss on its validation rows is computed; a network
stops after ``patience`` epochs without improvement (or at ``max_epochs``) and its weights
of the best epoch are the ones used on the test rows. Test rows are never seen in training.

How the batch works
-------------------
* Networks are indexed ``r = j*S + s`` (group-major). Every weight has a leading model
  dimension. A step draws, for each group, the next ``batch_size`` of its own fitting rows
  (each group has its own shuffling generator), so a network sees exactly the minibatches it
  would see when trained alone. The S networks of a group share one read of those rows
  (one ``(cells, C) x (C, S*50)`` product per group and block of cells; groups are batched
  together when a group's block is too small to fill the cache budget).
  Folds do NOT share rows: a shared batch with per-fold row masks would spend ~47 % of the
  dominant gene-module FLOPs on rows a fold may not train on (test and inner-validation rows
  at 3-fold CV), so each fold reads only its own rows.
* Each fold's standardisation is folded into its networks' first layer
  (:func:`gxapp.epistasis.genemodule.effective_first_layer`): the raw counts are shared.
* The loss is the SUM over networks of each network's mean loss on its rows, so each
  network's gradient is its gradient alone. Adam runs elementwise on the stacked weights
  with a per-network step count; a network without rows in a step (its group ran out of
  batches) or stopped early is not updated.
* Speed (bench/epistasis_speed.py, 1 thread of the 2-core dev CPU): with 24 genes the
  batched run of 120 networks is ~3.7x faster than one network at a time (per-op overheads
  are shared); with 2,000 genes each network's gene module already saturates the core
  (~30 GFLOP/s), so batching buys nothing on a CPU (ratio ~0.9).
* Initial weights and dropout masks come from per-network generators seeded by (seed,
  group key, spec name): a network trained alone (``J = S = 1``) with the same group key and
  spec is the same computation (tests check it; equal up to float rounding).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from gxapp.epistasis import genemodule
from gxapp.epistasis.features import RowMoments
from gxapp.epistasis.models import HeadBank, NetSpec, head_forward, init_gene_module, init_head, stack_heads
from gxapp.errors import InputFormatError, ParameterError
from gxapp.nn.early_stopping import EarlyStopping
from gxapp.nn.memory import TrainingMemoryError, memory_errors  # noqa: F401 (re-exported)
from gxapp.nn.optim import ADAM_BETAS, ADAM_EPS, StackedAdam
from gxapp.nn.threads import torch_threads as _torch_threads
from gxapp.params import Integral, Interval, Params, Real
from gxapp.progress import check_cancel, report


@dataclass
class EpiTrainConfig(Params):
    """Optimisation settings (paper B where it gives them: batch 128, focal loss gamma 2; weight
    decay and dropout are used but their values are in the paper's supplementary grid, so ours are
    defaults to tune).

    ``lr`` 1e-2 and ``patience`` 10, not paper B's lr 1e-3 / patience 5: with at most 40 epochs of
    ~15-25 steps a cohort of a few thousand people got too few steps and every network stayed near
    AUC 0.5 (bench/README.md, "Epistasis training recipe": 200 genes x 4,000 people, logreg / biosparse
    / dense / linear 0.524 / 0.497 / 0.543 / 0.504 with paper B's values, 0.648 / 0.679 / 0.625 / 0.675
    with these; the 40-gene demo, 3 seeds: every network up by 0.01-0.05).

    ``threads`` None: every core but one (:func:`torch_threads` says why)."""

    lr: float = 1e-2
    batch_size: int = 128
    max_epochs: int = 40
    patience: int = 10
    val_fraction: float = 0.2
    weight_decay: float = 1e-4
    dropout: float = 0.1
    gamma: float = 2.0
    seed: int = 0
    threads: Optional[int] = None
    block_elements: int = genemodule.DEFAULT_BLOCK_ELEMENTS
    eval_bytes: int = 64 << 20

    _parameter_constraints = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "val_fraction": [Interval(Real, 0, 1, closed="neither")],
        "weight_decay": [Interval(Real, 0, None)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "gamma": [Interval(Real, 0, None)],
        **{
            name: [Interval(Integral, 1, None)]
            for name in ("batch_size", "max_epochs", "patience", "block_elements", "eval_bytes")
        },
        "seed": [Interval(Integral, 0, None)],
        "threads": [None, Interval(Integral, 1, None)],
    }
    EXECUTION_ONLY = ("threads",)


@dataclass
class RowGroup:
    """The rows one set of networks is trained and tested on (one CV split).

    key: ints that seed the group's shuffling, initialisations and dropout (e.g.
    (subset, repeat, fold)); train: training rows (fitting + inner validation); test: rows
    to predict. ``fit``/``val`` are filled by :func:`split_inner` when left None."""

    key: tuple
    train: np.ndarray
    test: np.ndarray
    fit: Optional[np.ndarray] = None
    val: Optional[np.ndarray] = None


@dataclass
class FitResult:
    """Outputs of :func:`fit_networks` (spec order = the order given)."""

    specs: list
    groups: list
    test_prob: list  # per group: float64 (S, n_test) probabilities of being a case
    best_epoch: np.ndarray  # (J, S) 1-based epoch whose weights were kept
    epochs_run: int
    val_curve: np.ndarray  # (epochs, J, S) inner-validation focal loss
    seconds: float
    n_steps: int = 0
    meta: dict = field(default_factory=dict)


# ---------------------------------------------------------------- helpers


def torch_threads(n: Optional[int]):
    """Paper B's thread limit: ``n`` threads, or every core this process may use but one, as paper
    A's trainer. Measured on the 2-core machine (bench/README.md "Learning curve"): the demo's
    learning curve took 18.1 s with 2 threads vs 19.7 s with 1 beside one other busy process, but
    57.7 s vs 20.8 s beside two (torch's threads wait for each other at every small step when a
    core is taken) — and the app's server always wants a core."""
    return _torch_threads(n, spare=1)


def _seed(*parts) -> int:
    ints = [p if isinstance(p, (int, np.integer)) else zlib.crc32(str(p).encode()) for p in parts]
    return int(np.random.SeedSequence([int(i) for i in ints]).generate_state(1, np.uint64)[0] >> 1)


def split_inner(y: np.ndarray, train: np.ndarray, val_fraction: float, seed: int, key: tuple):
    """Stratified split of ``train`` into (fit, val) sorted row indices."""
    rng = np.random.default_rng(_seed(seed, *key, "inner"))
    fit, val = [], []
    for c in (0.0, 1.0):
        rows = train[y[train] == c]
        rows = rows[rng.permutation(rows.size)]
        k = int(round(val_fraction * rows.size))
        if rows.size >= 2:
            k = min(max(k, 1), rows.size - 1)
        else:
            k = 0
        val.append(rows[:k])
        fit.append(rows[k:])
    fit, val = np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))
    if fit.size == 0 or val.size == 0:
        raise ParameterError(
            f"val_fraction: {train.size} training rows cannot be split into fitting and inner-validation rows; "
            "use more samples or fewer folds"
        )
    return fit, val


def _focal(z: torch.Tensor, y: torch.Tensor, alpha_t: torch.Tensor, gamma: float) -> torch.Tensor:
    """Elementwise focal loss ``-alpha_t (1 - p_t)^gamma log p_t`` from logits."""
    logp = F.logsigmoid(torch.where(y > 0.5, z, -z))
    if gamma == 0:
        return -alpha_t * logp
    return -alpha_t * (1 - logp.exp()).pow(gamma) * logp


def _pad(rows_per_group: list, n: Optional[int] = None):
    """(J, n) long indices (padding repeats the first row) and (J, n) float weights."""
    n = n if n is not None else max(len(r) for r in rows_per_group)
    J = len(rows_per_group)
    idx = np.zeros((J, n), np.int64)
    w = np.zeros((J, n), np.float32)
    for j, r in enumerate(rows_per_group):
        k = len(r)
        if k:
            idx[j, :k] = r
            idx[j, k:] = r[0]
            w[j, :k] = 1
    return torch.from_numpy(idx), torch.from_numpy(w)


# ---------------------------------------------------------------- the batched networks


@dataclass
class _Selection:
    """The networks of some row groups for one step: ``groups`` (None: all J), their count, the
    head banks restricted to them (kind, spec positions, model ids r, bank), r -> row in its bank,
    and the groups' case weights."""

    groups: Optional[torch.Tensor]
    J: int
    kinds: list
    local: dict
    w_case: torch.Tensor


class _Batch:
    """All J x S networks: parameters, kernel and forward pieces."""

    def __init__(self, X: np.ndarray, y: np.ndarray, groups: list, specs: list, cfg: EpiTrainConfig):
        N, G, C = X.shape
        self.N, self.G, self.C = N, G, C
        self.cfg = cfg
        # tanh networks first, identity ("linear") ones last: the kernel needs them contiguous
        self.order = [i for i, s in enumerate(specs) if not s.linear] + [i for i, s in enumerate(specs) if s.linear]
        self.specs = [specs[i] for i in self.order]
        self.groups = groups
        J, S = len(groups), len(specs)
        self.J, self.S, self.R = J, S, J * S
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32).reshape(N * G, C))
        self.y = torch.from_numpy(np.asarray(y, np.float32))
        moments = RowMoments(X)
        mean, scale, w1 = [], [], []
        for g in groups:
            m, s = moments.stats(g.train)
            mean.append(m)
            scale.append(s)
            w1.append(1.0 - float(np.mean(y[g.train])))  # weight of a case: 1 - freq(case)
        self.mean = torch.tensor(np.array(mean), dtype=torch.float32)
        self.scale = torch.tensor(np.array(scale), dtype=torch.float32)
        self.w_case = torch.tensor(w1, dtype=torch.float32)
        n_tanh = sum(not s.linear for s in self.specs)
        self.kernel = genemodule.GeneModuleKernel(J, S, n_tanh, block_elements=cfg.block_elements)

        # per-network generators: init and dropout
        self.init_gen, self.drop_gen = [], []
        for g in groups:
            for s in self.specs:
                self.init_gen.append(torch.Generator().manual_seed(_seed(cfg.seed, *g.key, s.name, "init")))
                self.drop_gen.append(torch.Generator().manual_seed(_seed(cfg.seed, *g.key, s.name, "dropout")))
        gm = [init_gene_module(self.init_gen[r], C) for r in range(self.R)]
        self.W1 = torch.stack([p["W1"] for p in gm]).requires_grad_()
        self.b1 = torch.stack([p["b1"] for p in gm]).requires_grad_()
        self.w2 = torch.stack([p["w2"] for p in gm]).requires_grad_()
        self.b2 = torch.stack([p["b2"] for p in gm]).requires_grad_()

        # heads, one bank per kind
        self.kinds = []  # (kind, spec positions s, model ids r, bank)
        p_pad = max([s.n_neurons for s in self.specs if s.head == "sparse"] or [0])
        for kind in ("logreg", "sparse", "dense"):
            pos = [i for i, s in enumerate(self.specs) if s.head == kind]
            if not pos:
                continue
            if kind == "dense" and len({self.specs[i].n_neurons for i in pos}) > 1:
                raise ParameterError("dense heads of one comparison must share their hidden width")
            rs = [j * S + i for j in range(J) for i in pos]
            per = [init_head(self.init_gen[r], self.specs[r % S], G, p_pad) for r in rs]
            bank = stack_heads(kind, per, [self.specs[r % S] for r in rs], G)
            for t in bank.params.values():
                t.requires_grad_()
            self.kinds.append((kind, pos, torch.tensor(rs), bank))
        self._kind_of = {s: kind for kind, pos, _, _ in self.kinds for s in pos}
        self._local = {int(r): i for _, _, rs, _ in self.kinds for i, r in enumerate(rs.tolist())}
        self.tensors = [self.W1, self.b1, self.w2, self.b2]
        all_r = torch.arange(self.R)
        self.owners = [all_r] * 4
        for _, _, rs, bank in self.kinds:
            for t in bank.params.values():
                self.tensors.append(t)
                self.owners.append(rs)

    # -- pieces -----------------------------------------------------------------
    def cells(self, rows: torch.Tensor) -> torch.Tensor:
        """(J, n) rows -> (J, n*G) flat cell indices into X."""
        G = self.G
        return (rows[:, :, None] * G + torch.arange(G)).reshape(rows.shape[0], -1)

    def first_layer(self):
        return genemodule.effective_first_layer(self.W1, self.b1, self.mean, self.scale, self.J, self.S)

    def select(self, groups: Optional[torch.Tensor]) -> "_Selection":
        """The networks of some row groups (None: all), for one training step."""
        if groups is None or groups.numel() == self.J:
            return _Selection(None, self.J, self.kinds, self._local, self.w_case)
        S = self.S
        kinds, local = [], {}
        for kind, pos, _, bank in self.kinds:
            n = len(pos)
            idx = (groups[:, None] * n + torch.arange(n)).reshape(-1)  # the bank's rows of these groups
            rs = (groups[:, None] * S + torch.tensor(pos)).reshape(-1)
            sub = HeadBank(
                head=bank.head,
                params={k: v[idx] for k, v in bank.params.items()},  # indexed: gradients flow back
                linear=None if bank.linear is None else bank.linear[idx],
                index=None if bank.index is None else bank.index[idx],
                neuron_mask=None if bank.neuron_mask is None else bank.neuron_mask[idx],
            )
            kinds.append((kind, pos, rs, sub))
            local.update({int(r): i for i, r in enumerate(rs.tolist())})
        return _Selection(groups, int(groups.numel()), kinds, local, self.w_case[groups])

    def dropout_masks(self, b: int, active: torch.Tensor, sel: "_Selection"):
        """Per-network inverted-dropout masks for the gene neurons (J', S, b, G) of the selected
        groups and for each head kind's hidden neurons; inactive networks draw nothing and get ones."""
        p = self.cfg.dropout
        if p <= 0:
            return None, {}
        keep = 1.0 - p
        G, S = self.G, self.S
        gmask = torch.ones(sel.J, S, b, G)
        hid = {kind: torch.ones(len(rs), b, bank.n_hidden) for kind, _, rs, bank in sel.kinds if bank.n_hidden}
        where = {j: i for i, j in enumerate(range(self.J) if sel.groups is None else sel.groups.tolist())}
        for r in torch.nonzero(active).flatten().tolist():
            j, s = divmod(r, S)
            gen = self.drop_gen[r]
            gmask[where[j], s] = (torch.rand(b, G, generator=gen) < keep).float().div_(keep)
            kind = self._kind_of[s]
            if kind in hid:
                H = hid[kind].shape[2]
                hid[kind][sel.local[r]] = (torch.rand(b, H, generator=gen) < keep).float().div_(keep)
        return gmask, hid

    def heads(self, gl: torch.Tensor, kinds: list, gmask=None, hid=None) -> torch.Tensor:
        """Logits (J', S, b) from gene neurons gl (J', S, b, G) of the groups of ``kinds``."""
        J, S = gl.shape[0], self.S
        b = gl.shape[2]
        out = [None] * S
        if gmask is not None:
            gl = gl * gmask
        for kind, pos, _rs, bank in kinds:
            gk = gl if len(pos) == S else gl[:, pos]
            z = head_forward(
                bank, bank.params, gk.reshape(J * len(pos), b, self.G), None if hid is None else hid.get(kind)
            )
            z = z.view(J, len(pos), b)
            for i, s in enumerate(pos):
                out[s] = z[:, i]
        return torch.stack(out, 1)

    def alpha_t(self, yb: torch.Tensor, w_case: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(J, b) focal weights: 1 - freq(class of the row) in the group's training rows."""
        wc = (self.w_case if w_case is None else w_case)[:, None]
        return torch.where(yb > 0.5, wc, 1 - wc)

    # -- one optimisation step -----------------------------------------------------
    def step(self, rows: torch.Tensor, wts: torch.Tensor, active: torch.Tensor, opt: StackedAdam) -> None:
        """One step of the ``active`` networks on their groups' ``rows``; only the groups with an
        active network are computed (a learning curve's small subsets run out of batches before
        the large ones, folds stop early: they cost nothing)."""
        J, S, G = self.J, self.S, self.G
        busy = active.view(J, S).any(1)
        if not bool(busy.any()):
            return
        sel = self.select(None if bool(busy.all()) else torch.nonzero(busy).flatten())
        if sel.groups is not None:
            rows, wts = rows[sel.groups], wts[sel.groups]
        b = rows.shape[1]
        cells = self.cells(rows)
        W_eff, b_eff = self.first_layer()
        w2, b2 = self.w2.detach(), self.b2.detach()
        if sel.groups is not None:
            W_eff, b_eff = W_eff[sel.groups], b_eff[sel.groups]
            w2 = w2.view(J, S, -1)[sel.groups].reshape(sel.J * S, -1)
            b2 = b2.view(J, S)[sel.groups].reshape(-1)
        g = self.kernel.forward(self.X, cells, W_eff.detach(), b_eff.detach(), w2, b2)
        gl = g.view(sel.J, b, G, S).permute(0, 3, 1, 2).contiguous().requires_grad_()
        gmask, hid = self.dropout_masks(b, active, sel)
        z = self.heads(gl, sel.kinds, gmask, hid)  # (J', S, b)
        yb = self.y[rows]
        fl = _focal(z, yb[:, None, :], self.alpha_t(yb, sel.w_case)[:, None, :], self.cfg.gamma)
        den = wts.sum(1).clamp(min=1.0)
        loss = ((fl * wts[:, None, :]).sum(2) / den[:, None]).sum()
        loss.backward()
        dg = gl.grad.permute(0, 2, 3, 1).reshape(sel.J, b * G, S)
        dW, db, dw2, db2 = self.kernel.backward(self.X, cells, W_eff.detach(), b_eff.detach(), w2, dg)
        torch.autograd.backward([W_eff, b_eff], [dW, db])
        if sel.groups is None:
            self.w2.grad, self.b2.grad = dw2, db2
        else:
            self.w2.grad = torch.zeros_like(self.w2)
            self.w2.grad.view(J, S, -1)[sel.groups] = dw2.view(sel.J, S, -1)
            self.b2.grad = torch.zeros_like(self.b2)
            self.b2.grad.view(J, S)[sel.groups] = db2.view(sel.J, S)
        opt.step(active, zero_grad=True)

    # -- prediction ----------------------------------------------------------------
    @torch.no_grad()
    def logits(self, rows: torch.Tensor) -> torch.Tensor:
        """(J, S, n) logits on padded rows (J, n), no dropout, in row chunks."""
        J, S, G = self.J, self.S, self.G
        n = rows.shape[1]
        per_row = max(1, J * S * G * 4 * 4)
        chunk = max(1, min(n, self.cfg.eval_bytes // per_row))
        W_eff, b_eff = self.first_layer()
        out = []
        for s in range(0, n, chunk):
            rc = rows[:, s : s + chunk]
            k = rc.shape[1]
            g = self.kernel.forward(self.X, self.cells(rc), W_eff, b_eff, self.w2, self.b2)
            gl = g.view(J, k, G, S).permute(0, 3, 1, 2)
            out.append(self.heads(gl, self.kinds))
        return torch.cat(out, 2) if out else torch.zeros(J, S, 0)


def _check_inputs(X, y, groups, specs):
    if not isinstance(X, np.ndarray) or X.ndim != 3:
        raise InputFormatError(
            f"X: expected a (samples, genes, classes) numpy array, got {type(X).__name__} {getattr(X, 'shape', '')}"
        )
    if not np.isfinite(X).all():
        raise InputFormatError("X: the per-gene features contain NaN or infinite values")
    y = np.asarray(y, np.float64)
    if y.shape != (X.shape[0],):
        raise InputFormatError(f"y: expected shape ({X.shape[0]},), got {y.shape}")
    if not groups:
        raise ParameterError("groups: give at least one row group")
    if not specs:
        raise ParameterError("specs: give at least one network")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ParameterError("specs: network names must be unique (they seed the initialisation)")
    for s in specs:
        if s.head == "sparse" and len(s.wiring) != X.shape[1]:
            raise ParameterError(f"spec '{s.name}': wiring has {len(s.wiring)} genes, X has {X.shape[1]}")
    for g in groups:
        tr = np.asarray(g.train)
        if tr.size == 0 or np.asarray(g.test).size == 0:
            raise ParameterError(f"group {g.key}: needs training and test rows")
        if not np.isin(y[tr], (0.0, 1.0)).all():
            raise InputFormatError(f"y: the training rows of group {g.key} must be coded 0/1 without missing values")
    return y


def fit_networks(
    X: np.ndarray,
    y,
    groups: Sequence[RowGroup],
    specs: Sequence[NetSpec],
    cfg: Optional[EpiTrainConfig] = None,
    progress=None,
    cancel=None,
    on_groups_done: Optional[Callable[[list, list], None]] = None,
) -> FitResult:
    """Train every spec on every row group as one batched model; return test probabilities.

    X: raw per-gene counts (N, G, C) (standardised per group on the group's training rows
    inside); y: 0/1 (N,); groups: RowGroup per CV split (fit/val filled by a stratified
    inner split when None); specs: NetSpec list (unique names). ``on_groups_done(js, probs)``:
    called as soon as every network of some groups has stopped (a learning curve's small sizes
    usually finish first), with those groups' indices and test probabilities — the same arrays
    the result holds for them."""
    cfg = (cfg or EpiTrainConfig()).validate()
    y = _check_inputs(X, y, groups, specs)
    groups = list(groups)
    for g in groups:
        g.train = np.sort(np.asarray(g.train, np.int64))
        g.test = np.asarray(g.test, np.int64)
        if g.fit is None or g.val is None:
            g.fit, g.val = split_inner(y, g.train, cfg.val_fraction, cfg.seed, g.key)
    t0 = time.perf_counter()
    message = (
        f"out of memory training {len(groups) * len(specs)} networks on {X.shape[1]} genes: use fewer "
        "repeats, folds or models at once, or a smaller batch_size"
    )
    with torch_threads(cfg.threads), memory_errors(message):
        return _fit(X, y, groups, list(specs), cfg, progress, cancel, t0, on_groups_done)


def _test_probs(net: "_Batch", test_idx: torch.Tensor, groups: list, js, weights: Optional[list] = None) -> dict:
    """j -> (S, n_test) test probabilities of groups ``js``, in the given spec order; with
    ``weights`` (every network's kept weights) those are evaluated and the training weights put back
    afterwards. The whole batch is evaluated as at the end of training, so the numbers are the same."""
    with torch.no_grad():
        current = None
        if weights is not None:
            current = [t_.detach().clone() for t_ in net.tensors]
            for t_, w in zip(net.tensors, weights):
                t_.copy_(w)
        prob = torch.sigmoid(net.logits(test_idx).double()).numpy()
        for t_, c in zip(net.tensors, current or []):
            t_.copy_(c)
    inv = np.argsort(net.order)  # internal -> given spec order
    return {j: prob[j][inv][:, : len(groups[j].test)] for j in js}


def _fit(X, y, groups, specs, cfg, progress, cancel, t0, on_groups_done=None) -> FitResult:
    net = _Batch(X, y, groups, specs, cfg)
    J, S, R = net.J, net.S, net.R
    opt = StackedAdam(net.tensors, cfg.lr, ADAM_BETAS, ADAM_EPS, cfg.weight_decay, owners=net.owners, n_models=R)
    best = [t.detach().clone() for t in net.tensors]
    stop = EarlyStopping(R, cfg.patience)
    stopped = stop.stopped
    val_idx, val_w = _pad([g.val for g in groups])
    yv = net.y[val_idx]
    atv = net.alpha_t(yv)
    shuffle = [np.random.default_rng(_seed(cfg.seed, *g.key, "batches")) for g in groups]
    curve = []
    n_steps_total = 0
    epoch = 0
    test_idx, _ = _pad([g.test for g in groups])
    early = {}  # j -> test probabilities of groups reported before the end
    for epoch in range(1, cfg.max_epochs + 1):
        batches = []
        for g, rng in zip(groups, shuffle):
            perm = g.fit[rng.permutation(g.fit.size)]
            batches.append([perm[s : s + cfg.batch_size] for s in range(0, perm.size, cfg.batch_size)])
        n_steps = max(len(b) for b in batches)
        for t in range(n_steps):
            check_cancel(cancel)
            rows_t = [b[t] if t < len(b) else np.zeros(0, np.int64) for b in batches]
            rows, wts = _pad(rows_t, cfg.batch_size)
            has = torch.tensor([len(r) > 0 for r in rows_t]).repeat_interleave(S)
            active = has & torch.from_numpy(~stopped)
            net.step(rows, wts, active, opt)
            n_steps_total += 1
            report(
                progress,
                ((epoch - 1) + (t + 1) / n_steps) / cfg.max_epochs,
                f"epoch {epoch}/{cfg.max_epochs}: step {t + 1}/{n_steps}, "
                f"{int((~stopped).sum())}/{R} networks training",
            )
        # inner validation
        z = net.logits(val_idx)  # (J, S, n)
        fl = _focal(z, yv[:, None, :], atv[:, None, :], cfg.gamma)
        vl = ((fl * val_w[:, None, :]).sum(2) / val_w.sum(1).clamp(min=1)[:, None]).reshape(R).double().numpy()
        curve.append(vl.reshape(J, S))
        active = stop.active
        improved = np.zeros(R, bool)
        improved[active[stop.update(epoch, active, vl[active])[0]]] = True
        if improved.any():
            imp = torch.from_numpy(improved)
            with torch.no_grad():
                for k, (t_, own) in enumerate(zip(net.tensors, net.owners)):
                    m = imp[own].view((-1,) + (1,) * (t_.dim() - 1))
                    best[k] = torch.where(m, t_.detach(), best[k])
        if stopped.all():
            break
        if on_groups_done is not None:
            finished = [j for j in np.flatnonzero(stopped.reshape(J, S).all(1)).tolist() if j not in early]
            if finished:
                new = _test_probs(net, test_idx, groups, finished, weights=best)
                early.update(new)
                on_groups_done(finished, [new[j] for j in finished])
    # restore the best weights and predict the test rows
    with torch.no_grad():
        for t_, b_ in zip(net.tensors, best):
            t_.copy_(b_)
    rest = [j for j in range(J) if j not in early]
    final = _test_probs(net, test_idx, groups, rest) if rest else {}  # the best weights are in place
    if on_groups_done is not None and rest:
        on_groups_done(rest, [final[j] for j in rest])
    test_prob = [early[j] if j in early else final[j] for j in range(J)]
    inv = np.argsort(net.order)
    be = stop.best_epoch.reshape(J, S)[:, inv]
    cv = np.array(curve).reshape(len(curve), J, S)[:, :, inv] if curve else np.zeros((0, J, S))
    report(progress, 1.0, f"trained {R} networks in {epoch} epochs")
    return FitResult(
        specs=list(specs),
        groups=groups,
        test_prob=test_prob,
        best_epoch=be,
        epochs_run=epoch,
        val_curve=cv,
        seconds=time.perf_counter() - t0,
        n_steps=n_steps_total,
    )
