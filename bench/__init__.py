"""Benchmarks: measured figures for the README and for regressions (run with `make bench`)."""
