"""Slow, obviously-correct reference implementations the tests (and bench/) compare
the production code with; never imported by gxapp."""
