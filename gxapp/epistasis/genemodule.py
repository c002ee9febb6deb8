"""The shared gene module of paper B (``C -> 50 -> 1``, tanh), batched over many networks.

Every network applies the SAME small MLP to each gene's class-count vector ``x`` (C,):

    g = w2 . tanh(x W1 + b1) + b2        (a "linear" network: identity instead of tanh)

so G genes give G gene neurons with ``C*50 + 50 + 50 + 1`` parameters (901 for C = 16, the
paper's "850 weights plus 51 biases"). Paper B does not name the module's activation; the
authors' public code for the same architecture family (Raimondi/Verplaetse, "sources/
models.py": ``Linear(C,50), LayerNorm, Tanh, Linear(50,1)``) uses tanh, tanh is the
activation of the pathway layer, and a bounded activation keeps the gene neurons on one
scale for the heads. We use tanh (without the LayerNorm, so the count matches 901).

Layout. Networks are indexed ``r = j * S + s``: ``J`` row groups (folds / repeats: each
has its own training rows and its own standardisation) times ``S`` network specs that see
the same rows. A group's networks share one read of its rows: the first layer of all S
specs is ONE matrix ``(C, S*50)``, and the J groups run as one batched matmul.

Standardisation per fold (docs/method.md#gene-centric-encoding) is folded into the first layer: for group ``j`` with
class means ``m_j`` and scales ``s_j``, ``((x - m_j)/s_j) W1 + b1 = x (W1/s_j) + (b1 -
(m_j/s_j) W1)``. The raw counts are shared by every fold; gradients flow to ``W1, b1``
exactly as if each fold had its own standardised copy of the data.

Speed (CPU). The module dominates the cost (~``6 G (C*50 + 50)`` FLOP per sample-epoch).
Its activations (50 per cell per network) are far larger than the caches, so the
forward pass streams over blocks of cells (``block_elements`` activations, a few MiB) and
keeps only the gene neurons;
the backward pass recomputes each block (activation checkpointing) and accumulates the
weight gradients. ``tanh(u) = 2 sigmoid(2u) - 1`` is used because torch's vectorised
sigmoid is ~10x faster than its tanh on the development CPU; the factors 2 are folded
into the weights.
"""

from __future__ import annotations

import torch

from gxapp.nn.count import count_params

HIDDEN = 50
DEFAULT_MIN_CELLS = 4096  # cells per group per block before groups are batched together
DEFAULT_BLOCK_ELEMENTS = 1 << 20  # activations per block (4 MiB): fastest of 64 Ki-4 Mi on the dev CPU


def param_shapes(n_classes: int, hidden: int = HIDDEN) -> dict:
    """Shapes of ONE network's gene-module parameters (shared by its genes)."""
    return {"W1": (n_classes, hidden), "b1": (hidden,), "w2": (hidden,), "b2": ()}


def n_params(n_classes: int, hidden: int = HIDDEN) -> int:
    """Trainable parameters of the shared gene module."""
    return count_params(param_shapes(n_classes, hidden))


def effective_first_layer(W1, b1, mean, scale, J: int, S: int):
    """Fold per-group standardisation into the first layer.

    W1 (J*S, C, H), b1 (J*S, H); mean, scale (J, C) -> ``(W_eff (J, C, S*H), b_eff (J, S*H))``
    laid out for one matmul per group. Differentiable (autograd carries the gradients back
    to W1, b1)."""
    R, C, H = W1.shape
    W = W1.view(J, S, C, H)
    inv = (1.0 / scale).to(W1.dtype)  # (J, C)
    W_eff = W * inv[:, None, :, None]
    shift = mean.to(W1.dtype) * inv  # (J, C)
    b_eff = b1.view(J, S, H) - torch.einsum("jc,jsch->jsh", shift, W)
    return W_eff.permute(0, 2, 1, 3).reshape(J, C, S * H), b_eff.reshape(J, S * H)


_BLOCKDIAG_MAX_S = 16  # up to this many specs per part, per-spec dot products run as one GEMM


def _blockdiag(c: torch.Tensor) -> torch.Tensor:
    """(J, S, H) -> (J, S*H, S) with c[j, s] in rows s*H..(s+1)*H of column s, zeros elsewhere."""
    J, S, H = c.shape
    out = torch.zeros(J, S, H, S, dtype=c.dtype, device=c.device)
    idx = torch.arange(S, device=c.device)
    out[:, idx, :, idx] = c.permute(1, 0, 2)
    return out.reshape(J, S * H, S)


