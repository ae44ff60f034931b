"""Argument parsers of the `okxbot` commands; each imports its heavy modules only when run."""
