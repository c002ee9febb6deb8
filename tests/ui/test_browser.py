"""End to end in headless Chromium: the app starts on an empty cache, the demo
cohort appears on the home page, and the Data page (deep link) draws its charts.
Screenshots go to tests/artifacts/ (look at them)."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_cache(tmp_path_factory) -> Path:
    """The cache folder the app server reads (shared by this module's tests)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def server(server_cache):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); browser test skipped")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    port = _free_port()
    env = dict(os.environ, GXAPP_CACHE=str(server_cache))
    log = open(server_cache.parent / "streamlit.log", "wb")  # a file, not an unread pipe that can fill up
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


@pytest.fixture(scope="module")
def context(browser):
    """One browser context for the module, so the app's static files are fetched once (HTTP cache)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A fresh tab per test: each test opens its own Streamlit session (its own goto), and server-side
    state it needs comes from fixtures, never from an earlier test."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg = context.new_page()
    yield pg
    pg.close()


@pytest.fixture
def demo_run(server_cache):
    """A trained run on the demo cohort in the server's cache, so the Interactions page has something
    to score whatever ran before: a run already there (the Train test's) or else a small one trained
    here, straight into that cache."""
    import json

    for meta in sorted(server_cache.glob("runs/*/meta.json")):  # cheap look first (no torch import)
        cohort_meta = server_cache / "cohorts" / json.loads(meta.read_text())["cohort"] / "meta.json"
        if cohort_meta.is_file() and json.loads(cohort_meta.read_text()).get("label", "").startswith("demo: complex"):
            return meta.parent.name
    from gxapp.analyses import cohorts, runs

    key = cohorts.demo(root=server_cache).key
    params = runs.RunParams(ensemble=1, gene_hidden=3, head_hidden=8, max_epochs=5, patience=2, seed=11)
    return runs.get(key, params, server_cache).key


def _fill(pg, values: dict) -> None:
    """Type into number inputs by label (Tab commits the value inside a form)."""
    for label, value in values.items():
        box = pg.get_by_role("spinbutton", name=label)
        box.fill(value)
        box.press("Tab")


def _wait_drawn(pg, n: int, timeout: float = 30) -> int:
    """Wait until ``n`` Vega charts have rendered marks; returns how many did."""
    drawn = pg.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg.marks')
    deadline = time.time() + timeout
    while drawn.count() < n and time.time() < deadline:
        time.sleep(0.5)
    return drawn.count()


def _tall_screenshot(pg, name: str) -> None:
    """Streamlit scrolls inside the page, so grow the viewport to capture it all."""
    pg.set_viewport_size({"width": 1400, "height": 2400})
    time.sleep(1)
    pg.screenshot(path=str(ARTIFACTS / name))
    pg.set_viewport_size({"width": 1400, "height": 1000})


def _no_exception(pg):
    assert pg.locator('[data-testid="stException"]').count() == 0, "the page shows a traceback"


def test_home_opens_on_the_demo_cohort(server, page):
    page.goto(server, wait_until="networkidle")
    page.get_by_text("Current cohort").wait_for(timeout=90_000)
    page.get_by_text("demo: complex interactions").first.wait_for(timeout=30_000)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)


def test_one_click_demo_analysis(server, page):
    """Home → "Run the demo analysis" (the lab-meeting preset, E = 10, B = 20): within 2 minutes the
    Interactions page shows the ranked pairs with q-values, planted pairs called at FDR < 0.1 and the
    precision-recall curve against the truth."""
    page.goto(server, wait_until="networkidle")
    t0 = time.time()
    page.get_by_role("button", name="Run the demo analysis").click(timeout=90_000)
    page.get_by_role("heading", name="Ranked gene pairs").wait_for(timeout=120_000)
    assert time.time() - t0 < 120, "the one-click demo should finish within 2 minutes"
    page.get_by_role("tab", name="Against the truth").click()
    line = page.get_by_text("Held-out test at q < 0.1").first
    line.wait_for(timeout=30_000)
    called = line.inner_text()
    assert "pair(s) called" in called and " 0 of them planted" not in called, called
    page.get_by_text("planted pairs among 45").first.wait_for(timeout=30_000)
    assert _wait_drawn(page, 1) >= 1, "the precision-recall curve should be drawn"
    _no_exception(page)
    _tall_screenshot(page, "one_click_demo.png")


def test_data_page_deep_link_draws_the_charts(server, page):
    page.goto(server + "/Data", wait_until="networkidle")
    page.get_by_role("heading", name="Data").wait_for(timeout=60_000)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for(timeout=60_000)
    assert _wait_drawn(page, 3) >= 3, "the charts' marks should be rendered"
    assert charts.count() >= 3, "SNPs per gene, MAF and phenotype charts should be drawn"
    assert page.get_by_role("link", name="Home").count() >= 1  # our sidebar, not "app"
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "data_page.png"), full_page=True)


def test_upload_real_plink_files_in_the_browser(server, page, shared_data):
    """A new user's path: Data page → Files → upload .bed/.bim/.fam → Load cohort."""
    page.goto(server + "/Data", wait_until="networkidle")
    page.get_by_role("heading", name="Data").wait_for(timeout=60_000)
    # on a cold cache the page first builds the demo cohort and reruns: wait until it has settled
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="Files").click()
    prefix = shared_data / "plink_eur_test" / "EUR_test"
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]').first
    uploader.set_input_files([str(prefix) + ext for ext in (".bed", ".bim", ".fam")])
    page.get_by_text("EUR_test.fam").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Load cohort").click()
    page.get_by_text("Loaded: 379 samples").wait_for(timeout=90_000)
    page.get_by_text("379", exact=True).first.wait_for(timeout=30_000)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "data_upload.png"), full_page=True)


