"""Slow, obviously-correct versions of fast kernels, for the tests to compare against."""
