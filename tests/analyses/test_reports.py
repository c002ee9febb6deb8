"""The shareable HTML report: one self-contained file (inline SVG charts, nothing fetched, no script),
cached through the analysis protocol, from the library and the CLI."""

import re

import pytest

from gxapp.analyses import interactions as ia
from gxapp.analyses import reports


@pytest.fixture(scope="module")
def analysis(small_run):
    run, root = small_run
    return ia.get(run.key, ia.InteractionParams(permutations=2, max_rows=100), root), root


def test_report_is_self_contained_and_complete(analysis):
    res, root = analysis
    rep = reports.get(res.key, reports.ReportParams(top=3), root)
    html = rep.html
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html.lower()
    external = {u for u in re.findall(r"(?:src|href)=[\"']([^\"']+)", html) if not u.startswith("#")}
    assert not external, external  # nothing to fetch: opens offline
    assert html.count("<svg") >= 5  # R², training curves, heatmap, Q-Q, null histogram (+ PR on simulations)
    for section in ("Summary", "Cohort", "Training run", "Ranked gene pairs", "Charts", "Timings and provenance"):
        assert f"<h2>{section}</h2>" in html
    assert res.key in html and res.run_key in html
    ranked = html.split("<h2>Ranked gene pairs</h2>")[1].split("<h2>")[0]
    assert ranked.count("<tr>") == 4 + 3  # the 4 parameter rows + the top 3 pairs (the header row is styled)
    again = reports.get(res.key, reports.ReportParams(top=3), root)
    assert again.cached and again.html == html and again.path.endswith("report.html")


def test_cli_report_writes_one_file(analysis, tmp_path, monkeypatch, capsys):
    from gxapp.cli import main

    res, root = analysis
    monkeypatch.setenv("GXAPP_CACHE", str(root))
    out = tmp_path / "rep.html"
    assert main(["report", "--analysis", res.key[:10], "--out", str(out)]) == 0
    assert out.is_file() and out.read_text().count("<svg") >= 5
    assert "report:" in capsys.readouterr().out
    assert main(["report", "--analysis", "0123abcd", "--out", str(tmp_path / "x.html")]) != 0
    assert "no cached interaction analysis" in capsys.readouterr().err
