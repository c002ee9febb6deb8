"""Data I/O: genotype readers (PLINK, VCF, tables), phenotype/covariate files,
gene tables (``gene_tables``) and gene lists (``gene_lists``), SNP-to-gene mapping
(``gene_mapping``) and the genome-build check (``genome_build``), GMT pathways,
annotated variant tables, a cohort's folder of files (``cohort_files``)."""
