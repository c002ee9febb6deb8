"""Per-model early stopping of stacked models: best validation loss, best epoch, patience.

Both papers' engines train many models at once and stop each on its own validation loss.
:class:`EarlyStopping` keeps the numbers; copying each improved model's weights stays with
the engine, because the two lay their weights out differently (paper A drops stopped
models from its tensors, paper B keeps them and masks)."""

from __future__ import annotations

import numpy as np

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """``n_models`` models; a model stops after ``patience`` epochs without a lower
    validation loss. Epochs are 1-based; ``best_epoch`` 0 means never evaluated."""

    def __init__(self, n_models: int, patience: int):
        self.patience = int(patience)
        self.best_val = np.full(n_models, np.inf)
        self.best_epoch = np.zeros(n_models, np.int64)
        self.epochs_run = np.zeros(n_models, np.int64)
        self.stopped = np.zeros(n_models, bool)

    @property
    def active(self) -> np.ndarray:
        """Indices of the models still training."""
        return np.flatnonzero(~self.stopped)

    def update(self, epoch: int, active: np.ndarray, val: np.ndarray):
        """Record ``epoch``'s validation loss ``val`` of the ``active`` models (indices).

        Returns ``(improved, go_on)``, boolean masks over ``active``: the models whose
        loss improved (copy their weights now) and those that keep training."""
        improved = val < self.best_val[active]
        self.best_val[active[improved]] = val[improved]
        self.best_epoch[active[improved]] = epoch
        self.epochs_run[active] = epoch
        go_on = epoch - self.best_epoch[active] < self.patience
        self.stopped[active[~go_on]] = True
        return improved, go_on
