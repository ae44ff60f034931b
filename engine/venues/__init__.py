"""Venues: the simulated exchange, OKX, and other exchanges through ccxt."""
