"""OKX REST bodies: trades to base-currency sizes, candles to bars, symbol types, retry waits."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from engine.model.errors import UserError
from engine.store.schema import BARS, TRADES
from engine.venues.okx.formats import Contract, market_type, parse_candles, parse_trades
from engine.venues.okx.rest import RetryPolicy

LINEAR = Contract("ETH-USDT-SWAP", spot=False, contract_size=Decimal("0.1"))
INVERSE = Contract("BTC-USD-SWAP", spot=False, contract_size=Decimal("100"), inverse=True)
SPOT = Contract("BTC-USDT", spot=True)


def _columns(schema: pa.Schema) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in schema]


def trade(sz: str, px: str = "40000", side: str = "buy", trade_id: str = "7") -> dict[str, str]:
    return {"instId": "X", "side": side, "sz": sz, "px": px, "tradeId": trade_id, "ts": "1704067200123"}


def test_parse_trades_linear_swap_contracts_times_ct_val() -> None:
    table = parse_trades([trade("3"), trade("0.07", side="sell", trade_id="6")], LINEAR)
    assert _columns(table.schema) == _columns(TRADES)  # what the lake stores
    assert table["size"].to_pylist() == [0.3, 0.007]  # exact decimals, no 0.30000000000000004
    assert table["side"].to_pylist() == [1, -1]
    assert table["trade_id"].to_pylist() == ["7", "6"]
    assert table["ts_event"].to_pylist() == [1_704_067_200_123_000_000] * 2
    assert table["ts_recv"].null_count == 2


def test_parse_trades_inverse_swap_usd_value_divided_by_price() -> None:
    table = parse_trades([trade("3", px="40000")], INVERSE)
    assert table["size"].to_pylist() == [pytest.approx(300 / 40000)]


def test_parse_trades_spot_size_is_base_as_sent() -> None:
    assert parse_trades([trade("0.00013669", px="102537.9")], SPOT)["size"].to_pylist() == [0.00013669]


def test_parse_trades_recorded_okx_response(shared_data: Path) -> None:
    body = json.loads((shared_data / "okx" / "nautilus_http_get_trades.json").read_text())
    table = parse_trades(body["data"], SPOT)
    assert table["trade_id"].to_pylist() == ["734864333", "734864332"]
    assert table["side"].to_pylist() == [-1, 1]
    assert table["price"].to_pylist() == [102537.9, 102537.9]


def test_parse_candles_derivative_volume_from_vol_ccy_and_drops_unconfirmed() -> None:
    rows = [
        ["1704067260000", "10", "12", "9", "11", "55", "5.5", "60", "0"],
        ["1704067200000", "9", "10.5", "8.5", "10", "40", "4", "39", "1"],
    ]
    table = parse_candles(rows, "1m", spot=False)
    assert _columns(table.schema) == _columns(BARS)
    assert table.to_pylist() == [
        {
            "ts_event": 1_704_067_200_000_000_000,
            "open": 9.0,
            "high": 10.5,
            "low": 8.5,
            "close": 10.0,
            "volume": 4.0,
            "interval": "1m",
        }
    ]


def test_parse_candles_spot_volume_is_vol(shared_data: Path) -> None:
    body = json.loads((shared_data / "okx" / "nautilus_http_get_candlesticks.json").read_text())
    body["data"][0][8] = body["data"][1][8] = "1"  # the recording's rows are still open
    table = parse_candles(body["data"], "1m", spot=True)
    assert table["volume"].to_pylist() == [778.838, 0.123]


@pytest.mark.parametrize(
    ("symbol", "kind"),
    [
        ("ETH/USDT", "spot"),
        ("ETH/USDT:USDT", "swap"),
        ("BTC/USD:BTC", "swap"),
        ("BTC/USDT:USDT-240329", "future"),
    ],
)
def test_market_type_of_unified_symbols(symbol: str, kind: str) -> None:
    assert market_type(symbol) == kind


def test_market_type_option_is_refused_by_name() -> None:
    with pytest.raises(UserError, match="BTC/USD:BTC-240329-50000-C"):
        market_type("BTC/USD:BTC-240329-50000-C")


def test_retry_policy_delay_doubles_up_to_cap() -> None:
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
