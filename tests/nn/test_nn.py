"""The training toolkit both papers share (gxapp.nn): stacked Adam, thread limiter,
out-of-memory error."""

import threading

import numpy as np
import pytest
import torch

from gxapp.errors import GxError
from gxapp.nn.memory import TrainingMemoryError, is_out_of_memory, memory_errors
from gxapp.nn.optim import ADAM_BETAS, ADAM_EPS, StackedAdam
from gxapp.nn.threads import resolve_threads, torch_threads


def _stacked(K=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(K, 4, 2, generator=g).requires_grad_(), torch.randn(K, 5, generator=g).requires_grad_()]


def _loss(ts, step, K):
    """A different smooth loss per model, summed (each model's gradient is its own)."""
    w = torch.arange(1, K + 1, dtype=torch.float32) * (1 + 0.1 * step)
    return sum(((t - 0.3 * step).pow(2).flatten(1).sum(1) * w).sum() + t.sin().sum() for t in ts)


def _reference(ts, k, n_steps, lr, wd=0.0):
    """Model k alone with torch.optim.Adam."""
    mine = [t.detach()[k : k + 1].clone().requires_grad_() for t in ts]
    K = ts[0].shape[0]
    opt = torch.optim.Adam(mine, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=wd, foreach=False)
    for s in range(n_steps):
        opt.zero_grad()
        full = [torch.zeros(K, *t.shape[1:]).index_copy(0, torch.tensor([k]), t) for t in mine]
        _loss(full, s, K).backward()
        opt.step()
    return [t.detach()[0] for t in mine]


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_all_active_steps_are_bitwise_torch_adam_per_model(wd):
    K, lr = 3, 0.05
    ts = _stacked(K)
    start = [t.detach().clone() for t in ts]
    opt = StackedAdam(ts, lr, weight_decay=wd)
    for s in range(6):
        _loss(ts, s, K).backward()
        opt.step(zero_grad=True)
    for k in range(K):
        ref = _reference([t.requires_grad_() for t in start], k, 6, lr, wd)
        for a, b in zip(ts, ref):
            assert torch.equal(a.detach()[k], b)


def test_masked_steps_follow_adam_and_freeze_inactive_models():
    K, lr = 3, 0.05
    ts = _stacked(K)
    start = [t.detach().clone() for t in ts]
    opt = StackedAdam(ts, lr, weight_decay=0.01, owners=[torch.arange(K)] * 2, n_models=K)
    active = torch.tensor([True, False, True])
    for s in range(5):
        _loss(ts, s, K).backward()
        opt.step(active, zero_grad=True)
        assert all(p.grad is None for p in ts)
    for a, b in zip(ts, start):
        assert torch.equal(a.detach()[1], b[1])  # frozen: weights ...
    for m in opt.exp_avg + opt.exp_avg_sq:
        assert torch.equal(m[1], torch.zeros_like(m[1]))  # ... and moments untouched
    assert opt.steps.tolist() == [5.0, 0.0, 5.0]
    for k in (0, 2):
        ref = _reference([t.clone().requires_grad_() for t in start], k, 5, lr, 0.01)
        for a, b in zip(ts, ref):
            torch.testing.assert_close(a.detach()[k], b, rtol=1e-5, atol=1e-6)


def test_masked_step_with_partial_owners():
    """A tensor owned by some models only (paper B's head banks) steps with its owners."""
    K = 3
    shared = torch.zeros(K, 2, requires_grad=True)
    head = torch.zeros(2, 2, requires_grad=True)  # rows belong to models 0 and 2
    opt = StackedAdam([shared, head], 0.1, owners=[torch.arange(K), torch.tensor([0, 2])], n_models=K)
    (shared.sum() + head.sum()).backward()
    opt.step(torch.tensor([False, True, True]), zero_grad=True)
    assert torch.equal(head.detach()[0], torch.zeros(2)) and (head.detach()[1] < 0).all()
    assert torch.equal(shared.detach()[0], torch.zeros(2)) and (shared.detach()[1:] < 0).all()


