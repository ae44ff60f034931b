"""The ledger (engine/results/records.py LEDGER) as numpy columns, and the helpers that sample it.

Equity curves, statistics and round trips all read the ledger this way: sorted by (ts, seq), so
that rows with the same time keep the order they were booked in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

# Positions within this fraction of the sub-ledger's largest step count as flat (float residue).
FLAT_RTOL = 1e-9

FloatArray = np.ndarray


@dataclass(frozen=True, slots=True)
class LedgerArrays:
    """The ledger as numpy columns sorted by (ts, seq)."""

    ts: np.ndarray
    strategy_id: np.ndarray
    symbol: np.ndarray
    kind: np.ndarray
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    cash_flow: np.ndarray

    def where(self, mask: np.ndarray) -> LedgerArrays:
        """The rows where `mask` holds, still sorted."""
        return LedgerArrays(*(getattr(self, f)[mask] for f in self.__slots__))


def ledger_arrays(ledger: pa.Table) -> LedgerArrays:
    """Numpy columns of a LEDGER table, sorted by (ts, seq)."""

    def col(name: str, dtype: type) -> np.ndarray:
        return np.asarray(ledger.column(name).to_numpy(zero_copy_only=False), dtype=dtype)

    ts, seq = col("ts", np.int64), col("seq", np.int64)
    order = np.lexsort((seq, ts))
    names = ("strategy_id", "symbol", "kind")
    texts = [col(n, object)[order] for n in names]
    floats = [col(n, np.float64)[order] for n in ("qty", "price", "fee", "cash_flow")]
    return LedgerArrays(ts[order], *texts, *floats)


def sample_cumsum(ts: np.ndarray, values: np.ndarray, grid: np.ndarray) -> FloatArray:
    """Running sum of `values` (rows sorted by `ts`) over rows with ts < each grid time.

    Strictly before: a row at exactly a minute boundary g happened after the last price before g,
    so it counts from the next grid point on (README "How money is counted").
    """
    csum = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    return np.asarray(csum[np.searchsorted(ts, grid, side="left")])


def unit_values(prices: FloatArray, inverse: bool) -> FloatArray:
    """What one unit of position is worth at `prices`, in the symbol's currency, up to a constant that
    cancels in every PnL: the price, or -1 / price for an inverse contract (USD units, coin amounts)."""
    return np.asarray(-1.0 / prices) if inverse else prices


def flat_tolerance(qty: FloatArray, lot: float = 0.0) -> float:
    """Absolute size at or below which a position counts as flat for steps of size `qty`: float
    noise, or less than one `lot` of the symbol (the dust a spot buy's fee, paid in the base
    currency, leaves once the holding is sold in whole lots)."""
    noise = FLAT_RTOL * float(np.max(np.abs(qty))) if qty.size else 0.0
    return max(noise, lot * (1.0 - 1e-6))
