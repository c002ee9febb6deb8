"""The one cached-analysis protocol (gxapp.analyses.base): keys, verified loads, damaged
entries, listing, jobs — on a toy analysis, then on comparisons and surfaces."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from gxapp import jobs
from gxapp.analyses import base, cohorts, comparisons, register_jobs, runs, surfaces
from gxapp.data.simulate import SimParams
from gxapp.errors import CacheError, ParameterError
from gxapp.params import Integral, Interval, Params


@dataclass(frozen=True)
class ToyParams(Params):
    n: int = 3
    threads: int = 1
    EXECUTION_ONLY = ("threads",)
    _parameter_constraints = {"n": [Interval(Integral, 1, None)]}


@dataclass
class ToyResult(base.Result):
    values: list = None


class Toy(base.Analysis):
    kind = "toys"
    job_kind = "toy"
    params_type = ToyParams

    def __init__(self):
        self.computed = 0

    def fingerprint(self, source, root):
        return source

    def compute(self, source, params, root, progress, cancel):
        self.computed += 1
        values = [f"{source}-{i}" for i in range(params.n)]
        return ToyResult("", params, {"n_values": params.n}, values=values), lambda d: (d / "values.json").write_text(
            json.dumps(values)
        )

    def read(self, key, meta, d, root):
        return ToyResult(
            key, ToyParams.from_dict(meta["params"]), meta, values=json.loads((d / "values.json").read_text())
        )


def test_get_computes_once_then_loads_verified_with_provenance(tmp_path):
    toy = Toy()
    first = toy.get("a", ToyParams(n=2), tmp_path)
    again = toy.get("a", ToyParams(n=2), tmp_path)
    assert toy.computed == 1 and not first.cached and again.cached
    assert again.values == first.values == ["a-0", "a-1"] and again.key == first.key
    meta = again.meta
    assert meta["input"] == "a" and meta["params"] == {"n": 2, "threads": 1} and meta["kind"] == "toys"
    assert set(meta["files"]) == {"values.json"} and meta["gxapp"] and "created" in meta and "seconds" in meta


def test_key_holds_science_and_source_but_not_execution_settings(tmp_path):
    toy = Toy()
    k = toy.key("a", ToyParams(n=2), tmp_path)
    assert toy.key("a", ToyParams(n=2, threads=8), tmp_path) == k
    assert toy.key("a", ToyParams(n=3), tmp_path) != k
    assert toy.key("b", ToyParams(n=2), tmp_path) != k


def test_bad_params_are_refused_before_any_work(tmp_path):
    toy = Toy()
    with pytest.raises(ParameterError, match="n: expected an integer >= 1, got 0"):
        toy.get("a", ToyParams(n=0), tmp_path)
    with pytest.raises(ParameterError, match="params: expected ToyParams, got dict"):
        toy.get("a", {"n": 2}, tmp_path)
    assert toy.computed == 0


@pytest.mark.parametrize("damage", ["truncate", "alter", "remove", "no_digests"])
def test_damaged_entry_is_a_cache_error_on_load_and_recomputed_by_get(tmp_path, damage):
    toy = Toy()
    res = toy.get("a", ToyParams(n=2), tmp_path)
    d = toy.store(tmp_path).path(res.key)
    if damage == "truncate":
        (d / "values.json").write_text("")
    elif damage == "alter":
        (d / "values.json").write_text(json.dumps(["forged", "values"]))
    elif damage == "remove":
        (d / "values.json").unlink()
    else:
        meta = json.loads((d / "meta.json").read_text())
        del meta["files"]
        (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CacheError, match="damaged|no content digests"):
        toy.load(res.key, tmp_path)
    again = toy.get("a", ToyParams(n=2), tmp_path)
    assert toy.computed == 2 and not again.cached and again.values == ["a-0", "a-1"]
    assert toy.load(res.key, tmp_path).values == ["a-0", "a-1"]


def test_entries_filter_by_source_and_delete(tmp_path):
    toy = Toy()
    ka = toy.get("a", ToyParams(n=1), tmp_path).key
    toy.get("b", ToyParams(n=1), tmp_path)
    assert [m["key"] for m in toy.entries("a", tmp_path)] == [ka]
    assert len(toy.entries(root=tmp_path)) == 2
    toy.delete(ka, tmp_path)
    assert toy.entries("a", tmp_path) == [] and not toy.store(tmp_path).exists(ka)


def test_job_spec_runs_in_the_background_manager(tmp_path):
    toy = Toy()
    spec = toy.job_spec("a", ToyParams(n=2), tmp_path)
    assert spec.kind == "toy" and spec.key == toy.key("a", ToyParams(n=2), tmp_path)
    m = jobs.JobManager()
    m.register(toy.job_kind, toy.run_job)
    job = m.wait(m.submit(spec), timeout=30)
    assert job.state == jobs.DONE and job.result == spec.key and toy.load(spec.key, tmp_path).values == ["a-0", "a-1"]


def test_every_analysis_registers_a_distinct_job_kind():
    m = jobs.JobManager()
    register_jobs(m)
    assert {
        "train",
        "interactions",
        "comparison",
        "comparison_variants",
        "surface",
        "cohort_files",
        "simulate",
        "simulate_on",
    } <= set(m._runners)


# ---- the real analyses on the protocol -----------------------------------------------
def test_comparison_is_cached_and_matches_the_library_call(casecontrol_cohort):
    from gxapp import epistasis as epi

    key, root = casecontrol_cohort
    params = comparisons.ComparisonParams(models=("logreg", "l2"), folds=2, repeats=1, seed=1)
    first = comparisons.get(key, params, root)
    again = comparisons.get(key, params, root)
    assert not first.cached and again.cached and again.data == first.data and again.analysis == "compare"
    direct = epi.compare(cohorts.open_cohort(key, root), models=["logreg", "l2"], folds=2, repeats=1, seed=1)
    assert direct.to_dict()["models"]["l2"]["aucs"] == first.data["models"]["l2"]["aucs"]
    assert [m["key"] for m in comparisons.entries(key, root)] == [first.key]


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("models", ("logreg", "nope"), "models: expected a non-empty list from"),
        ("models", (), "models: expected a non-empty list from"),
        ("folds", 1, "folds: expected an integer >= 2, got 1"),
        ("sparsity", 0.0, r"sparsity: expected a number in \(0, 1\], got 0.0"),
        ("wiring", "kegg", "wiring: expected one of pathway, random, got 'kegg'"),
        ("fractions", (0.5, 1.5), r"fractions: expected a non-empty list of numbers in \(0, 1\]"),
    ],
)
def test_comparison_params_name_the_bad_field(casecontrol_cohort, field, value, message):
    key, root = casecontrol_cohort
    with pytest.raises(ParameterError, match=message):
        comparisons.get(key, comparisons.ComparisonParams(**{field: value}), root)


def test_variant_table_comparison_is_cached_by_file_content(tmp_path, cache_dir):
    from gxapp.cli import main

    out = tmp_path / "cc"
    assert (
        main(
            [
                "simulate",
                "--scenario",
                "casecontrol",
                "--n-samples",
                "200",
                "--n-genes",
                "8",
                "--genotype-model",
                "binomial",
                "--snps-per-gene",
                "3",
                "--seed",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    src = {
        "variants": str(out / "variants.tsv"),
        "pheno": str(out / "phenotype.tsv"),
        "pheno_column": None,
        "pathways": None,
    }
    params = comparisons.ComparisonParams(models=("l2",), folds=2, repeats=1)
    first = comparisons.VARIANT_TABLES.get(src, params, tmp_path)
    assert comparisons.VARIANT_TABLES.get(src, params, tmp_path).cached
    # the same path with other content is another analysis
    lines = (out / "phenotype.tsv").read_text().splitlines()
    (out / "phenotype.tsv").write_text("\n".join(lines[:-20]) + "\n")
    changed = comparisons.VARIANT_TABLES.get(src, params, tmp_path)
    assert changed.key != first.key and changed.data["n_samples"] == first.data["n_samples"] - 20
    with pytest.raises(ParameterError, match="a variant table supports 'compare' only"):
        comparisons.VARIANT_TABLES.get(src, comparisons.ComparisonParams(analysis="learning_curve"), tmp_path)


def test_surface_is_cached_and_equals_the_direct_fit(small_run):
    from gxapp.genenet.surface import interaction_surface

    run, root = small_run
    a, b = run.gene_names[:2]
    params = surfaces.SurfaceParams(gene_a=a, gene_b=b, grid=6, steps=15)
    first = surfaces.get(run.key, params, root)
    again = surfaces.get(run.key, params, root)
    assert not first.cached and again.cached and again.meta["run"] == run.key
    np.testing.assert_array_equal(again.surface.grid.to_numpy(), first.surface.grid.to_numpy())
    data = run.params.prepare(cohorts.open_cohort(run.cohort_key, root))
    direct = interaction_surface(
        run.interaction, data.X, data.y, data.train_idx, (0, 1), run.gene_names, grid=6, steps=15
    )
    np.testing.assert_allclose(first.surface.grid["interaction"], direct.grid["interaction"], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "a,b,message",
    [
        ("G01", "G01", "two different gene names"),
        ("", "G01", "two different gene names"),
        ("G01", "NOPE", "NOPE not among the run's genes"),
    ],
)
def test_surface_bad_pair(small_run, a, b, message):
    run, root = small_run
    with pytest.raises(ParameterError, match=message):
        surfaces.get(run.key, surfaces.SurfaceParams(gene_a=a, gene_b=b, grid=6, steps=5), root)


# ---- damaged real entries: never reach a result ---------------------------------------
@pytest.fixture
def fresh_run(tmp_path):
    from helpers import TINY_RUN

    c = cohorts.from_simulation(
        SimParams(
            scenario="simple", n_samples=300, n_genes=3, snr=1.0, seed=9, genotype_model="binomial", snps_per_gene=3
        ),
        root=tmp_path,
    )
    return c.key, runs.get(c.key, TINY_RUN, tmp_path), tmp_path


def _swap_weights(d):
    (d / "interaction.pt").write_bytes((d / "main.pt").read_bytes())  # a valid file, the wrong weights


def _drop_meta_key(d):
    meta = json.loads((d / "meta.json").read_text())
    del meta["gene_names"], meta["files"]["split.npz"]
    (d / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "damage",
    [_swap_weights, _drop_meta_key, lambda d: (d / "split.npz").write_bytes(b"PK")],
    ids=["main_weights_copied_over_interaction", "meta_missing_keys", "truncated_split"],
)
def test_a_damaged_run_is_refused_on_load_and_retrained_by_get(fresh_run, damage):
    from helpers import TINY_RUN

    key, run, root = fresh_run
    damage(runs.store(root).path(run.key))
    with pytest.raises(CacheError):
        runs.load(run.key, root)
    again = runs.get(key, TINY_RUN, root)
    assert not again.cached and again.key == run.key
    X = np.random.default_rng(0).normal(size=(4, 9)).astype(np.float32)
    np.testing.assert_array_equal(again.interaction.predict(X), run.interaction.predict(X))


def test_rewritten_genotypes_of_a_cohort_are_refused(fresh_run):
    key, _, root = fresh_run
    f = cohorts.store(root).path(key) / "genotypes.npy"
    g = np.load(f)
    np.save(f, (2 - g).astype(np.int8))  # valid, same shape, different people
    with pytest.raises(CacheError, match="damaged"):
        cohorts.open_cohort(key, root)


def test_zeroed_null_scores_are_recomputed_not_used(fresh_run):
    from gxapp.analyses import interactions as ia
    from gxapp.cache import Store

    _, run, root = fresh_run
    params = ia.InteractionParams(permutations=2, chunk=2)
    first = ia.get(run.key, params, root)
    nulls = Store(ia.NULL_KIND, root)
    (k,) = nulls.keys()
    with np.load(nulls.path(k) / "null.npz") as z:
        zeroed = np.zeros_like(z["null"])
    np.savez(nulls.path(k) / "null.npz", null=zeroed)
    ia.delete(first.key, root)
    again = ia.get(run.key, params, root)
    np.testing.assert_array_equal(again.null, first.null)
    assert again.null.any()
