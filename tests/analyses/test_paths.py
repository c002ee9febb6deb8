"""Sparsity paths: several λ as one batched job give the same runs as training each λ alone, cached
under the same keys; runs compared side by side."""

import shutil

import numpy as np
import pytest

from gxapp import cache
from gxapp.analyses import interactions as ia
from gxapp.analyses import paths, runs
from gxapp.errors import ParameterError

from helpers import TINY_RUN


def test_a_path_trains_once_and_equals_runs_trained_alone(small_cohort, tmp_path):
    key, shared_root = small_cohort
    lams = [3e-4, 1e-2]  # not the default λ: the shared cohort may already hold a default run
    res = paths.train_path(key, lams, TINY_RUN, shared_root)
    assert res.l1_values == lams and res.trained == lams and len(res.interaction_keys) == 2
    for lam, rk in zip(lams, res.run_keys):
        r = runs.load(rk, shared_root)
        assert r.params.l1 == lam and r.meta["trained_with"]["l1_values"] == lams
        assert rk == runs.key(key, TINY_RUN.__class__(**{**TINY_RUN.to_dict(), "l1": lam}), shared_root)
    # the same run trained alone (another cache): the same networks and scores
    alone_root = tmp_path / "alone"  # the same cohort in a second cache
    shutil.copytree(cache.Store("cohorts", shared_root).path(key), cache.Store("cohorts", alone_root).path(key))
    for lam, rk in zip(lams, res.run_keys):
        p = TINY_RUN.__class__(**{**TINY_RUN.to_dict(), "l1": lam})
        alone = runs.get(key, p, alone_root)
        batched = runs.load(rk, shared_root)
        assert alone.key == rk and "trained_with" not in alone.meta
        np.testing.assert_allclose(
            alone.interaction.predict(np.zeros((3, 16), np.float32) + 0.5),
            batched.interaction.predict(np.zeros((3, 16), np.float32) + 0.5),
            atol=1e-5,
        )
        a = ia.get(alone.key, ia.InteractionParams(permutations=0), alone_root).table["score"].to_numpy()
        b = ia.get(rk, ia.InteractionParams(permutations=0), shared_root).table["score"].to_numpy()
        np.testing.assert_allclose(np.sort(a), np.sort(b), rtol=1e-4, atol=1e-7)
    again = paths.train_path(key, lams, TINY_RUN, shared_root)
    assert again.trained == [] and again.run_keys == res.run_keys  # all cached now

    cmp = paths.compare_runs(res.run_keys, top=3, root=shared_root)
    assert list(cmp["table"]["λ"]) == lams and cmp["agreement"].shape == (2, 2)
    assert cmp["ranks"]["rank"].min() == 1 and set(cmp["ranks"]["run"]) == set(cmp["order"])


@pytest.mark.parametrize("bad", [[], [-1e-3], ["x"], [float("nan")], list(np.logspace(-6, -1, 13))])
def test_bad_l1_values_name_the_parameter(bad):
    with pytest.raises(ParameterError, match="l1_values"):
        paths.check_l1_values(bad)


def test_parse_typed_values():
    assert paths.parse_l1_values("1e-3, 1e-5 1e-4") == [1e-5, 1e-4, 1e-3]