class _Part:
    """The specs of one activation (tanh or identity): columns [s0, s1) of the S specs."""

    def __init__(self, s0: int, s1: int, tanh: bool):
        self.s0, self.s1, self.tanh = s0, s1, tanh
        self.S = s1 - s0


class GeneModuleKernel:
    """Blocked forward / backward of the gene module for J groups x S specs.

    ``n_tanh``: the first ``n_tanh`` specs use tanh, the others the identity (specs must be
    ordered so). Inputs per call: the flattened raw counts ``X`` (N*G, C) and, per group, the
    flat cell indices ``cells`` (J, n) of the cells to evaluate (padding cells are allowed:
    their gradients are zero because the loss gives them zero weight).

    Per block of cells and per activation part: one batched GEMM ``(J, k, C) x (J, C, S*H)``
    into a cache-sized buffer, the activation in place, and the per-spec dot products with
    ``w2`` as one GEMM against a block-diagonal ``(S*H, S)`` matrix (S x more FLOPs than the
    dot products need, but GEMM-fast; an einsum for more than 16 specs)."""

    def __init__(
        self,
        J: int,
        S: int,
        n_tanh: int,
        hidden: int = HIDDEN,
        block_elements: int = DEFAULT_BLOCK_ELEMENTS,
        min_cells: int = DEFAULT_MIN_CELLS,
    ):
        self.J, self.S, self.H, self.n_tanh = J, S, hidden, n_tanh
        self.budget = max(1, int(block_elements))
        self.min_cells = max(1, int(min_cells))
        self.parts = [p for p in (_Part(0, n_tanh, True), _Part(n_tanh, S, False)) if p.S]
        self._bufs = {}

    def _tiling(self, n: int, J: int) -> tuple:
        """(groups per chunk, cells per block) for n cells per group: each group gets at least
        min(n, min_cells) cells per block (wide GEMMs beat many tiny batched ones), and as many
        groups as then fit in the activation budget are batched together."""
        per_group = max(1, min(n, self.min_cells))
        sh = self.S * self.H
        jc = max(1, min(J, self.budget // (per_group * sh)))
        return jc, max(1, self.budget // (jc * sh))

    def _buffer(self, part: _Part, jn: int, k: int, dtype, device) -> torch.Tensor:
        need = jn * k * part.S * self.H
        buf = self._bufs.get(part.tanh)
        if buf is None or buf.numel() < need or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(max(need, self.budget * part.S // self.S), dtype=dtype, device=device)
            self._bufs[part.tanh] = buf
        return buf[:need].view(jn, k, part.S * self.H)

    def _weights(self, part: _Part, W_eff, b_eff):
        """First-layer weights of a part, x2 for tanh (tanh(u) = 2 sigmoid(2u) - 1)."""
        H = self.H
        W = W_eff[:, :, part.s0 * H : part.s1 * H]
        b = b_eff[:, part.s0 * H : part.s1 * H]
        return (2 * W, 2 * b) if part.tanh else (W, b)

    def _act(self, part, xb, Wk, bk):
        A = self._buffer(part, xb.shape[0], xb.shape[1], Wk.dtype, Wk.device)
        torch.baddbmm(bk[:, None, :], xb, Wk, out=A)
        if part.tanh:
            A.sigmoid_()
        return A

    @staticmethod
    def _dots(A, coef, bd):
        """(J, k, S) per-spec dot products of A (J, k, S*H) with coef (J, S, H)."""
        if bd is not None:
            return torch.bmm(A, bd)
        J, k, _ = A.shape
        return torch.einsum("jksh,jsh->jks", A.view(J, k, coef.shape[1], coef.shape[2]), coef)

    @staticmethod
    def _sum_by_spec(A, d):
        """(J, S, H): sum over cells of A (J, k, S*H) x d (J, k, S), per spec."""
        J, k, S = d.shape
        H = A.shape[2] // S
        if S <= _BLOCKDIAG_MAX_S:
            full = torch.bmm(d.transpose(1, 2), A).view(J, S, S, H)
            return torch.diagonal(full, dim1=1, dim2=2).permute(0, 2, 1)
        return torch.einsum("jksh,jks->jsh", A.view(J, k, S, H), d)

    # -- forward: gene neurons only ----------------------------------------
    @torch.no_grad()
    def forward(self, X, cells, W_eff, b_eff, w2, b2) -> torch.Tensor:
        """Gene neurons ``(J, n, S)``. W_eff (J, C, S*H), b_eff (J, S*H), w2 (J*S, H), b2 (J*S,);
        J: any number of the groups (a step may leave out groups with nothing to train)."""
        J, S, H = W_eff.shape[0], self.S, self.H
        w2 = w2.view(J, S, H)
        const = b2.view(J, S).clone()
        n = cells.shape[1]
        out = torch.empty(J, n, S, dtype=W_eff.dtype, device=W_eff.device)
        prep = []
        for part in self.parts:
            Wk, bk = self._weights(part, W_eff, b_eff)
            c = w2[:, part.s0 : part.s1]
            if part.tanh:  # g = sum(2 w2 sig) - sum(w2) + b2
                const[:, part.s0 : part.s1] -= c.sum(-1)
                c = 2 * c
            bd = _blockdiag(c) if part.S <= _BLOCKDIAG_MAX_S else None
            prep.append((part, Wk, bk, c, bd))
        jc, blk = self._tiling(n, J)
        for j0 in range(0, J, jc):
            j1 = min(J, j0 + jc)
            for s in range(0, n, blk):
                e = min(n, s + blk)
                xb = X.index_select(0, cells[j0:j1, s:e].reshape(-1)).view(j1 - j0, e - s, -1)
                for part, Wk, bk, c, bd in prep:
                    A = self._act(part, xb, Wk[j0:j1], bk[j0:j1])
                    out[j0:j1, s:e, part.s0 : part.s1] = self._dots(A, c[j0:j1], None if bd is None else bd[j0:j1])
        out += const[:, None, :]
        return out

    # -- backward: recompute each block ------------------------------------
    @torch.no_grad()
    def backward(self, X, cells, W_eff, b_eff, w2, dg):
        """Gradients ``(dW_eff (J, C, S*H), db_eff (J, S*H), dw2 (J*S, H), db2 (J*S,))`` given
        ``dg`` (J, n, S), the loss gradient of every gene neuron."""
        J, S, H = W_eff.shape[0], self.S, self.H
        w2 = w2.view(J, S, H)
        dW = torch.zeros_like(W_eff)
        db = torch.zeros_like(b_eff)
        E = torch.zeros(J, S, H, dtype=w2.dtype, device=w2.device)
        prep = []
        for part in self.parts:
            Wk, bk = self._weights(part, W_eff, b_eff)
            f = w2[:, part.s0 : part.s1] * (4.0 if part.tanh else 1.0)  # d tanh(u)/du = 4 sig (1 - sig)
            prep.append((part, Wk, bk, f.reshape(J, 1, part.S * H)))
        n = cells.shape[1]
        jc, blk = self._tiling(n, J)
        for j0 in range(0, J, jc):
            j1 = min(J, j0 + jc)
            for s in range(0, n, blk):
                e = min(n, s + blk)
                k = e - s
                xb = X.index_select(0, cells[j0:j1, s:e].reshape(-1)).view(j1 - j0, k, -1)
                xt = xb.transpose(1, 2)
                for part, Wk, bk, f in prep:
                    c0, c1 = part.s0 * H, part.s1 * H
                    A = self._act(part, xb, Wk[j0:j1], bk[j0:j1])
                    d = dg[j0:j1, s:e, part.s0 : part.s1]
                    E[j0:j1, part.s0 : part.s1] += self._sum_by_spec(A, d)
                    if part.tanh:
                        A.addcmul_(A, A, value=-1.0)  # sig (1 - sig)
                    else:
                        A.fill_(1.0)  # identity: du/du = 1
                    A.view(j1 - j0, k, part.S, H).mul_(d[..., None])
                    A.mul_(f[j0:j1])  # dL/du
                    dW[j0:j1, :, c0:c1].baddbmm_(xt, A)
                    db[j0:j1, c0:c1] += A.sum(1)
        dsum = dg.sum(1)  # (J, S)
        dw2 = E.clone()
        nt = self.n_tanh
        if nt:  # g = sum(w2 (2 sig - 1)) + b2
            dw2[:, :nt] = 2.0 * E[:, :nt] - dsum[:, :nt, None]
        return dW, db, dw2.reshape(J * S, H), dsum.reshape(J * S)


def reference_gene_neurons(x, W1, b1, w2, b2, linear: bool = False):
    """Plain autograd version for ONE network: x (n, C) standardised -> (n,). Used by tests."""
    h = x @ W1 + b1
    if not linear:
        h = torch.tanh(h)
    return h @ w2 + b2
