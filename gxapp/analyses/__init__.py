"""Cached analyses: cohorts, runs, interactions, comparisons and surfaces, all
through one protocol (:mod:`gxapp.analyses.base`)."""
