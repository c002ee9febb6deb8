"""Network specs and batched heads of the architecture comparison (paper B, Fig. 1;
docs/method.md#architecture-comparison).

Every network = the shared gene module (:mod:`gxapp.epistasis.genemodule`) giving G gene
neurons, then a head:

============  ==================================================================  =====================
head          computation on the gene neurons g (G,)                              parameters
============  ==================================================================  =====================
logreg        ``z = wo . g + bo``                                                 G + 1
biosparse     ``a_p = tanh(sum_{i: p(i)=p} w_i g_i + b_p)``; ``z = wo . a + bo``    connected genes + 2 P_used + 1
              each gene wired to ONE neuron (pathway, or "other" for genes
              without one; or random; or none when not ``connected``)
dense         ``a = tanh(g Wh + bh)``; ``z = wo . a + bo``                         G H + 2 H + 1
linear        biosparse with identity activations in the gene module AND the      as biosparse
              pathway layer (a linear model in the counts; the paper's NN_linear)
============  ==================================================================  =====================

Sparse wiring is a gene -> neuron index evaluated with a segment sum (``scatter_add``),
never a dense G x P mask. Ensembles are lists of biosparse specs with independent random
wirings (``member_of`` names the ensemble; predictions are averaged).

Batching: the heads of one kind are stacked with a leading model dimension (one
``HeadBank`` per kind); :func:`init_bank` draws each network's weights from its own
generator so a network gets the same initial weights whether it is trained alone or in a
batch. Dropout (rate ``p``) applies to the gene neurons and the hidden neurons; the masks
of each network come from its own generator too (see :mod:`gxapp.epistasis.train`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from gxapp.epistasis import genemodule
from gxapp.errors import ParameterError
from gxapp.nn.count import count_params
from gxapp.params import check_number

HEADS = ("logreg", "sparse", "dense")
#: user-facing network names -> head
ARCHITECTURES = ("logreg", "biosparse", "dense", "linear", "ensemble")


@dataclass(eq=False)
class NetSpec:
    """One network architecture (the same for every fold it is trained on).

    head: "logreg" | "sparse" | "dense"; linear: identity activations everywhere;
    wiring: sparse only, (G,) int64 neuron of each gene (-1 = gene not connected);
    n_neurons: sparse P (pathway neurons) or dense H; member_of: ensemble name or None;
    neuron_names: sparse neuron labels (pathway names, "other")."""

    name: str
    head: str
    linear: bool = False
    wiring: Optional[np.ndarray] = None
    n_neurons: int = 0
    member_of: Optional[str] = None
    neuron_names: Optional[list] = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.head not in HEADS:
            raise ParameterError(f"head: expected one of {HEADS}, got {self.head!r}")
        if self.head == "sparse":
            w = np.asarray(self.wiring, dtype=np.int64)
            if w.ndim != 1 or (w >= self.n_neurons).any() or (w < -1).any():
                raise ParameterError(f"wiring of '{self.name}': expected (G,) indices in [-1, {self.n_neurons})")
            if not (w >= 0).any():
                raise ParameterError(f"wiring of '{self.name}': no gene is connected")
            self.wiring = w
        if self.head == "dense" and self.n_neurons < 1:
            raise ParameterError(f"n_neurons of '{self.name}': a dense head needs >= 1 hidden neuron")

    @property
    def n_connections(self) -> int:
        if self.head == "sparse":
            return int((self.wiring >= 0).sum())
        return 0

    def used_neurons(self) -> np.ndarray:
        """Neurons with at least one connected gene (sparse)."""
        w = self.wiring[self.wiring >= 0]
        return np.unique(w)


def head_shapes(spec: NetSpec, n_genes: int) -> dict:
    """Shapes of ONE network's trained head parameters: a sparse head's connected gene
    weights and its used neurons only (padding and unconnected weights stay zero)."""
    if spec.head == "logreg":
        return {"wo": (n_genes,), "bo": ()}
    if spec.head == "dense":
        H = spec.n_neurons
        return {"Wh": (n_genes, H), "bh": (H,), "wo": (H,), "bo": ()}
    P = len(spec.used_neurons())
    return {"w": (spec.n_connections,), "bp": (P,), "wo": (P,), "bo": ()}


def n_params(spec: NetSpec, n_genes: int, n_classes: int, hidden: int = genemodule.HIDDEN) -> int:
    """Trainable parameters of ONE network (gene module + head); padded or unconnected
    weights are not counted."""
    return count_params(genemodule.param_shapes(n_classes, hidden)) + count_params(head_shapes(spec, n_genes))


# ------------------------------------------------------------------ wiring


def _check_connected(connected) -> float:
    check_number("sparsity", connected, 0, 1, closed="right")
    return float(connected)


def n_connected_genes(n_genes: int, connected: float) -> int:
    return max(1, int(round(_check_connected(connected) * n_genes)))


def pathway_wiring(genes: Sequence[str], pathways: dict, connected: float = 1.0, seed=0):
    """``(wiring (G,), neuron_names)``: each gene wired to ONE of its pathways, picked at random
    when it has several (paper B); genes without a pathway share an "other" neuron; with
    ``connected`` < 1 only a random ``connected`` fraction of the genes keep their connection.
    ``pathways`` must already be restricted to the cohort's genes."""
    connected = _check_connected(connected)
    rng = np.random.default_rng(seed)
    names = list(pathways)
    member: dict = {}
    for k, p in enumerate(names):
        for g in pathways[p]:
            member.setdefault(str(g), []).append(k)
    wiring = np.empty(len(genes), dtype=np.int64)
    other = len(names)
    has_other = False
    for i, g in enumerate(genes):
        ks = member.get(str(g))
        if ks:
            wiring[i] = ks[int(rng.integers(len(ks)))] if len(ks) > 1 else ks[0]
        else:
            wiring[i] = other
            has_other = True
    neuron_names = names + (["other"] if has_other else [])
    if connected < 1:
        keep = rng.choice(len(genes), size=n_connected_genes(len(genes), connected), replace=False)
        mask = np.zeros(len(genes), bool)
        mask[keep] = True
        wiring[~mask] = -1
    return wiring, neuron_names


