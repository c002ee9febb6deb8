"""Paper A's trained models: :class:`TrainResult` (best weights and training records),
prediction in row chunks, and its plain-tensor state dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from gxapp.errors import InputFormatError
from gxapp.genenet.config import TrainConfig, activation_budget, resolve_threads
from gxapp.genenet.models import NetConfig, Params, activation_bytes_per_row, forward, gene_layer, split_columns
from gxapp.nn.threads import torch_threads

__all__ = ["TrainResult", "predict_rows", "curves"]


@torch.no_grad()
def predict_rows(params: Params, x: torch.Tensor, gene_sizes, net: NetConfig, chunk: int) -> torch.Tensor:
    """Predictions ``(K, n)`` of every model, ``chunk`` rows at a time."""
    outs = [forward(params, split_columns(x[s : s + chunk], gene_sizes), net)[0] for s in range(0, x.shape[0], chunk)]
    return torch.cat(outs, dim=1)


@dataclass
class TrainResult:
    """Trained models (best weights, all K in their original order) and records.

    ``train_loss``/``val_loss``: (epochs, K) per-epoch minibatch-averaged training
    MSE and validation MSE (NaN once a model stopped). ``best_epoch``/``epochs_run``
    are 1-based. ``train_idx`` are the fitting rows; ``val_idx`` the held-out
    training rows used for early stopping.
    """

    params: Params
    net: NetConfig
    cfg: TrainConfig
    gene_blocks: list
    targets_of_model: np.ndarray
    seeds: list
    best_epoch: np.ndarray
    epochs_run: np.ndarray
    best_val: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    seconds: float
    device: str
    threads: int

    @property
    def n_models(self) -> int:
        return int(self.targets_of_model.size)

    def select(self, models, **changes) -> "TrainResult":
        """Models ``models`` (in that order) as their own result, as if trained alone (the records
        trimmed to their epochs); ``changes`` replace fields (e.g. ``cfg`` with their own L1)."""
        from dataclasses import replace

        from gxapp.genenet.models import slice_models

        idx = np.asarray(models, dtype=np.int64).ravel()
        epochs = int(self.epochs_run[idx].max()) if idx.size else 0
        fields = dict(
            params=slice_models(self.params, idx),
            targets_of_model=self.targets_of_model[idx],
            seeds=[self.seeds[i] for i in idx.tolist()],
            best_epoch=self.best_epoch[idx],
            epochs_run=self.epochs_run[idx],
            best_val=self.best_val[idx],
            train_loss=self.train_loss[:epochs, idx],
            val_loss=self.val_loss[:epochs, idx],
        )
        return replace(self, **{**fields, **changes})

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of every model, ``(K, N)`` float32, in row chunks, on the CPU."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] <= max(int(b.max()) for b in self.gene_blocks):
            raise InputFormatError(f"X: expected (N, P) with P covering the gene blocks, got shape {X.shape}")
        x = torch.from_numpy(np.ascontiguousarray(X[:, np.concatenate(self.gene_blocks)], dtype=np.float32))
        per_row = activation_bytes_per_row(self.n_models, len(self.gene_blocks), self.net) + 4 * x.shape[1]
        chunk = max(1, activation_budget(self.cfg, torch.device("cpu")) // per_row)
        with torch_threads(resolve_threads(self.cfg.threads)):
            out = predict_rows(self.params, x, [b.size for b in self.gene_blocks], self.net, chunk)
        return out.numpy()

    def node_batches(self, X: np.ndarray, rows, batch_rows: int, params: Params = None):
        """Yield ``(positions, gene nodes (K, b, M))`` for ``rows`` of ``X`` in batches, computed with
        ``params`` (default: the trained weights; pass them moved to a device to compute there)."""
        params = self.params if params is None else params
        rows = np.asarray(rows, dtype=np.int64).ravel()
        cols = np.concatenate(self.gene_blocks)
        sizes = [b.size for b in self.gene_blocks]
        device = params["bo"].device
        for start in range(0, rows.size, batch_rows):
            part = rows[start : start + batch_rows]
            x = np.ascontiguousarray(X[np.ix_(part, cols)], dtype=np.float32)
            if not np.isfinite(x).all():
                raise InputFormatError("X: NaN or infinite genotypes in the rows to score; impute them first")
            xt = torch.from_numpy(x).to(device)
            yield slice(start, start + part.size), gene_layer(params, split_columns(xt, sizes), self.net)

    @torch.no_grad()
    def gene_nodes(self, X: np.ndarray, rows, batch_rows: int = 8192) -> np.ndarray:
        """Gene nodes ``(K, len(rows), M)`` float32 of every model on ``rows`` of ``X``, on the CPU."""
        if X.ndim != 2 or X.shape[1] <= max(int(b.max()) for b in self.gene_blocks):
            raise InputFormatError(f"X: expected (N, P) with P covering the gene blocks, got shape {X.shape}")
        with torch_threads(resolve_threads(self.cfg.threads)):
            out = [nodes.numpy() for _, nodes in self.node_batches(X, rows, batch_rows)]
        return np.concatenate(out, axis=1) if out else np.zeros((self.n_models, 0, len(self.gene_blocks)), np.float32)

    def state_dict(self) -> dict:
        """Plain tensors, strings and numbers only: ``torch.save`` it and read it
        back with ``torch.load(weights_only=True)``."""
        return {
            "format": "gxapp.train/1",
            "params": self.params,
            "net": asdict(self.net),
            "cfg": asdict(self.cfg),
            "gene_blocks": [torch.from_numpy(b) for b in self.gene_blocks],
            "targets_of_model": torch.from_numpy(self.targets_of_model),
            "seeds": torch.tensor(self.seeds, dtype=torch.int64),
            "best_epoch": torch.from_numpy(self.best_epoch),
            "epochs_run": torch.from_numpy(self.epochs_run),
            "best_val": torch.from_numpy(self.best_val),
            "train_loss": torch.from_numpy(self.train_loss),
            "val_loss": torch.from_numpy(self.val_loss),
            "train_idx": torch.from_numpy(self.train_idx),
            "val_idx": torch.from_numpy(self.val_idx),
            "seconds": float(self.seconds),
            "device": self.device,
            "threads": int(self.threads),
        }

    @classmethod
    def from_state_dict(cls, sd: dict) -> "TrainResult":
        if not isinstance(sd, dict) or sd.get("format") != "gxapp.train/1":
            raise InputFormatError("state_dict: not a gxapp training result (format 'gxapp.train/1')")
        arrays = (
            "targets_of_model",
            "best_epoch",
            "epochs_run",
            "best_val",
            "train_loss",
            "val_loss",
            "train_idx",
            "val_idx",
        )
        return cls(
            params=sd["params"],
            net=NetConfig(**{"snp_scale": 1.0, **sd["net"]}),  # saved before the scale existed: trained with 1
            cfg=TrainConfig(**sd["cfg"]),
            gene_blocks=[b.numpy() for b in sd["gene_blocks"]],
            seeds=sd["seeds"].tolist(),
            seconds=sd["seconds"],
            device=sd["device"],
            threads=sd["threads"],
            **{k: sd[k].numpy() for k in arrays},
        )


def curves(rows: list, K: int) -> np.ndarray:
    """Stack per-epoch {model: value} records into (epochs, K), NaN elsewhere."""
    out = np.full((len(rows), K), np.nan)
    for e, (active, values) in enumerate(rows):
        out[e, active] = values
    return out
