"""Gene interaction network and main-effect network (paper A; docs/method.md#networks), batched.

Every weight carries a leading *model* dimension ``K``: one parameter dict holds
``K`` independent networks (ensemble members, permutations, targets) that share the
input ``X``. One forward pass evaluates all of them and reads ``X`` once.

Architecture of one model (``M`` genes, gene ``i`` has ``m_i`` SNPs)::

    gene node   g_i = w2_i . relu(X_i W1_i + b1_i) + b2_i      (gene_hidden h > 0)
                g_i = X_i w_i + b_i                             (h = 0: linear gene node)
    head        y   = wo . relu(g Wh + bh) + bo                 (head_hidden H > 0)
                y   = wo . g + bo                               (H = 0: main-effect network)

SNPs of different genes never meet before the gene layer. Parameter dict keys
(shapes; ``K`` first everywhere):

============  ============================  ===================================
key           h > 0 / H > 0                 h = 0 / H = 0
============  ============================  ===================================
``"W1"``      list of (K, m_i, h)           list of (K, m_i)   (the w_i)
``"b1"``      (K, M, h)                     absent
``"w2"``      (K, M, h)                     absent
``"b2"``      (K, M) gene node bias         (K, M)             (the b_i)
``"Wh"``      (K, M, H)                     absent
``"bh"``      (K, H)                        absent
``"wo"``      (K, H)                        (K, M)
``"bo"``      (K,)                          (K,)
============  ============================  ===================================

The per-gene biases of the brief's layout (``b1_i (K, h)``, ``w2_i (K, h)``,
``b2_i (K,)``) are stacked over genes because their shapes do not depend on
``m_i``; ``params["b1"][:, i]`` is ``b1_i``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import torch

from gxapp import params as gp
from gxapp.errors import ParameterError
from gxapp.nn.count import count_params
from gxapp.params import check_int

Params = dict  # str -> Tensor | list[Tensor]
WEIGHT_KEYS = ("W1", "w2", "Wh", "wo")  # L1-penalised; every other key is a bias
_MAX_WIDTH = 100_000
SNP_SCALE = 5.0
"""The genotypes enter the gene layer multiplied by this (``g_i = c X_i w_i + b_i``): a
reparametrisation, not a different model. Under Adam, whose steps have the same size whatever the
gradient's scale, the SNP weights then move c times faster in the gene node's units, start c times
wider and carry a c times lighter L1 penalty, while the head is unchanged. Why (bench/README.md,
"Training recipe", fourth round): a gene whose signal sits on a rare SNP needs a large weight on
the 0/1/2 scale, which the gene layer could not reach in the ~10 epochs before early stopping. With
c = 5 the NN's mean AP of the planted pairs rose 0.834 → 0.852 on the choosing seeds and by 0.02 on
two other sets of 20; on 20 fresh seeds it is 0.806 vs 0.687 for the best classical test
(docs/method.md#networks)."""


@dataclass
class NetConfig(gp.Params):
    """Widths of the two MLPs. ``gene_hidden=0``: linear gene nodes (the paper's
    public code); ``head_hidden=0``: linear head, i.e. the main-effect network. ``snp_scale``: the
    genotypes enter the gene layer multiplied by it (see :data:`SNP_SCALE`).

    Default ``gene_hidden=0``: by bench/recipe_study.py (bench/README.md, "Training recipe") linear
    gene nodes ranked the planted pairs better than a 10-unit per-gene MLP on every one of 7 seeds
    (complex scenario, N = 20,000, S/N 0.25, E = 10: AP 0.78 vs 0.62 on average) and fitted better
    (test R² 0.164 vs 0.150); the interactions are between genes, which the head models."""

    gene_hidden: int = 0
    head_hidden: int = 100
    snp_scale: float = SNP_SCALE

    _parameter_constraints = {
        "gene_hidden": [gp.Interval(gp.Integral, 0, _MAX_WIDTH)],
        "head_hidden": [gp.Interval(gp.Integral, 0, _MAX_WIDTH)],
        "snp_scale": [gp.Interval(gp.Real, 0, 1e6, closed="right")],
    }


def _check_gene_sizes(gene_sizes: Sequence[int]) -> list:
    sizes = [int(m) for m in gene_sizes]
    if not sizes or min(sizes) < 1:
        raise ParameterError(f"gene_sizes: every gene needs at least one SNP, got {sizes!r}")
    return sizes


def param_shapes(gene_sizes: Sequence[int], cfg: NetConfig) -> list:
    """Shapes of ONE model's parameters, in :func:`tensors` order (keys sorted, gene
    lists in gene order)."""
    sizes = _check_gene_sizes(gene_sizes)
    h, H, M = cfg.gene_hidden, cfg.head_hidden, len(sizes)
    shapes = {"W1": [(m, h) if h else (m,) for m in sizes], "b2": [(M,)], "wo": [(H,) if H else (M,)], "bo": [()]}
    if h:
        shapes.update(b1=[(M, h)], w2=[(M, h)])
    if H:
        shapes.update(Wh=[(M, H)], bh=[(H,)])
    return [shape for key in sorted(shapes) for shape in shapes[key]]


def n_params(gene_sizes: Sequence[int], cfg: NetConfig) -> int:
    """Number of trainable parameters of ONE model."""
    return count_params(param_shapes(gene_sizes, cfg))


def _uniform(gen: torch.Generator, shape, fan_in: int) -> torch.Tensor:
    """nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return torch.rand(shape, generator=gen, dtype=torch.float32) * (2 * bound) - bound


def _init_one(sizes: list, cfg: NetConfig, seed: int) -> Params:
    """One model's parameters (no model dimension), drawn from its own generator
    in a fixed order, so they depend only on ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    h, H, M = cfg.gene_hidden, cfg.head_hidden, len(sizes)
    p: Params = {"W1": []}
    b1, w2, b2 = [], [], []
    for m in sizes:
        if h:
            p["W1"].append(_uniform(gen, (m, h), m))
            b1.append(_uniform(gen, (h,), m))
            w2.append(_uniform(gen, (h,), h))
            b2.append(_uniform(gen, (), h))
        else:
            p["W1"].append(_uniform(gen, (m,), m))
            b2.append(_uniform(gen, (), m))
    if h:
        p["b1"], p["w2"] = torch.stack(b1), torch.stack(w2)
    p["b2"] = torch.stack(b2)
    if H:
        p["Wh"], p["bh"] = _uniform(gen, (M, H), M), _uniform(gen, (H,), M)
        p["wo"], p["bo"] = _uniform(gen, (H,), H), _uniform(gen, (), H)
    else:
        p["wo"], p["bo"] = _uniform(gen, (M,), M), _uniform(gen, (), M)
    return p


def init_params(
    gene_sizes: Sequence[int],
    n_models: int,
    cfg: NetConfig,
    seeds: Sequence[int],
    device: Union[str, torch.device] = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Params:
    """Initial parameters of ``n_models`` models; model ``k`` depends only on
    ``seeds[k]`` (drawn on the CPU, then moved), so a model starts identically
    whether it is trained alone or in a batch."""
    cfg.validate()
    sizes = _check_gene_sizes(gene_sizes)
    check_int("n_models", n_models, 1)
    if len(seeds) != n_models:
        raise ParameterError(f"seeds: expected {n_models} seeds (one per model), got {len(seeds)}")
    per_model = [_init_one(sizes, cfg, s) for s in seeds]
    stacked = {
        key: (
            [torch.stack([p[key][i] for p in per_model]) for i in range(len(sizes))]
            if key == "W1"
            else torch.stack([p[key] for p in per_model])
        )
        for key in per_model[0]
    }
    return map_params(stacked, lambda t: t.to(device=device, dtype=dtype).contiguous())


def map_params(params: Params, fn: Callable[[torch.Tensor], torch.Tensor]) -> Params:
    """Apply ``fn`` to every tensor, keeping the dict/list layout."""
    return {k: ([fn(t) for t in v] if isinstance(v, list) else fn(v)) for k, v in params.items()}


def tensors(params: Params) -> list:
    """All tensors in a fixed order (keys sorted, gene lists in gene order)."""
    out = []
    for k in sorted(params):
        v = params[k]
        out.extend(v if isinstance(v, list) else [v])
    return out


def weight_tensors(params: Params) -> list:
    """The L1-penalised tensors (weights, not biases)."""
    return tensors({k: v for k, v in params.items() if k in WEIGHT_KEYS})


def count_models(params: Params) -> int:
    """Number of models K in a parameter dict."""
    return int(params["bo"].shape[0])


def slice_models(params: Params, idx) -> Params:
    """Keep models ``idx`` (in that order); returns copies."""
    idx = torch.as_tensor(idx, dtype=torch.long, device=params["bo"].device)
    return map_params(params, lambda t: t.index_select(0, idx))


def concat_models(parts: Sequence[Params]) -> Params:
    """Stack several parameter dicts along the model dimension (inverse of
    :func:`slice_models`)."""
    first = parts[0]
    return {
        k: (
            [torch.cat([p[k][i] for p in parts]) for i in range(len(first[k]))]
            if isinstance(first[k], list)
            else torch.cat([p[k] for p in parts])
        )
        for k in first
    }


def split_columns(x: torch.Tensor, gene_sizes: Sequence[int]) -> list:
    """Column views of ``x`` (B, P) for genes whose SNPs are contiguous, in order."""
    return list(torch.split(x, [int(m) for m in gene_sizes], dim=1))


def _gene_node(x: torch.Tensor, params: Params, i: int, h: int, scale: float = 1.0) -> torch.Tensor:
    """Gene ``i``'s node for all K models, ``(K, B)``. One matmul of the shared
    block ``x`` (B, m_i) with every model's weights viewed as (m_i, K*h); ``scale``: the
    genotypes' multiplier (:data:`SNP_SCALE`), folded into the matmul."""
    W = params["W1"][i]
    K, m = W.shape[0], W.shape[1]
    if not h:
        return torch.addmm(params["b2"][:, i], x, W.t(), alpha=scale).t()
    z = torch.addmm(params["b1"][:, i].reshape(K * h), x, W.transpose(0, 1).reshape(m, K * h), alpha=scale)
    a = torch.relu(z).view(-1, K, h)
    return ((a * params["w2"][:, i]).sum(-1) + params["b2"][:, i]).t()


def gene_layer(params: Params, x_blocks: Sequence[torch.Tensor], cfg: NetConfig) -> torch.Tensor:
    """Gene nodes ``(K, B, M)``."""
    h, c = cfg.gene_hidden, float(cfg.snp_scale)
    return torch.stack([_gene_node(x, params, i, h, c) for i, x in enumerate(x_blocks)], dim=-1)


def head_forward(params: Params, gene_nodes: torch.Tensor, cfg: NetConfig) -> torch.Tensor:
    """The head on gene nodes ``(K, B, M)`` -> predictions ``(K, B)``."""
    a = gene_nodes
    if cfg.head_hidden:
        a = torch.relu(torch.bmm(gene_nodes, params["Wh"]) + params["bh"].unsqueeze(1))
    # The last layer is a matrix-vector product per model: elementwise mul + sum
    # is ~3x faster than bmm on the CPU, forward and backward.
    return (a * params["wo"].unsqueeze(1)).sum(-1) + params["bo"].unsqueeze(1)


def forward(params: Params, x_blocks: Sequence[torch.Tensor], cfg: NetConfig):
    """All K models on one batch: ``x_blocks[i]`` is gene i's SNP block (B, m_i).
    Returns ``(out (K, B), gene_nodes (K, B, M))``."""
    nodes = gene_layer(params, x_blocks, cfg)
    return head_forward(params, nodes, cfg), nodes


def activation_bytes_per_row(n_models: int, n_genes: int, cfg: NetConfig, itemsize: int = 4) -> int:
    """Rough bytes of activations kept for the backward pass, per input row, for
    ``n_models`` models: hidden gene units and head units (pre-activation, ReLU
    output, a temporary, each with its gradient counted once), plus gene nodes."""
    h, H = max(cfg.gene_hidden, 1), max(cfg.head_hidden, 1)
    return itemsize * n_models * (3 * n_genes * h + 3 * H + 2 * n_genes)