def random_wiring(n_genes: int, n_neurons: int, connected: float = 1.0, seed=0) -> np.ndarray:
    """Random wiring with the same budget as a pathway wiring: ``round(connected * G)`` random
    genes, each wired to ONE uniformly drawn neuron of ``n_neurons``; the rest unconnected."""
    if n_neurons < 1:
        raise ParameterError(f"n_neurons: expected >= 1, got {n_neurons}")
    rng = np.random.default_rng(seed)
    k = n_connected_genes(n_genes, connected)
    wiring = np.full(n_genes, -1, dtype=np.int64)
    genes = rng.choice(n_genes, size=k, replace=False)
    wiring[genes] = rng.integers(0, n_neurons, size=k)
    return wiring


# ------------------------------------------------------------------ spec builders


def logreg_spec(name: str = "logreg") -> NetSpec:
    return NetSpec(name=name, head="logreg")


def dense_spec(hidden: int, name: str = "dense") -> NetSpec:
    return NetSpec(name=name, head="dense", n_neurons=int(hidden))


def sparse_spec(
    wiring, n_neurons: int, name: str = "biosparse", linear: bool = False, neuron_names=None, member_of=None, **meta
) -> NetSpec:
    return NetSpec(
        name=name,
        head="sparse",
        linear=linear,
        wiring=np.asarray(wiring, np.int64),
        n_neurons=int(n_neurons),
        neuron_names=neuron_names,
        member_of=member_of,
        meta=meta,
    )


