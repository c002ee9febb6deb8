"""The executor seam: in-process and local processes give what the loop gave, in any
completion order, with stage-named progress and a cancel that reaches running chunks."""

import os
import sys
import threading
import time

import cloudpickle
import numpy as np
import pytest

from gxapp import execute
from gxapp.errors import Cancelled, ExecutorError, ParameterError
from gxapp.execute.cancel import FileCancel
from gxapp.progress import check_cancel

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # worker processes cannot import tests/


def _weighted_sum(shared, item, progress=None, cancel=None):
    """A chunk: a seeded draw that depends only on its own seed, times the shared data."""
    seed, delay = item
    if progress is not None:
        progress(0.5, f"seed {seed}")
    time.sleep(delay)
    return float(np.random.default_rng(seed).normal(size=shared["x"].size) @ shared["x"])


def _spin(shared, item, progress=None, cancel=None):
    """A chunk that runs until it is cancelled (as training checks at every minibatch)."""
    t0 = time.time()
    while time.time() - t0 < 60:
        check_cancel(cancel)
        time.sleep(0.02)
    return "not cancelled"


SHARED = {"x": np.arange(1000, dtype=np.float64)}
ITEMS = [(s, d) for s, d in zip(range(5), (0.3, 0.0, 0.2, 0.0, 0.1))]
EXPECTED = [_weighted_sum(SHARED, it) for it in ITEMS]


def _collect(ex, items=ITEMS, **kw):
    out = [None] * len(items)
    order = []
    for i, v in ex.map(_weighted_sum, items, shared=SHARED, **kw):
        out[i] = v
        order.append(i)
    return out, order


def test_in_process_is_the_plain_loop_with_stage_named_progress():
    messages = []
    out, order = _collect(execute.InProcess(), progress=lambda f, m: messages.append((f, m)), stage="permutations")
    assert out == EXPECTED and order == list(range(len(ITEMS)))
    assert messages[0][1].startswith("permutations: 5 chunks")
    assert any("chunk 2 of 5" in m and "seed 1" in m for _, m in messages)  # each chunk's own progress
    assert messages[-1] == (1.0, messages[-1][1]) and "5 of 5 chunks done" in messages[-1][1]
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions)


def test_local_processes_give_the_same_results_in_any_completion_order():
    out, order = _collect(execute.Processes(2))
    assert out == EXPECTED  # exactly: each chunk's seeds are its own
    assert sorted(order) == list(range(len(ITEMS)))


def test_results_do_not_depend_on_worker_count_or_chunk_order():
    rev = ITEMS[::-1]
    out, _ = _collect(execute.Processes(1), items=rev)
    assert out == EXPECTED[::-1]


def test_cancel_reaches_a_running_chunk_in_another_process():
    flag = threading.Event()
    threading.Timer(1.5, flag.set).start()
    t0 = time.time()
    with pytest.raises(Cancelled):
        list(execute.Processes(2).map(_spin, [0, 1], cancel=flag))
    assert time.time() - t0 < 20  # not the chunk's full 60 s


def test_cancel_in_process_stops_between_and_within_chunks():
    flag = threading.Event()
    threading.Timer(0.3, flag.set).start()
    with pytest.raises(Cancelled):
        list(execute.InProcess().map(_spin, [0, 1], cancel=flag))


def test_file_cancel_is_picklable_and_throttled(tmp_path):
    f = FileCancel(tmp_path / "c")
    assert not f.is_set()
    f.set()
    g = cloudpickle.loads(cloudpickle.dumps(f))
    assert g.is_set()  # a fresh copy looks at once
    assert not f.is_set()  # the original looked < 0.5 s ago: no second look yet
    time.sleep(0.55)
    assert f.is_set()


@pytest.mark.parametrize("spec", ["processes:0", "processes:x", "local:0", "nonsense"])
def test_bad_executor_specs_name_the_setting(spec):
    with pytest.raises((ParameterError, ExecutorError), match="dask|executor"):
        execute.from_spec(spec)


def test_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(
        ExecutorError, match=r"No Dask scheduler answers at tcp://127.0.0.1:1 \(connection refused\).*local:2"
    ):
        from gxapp.execute.dask import DaskExecutor

        DaskExecutor("tcp://127.0.0.1:1", connect_timeout=1)


def test_use_and_configure_set_the_process_executor():
    assert execute.current().kind == "local"
    ex = execute.Processes(2)
    with execute.use(ex):
        assert execute.current() is ex
        assert execute.current().describe() == {"kind": "processes", "address": None, "n_workers": 2}
    assert execute.current().kind == "local"
    same = execute.configure("")
    assert execute.configure(None) is same  # same spec: the executor is kept


def test_slurm_worker_script_is_built_without_submitting():
    from gxapp.execute.slurm import worker_job_script

    script = worker_job_script(
        "tcp://10.1.2.3:8786", cores=8, memory="64GB", gpus=1, queue="gpu", env_setup=["module load cuda"]
    )
    assert "#SBATCH --gres=gpu:1" in script and "#SBATCH -p gpu" in script
    assert "#SBATCH --cpus-per-task=8" in script and "module load cuda" in script
    assert "dask_worker tcp://10.1.2.3:8786" in script and "--resources GPU=1" in script
    cpu = worker_job_script("tcp://10.1.2.3:8786", gpus=0)
    assert "--gres" not in cpu and "GPU=" not in cpu


def test_local_workers_each_get_their_own_gpu():
    from gxapp.execute.dask import local_worker_envs

    assert [e["CUDA_VISIBLE_DEVICES"] for e in local_worker_envs(4, n_gpus=2)] == ["0", "1", "0", "1"]
    assert local_worker_envs(2, n_gpus=0) == [{}, {}]


def test_executor_is_recorded_in_provenance_not_in_keys(small_run):
    run, root = small_run
    assert run.meta["executor"]["kind"] in ("local", "dask", "processes")
    from gxapp.analyses import runs

    assert "executor" not in runs.RunParams().science()


def test_gc_sweeps_data_a_killed_dask_client_left_for_its_workers(tmp_path):
    from gxapp import cache

    d = cache.exchange_dir(tmp_path)
    d.mkdir(parents=True)
    old, new = d / "shared-old.joblib", d / "shared-new.joblib"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert cache.sweep_exchange(tmp_path, older_than=3600) == 1
    assert not old.exists() and new.exists()
    assert [s.kind for s in cache.stores(tmp_path)] == []  # the exchange folder is not a result kind
