"""Instrument metadata in the lake: rows from ccxt's markets, and the fetch in force at a time.

The `instruments` kind keeps every fetch with the time it was made (`ts_event`), so a backtest
can use what the venue said at its start rather than what it says today.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from engine.store.lake import Lake
from engine.store.schema import INSTRUMENTS


@dataclass(frozen=True, slots=True)
class InstrumentFetch:
    """One fetch of one instrument's metadata (sizes in the venue's order-size unit)."""

    fetched: int  # ns UTC
    inst_id: str
    inst_id_code: int | None
    inst_type: str | None
    tick_size: float
    lot_size: float
    min_size: float
    contract_value: float | None
    state: str | None


def latest_instrument(lake: Lake, venue: str, symbol: str, at: int) -> InstrumentFetch | None:
    """The last fetch made at or before `at` (ns), or None when there is none."""
    table = lake.tail("instruments", venue, symbol, at + 1, 1)
    if not table.num_rows:
        return None
    row = table.to_pylist()[0]
    return InstrumentFetch(fetched=row.pop("ts_event"), **row)


def instrument_rows(markets: Iterable[Mapping[str, Any]], fetched: int) -> dict[str, pa.Table]:
    """Rows of the `instruments` kind per ccxt symbol from ccxt's OKX markets (`load_markets()`
    values), read from OKX's own fields in `info`; markets without an instId are left out."""
    found: dict[str, list[dict[str, object]]] = {}
    for market in markets:
        info = market.get("info") or {}
        if not info.get("instId"):
            continue
        found.setdefault(str(market["symbol"]), []).append(
            {
                "ts_event": fetched,
                "inst_id": info["instId"],
                "inst_id_code": _int(info.get("instIdCode")),
                "inst_type": info.get("instType") or None,
                "tick_size": _float(info.get("tickSz")),
                "lot_size": _float(info.get("lotSz")),
                "min_size": _float(info.get("minSz")),
                "contract_value": _float(info.get("ctVal")),
                "state": info.get("state") or None,
            }
        )
    return {symbol: pa.Table.from_pylist(rows, schema=_RELAXED) for symbol, rows in found.items()}


_RELAXED = pa.schema([f.with_nullable(True) for f in INSTRUMENTS])


def _float(text: object) -> float | None:
    """OKX sends numbers as strings, and '' for none."""
    return None if text is None or text == "" else float(str(text))


def _int(text: object) -> int | None:
    return None if text is None or text == "" else int(str(text))
