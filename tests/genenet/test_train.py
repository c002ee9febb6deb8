"""The batched training engine (gxapp.genenet.models, gxapp.genenet.train) against a one-model-
at-a-time nn.Module reference (tests/reference/train.py), plus early stopping, learning, errors, caching."""

import threading

import numpy as np
import pytest
import torch

from gxapp.errors import Cancelled, GxError, InputFormatError, ParameterError
from gxapp.genenet.models import NetConfig, activation_bytes_per_row, init_params, n_params, slice_models, tensors
from gxapp.genenet.train import (
    TrainConfig,
    TrainingMemoryError,
    TrainResult,
    train_ensemble,
)

from reference.train import train_single_reference

SIZES = (3, 4, 5)
BLOCKS = [np.arange(0, 3), np.arange(3, 7), np.arange(7, 12)]


def make_data(n=400, seed=0, noise=0.5):
    """Centred genotypes for 3 genes; column 0 of Y has a g1*g2 interaction,
    column 1 is additive."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(2, 0.3, size=(n, sum(SIZES))).astype(np.float32)
    x -= x.mean(0)
    g1, g2 = x[:, 0] + x[:, 1], x[:, 4] - x[:, 5]
    y = np.stack([g1 * g2 + rng.normal(0, noise, n), g1 + x[:, 8] + rng.normal(0, 1, n)], 1)
    return x, y


NET = NetConfig(gene_hidden=4, head_hidden=8)
# Small batches (several Adam steps per epoch) and a short patience so that
# models stop at different epochs.
CFG = TrainConfig(batch_size=64, max_epochs=25, patience=3, l1=1e-3, lr=0.01, threads=1)


def assert_same_models(a: TrainResult, b: TrainResult, x, atol=1e-5):
    np.testing.assert_array_equal(a.epochs_run, b.epochs_run)
    np.testing.assert_array_equal(a.best_epoch, b.best_epoch)
    for ta, tb in zip(tensors(a.params), tensors(b.params)):
        assert ta.shape == tb.shape
        torch.testing.assert_close(ta, tb, atol=atol, rtol=1e-4)
    np.testing.assert_allclose(a.predict(x), b.predict(x), atol=atol, rtol=1e-4)
    np.testing.assert_allclose(a.val_loss, b.val_loss, atol=atol, rtol=1e-4)
    np.testing.assert_allclose(a.train_loss, b.train_loss, atol=atol, rtol=1e-4)


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def reference(data):
    x, y = data
    return train_single_reference(x, y, BLOCKS, np.arange(300), NET, CFG, n_members=4)


def test_batched_equals_models_trained_alone(data, reference):
    x, y = data
    batched = train_ensemble(x, y, BLOCKS, np.arange(300), NET, CFG, n_members=4)
    assert batched.n_models == 8
    np.testing.assert_array_equal(batched.targets_of_model, [0, 0, 0, 0, 1, 1, 1, 1])
    # early stopping hit different models at different epochs, so compaction ran
    assert len(set(batched.epochs_run.tolist())) >= 3
    assert batched.epochs_run.min() < CFG.max_epochs
    assert_same_models(batched, reference, x)


def test_row_chunking_gives_the_same_models(data, reference):
    x, y = data
    tiny = TrainConfig(**{**CFG.__dict__, "max_activation_bytes": 8 * 1024})
    assert tiny.max_activation_bytes // activation_bytes_per_row(8, 3, NET) < 5  # a few rows per chunk
    chunked = train_ensemble(x, y, BLOCKS, np.arange(300), NET, tiny, n_members=4)
    assert_same_models(chunked, reference, x)


@pytest.mark.parametrize("h,H", [(0, 0), (0, 6), (3, 0)])
def test_linear_gene_nodes_and_linear_head(data, h, H):
    x, y = data
    net = NetConfig(gene_hidden=h, head_hidden=H)
    cfg = TrainConfig(**{**CFG.__dict__, "max_epochs": 8})
    a = train_ensemble(x, y, BLOCKS, np.arange(300), net, cfg, n_members=2)
    b = train_single_reference(x, y, BLOCKS, np.arange(300), net, cfg, n_members=2)
    assert_same_models(a, b, x)
    per_model = sum(t[0].numel() for t in tensors(a.params))
    assert n_params(SIZES, net) == per_model


def test_custom_targets_of_model(data):
    x, y = data
    cfg = TrainConfig(**{**CFG.__dict__, "max_epochs": 5})
    a = train_ensemble(x, y, BLOCKS, np.arange(300), NET, cfg, n_members=1, targets_of_model=[1, 0, 1])
    b = train_single_reference(x, y, BLOCKS, np.arange(300), NET, cfg, n_members=1, targets_of_model=[1, 0, 1])
    assert a.predict(x).shape == (3, x.shape[0])
    assert a.seeds[0] == a.seeds[1] != a.seeds[2]  # member 0 of target 1, member 0 of target 0, member 1
    assert_same_models(a, b, x)


def test_init_depends_only_on_the_models_seed():
    both = init_params(SIZES, 3, NET, seeds=[5, 6, 7])
    alone = init_params(SIZES, 1, NET, seeds=[6])
    for t_both, t_alone in zip(tensors(slice_models(both, [1])), tensors(alone)):
        torch.testing.assert_close(t_both, t_alone, rtol=0, atol=0)
    bound = 1 / np.sqrt(SIZES[2])
    assert both["W1"][2].abs().max() <= bound and both["W1"][2].shape == (3, SIZES[2], NET.gene_hidden)


def test_same_member_starts_identically_for_every_target(reference):
    seeds = np.array(reference.seeds)
    np.testing.assert_array_equal(seeds[:4], seeds[4:])
    assert len(set(seeds[:4].tolist())) == 4


def test_early_stopping_restores_the_best_epoch(data):
    x, y = data
    r = train_ensemble(x, y, BLOCKS, np.arange(300), NET, CFG, n_members=4)
    val_pred = r.predict(x[r.val_idx])
    val_mse = ((val_pred - y[r.val_idx][:, r.targets_of_model].T) ** 2).mean(1)
    np.testing.assert_allclose(val_mse, np.nanmin(r.val_loss, axis=0), rtol=1e-5)
    np.testing.assert_allclose(val_mse, r.best_val, rtol=1e-5)
    np.testing.assert_array_equal(np.nanargmin(r.val_loss, axis=0) + 1, r.best_epoch)
    stopped = r.epochs_run < CFG.max_epochs
    assert stopped.any()
    np.testing.assert_array_equal(r.epochs_run[stopped] - r.best_epoch[stopped], CFG.patience)
    for k in range(r.n_models):  # curves are NaN after a model stopped
        assert np.isfinite(r.val_loss[: r.epochs_run[k], k]).all()
        assert np.isnan(r.val_loss[r.epochs_run[k] :, k]).all()


def test_validation_rows_come_from_the_training_rows(data, reference):
    train = np.arange(300)
    assert set(reference.val_idx) | set(reference.train_idx) == set(train)
    assert not set(reference.val_idx) & set(reference.train_idx)
    assert reference.val_idx.size == round(300 * CFG.val_fraction) == 30


def test_a_planted_interaction_is_learned():
    x, y = make_data(n=600, seed=3, noise=0.3)
    y = y[:, 0]
    train, test = np.arange(450), np.arange(450, 600)
    cfg = TrainConfig(batch_size=64, max_epochs=300, patience=20, l1=1e-4, lr=0.01, threads=1)

    def test_mse(head_hidden):
        r = train_ensemble(x, y, BLOCKS, train, NetConfig(gene_hidden=4, head_hidden=head_hidden), cfg, 2)
        return float(((r.predict(x[test]).mean(0) - y[test]) ** 2).mean())

    interaction, main_effect = test_mse(16), test_mse(0)
    # noise variance is 0.09, var(y) ~1.2; the additive network cannot fit g1*g2
    assert interaction < 0.3 * main_effect, (interaction, main_effect)
    assert interaction < 0.3 * np.var(y[test])


def test_state_dict_round_trip(tmp_path, data, reference):
    x, _ = data
    path = tmp_path / "ens.pt"
    torch.save(reference.state_dict(), path)
    back = TrainResult.from_state_dict(torch.load(path, weights_only=True))
    np.testing.assert_array_equal(back.predict(x), reference.predict(x))
    np.testing.assert_array_equal(back.val_idx, reference.val_idx)
    np.testing.assert_array_equal(back.val_loss, reference.val_loss)
    assert back.net == reference.net and back.cfg == reference.cfg and back.seeds == reference.seeds


def test_progress_and_cancel(data):
    x, y = data
    seen = []
    cfg = TrainConfig(**{**CFG.__dict__, "max_epochs": 3, "patience": 3})
    train_ensemble(x, y, BLOCKS, np.arange(300), NET, cfg, 2, progress=lambda f, m: seen.append((f, m)))
    assert seen[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in seen)
    assert any("epoch 2/3" in m and "models training" in m and "best val MSE" in m for _, m in seen)

    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        train_ensemble(x, y, BLOCKS, np.arange(300), NET, cfg, 2, cancel=stop)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"l1": -0.1}, "l1"),
        ({"lr": 0.0}, "lr"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"batch_size": 0}, "batch_size"),
        ({"patience": 0}, "patience"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_settings_name_the_field(data, change, field):
    x, y = data
    with pytest.raises(ParameterError, match=field):
        train_ensemble(x, y, BLOCKS, np.arange(300), NET, TrainConfig(**change), 2)


def _nan_x(x, y):
    bad_x = x.copy()
    bad_x[[1, 2, 3], 4] = np.nan
    return bad_x, y


def _inf_y(x, y):
    bad_y = y.copy()
    bad_y[0, 1] = np.inf
    return x, bad_y


def _flat_y(x, y):
    flat_y = y.copy()
    flat_y[:, 1] = 2.0
    return x, flat_y


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x, y, train: train_ensemble(x, y, BLOCKS, train, NET, CFG, n_members=0), ParameterError, "n_members"),
        (
            lambda x, y, train: train_ensemble(x, y, BLOCKS, train, NetConfig(gene_hidden=-1), CFG, 2),
            ParameterError,
            "gene_hidden",
        ),
        (lambda x, y, train: train_ensemble(x, y, BLOCKS[:1], train, NET, CFG, 2), ParameterError, "at least 2 genes"),
        (
            lambda x, y, train: train_ensemble(*_nan_x(x, y), BLOCKS, train, NET, CFG, 2),
            InputFormatError,
            "X has 3 NaN values.*impute",
        ),
        (
            lambda x, y, train: train_ensemble(*_inf_y(x, y), BLOCKS, train, NET, CFG, 2),
            InputFormatError,
            "Y has 1 infinite value in",
        ),
        (
            lambda x, y, train: train_ensemble(*_flat_y(x, y), BLOCKS, train, NET, CFG, 2),
            ParameterError,
            r"zero variance",
        ),
    ],
    ids=["zero_members", "negative_gene_hidden", "one_gene", "nan_in_x", "inf_in_y", "constant_y_column"],
)
def test_bad_inputs_raise_typed_errors(data, call, error, match):
    x, y = data
    train = np.arange(300)
    with pytest.raises(error, match=match):
        call(x, y, train)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu(data):
    x, y = data
    with pytest.raises(ParameterError, match="CUDA requested but no GPU is available"):
        train_ensemble(x, y, BLOCKS, np.arange(300), NET, TrainConfig(device="cuda"), 2)


def test_out_of_memory_becomes_a_gx_error(data, monkeypatch):
    import gxapp.genenet.train as train_mod

    def oom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(train_mod, "forward", oom)
    x, y = data
    with pytest.raises(TrainingMemoryError, match="fewer models") as info:
        train_ensemble(x, y, BLOCKS, np.arange(300), NET, CFG, 2)
    assert isinstance(info.value, GxError)


def test_per_model_l1_equals_models_trained_with_their_own_l1(data):
    """A sparsity path as one batch: models with λ_k each train exactly as if trained alone with λ_k."""
    x, y = data
    y0 = y[:, :1]
    cfg = TrainConfig(**{**CFG.__dict__, "max_epochs": 10})
    lams = [1e-4, 1e-2]
    batched = train_ensemble(
        x,
        np.repeat(y0, 2, axis=1),  # one copy of the phenotype per λ: member e keeps its seed
        BLOCKS,
        np.arange(300),
        NET,
        cfg,
        n_members=2,
        l1_of_model=np.repeat(lams, 2),
    )
    for j, lam in enumerate(lams):
        alone = train_ensemble(x, y0, BLOCKS, np.arange(300), NET, TrainConfig(**{**cfg.__dict__, "l1": lam}), 2)
        part = batched.select(np.flatnonzero(batched.targets_of_model == j), targets_of_model=np.zeros(2, np.int64))
        assert_same_models(part, alone, x)
    with pytest.raises(ParameterError, match="l1_of_model"):
        train_ensemble(x, y0, BLOCKS, np.arange(300), NET, cfg, 2, l1_of_model=[1e-3])


@pytest.mark.parametrize("h", [0, 3])
def test_snp_scale_is_the_genotypes_multiplied_into_the_gene_layer(data, h):
    """``snp_scale = c`` on X trains the same networks as ``c = 1`` on ``c·X`` (same weights, same
    predictions): a reparametrisation of the gene layer, not another model; and it changes
    what is learned (c = 1 and c = 5 on the same X differ)."""
    from dataclasses import replace

    x, y = data
    c = 5.0
    net = NetConfig(gene_hidden=h, head_hidden=8, snp_scale=c)
    scaled = train_ensemble(x, y, BLOCKS, np.arange(300), net, CFG, 2)
    plain = train_ensemble(x * c, y, BLOCKS, np.arange(300), replace(net, snp_scale=1.0), CFG, 2)
    np.testing.assert_array_equal(scaled.best_epoch, plain.best_epoch)
    for ta, tb in zip(tensors(scaled.params), tensors(plain.params)):
        torch.testing.assert_close(ta, tb, atol=2e-4, rtol=1e-3)
    np.testing.assert_allclose(scaled.predict(x), plain.predict(x * c), atol=2e-4, rtol=1e-3)
    other = train_ensemble(x, y, BLOCKS, np.arange(300), replace(net, snp_scale=1.0), CFG, 2)
    assert not np.allclose(other.predict(x), scaled.predict(x), atol=1e-3)


def test_a_result_saved_before_the_snp_scale_loads_with_scale_one(data):
    x, y = data
    res = train_ensemble(x, y, BLOCKS, np.arange(300), NetConfig(gene_hidden=0, head_hidden=4, snp_scale=1.0), CFG, 1)
    sd = res.state_dict()
    del sd["net"]["snp_scale"]
    back = TrainResult.from_state_dict(sd)
    assert back.net.snp_scale == 1.0
    np.testing.assert_allclose(back.predict(x), res.predict(x), atol=1e-6)