def test_keep_compacts_the_state_and_steps_go_on_exactly():
    K, lr = 4, 0.05
    ts = _stacked(K, seed=1)
    opt = StackedAdam(ts, lr)
    twin = [t.detach().clone().requires_grad_() for t in ts]
    twin_opt = StackedAdam(twin, lr)
    for s in range(3):
        for xs, o in ((ts, opt), (twin, twin_opt)):
            _loss(xs, s, K).backward()
            o.step(zero_grad=True)
    keep = torch.tensor([0, 2])
    small = [t.detach().index_select(0, keep).requires_grad_() for t in ts]
    opt.keep(keep)
    for s in range(3, 5):
        _loss([torch.zeros(K, *t.shape[1:]).index_copy(0, keep, t) for t in small], s, K).backward()
        opt.step(tensors=small, zero_grad=True)
        _loss(twin, s, K).backward()
        twin_opt.step(zero_grad=True)
    for a, b in zip(small, twin):
        assert torch.equal(a.detach(), b.detach().index_select(0, keep))


def test_unequal_steps_need_the_mask():
    ts = _stacked(2)
    opt = StackedAdam(ts, 0.1)
    _loss(ts, 0, 2).backward()
    opt.step(torch.tensor([True, False]))
    _loss(ts, 1, 2).backward()
    with pytest.raises(RuntimeError, match="active mask"):
        opt.step()
    with pytest.raises(ValueError, match="owners"):
        StackedAdam(ts, 0.1, owners=[torch.arange(2)] * 2, n_models=2).keep(torch.tensor([0]))


def test_thread_limiter_restores_the_previous_count():
    before = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
        with torch_threads(2):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(KeyError):
        with torch_threads(1):
            raise KeyError("boom")
    assert torch.get_num_threads() == before


def test_thread_limiter_is_safe_across_threads():
    before = torch.get_num_threads()
    inside, release = threading.Barrier(2), threading.Event()

    def worker():
        with torch_threads(1):
            inside.wait()
            release.wait()

    t = threading.Thread(target=worker)
    t.start()
    with torch_threads(2):
        inside.wait()
        release.set()
        t.join()
        assert torch.get_num_threads() == 2  # the other block ended: this one's count stays
    assert torch.get_num_threads() == before


def test_resolve_threads_default_leaves_spare_cores(monkeypatch):
    import gxapp.nn.threads as th

    monkeypatch.setattr(th, "available_cores", lambda: 8)
    assert resolve_threads(None) == 7 and resolve_threads(None, spare=0) == 8 and resolve_threads(3) == 3
    monkeypatch.setattr(th, "available_cores", lambda: 1)
    assert resolve_threads(None) == 1


def test_memory_errors_become_one_typed_error():
    with pytest.raises(TrainingMemoryError, match="lower batch_size") as info:
        with memory_errors("out of memory: lower batch_size"):
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert isinstance(info.value, GxError) and isinstance(info.value, MemoryError)
    assert is_out_of_memory(MemoryError()) and is_out_of_memory(RuntimeError("[enforce fail] can't allocate memory"))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        with memory_errors("unused"):
            raise RuntimeError("shape mismatch")
    from gxapp.epistasis.train import TrainingMemoryError as epi_error
    from gxapp.genenet.train import TrainingMemoryError as genenet_error

    assert epi_error is genenet_error is TrainingMemoryError


def test_early_stopping_keeps_the_best_epoch_and_stops_after_patience():
    from gxapp.nn.early_stopping import EarlyStopping

    es = EarlyStopping(3, patience=2)
    losses = [[3.0, 3.0, 3.0], [2.0, 3.5, 2.5], [2.5, 3.6, 2.0], [2.6, 3.7, 1.0], [1.0, 1.0, 0.5]]
    for epoch, val in enumerate(losses, start=1):
        active = es.active
        improved, go_on = es.update(epoch, active, np.array(val)[active])
        if epoch == 2:
            assert improved.tolist() == [True, False, True] and go_on.all()
        if epoch == 3:  # model 1 has not improved since epoch 1
            assert go_on.tolist() == [True, False, True]
    assert es.stopped.tolist() == [True, True, False]
    assert es.best_epoch.tolist() == [2, 1, 5] and es.epochs_run.tolist() == [4, 3, 5]
    assert es.best_val.tolist() == [2.0, 3.0, 0.5]


