"""Venues: the simulated exchange (`sim`) and the exchange adapters (`okx`; more through ccxt later)."""

from engine.venues.sim import SimConfig, SimVenue

__all__ = ["SimConfig", "SimVenue"]
