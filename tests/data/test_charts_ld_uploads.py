import numpy as np
import pandas as pd
import pytest

from gxapp import plots as charts
from gxapp.data.io.uploads import check_upload, save_uploads
from gxapp.data.ld import ld_r2
from gxapp.errors import EmptyDataError, UploadTooLargeError


def _values(chart):
    spec = chart.to_dict()
    (data,) = spec["datasets"].values()
    return pd.DataFrame(data)


def test_histograms_bin_in_numpy_and_keep_every_value():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50_000)
    y[:10] = np.nan
    df = _values(charts.phenotype_chart(y, "quantitative"))
    assert len(df) == 40 and df["count"].sum() == 50_000 - 10
    maf = rng.uniform(0, 0.5, 999)
    assert _values(charts.maf_histogram(maf))["count"].sum() == 999


def test_binary_phenotype_chart_counts_cases_and_controls():
    y = np.array([0, 1, 1, np.nan, 0, 1], dtype=float)
    df = _values(charts.phenotype_chart(y, "binary")).set_index("status")
    assert df.loc["case", "count"] == 3 and df.loc["control", "count"] == 2


def test_snps_per_gene_highlights_planted_genes():
    counts = pd.Series({"G1": 3, "G2": 5, "G3": 1})
    df = _values(charts.snps_per_gene_chart(counts, {"G2"}))
    assert df.set_index("gene").loc["G2", "planted"] == "in a planted pair"
    assert df.set_index("gene").loc["G1", "planted"] == "other"


def test_ld_heatmap_and_qc_chart_build():
    r2 = np.eye(3)
    df = _values(charts.ld_heatmap(r2, ["a", "b", "c"], "G"))
    assert len(df) == 9 and df["r2"].sum() == 3
    df = _values(charts.qc_chart([{"step": "maf", "removed": 4}, {"step": "hwe", "removed": 0}]))
    assert list(df["step"]) == ["maf", "hwe"]


def test_ld_r2_matches_numpy_corrcoef_and_handles_missing_and_monomorphic():
    rng = np.random.default_rng(1)
    g = rng.integers(0, 3, size=(300, 5)).astype(np.int8)
    g[:, 1] = g[:, 0]  # perfect LD
    g[:, 4] = 1  # monomorphic
    r2 = ld_r2(g)
    ref = np.corrcoef(g[:, :4].astype(float), rowvar=False) ** 2
    np.testing.assert_allclose(r2[:4, :4], ref, atol=1e-12)
    assert r2[0, 1] == pytest.approx(1.0)
    assert (r2[4, :4] == 0).all() and r2[4, 4] == 1
    g2 = g.copy()
    g2[:10, 2] = -1
    assert np.isfinite(ld_r2(g2)).all()


@pytest.mark.parametrize(
    "name, size, kw, exc, match",
    [
        ("x.bed", 0, {}, EmptyDataError, "x.bed: the uploaded file is empty"),
        ("big.vcf", 2 * 1024 * 1024, {"max_mb": 1}, UploadTooLargeError, "over the 1 MB upload limit"),
    ],
    ids=["empty", "too-large"],
)
def test_upload_check_errors(name, size, kw, exc, match):
    with pytest.raises(exc, match=match):
        check_upload(name, size, **kw)


def test_upload_checks(tmp_path):
    folder = save_uploads({"a.bim": b"1 rs1 0 1 A G\n", "a.bed": b"\x6c\x1b\x01"}, root=tmp_path)
    assert (folder / "a.bim").read_bytes().startswith(b"1 rs1")
    assert save_uploads({"a.bed": b"\x6c\x1b\x01", "a.bim": b"1 rs1 0 1 A G\n"}, root=tmp_path) == folder
    with pytest.raises(EmptyDataError):
        save_uploads({"e.txt": b""}, root=tmp_path)


def test_class_heatmap_has_one_cell_per_gene_and_class():
    df = _values(charts.class_heatmap(np.arange(6.0).reshape(3, 2), ["A", "B", "C"], ["UTR3", "stopgain"]))
    assert len(df) == 6 and df.set_index(["gene", "class"]).loc[("C", "stopgain"), "mean count"] == 5.0


