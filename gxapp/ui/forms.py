"""Input forms of the Data page. Each returns a plain description of the work
(``SimParams``, ``FileSpec`` + ``QCParams``) when submitted, else None — one
submit means one run."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from gxapp.analyses.cohorts import FileSpec
from gxapp.data.io.gene_lists import read_gene_list
from gxapp.data.io.uploads import DEFAULT_MAX_MB, save_uploads, upload_name
from gxapp.data.qc import QCParams
from gxapp.data.simulate import SimParams

SIM, QC, FILES = SimParams(), QCParams(), FileSpec(genotypes="")  # the declared defaults
SCENARIOS = {
    "complex": "complex — paper A Eq. 1: max, squared-difference and product interactions between gene expressions",
    "simple": "simple — paper A Eq. 2: products of the top SNPs of the same six gene pairs",
    "null": "null — paper A Eq. 3: main effects only (checks calibration)",
    "casecontrol": "case/control — paper B: gene burdens, pathways and epistasis through a logistic link",
}


def simulation_form(can_use_current: bool):
    # outside the form, so that the knobs below follow the scenario (case fraction for case/control only)
    scenario = st.selectbox(
        "Scenario",
        list(SCENARIOS),
        format_func=SCENARIOS.get,
        key="sim_scenario",
        help="Which generative model plants the interactions.",
    )
    binary = scenario == "casecontrol"
    with st.form("simulate"):
        c1, c2, c3 = st.columns(3)
        n = c1.number_input(
            "Individuals (N)",
            100,
            500_000,
            SIM.n_samples,
            step=1_000,
            key="sim_n",
            help="Paper A used 40k–120k; 5k–20k trains in minutes on a laptop.",
        )
        genes = c2.number_input(
            "Genes", 2, 2_000, SIM.n_genes, key="sim_genes", help="Eq. 1 plants pairs among the first 10 genes."
        )
        seed = c3.number_input("Seed", 0, 2**31 - 1, SIM.seed, key="sim_seed", help="Same seed, same cohort.")
        snr, mi, prop, case_fraction = SIM.snr, SIM.mi, SIM.prop_causal, SIM.case_fraction
        effect, h2 = SIM.effect, SIM.h2
        c1, c2, c3 = st.columns(3)
        if binary:
            case_fraction = c1.slider(
                "Case fraction", 0.05, 0.95, SIM.case_fraction, key="sim_cases", help="Share of cases expected."
            )
            effect = c2.select_slider(
                "Effect (log-odds)",
                [0.5, 1.0, 2.0, 3.0, 4.0],
                SIM.effect,
                key="sim_effect",
                help="|log-odds| of every planted term (pairs within pathways, additive genes). 3: every architecture "
                "learns at 200 genes x 4,000 people; 1: barely above chance.",
            )
            h2 = c3.select_slider(
                "Heritability (liability)",
                [None, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8],
                SIM.h2,
                format_func=lambda v: "off (use the effect)" if v is None else f"{v:g}",
                key="sim_h2",
                help="Sets every effect so that the planted terms explain this share of the liability "
                "(var(η) / (var(η) + π²/3)); off: the effect slider decides.",
            )
        else:
            snr = c1.select_slider(
                "S/N",
                [0.05, 0.1, 0.25, 0.5, 1.0, 2.0],
                SIM.snr,
                key="sim_snr",
                help="Signal variance / noise variance. HDL ≈ 0.1, BMI > 1.",
            )
            mi = c2.select_slider(
                "M/I", [0.25, 0.5, 1.0, 2.0, 4.0], SIM.mi, help="Main-effect variance / interaction variance."
            )
            prop = c3.select_slider(
                "Causal SNPs",
                [0.1, 0.25, 0.5, 0.75, 1.0],
                SIM.prop_causal,
                format_func=lambda v: f"{v:.0%}",
                help="Fraction of a gene's SNPs with a non-zero effect.",
            )
        c1, c2, c3 = st.columns(3)
        model = c1.selectbox(
            "Genotypes",
            ["coalescent", "binomial"],
            key="sim_model",
            help="coalescent: msprime ancestry with realistic LD; binomial: independent SNPs.",
        )
        spg = c2.number_input(
            "SNPs per gene",
            1,
            1_000,
            SIM.snps_per_gene,
            key="sim_spg",
            help="Upper bound; coalescent genes may hold fewer.",
        )
        on_current = st.checkbox(
            "Simulate the phenotype on the current cohort's genotypes (power analysis on your own data)",
            value=False,
            disabled=not can_use_current,
            help="Keeps the current cohort's real genotypes and genes; plants the interactions among its first genes."
            + ("" if can_use_current else " Available when the current cohort was loaded from your files (Files tab)."),
        )
        submitted = st.form_submit_button("Simulate", type="primary", key="sim_submit")
    if not submitted:
        return None
    params = SimParams(
        scenario=scenario,
        n_samples=int(n),
        n_genes=int(genes),
        snr=float(snr),
        mi=float(mi),
        prop_causal=float(prop),
        seed=int(seed),
        genotype_model=model,
        snps_per_gene=int(spg),
        case_fraction=float(case_fraction),
        effect=float(effect),
        h2=None if h2 is None else float(h2),
    )
    return params, on_current


def _path_or_upload(label: str, types, key: str, mode: str, help_text: str, multiple: bool = False):
    """A server path (text) or an upload, depending on ``mode``."""
    if mode == "path":
        return st.text_input(label, key=f"{key}_path", help=help_text) or None
    return st.file_uploader(label, type=types, key=f"{key}_up", accept_multiple_files=multiple, help=help_text)


def _materialise(value):
    """Uploaded files -> a folder under cache/uploads; paths pass through."""
    if value is None or value == []:
        return None
    if isinstance(value, str):
        p = Path(value.strip()).expanduser()
        return str(p)
    files = value if isinstance(value, list) else [value]
    folder = save_uploads({f.name: f.getvalue() for f in files})
    names = [upload_name(f.name) for f in files]  # confined to the upload folder, as stored
    beds = [n for n in names if n.endswith((".bed", ".pgen"))]
    if len(files) > 1 and beds:
        return str(folder / beds[0].rsplit(".", 1)[0])
    return str(folder / names[0])


def files_form():
    """Returns (FileSpec, QCParams) when submitted, else None."""
    mode = st.radio(
        "Where are the files?",
        ["upload", "path"],
        horizontal=True,
        key="files_mode",
        format_func={"upload": f"Upload (≤ {DEFAULT_MAX_MB:,} MB each)", "path": "Path on this server"}.get,
        help="Paths avoid copying large files; the app only reads them.",
    )
    fmt = st.radio(
        "Genotype format",
        ["plink", "pgen", "bgen", "vcf", "table"],
        horizontal=True,
        key="files_fmt",
        format_func={
            "plink": "PLINK .bed/.bim/.fam",
            "pgen": "PLINK 2 .pgen/.pvar/.psam",
            "bgen": "BGEN (imputed)",
            "vcf": "VCF / BCF",
            "table": "Table (CSV/TSV/Parquet)",
        }.get,
    )
    bgen_sample, min_info = None, FILES.min_info
    with st.form("files"):
        if fmt == "plink":
            geno = _path_or_upload(
                "PLINK files (.bed, .bim, .fam)" if mode == "upload" else "PLINK prefix",
                ["bed", "bim", "fam"],
                "geno_plink",
                mode,
                "All three files, or the path without extension.",
                multiple=True,
            )
        elif fmt == "pgen":
            geno = _path_or_upload(
                "PLINK 2 files (.pgen, .pvar, .psam)" if mode == "upload" else "PLINK 2 prefix",
                ["pgen", "pvar", "psam"],
                "geno_pgen",
                mode,
                "All three files, or the path without extension. Hard calls (ALT allele counts); "
                "multi-allelic variants are split into one column per ALT.",
                multiple=True,
            )
        elif fmt == "bgen":
            geno = _path_or_upload(
                "BGEN 1.2 / 1.3",
                ["bgen"],
                "geno_bgen",
                mode,
                "Imputed genotypes: each variant's probabilities become a dosage (expected copies of the second "
                "allele), which the networks use; QC uses the most likely genotype.",
            )
            bgen_sample = _path_or_upload(
                "Sample file (.sample)",
                ["sample", "txt"],
                "bgen_sample",
                mode,
                "Oxford .sample file (ID_1 ID_2 …); without it, the BGEN's own sample ids are used.",
            )
            min_info = st.number_input(
                "Minimum info score",
                0.0,
                1.0,
                FILES.min_info,
                0.05,
                key="bgen_min_info",
                help="Variants imputed with an info score below this are dropped (paper A: 0.4).",
            )
        elif fmt == "vcf":
            geno = _path_or_upload(
                "VCF / BCF",
                ["vcf", "gz", "bgz", "bcf"],
                "geno_vcf",
                mode,
                "Dosages come from GT; multi-allelic sites are split into one record per ALT.",
            )
        else:
            geno = _path_or_upload(
                "Genotype table",
                ["csv", "tsv", "txt", "parquet"],
                "geno_table",
                mode,
                "Samples × SNPs, first column the sample id, SNP columns named chrom:pos.",
            )
        pheno = _path_or_upload(
            "Phenotype",
            ["txt", "tsv", "csv", "pheno"],
            "pheno",
            mode,
            "PLINK-style FID IID value…, or a header with IID. Case/control as 1/2 or 0/1; -9/NA missing.",
        )
        c1, c2 = st.columns(2)
        pheno_col = c1.text_input("Phenotype column", help="Header name or 1-based index; default the first.") or None
        covar = _path_or_upload(
            "Covariates (optional)",
            ["txt", "tsv", "csv", "cov"],
            "covar",
            mode,
            "Age, sex, PCs… keyed by IID; regressed out before training.",
        )
        c1, c2 = st.columns(2)
        genes_choice = c1.selectbox(
            "Gene table",
            ["grch37", "grch38", "file"],
            key="files_genes",
            format_func={
                "grch37": "GRCh37 / hg19 (built-in)",
                "grch38": "GRCh38 / hg38 (built-in)",
                "file": "my own BED/TSV",
            }.get,
            help="Must match the build of the genotype positions.",
        )
        flank = c2.number_input(
            "Flank (bp)",
            0,
            1_000_000,
            FILES.flank,
            step=1_000,
            help="A SNP belongs to a gene when within [start − flank, end + flank].",
        )
        gene_file = _path_or_upload(
            "Gene table file (if 'my own')",
            ["bed", "tsv", "txt", "csv"],
            "genes",
            mode,
            "BED (chrom start end name) or a table with gene, chrom, start, end.",
        )
        gene_list = st.text_area(
            "Genes to keep (optional)",
            placeholder="APOE, LDLR, PCSK9 …",
            help="Comma/space/newline separated symbols; empty keeps every gene with a SNP.",
        )
        snp_map = _path_or_upload(
            "SNP map (table format only)",
            ["csv", "tsv", "txt"],
            "snpmap",
            mode,
            "snp, chrom, pos[, a1, a2][, gene], when table columns are not named chrom:pos.",
        )
        c1, c2 = st.columns(2)
        pathways = _path_or_upload(
            "Pathways (GMT, optional)",
            ["gmt", "txt"],
            "gmt",
            mode,
            "Used by the Epistasis page to wire genes to pathway neurons.",
        )
        variants = _path_or_upload(
            "Annotated variants (optional)",
            ["csv", "tsv", "txt", "parquet"],
            "variants",
            mode,
            "sample, gene, class[, count] (ANNOVAR classes) → gene-centric features.",
        )
        truth = _path_or_upload(
            "Planted truth (truth.json, optional)",
            ["json"],
            "truth",
            mode,
            "For files you simulated yourself (python -m gxapp simulate writes truth.json): the Interactions page "
            "then scores every method against the planted pairs (AP, precision-recall, realised FDR).",
        )
        with st.expander("Quality control thresholds"):
            c1, c2, c3, c4 = st.columns(4)
            geno_t = c1.number_input("Max SNP missing rate", 0.0, 1.0, QC.geno, format="%.3f", help="PLINK --geno")
            maf = c2.number_input("Min MAF", 0.0, 0.5, QC.maf, format="%.3f", help="PLINK --maf")
            hwe = c3.number_input("Min HWE p", 0.0, 1.0, QC.hwe, format="%.1e", help="PLINK --hwe (0 disables)")
            mind = c4.number_input(
                "Max sample missing rate", 0.0, 1.0, 1.0, format="%.3f", help="PLINK --mind (1 disables)"
            )
            dup_ids = st.radio(
                "Variants sharing an id",
                ("rename", "drop"),
                format_func={"rename": "rename them (id_2, id_3…)", "drop": "keep the first only"}.get,
                horizontal=True,
                key="files_dup_ids",
                help="Distinct variants with the same id (split multi-allelics, merged panels). Exact duplicates "
                "(same position and alleles) are always dropped, missing ids ('.') set to chrom:pos:ref:alt; "
                "the QC report says what was done (PLINK 2: --rm-dup, --set-missing-var-ids).",
            )
        with st.expander("LD pruning and population structure"):
            c1, c2 = st.columns(2)
            prune = c1.selectbox(
                "LD pruning per gene",
                ("none", "variance", "r2"),
                key="files_prune",
                format_func={
                    "variance": "keep a share of each gene's variance (paper A)",
                    "r2": "pairwise r² (PLINK --indep-pairwise)",
                    "none": "none: keep every SNP",
                }.get,
                help="Fewer, less collinear SNPs per gene: faster training, steadier gene representations. "
                "'Variance' keeps the SNPs that together explain the share below of each gene's genotype variance.",
            )
            prune_variance = c2.number_input(
                "Variance kept per gene",
                0.5,
                1.0,
                QC.prune_variance,
                0.05,
                key="files_prune_var",
                help="With 'keep a share of each gene's variance' (paper A: 0.9).",
            )
            c1, c2, c3 = st.columns(3)
            window = c1.number_input("r² window (SNPs)", 2, 10_000, QC.prune_window, key="files_prune_w")
            step = c2.number_input("r² step (SNPs)", 1, 10_000, QC.prune_step, key="files_prune_s")
            r2 = c3.number_input(
                "Max r²", 0.01, 0.99, QC.prune_r2, 0.05, key="files_prune_r2", help="With pairwise r² pruning."
            )
            n_pcs = st.number_input(
                "Genotype PCs to regress out",
                0,
                50,
                QC.pca,
                key="files_pca",
                help="The first K principal components of the genotypes are regressed out of the phenotype with "
                "the covariates, so the networks cannot learn ancestry as interaction (paper A: 10; 0: none).",
            )
            pca_bfile = _path_or_upload(
                "Genome-wide PLINK set for the PCs (optional)",
                ["bed", "bim", "fam"],
                "pca_bfile",
                mode,
                "PCs from genome-wide variants separate ancestry from the selected genes' own effects better "
                "than PCs of the loaded genes (the default). Same individuals (IIDs) as the genotypes.",
                multiple=True,
            )
        submitted = st.form_submit_button("Load cohort", type="primary", key="files_submit")
    if not submitted:
        return None
    if not geno:
        st.error("Give the genotype files first.")
        return None
    # in upload mode the box is text only: never read a server file it happens to name
    keep = read_gene_list(gene_list, as_text=(mode != "path")) if gene_list.strip() else None
    spec = FileSpec(
        genotypes=_materialise(geno),
        format=fmt,
        pheno=_materialise(pheno),
        pheno_column=pheno_col,
        covar=_materialise(covar),
        genes=_materialise(gene_file) if genes_choice == "file" and gene_file else genes_choice,
        flank=int(flank),
        keep_genes=keep,
        snp_map=_materialise(snp_map),
        pathways=_materialise(pathways),
        variants=_materialise(variants),
        duplicate_ids=dup_ids,
        sample=_materialise(bgen_sample),
        min_info=float(min_info),
        pca_bfile=_materialise(pca_bfile),
        truth=_materialise(truth),
    )
    if genes_choice == "file" and not gene_file:
        st.error("'My own' gene table chosen, but no gene table file given.")
        return None
    qc = QCParams(
        geno=float(geno_t),
        maf=float(maf),
        hwe=float(hwe),
        mind=None if mind >= 1 else float(mind),
        prune=prune,
        prune_variance=float(prune_variance),
        prune_r2=float(r2),
        prune_window=int(window),
        prune_step=int(step),
        pca=int(n_pcs),
    )
    return spec, qc
