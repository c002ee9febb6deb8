"""Slow, obviously-correct reference implementations the tests (and bench/) compare
the fast production kernels with; never imported by gxapp."""
