"""Instrument metadata: rows from ccxt's OKX markets, and the fetch in force at a time."""

from __future__ import annotations

from pathlib import Path

from engine.model.time import NS_PER_DAY, NS_PER_S
from engine.store.instruments import InstrumentFetch, instrument_rows, latest_instrument
from engine.store.lake import Lake
from tests.engine.store.factories import DAY0, instrument_row

SYM = "ETH/USDT:USDT"

# What ccxt's okx.load_markets() holds for two markets (trimmed to the fields read), and one
# market ccxt made up without OKX's fields.
MARKETS = [
    {"symbol": "ETH/USDT:USDT", "info": {"instId": "ETH-USDT-SWAP", "instIdCode": "10459", "instType": "SWAP",
                                         "tickSz": "0.01", "lotSz": "0.1", "minSz": "0.01", "ctVal": "0.1",
                                         "state": "live"}},
    {"symbol": "ETH/USDT", "info": {"instId": "ETH-USDT", "instIdCode": "", "instType": "SPOT", "tickSz": "0.01",
                                    "lotSz": "0.000001", "minSz": "0.0001", "ctVal": "", "state": "live"}},
    {"symbol": "X/Y", "info": {}},
]


def test_instrument_rows_read_okx_fields_of_ccxt_markets(data_root: Path) -> None:
    tables = instrument_rows(MARKETS, DAY0)
    assert sorted(tables) == ["ETH/USDT", "ETH/USDT:USDT"]
    (swap,) = tables[SYM].to_pylist()
    assert swap == {"ts_event": DAY0, "inst_id": "ETH-USDT-SWAP", "inst_id_code": 10459, "inst_type": "SWAP",
                    "tick_size": 0.01, "lot_size": 0.1, "min_size": 0.01, "contract_value": 0.1, "state": "live"}
    (spot,) = tables["ETH/USDT"].to_pylist()
    assert (spot["inst_id_code"], spot["contract_value"], spot["lot_size"]) == (None, None, 1e-6)
    lake = Lake.at(data_root)
    assert all(lake.append("instruments", "okx", s, t).new_rows == 1 for s, t in tables.items())


def test_latest_instrument_is_the_last_fetch_at_or_before_a_time(data_root: Path) -> None:
    lake = Lake.at(data_root)
    lake.append("instruments", "okx", SYM, instrument_row(DAY0, tick=0.1))
    lake.append("instruments", "okx", SYM, instrument_row(DAY0 + 2 * NS_PER_DAY, tick=0.01))
    assert latest_instrument(lake, "okx", SYM, DAY0 - 1) is None
    assert latest_instrument(lake, "okx", SYM, DAY0) == InstrumentFetch(
        DAY0, "ETH-USDT-SWAP", 10459, "SWAP", 0.1, 1.0, 1.0, 0.1, "live"
    )
    later = latest_instrument(lake, "okx", SYM, DAY0 + 2 * NS_PER_DAY - NS_PER_S)
    assert later is not None and later.tick_size == 0.1  # a day with no fetch: the one before it
    now = latest_instrument(lake, "okx", SYM, DAY0 + 3 * NS_PER_DAY)
    assert now is not None and (now.fetched, now.tick_size) == (DAY0 + 2 * NS_PER_DAY, 0.01)
    assert latest_instrument(lake, "okx", "BTC/USDT:USDT", DAY0 + NS_PER_DAY) is None
