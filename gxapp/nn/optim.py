"""Adam on stacked parameters: many independent models whose weights share tensors.

Every tensor's rows belong to models: by default row ``i`` of every tensor is model ``i``
(``owners=None``); ``owners[k]`` (a long tensor, one model id per row of tensor ``k``)
says otherwise, for tensors that only some models have (paper B's head banks). Each
model keeps its own step count, so its update is exactly its update alone.

Two ways to step, with the two op orders the papers' engines were validated with:

* ``step()`` with every model active (paper A: models that stop early are dropped with
  :meth:`StackedAdam.keep`, so every model left steps every time). In-place ops in
  ``torch.optim.Adam``'s single-tensor order (``foreach=False``): each model's weights
  are bitwise those of ``torch.optim.Adam`` on that model alone.
* ``step(active)`` with a boolean mask over the models (paper B: a network whose fold ran
  out of batches, or that stopped early, is not updated). Out-of-place ops merged with
  ``torch.where``: inactive models' weights and moments are left untouched; active
  models follow the same formula (equal to ``torch.optim.Adam`` up to float rounding).

Weight decay is coupled L2 (``torch.optim.Adam(weight_decay=...)``).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

__all__ = ["ADAM_BETAS", "ADAM_EPS", "StackedAdam"]

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class StackedAdam:
    """Adam over ``tensors`` (leaf tensors with ``.grad``) of ``n_models`` stacked models.

    ``owners``: per tensor, the model id of each of its rows (None: row ``i`` is model
    ``i`` in every tensor). ``step(tensors=...)`` steps new tensor objects of the same
    layout (paper A rebuilds its leaves after dropping models)."""

    def __init__(
        self,
        tensors: Sequence[torch.Tensor],
        lr: float,
        betas=ADAM_BETAS,
        eps: float = ADAM_EPS,
        weight_decay: float = 0.0,
        owners: Optional[Sequence[torch.Tensor]] = None,
        n_models: Optional[int] = None,
    ):
        self.tensors = list(tensors)
        self.lr, self.betas, self.eps, self.wd = lr, betas, eps, weight_decay
        self.owners = None if owners is None else list(owners)
        if n_models is None:
            if self.owners is not None:
                raise ValueError("n_models: give the number of models when owners are given")
            n_models = int(self.tensors[0].shape[0])
        self.exp_avg = [torch.zeros_like(t) for t in self.tensors]
        self.exp_avg_sq = [torch.zeros_like(t) for t in self.tensors]
        self.steps = torch.zeros(n_models, dtype=torch.float64)

    @property
    def n_models(self) -> int:
        return int(self.steps.numel())

    def _grad(self, p: torch.Tensor) -> torch.Tensor:
        return p.grad if not self.wd else p.grad.add(p, alpha=self.wd)

    @torch.no_grad()
    def step(
        self,
        active: Optional[torch.Tensor] = None,
        tensors: Optional[Sequence[torch.Tensor]] = None,
        zero_grad: bool = False,
    ) -> None:
        """One Adam step of the ``active`` models (bool ``(n_models,)``; None: all, which
        needs every model at the same step count). ``zero_grad``: set ``.grad`` to None."""
        if tensors is not None:
            self.tensors = list(tensors)
        if active is None:
            self._step_all()
        else:
            self._step_masked(active)
        if zero_grad:
            for p in self.tensors:
                p.grad = None

    def _step_all(self) -> None:
        self.steps += 1
        t = float(self.steps[0])
        if self.n_models and not bool((self.steps == t).all()):
            raise RuntimeError("StackedAdam.step(): models are at different steps; pass the active mask")
        beta1, beta2 = self.betas
        bc1 = 1 - beta1 ** int(t)
        bc2_sqrt = math.sqrt(1 - beta2 ** int(t))
        step_size = self.lr / bc1
        for p, m, v in zip(self.tensors, self.exp_avg, self.exp_avg_sq):
            g = self._grad(p)
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)

    def _step_masked(self, active: torch.Tensor) -> None:
        b1, b2 = self.betas
        self.steps += active.double()
        all_models = None
        for k, (p, m, v) in enumerate(zip(self.tensors, self.exp_avg, self.exp_avg_sq)):
            if self.owners is not None:
                own = self.owners[k]
            else:
                all_models = torch.arange(self.n_models) if all_models is None else all_models
                own = all_models
            shape = (-1,) + (1,) * (p.dim() - 1)
            act = active[own].view(shape)
            t = self.steps[own].clamp(min=1)
            g = self._grad(p)
            m_new = torch.where(act, m.lerp(g, 1 - b1), m)
            v_new = torch.where(act, v * b2 + (1 - b2) * g * g, v)
            bc1 = (1 - b1**t).float().view(shape)
            bc2s = torch.sqrt(1 - b2**t).float().view(shape)
            upd = m_new / (v_new.sqrt() / bc2s + self.eps) * (self.lr / bc1)
            p.copy_(torch.where(act, p - upd, p))
            m.copy_(m_new)
            v.copy_(v_new)

    def keep(self, idx: torch.Tensor) -> None:
        """Keep models ``idx`` (in that order) and drop the rest from the state; the
        tensors are then given to :meth:`step` already sliced the same way."""
        if self.owners is not None:
            raise ValueError("keep: only for tensors whose row i is model i (owners=None)")
        self.exp_avg = [t.index_select(0, idx) for t in self.exp_avg]
        self.exp_avg_sq = [t.index_select(0, idx) for t in self.exp_avg_sq]
        self.steps = self.steps.index_select(0, idx.to(self.steps.device))