def ensemble_specs(name: str, k: int, n_genes: int, n_neurons: int, connected: float = 1.0, seed=0) -> list:
    """``k`` biosparse networks with independent random wirings (paper B, Table 2)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"ensemble_size: expected an integer >= 1, got {k!r}")
    seeds = np.random.SeedSequence([int(seed), 7]).spawn(int(k))
    return [
        sparse_spec(
            random_wiring(n_genes, n_neurons, connected, np.random.default_rng(s)),
            n_neurons,
            name=f"{name}[{i}]",
            member_of=name,
        )
        for i, s in enumerate(seeds)
    ]


# ------------------------------------------------------------------ batched parameters


def _uniform(gen: torch.Generator, shape, bound) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(bound).float()


def init_gene_module(gen: torch.Generator, n_classes: int, hidden: int = genemodule.HIDDEN) -> dict:
    """nn.Linear-style init: U(+-1/sqrt(fan_in)) for weights and biases."""
    b1, b2 = 1 / math.sqrt(n_classes), 1 / math.sqrt(hidden)
    return {
        "W1": _uniform(gen, (n_classes, hidden), b1),
        "b1": _uniform(gen, (hidden,), b1),
        "w2": _uniform(gen, (hidden,), b2),
        "b2": _uniform(gen, (), b2),
    }


def init_head(gen: torch.Generator, spec: NetSpec, n_genes: int, n_neurons_pad: int = 0) -> dict:
    """One network's head weights (sparse heads padded to ``n_neurons_pad`` neurons)."""
    G = n_genes
    if spec.head == "logreg":
        b = 1 / math.sqrt(G)
        return {"wo": _uniform(gen, (G,), b), "bo": _uniform(gen, (), b)}
    if spec.head == "dense":
        H = spec.n_neurons
        b, bh = 1 / math.sqrt(G), 1 / math.sqrt(H)
        return {
            "Wh": _uniform(gen, (G, H), b),
            "bh": _uniform(gen, (H,), b),
            "wo": _uniform(gen, (H,), bh),
            "bo": _uniform(gen, (), bh),
        }
    P = spec.n_neurons
    wiring = spec.wiring
    deg = np.bincount(wiring[wiring >= 0], minlength=P).astype(np.float64)
    bound = torch.from_numpy(1 / np.sqrt(np.maximum(deg, 1))).float()
    used = torch.from_numpy(deg > 0)
    n_used = max(1, int(used.sum()))
    conn = torch.from_numpy(wiring >= 0)
    w = _uniform(gen, (G,), 1.0) * bound[torch.from_numpy(np.where(wiring >= 0, wiring, 0))]
    w = torch.where(conn, w, torch.zeros(()))
    bp = torch.where(used, _uniform(gen, (P,), 1.0) * bound, torch.zeros(()))
    wo = torch.where(used, _uniform(gen, (P,), 1 / math.sqrt(n_used)), torch.zeros(()))
    bo = _uniform(gen, (), 1 / math.sqrt(n_used))
    pad = max(0, n_neurons_pad - P)  # padding neurons (no genes) do not change the draws
    if pad:
        bp, wo = F.pad(bp, (0, pad)), F.pad(wo, (0, pad))
    return {"w": w, "bp": bp, "wo": wo, "bo": bo}


@dataclass
class HeadBank:
    """The heads of one kind for a set of networks, stacked: every tensor has the leading
    model dimension ``r`` (networks of this kind, group-major)."""

    head: str
    params: dict  # name -> (r, ...) tensor
    linear: Optional[torch.Tensor] = None  # (r,) bool (sparse)
    index: Optional[torch.Tensor] = None  # (r, G) long, sink = P for unconnected genes (sparse)
    neuron_mask: Optional[torch.Tensor] = None  # (r, P) float (sparse)

    @property
    def n_hidden(self) -> int:
        if self.head == "logreg":
            return 0
        return int(self.params["wo"].shape[1])


def stack_heads(head: str, per_model: list, specs: list, n_genes: int) -> HeadBank:
    """Stack per-network head dicts (list aligned with ``specs``) into a HeadBank."""
    params = {k: torch.stack([p[k] for p in per_model]) for k in per_model[0]}
    bank = HeadBank(head=head, params=params)
    if head == "sparse":
        P = params["wo"].shape[1]
        idx = np.stack([np.where(s.wiring >= 0, s.wiring, P) for s in specs])
        bank.index = torch.from_numpy(idx)
        mask = np.zeros((len(specs), P), np.float32)
        for i, s in enumerate(specs):
            mask[i, s.used_neurons()] = 1.0
        bank.neuron_mask = torch.from_numpy(mask)
        bank.linear = torch.tensor([bool(s.linear) for s in specs])
    return bank


def head_forward(bank: HeadBank, params: dict, g: torch.Tensor, hidden_mask=None) -> torch.Tensor:
    """Logits (r, b) of the heads of ``bank`` on gene neurons ``g`` (r, b, G) (dropout already
    applied to g; ``hidden_mask`` (r, b, H) scales the hidden neurons, None = no dropout)."""
    if bank.head == "logreg":
        return torch.einsum("rbg,rg->rb", g, params["wo"]) + params["bo"][:, None]
    if bank.head == "dense":
        a = torch.tanh(torch.baddbmm(params["bh"][:, None, :], g, params["Wh"]))
    else:
        r, b, G = g.shape
        P = params["wo"].shape[1]
        src = g * params["w"][:, None, :]
        pre = (
            torch.zeros(r, b, P + 1, dtype=g.dtype, device=g.device).scatter_add(
                2, bank.index[:, None, :].expand(r, b, G), src
            )[:, :, :P]
            + params["bp"][:, None, :]
        )
        lin = bank.linear
        if lin.all():
            a = pre
        elif not lin.any():
            a = torch.tanh(pre)
        else:
            a = torch.where(lin[:, None, None], pre, torch.tanh(pre))
        a = a * bank.neuron_mask[:, None, :]
    if hidden_mask is not None:
        a = a * hidden_mask
    return torch.einsum("rbh,rh->rb", a, params["wo"]) + params["bo"][:, None]
