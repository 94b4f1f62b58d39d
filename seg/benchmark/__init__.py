"""Benchmarks of partial padding: timing loop, the mask-convolution baseline, Table 1, training."""
