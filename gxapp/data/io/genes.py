"""Former home of gene tables, gene lists, SNP -> gene mapping and the build check,
now split into :mod:`~gxapp.data.io.gene_tables`, :mod:`~gxapp.data.io.gene_lists`,
:mod:`~gxapp.data.io.gene_mapping` and :mod:`~gxapp.data.io.genome_build`.

Kept only for the two importers owned elsewhere (``gxapp/ui/forms.py``,
``gxapp/analyses/cohorts.py``); import from the modules above and delete this file
once they do.
"""
from gxapp.data.io.gene_lists import read_gene_list
from gxapp.data.io.gene_mapping import map_snps_to_genes
from gxapp.data.io.gene_tables import load_gene_table

__all__ = ["load_gene_table", "map_snps_to_genes", "read_gene_list"]
