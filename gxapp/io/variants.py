"""Annotated variant tables (sample, gene, functional class[, count]) and the
gene-centric tensor of SPEC §1 (paper B)."""
from __future__ import annotations

# ANNOVAR functional classes used by paper B's gene-centric encoding, in a fixed order.
CLASSES = (
    "UTR3", "UTR5", "splicing", "upstream", "downstream", "intronic",
    "ncRNA_exonic", "ncRNA_intronic", "ncRNA_splicing",
    "frameshift_insertion", "frameshift_deletion",
    "nonframeshift_insertion", "nonframeshift_deletion",
    "stopgain", "stoploss", "startloss", "nonsynonymous",
)