def test_train_the_demo_and_see_the_curves(server, page):
    """Train page: a small ensemble on the demo cohort, trained in the background."""
    page.goto(server + "/Train", wait_until="networkidle")
    page.get_by_role("heading", name="Train").wait_for(timeout=60_000)
    _fill(page, {"Ensemble size": "2", "Max epochs": "15"})
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training finished").wait_for(timeout=240_000)
    page.get_by_text("Interaction ensemble: MSE per epoch").first.wait_for(timeout=30_000)
    assert _wait_drawn(page, 3) >= 3, "R² chart and both loss curves should be drawn"
    _no_exception(page)
    _tall_screenshot(page, "train_page.png")


def test_interactions_after_training(server, page, demo_run):
    """Interactions page on a trained run of the demo cohort: scores, permutations, heatmap."""
    from playwright.sync_api import expect

    page.goto(server + "/Interactions", wait_until="networkidle")
    page.get_by_role("heading", name="Interactions").wait_for(timeout=60_000)
    _fill(page, {"Permutations B": "2", "Individuals scored": "300"})
    page.get_by_role("button", name="Score interactions").click()
    # the one-click demo test may have left an analysis of this run on the page: wait for OUR job
    # (B = 2 on 300 individuals: new in this server's fresh cache), not for any ranked table
    page.get_by_text("Scoring finished").wait_for(timeout=300_000)
    page.get_by_role("heading", name="Ranked gene pairs").wait_for(timeout=60_000)
    # the page reruns after the notice: the picker (drawn later in that run) must jump to OUR analysis
    expect(page.get_by_role("combobox", name="Analysis")).to_have_value(re.compile(r"B=2 \(Perm"), timeout=60_000)
    assert _wait_drawn(page, 1, timeout=60) >= 1, "the score heatmap should be drawn"
    _no_exception(page)
    _tall_screenshot(page, "interactions_page.png")


@pytest.fixture
def split_demo_run(server_cache):
    """The demo split 80/20 (as the Replication tab's Split button does), a small run trained on the
    discovery part and its default scoring, straight into the server's cache."""
    from gxapp.analyses import cohorts, runs
    from gxapp.analyses import interactions as ia

    demo = cohorts.demo(root=server_cache).key
    small = runs.RunParams(ensemble=1, gene_hidden=3, head_hidden=8, max_epochs=5, patience=2, seed=11)
    ia.get(runs.get(demo, small, server_cache).key, ia.InteractionParams(max_rows=300), server_cache)
    disc, rep = cohorts.split(demo, 0.2, root=server_cache)
    run = runs.get(disc.key, runs.RunParams(ensemble=2, seed=3), server_cache)
    ia.get(run.key, ia.InteractionParams(), server_cache)
    return disc.key, rep.key