@pytest.mark.parametrize(
    "make, change, message",
    [
        ("genenet.config.TrainConfig", {"threads": 0}, "threads: expected an integer >= 1 or None, got 0"),
        ("genenet.config.TrainConfig", {"val_fraction": 1.0}, "val_fraction: expected a number in (0, 1), got 1.0"),
        ("genenet.config.TrainConfig", {"device": "tpu"}, "device: expected 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ("genenet.models.NetConfig", {"gene_hidden": -1}, "gene_hidden: expected an integer in [0, 100000], got -1"),
        ("epistasis.train.EpiTrainConfig", {"dropout": 1.0}, "dropout: expected a number in [0, 1), got 1.0"),
        ("epistasis.train.EpiTrainConfig", {"batch_size": True}, "batch_size: expected an integer >= 1, got True"),
    ],
)
def test_training_configs_declare_their_constraints(make, change, message):
    import importlib

    from gxapp.errors import ParameterError
    from gxapp.params import Params

    module, name = make.rsplit(".", 1)
    cls = getattr(importlib.import_module("gxapp." + module), name)
    assert issubclass(cls, Params) and cls().validate() is not None
    with pytest.raises(ParameterError) as info:
        cls(**change).validate()
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("h, H", [(4, 8), (0, 0), (0, 6), (3, 0)])
def test_declared_shapes_are_the_networks_shapes(h, H):
    from gxapp.genenet.models import NetConfig, init_params, n_params, param_shapes, tensors

    net, sizes = NetConfig(gene_hidden=h, head_hidden=H), (3, 4, 5)
    actual = [tuple(t.shape[1:]) for t in tensors(init_params(sizes, 2, net, seeds=[0, 1]))]
    assert [tuple(s) for s in param_shapes(sizes, net)] == actual
    assert n_params(sizes, net) == sum(int(np.prod(s)) for s in actual)


def test_epistasis_counts_follow_the_initialised_weights():
    from gxapp.epistasis import additive, genemodule
    from gxapp.epistasis import models as M
    from gxapp.nn.count import count_params

    gen = torch.Generator().manual_seed(0)
    gm = M.init_gene_module(gen, 16)
    assert {k: tuple(v.shape) for k, v in gm.items()} == genemodule.param_shapes(16)
    assert genemodule.n_params(16) == count_params(genemodule.param_shapes(16)) == 901
    for spec in (M.NetSpec("lr", "logreg"), M.NetSpec("d", "dense", n_neurons=4)):
        head = M.init_head(gen, spec, 10)
        assert {k: tuple(v.shape) for k, v in head.items()} == M.head_shapes(spec, 10)
    sparse = M.NetSpec("s", "sparse", wiring=np.array([0, 2, 0, -1, 2]), n_neurons=4)
    head = M.init_head(gen, sparse, 5, n_neurons_pad=6)
    nonzero = sum(int((v != 0).sum()) for v in head.values())  # padding and unconnected weights are zero
    assert M.n_params(sparse, 5, 16) == 901 + nonzero == 901 + 4 + 2 * 2 + 1
    assert additive.n_params(10, 16) == 161


def test_gene_blocks_are_checked_in_one_place():
    from gxapp.data.cohort import check_gene_blocks
    from gxapp.errors import EmptyDataError, ParameterError

    out = check_gene_blocks([[0, 1], np.array([2])], 3, min_genes=2)
    assert [b.dtype for b in out] == [np.int64, np.int64] and out[1].tolist() == [2]
    with pytest.raises(ParameterError, match="gene_blocks: a gene interaction network needs at least 2 genes, got 1"):
        check_gene_blocks([[0]], 3, min_genes=2, purpose="a gene interaction network")
    with pytest.raises(EmptyDataError, match="cohort.gene_snps: gene 'B' has no SNP"):
        check_gene_blocks([[0], []], 3, names=["A", "B"], field="cohort.gene_snps", empty_error=EmptyDataError)
    with pytest.raises(ParameterError, match=r"gene 1 has a column index out of range 0\.\.2"):
        check_gene_blocks([[0], [3]], 3)
