"""Data I/O: genotype readers (PLINK, VCF, tables), phenotype/covariate files,
gene tables and SNP-to-gene mapping, GMT pathways, annotated variant tables."""