def test_replication_tab_split_then_replicate(server, page, split_demo_run):
    """Interactions → Replication: Split makes the discovery part current; replicating every pair in
    the replication part draws Table 1 and the Fig. 7a scatter."""
    try:
        page.goto(server + "/Interactions", wait_until="networkidle")
        page.get_by_role("heading", name="Ranked gene pairs").wait_for(timeout=120_000)
        page.get_by_role("tab", name="Replication").click()
        page.get_by_text("No second cohort? Split this one").click()
        page.get_by_role("button", name="Split").click()
        page.get_by_text("is now the current cohort").wait_for(timeout=60_000)
        page.get_by_role("heading", name="Ranked gene pairs").wait_for(timeout=120_000)
        page.get_by_role("tab", name="Replication").click()
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Replication cohort")
        box.click()
        page.keyboard.type("— replication")  # the select box filters as you type (long lists are virtualised)
        page.get_by_role("option").filter(has_text="replication").first.click()
        page.get_by_text("every gene pair").click()
        page.get_by_role("button", name="Replicate").click()
        page.get_by_text("pair(s) replicate (replication q < 0.1)").wait_for(timeout=400_000)
        assert _wait_drawn(page, 1) >= 1, "the replication scatter should be drawn (the open tab stays open)"
        _no_exception(page)
    finally:
        _tall_screenshot(page, "replication_tab.png")


def test_the_report_opens_offline_with_every_chart(server_cache, page, demo_run, tmp_path):
    """The shareable HTML report, opened from disk with the network off: every chart is drawn."""
    from gxapp.analyses import interactions as ia
    from gxapp.analyses import reports

    res = ia.get(demo_run, ia.InteractionParams(permutations=2, max_rows=300), server_cache)
    rep = reports.get(res.key, reports.ReportParams(), server_cache)
    path = tmp_path / "report.html"
    path.write_text(rep.html, encoding="utf-8")
    page.context.set_offline(True)
    try:
        page.goto(path.as_uri(), wait_until="load")
        svgs = page.locator("svg")
        assert svgs.count() == rep.html.count("<svg") >= 6  # R², curves, heatmap, Q-Q, null, PR
        sizes = [svgs.nth(i).bounding_box() for i in range(svgs.count())]
        assert all(b and b["width"] > 100 and b["height"] > 100 for b in sizes), sizes
        assert page.locator("svg path, svg rect").count() > 50  # marks drawn, not empty frames
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    finally:
        page.context.set_offline(False)


@pytest.fixture
def wide_analysis(server_cache):
    """Paper A's complex scenario at its real width, 65 genes (2,080 pairs), small and fast: 1,500
    people x 4 binomial SNPs per gene, a 2-member ensemble, scored (normal approximation beyond 14
    genes) straight into the server's cache; returns the keys the page's link carries."""
    from gxapp.analyses import cohorts, runs
    from gxapp.analyses import interactions as ia
    from gxapp.data.simulate import SimParams

    sim = SimParams(
        scenario="complex", n_samples=1500, n_genes=65, snps_per_gene=4, genotype_model="binomial", snr=1.0, seed=7
    )
    cohort = cohorts.from_simulation(sim, root=server_cache).key
    run = runs.get(cohort, runs.RunParams(ensemble=2, head_hidden=16, max_epochs=8, patience=3, seed=2), server_cache)
    res = ia.get(run.key, ia.InteractionParams(max_rows=200), server_cache)
    return cohort, run.key, res.key


def test_interactions_page_at_65_genes(server, page, wide_analysis):
    """The Interactions page at paper A's width: the 65 x 65 heatmap drawn, the ranked table of all
    2,080 pairs paged and searchable, no traceback (screenshot in tests/artifacts)."""
    cohort, run, analysis = wide_analysis
    page.goto(f"{server}/Interactions?cohort={cohort}&run={run}&analysis={analysis}", wait_until="networkidle")
    page.get_by_role("heading", name="Ranked gene pairs").wait_for(timeout=120_000)
    assert _wait_drawn(page, 1) >= 1, "the 65 x 65 heatmap should be drawn"
    _no_exception(page)
    _tall_screenshot(page, "interactions_65_genes.png")
    # the ranked table holds all 2,080 pairs, 50 a page
    assert page.get_by_text("Page (of 42)", exact=False).count() >= 1, "2,080 pairs at 50 a page"
    assert page.get_by_role("textbox", name="Find genes").count() == 1
    # beyond the widths the held-out q was validated on, the page says how to read it
    assert page.get_by_text("validated on 10-gene cohorts", exact=False).count() >= 1