def test_loss_curves_drop_epochs_after_early_stopping():
    tr = np.array([[1.0, 1.0], [0.5, 0.6], [0.4, np.nan]])
    chart = charts.loss_curves(tr, tr + 0.1)
    (data,) = chart.to_dict()["datasets"].values()
    df = pd.DataFrame(data)
    assert len(df) == 10  # 5 finite cells x 2 splits
    assert set(df["split"]) == {"training", "validation"}


def test_r2_chart_has_three_models_and_member_ticks():
    spec = charts.r2_chart({"r2_ensemble": 0.3, "r2_main": 0.2, "r2_topsnp_ols": 0.1, "r2_members": [0.25, 0.28]})
    sizes = sorted(len(v) for v in spec.to_dict()["datasets"].values())
    assert sizes == [2, 3]


@pytest.mark.parametrize(
    "name,stored",
    [
        ("/etc/hostname", "hostname"),
        ("../../../../etc/passwd", "passwd"),
        ("dir\\sub\\x.bed", "x.bed"),
        ("a.bed", "a.bed"),
    ],
)
def test_an_upload_is_stored_and_read_inside_its_folder_whatever_its_name(tmp_path, name, stored):
    from gxapp.data.io.uploads import upload_name

    folder = save_uploads({name: b"data"}, root=tmp_path)
    assert upload_name(name) == stored
    assert [p.name for p in folder.iterdir()] == [stored] and folder.parent == tmp_path / "uploads"


@pytest.mark.parametrize("name", ["", ".", "..", "a\x00b", ".tmp-x"])
def test_unusable_upload_names_are_refused_and_leave_nothing(tmp_path, name):
    from gxapp.errors import InputFormatError

    with pytest.raises(InputFormatError, match="not a usable file name"):
        save_uploads({name: b"data"}, root=tmp_path)
    assert not list(tmp_path.rglob(".tmp-*"))


def test_identical_uploads_at_once_all_succeed(tmp_path):
    import threading

    errors, folders = [], []

    def upload():
        try:
            folders.append(save_uploads({"big.bed": b"\x6c\x1b\x01" + b"\x00" * 2_000_000}, root=tmp_path))
        except Exception as exc:  # noqa: BLE001 - any failure is the bug
            errors.append(exc)

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(folders)) == 1
    assert [p.name for p in folders[0].iterdir()] == ["big.bed"]  # no stray temp file


def test_materialise_confines_upload_names_to_the_upload_folder(tmp_path, monkeypatch):
    from gxapp.ui import forms

    monkeypatch.setenv("GXAPP_CACHE", str(tmp_path))

    class Upload:
        def __init__(self, name, data):
            self.name, self._data = name, data

        def getvalue(self):
            return self._data

    files = [Upload("/some/dir/cohort.bed", b"b"), Upload("/some/dir/cohort.bim", b"m"), Upload("../cohort.fam", b"f")]
    prefix = forms._materialise(files)
    assert prefix.startswith(str(tmp_path / "uploads")) and prefix.endswith("/cohort")
    assert forms._materialise(Upload("/etc/hostname", b"x")).startswith(str(tmp_path / "uploads"))


def test_gene_box_text_is_never_read_as_a_server_file(tmp_path):
    from gxapp.data.io.gene_lists import read_gene_list

    secret = tmp_path / "secret.txt"
    secret.write_text("ROOTPW\n")
    assert read_gene_list(str(secret)) == ["ROOTPW"]  # library callers may pass a path
    assert read_gene_list(str(secret), as_text=True) == [str(secret)]  # what the browser box does


def test_the_upload_limit_message_never_says_2_mb_is_over_2_mb():
    from gxapp.errors import UploadTooLargeError

    with pytest.raises(UploadTooLargeError, match=r"2\.4 MB is over the 2 MB upload limit"):
        check_upload("x.bed", int(2.4 * 2**20), max_mb=2)


