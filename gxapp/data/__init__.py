"""Data: the cohort type, readers for every format, QC, preprocessing, simulators.

The first stage of the pipeline (data → science → cached analyses → ui / cli):
nothing here knows about networks, the cache or the UI.
"""
