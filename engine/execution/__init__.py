"""Turning a position delta into orders: immediate market orders now; maker-first, TWAP, VWAP later."""

from engine.execution.immediate import Immediate, Plan

__all__ = ["Immediate", "Plan"]