def test_epistasis_charts_axis_titles_legends_and_colours():
    """Learning curve and sweep: one 'ROC AUC' y title (not 'lo, ROC AUC'); the fully connected and
    additive rows of a sweep are drawn (at 1), not only listed; one colour per model on every chart."""
    lc = pd.DataFrame(
        {"model": ["biosparse", "l2"] * 2, "n_samples": [100, 100, 200, 200], "auc_mean": [0.6, 0.62, 0.7, 0.65]}
    ).assign(auc_sd=0.02)
    spec = charts.learning_curve_chart(lc).to_dict()
    titles = {layer["encoding"]["y"].get("title") for layer in spec["layer"]}
    assert titles == {"ROC AUC"}
    sweep = pd.DataFrame(
        {
            "model": ["random@50%", "random@100%", "dense", "l2"],
            "wiring": ["random", "random", "fully connected", "additive"],
            "degree": [0.5, 1.0, None, None],
            "auc_mean": [0.6, 0.62, 0.61, 0.63],
            "auc_sd": 0.01,
            "n_params": 1,
        }
    )
    drawn = _values(charts.sweep_chart(sweep))
    assert set(drawn.loc[drawn["wiring"].isin(["fully connected", "additive"]), "degree"]) == {1.0}
    box = charts.auc_boxplot({"l2": [0.6, 0.61], "biosparse": [0.7, 0.71]}).to_dict()
    scale = box["layer"][0]["encoding"]["color"]["scale"]
    assert scale["range"][scale["domain"].index("biosparse")] == charts.MODEL_COLOURS["biosparse"]
    assert scale["domain"] == ["biosparse", "l2"]  # the legend lists the models drawn, not every model
    assert charts.to_svg(charts.sweep_chart(sweep)).startswith("<svg")


def test_heatmap_at_paper_width_orders_outlines_and_zooms():
    """65 genes (paper A's real study): labels kept, genes ordered by score or clustering, the top pairs
    outlined, and one gene's partners as a bar chart."""
    rng = np.random.default_rng(1)
    M = 65
    names = [f"GENE{k:02d}" for k in range(M)]
    S = rng.uniform(0, 0.01, (M, M))
    S[3, 40] = S[40, 3] = 1.0  # a strong pair
    S[3, 41] = S[41, 3] = 0.8
    S = (S + S.T) / 2
    np.fill_diagonal(S, 0)
    assert charts.gene_order(S, names, "score")[0] == "GENE03"
    clustered = charts.gene_order(S, names, "cluster")
    assert sorted(clustered) == sorted(names) and abs(clustered.index("GENE40") - clustered.index("GENE41")) == 1
    chart = charts.score_heatmap(S, names, [("GENE03", "GENE40")], order="cluster", top=2)
    df = _values(chart)
    assert df["top"].sum() == 4 and df["planted"].sum() == 2  # both orientations of each pair
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["x"]["axis"]["labels"] is True
    assert charts.to_svg(chart).startswith("<svg")
    bars = _values(charts.gene_partners_chart(S, names, "GENE03", [("GENE03", "GENE40")]))
    assert list(bars["partner"][:2]) == ["GENE40", "GENE41"] and bars["planted"].iloc[0]


def test_surface_points_stay_on_the_drawn_surface():
    ga, gb = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5), indexing="ij")
    grid = pd.DataFrame({"g_a": ga.ravel(), "g_b": gb.ravel(), "interaction": (ga * gb).ravel()})
    points = pd.DataFrame({"g_a": [0.0, 5.0, -0.5], "g_b": [0.0, 0.0, -9.0], "interaction": 0.0, "group": "low"})
    spec = charts.surface_chart(grid, points, "A", "B").to_dict()
    drawn = [pd.DataFrame(v) for v in spec["datasets"].values() if "group" in pd.DataFrame(v)]
    assert len(drawn) == 1 and list(drawn[0]["g_a"]) == [0.0]  # the two points off the surface are not drawn
