"""OKX's formats: instIds and ccxt symbols, REST trades to base-currency sizes, candles to bars, market types."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from engine.model.errors import UserError
from engine.store.schema import BARS, TRADES
from engine.venues.okx.formats import (
    Contract,
    base_size,
    base_sizes,
    default_contract,
    inst_id,
    market_type,
    parse_candles,
    parse_trades,
    symbol_of,
)

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


# instId <-> ccxt symbol: both directions, every kind OKX trades that the engine supports.
PAIRS = [
    ("BTC-USDT", "BTC/USDT"),
    ("ETH-USDC", "ETH/USDC"),
    ("ETH-USDT-SWAP", "ETH/USDT:USDT"),
    ("BTC-USDC-SWAP", "BTC/USDC:USDC"),
    ("BTC-USD-SWAP", "BTC/USD:BTC"),
    ("BTC-USDT-250328", "BTC/USDT:USDT-250328"),
    ("BTC-USD-250328", "BTC/USD:BTC-250328"),
    ("BTC-USD-220325", "BTC/USD:BTC-220325"),  # issue 9's example
    ("ETH-USDT-220325", "ETH/USDT:USDT-220325"),
]


@pytest.mark.parametrize(("inst", "symbol"), PAIRS)
def test_inst_id_and_symbol_round_trip(inst: str, symbol: str) -> None:
    assert symbol_of(inst) == symbol
    assert inst_id(symbol) == inst


def test_dated_future_is_not_mapped_to_the_swap() -> None:
    assert inst_id("BTC/USDT:USDT-250328") != inst_id("BTC/USDT:USDT")


@pytest.mark.parametrize("symbol", ["BTC/USD:BTC-250328-50000-C", "BTC/USDT:USDT-2503"])
def test_inst_id_refuses_options_and_malformed_expiries(symbol: str) -> None:
    with pytest.raises(UserError, match=re.escape(repr(symbol))):
        inst_id(symbol)


def test_inst_id_refuses_a_settle_okx_does_not_use() -> None:
    with pytest.raises(UserError, match="settles BTC-USD contracts in BTC, not USDT"):
        inst_id("BTC/USD:USDT")


@pytest.mark.parametrize("inst", ["BTC", "BTC-USD-250328-50000-C", "BTC-USDT-FUT", "-USDT"])
def test_symbol_of_refuses_what_is_not_spot_swap_or_future(inst: str) -> None:
    with pytest.raises(UserError, match=re.escape(f"instId {inst!r}")):
        symbol_of(inst)


def test_base_sizes_by_family_ct_val_for_swaps_and_futures() -> None:
    contracts, prices = np.array([3.0]), np.array([40_000.0])
    # 3 contracts of 0.01 BTC, for the swap and the dated future of the same family
    assert base_sizes("BTC-USDT-SWAP", contracts, prices, None, "f")[0] == pytest.approx(0.03)
    assert base_sizes("BTC-USDT-250328", contracts, prices, None, "f")[0] == pytest.approx(0.03)
    # inverse: 3 contracts of 100 USD at 40,000 USD/BTC = 0.0075 BTC
    assert base_sizes("BTC-USD-SWAP", contracts, prices, None, "f")[0] == pytest.approx(0.0075)
    # other inverse families: 3 contracts of 10 USD at 2,000 USD/ETH = 0.015 ETH
    assert base_sizes("ETH-USD-SWAP", contracts, np.array([2_000.0]), None, "f")[0] == pytest.approx(0.015)
    assert base_sizes("BTC-USDT", contracts, prices, None, "f")[0] == 3.0  # spot: as sent
    assert base_sizes("SOL-USDT-SWAP", contracts, prices, 1.0, "f")[0] == 3.0  # given ctVal


def test_base_sizes_unknown_family_names_the_file_and_the_option() -> None:
    with pytest.raises(UserError, match=re.escape("recording.jsonl: SOL-USDT-SWAP sizes are in contracts; pass")):
        base_sizes("SOL-USDT-SWAP", np.array([1.0]), np.array([100.0]), None, "recording.jsonl")


def test_default_contract_from_known_families_and_none_for_unknown() -> None:
    assert default_contract("BTC-USDT") == Contract("BTC-USDT", spot=True)
    assert default_contract("ETH-USDT-220325") == Contract("ETH-USDT-220325", False, Decimal("0.1"))
    assert default_contract("BTC-USD-SWAP") == Contract("BTC-USD-SWAP", False, Decimal("100.0"), inverse=True)
    assert default_contract("SOL-USD-SWAP") == Contract("SOL-USD-SWAP", False, Decimal("10.0"), inverse=True)
    assert default_contract("SOL-USDT-SWAP") is None  # linear ctVal differs by coin: no guess


def test_base_size_one_value_per_kind() -> None:
    assert base_size("0.5", "40000", SPOT) == 0.5
    assert base_size("3", "2000", LINEAR) == 0.3
    assert base_size("3", "40000", INVERSE) == pytest.approx(0.0075)
