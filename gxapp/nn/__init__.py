"""What both papers' batched training shares: the stacked optimiser, the
thread limiter, out-of-memory handling."""
