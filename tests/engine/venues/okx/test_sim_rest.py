"""The simulator's REST side: ccxt's `okx` client against it, and OKX's error bodies."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from engine.store.lake import Lake
from engine.venues.okx.sim_rest import SimRest

T0_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MS = 1_000_000
SWAP, SPOT, FUTURE = "BTC/USDT:USDT", "ETH/USDT", "BTC/USDT:USDT-240329"


def trades(n: int, first_id: int, price: float, lot: float) -> pa.Table:
    """n trades 7.3 s apart (about 4 minutes), ids ascending, sizes whole multiples of `lot`."""
    return pa.table({
        "ts_event": pa.array([(T0_MS + 7_300 * i) * MS for i in range(n)], pa.int64()),
        "ts_recv": pa.nulls(n, pa.int64()),
        "trade_id": pa.array([str(first_id + i) for i in range(n)], pa.string()),
        "price": pa.array([round(price + (i * 37 % 11 - 5) * 0.5, 2) for i in range(n)], pa.float64()),
        "size": pa.array([round((1 + i * 13 % 7) * lot, 8) for i in range(n)], pa.float64()),
        "side": pa.array([1 if i % 3 else -1 for i in range(n)], pa.int8()),
    })


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.at(tmp_path_factory.mktemp("sim") / "data")
    lake.write("trades", "okx", SWAP, trades(34, 500_000, 42_000.0, 0.01))
    lake.write("trades", "okx", SPOT, trades(31, 9_000, 2_300.0, 0.0137))
    lake.write("trades", "okx", FUTURE, trades(5, 70, 42_100.0, 0.01))
    lake.write("funding", "okx", SWAP, pa.table({
        "ts_event": pa.array([(T0_MS - h * 3_600_000) * MS for h in (24, 16, 8, 0)], pa.int64()),
        "rate": pa.array([0.0001, -0.00005, 0.00012, 0.0003], pa.float64()),
    }))
    lake.write("quotes", "okx", SPOT, pa.table({
        "ts_event": pa.array([(T0_MS + 200_000) * MS], pa.int64()), "ts_recv": pa.nulls(1, pa.int64()),
        "bid": [2_299.5], "ask": [2_299.6], "bid_size": [1.25], "ask_size": [0.5],
    }))
    lake.write("instruments", "okx", SPOT, pa.table({
        "ts_event": pa.array([T0_MS * MS], pa.int64()), "inst_id": ["ETH-USDT"],
        "inst_id_code": pa.array([2], pa.int64()), "inst_type": ["SPOT"], "tick_size": [0.01],
        "lot_size": [0.0001], "min_size": [0.001], "contract_value": pa.nulls(1, pa.float64()),
        "state": ["live"],
    }))
    return lake


@pytest.fixture(scope="module")
def sim(lake: Lake) -> Iterator[SimRest]:
    server = SimRest(lake, [SWAP, SPOT, FUTURE])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def okx(sim: SimRest) -> Any:
    import ccxt

    exchange = ccxt.okx({"urls": {"api": {"rest": sim.url}}, "timeout": 5_000, "enableRateLimit": False})
    exchange.load_markets()
    return exchange


def get(sim: SimRest, path: str, **params: Any) -> tuple[int, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    try:
        with urllib.request.urlopen(f"{sim.url}{path}?{query}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def lake_rows(lake: Lake, kind: str, symbol: str) -> list[dict[str, Any]]:
    return list(lake.read(kind, "okx", symbol).to_pylist())


def test_load_markets_gives_spot_and_swap_with_precision_and_contract_size(okx: Any, sim: SimRest) -> None:
    swap, spot = okx.markets[SWAP], okx.markets[SPOT]
    assert (swap["id"], swap["type"], swap["linear"], swap["contractSize"]) == ("BTC-USDT-SWAP", "swap", True, 0.01)
    assert (swap["precision"]["price"], swap["precision"]["amount"]) == (0.1, 0.01)
    assert (spot["id"], spot["type"], spot["instIdCode"]) == ("ETH-USDT", "spot", 2)
    assert (spot["precision"]["price"], spot["precision"]["amount"], spot["limits"]["amount"]["min"]) == (
        0.01, 0.0001, 0.001)
    future = okx.markets[FUTURE]
    assert (future["id"], future["type"], future["contractSize"], future["expiry"]) == (
        "BTC-USDT-240329", "future", 0.01, 1_711_699_200_000)
    assert set(okx.markets) == {SWAP, SPOT, FUTURE}
    assert sim.unknown_paths == []


@pytest.mark.parametrize("symbol", [SWAP, SPOT])
def test_fetch_trades_equals_the_lakes_rows_in_base_units(okx: Any, lake: Lake, symbol: str) -> None:
    size = okx.markets[symbol]["contractSize"] or 1
    got = okx.fetch_trades(symbol, limit=500)
    expected = [(r["trade_id"], r["ts_event"] // MS, r["price"], r["size"], "buy" if r["side"] > 0 else "sell")
                for r in lake_rows(lake, "trades", symbol)]
    assert [(t["id"], t["timestamp"], t["price"], pytest.approx(t["amount"] * size), t["side"])
            for t in got] == expected


def test_fetch_trades_limit_gives_the_latest(okx: Any, lake: Lake) -> None:
    got = okx.fetch_trades(SPOT, limit=5)
    assert [t["id"] for t in got] == [r["trade_id"] for r in lake_rows(lake, "trades", SPOT)[-5:]]


def test_history_trades_paged_by_id_returns_every_trade_once(sim: SimRest, lake: Lake) -> None:
    seen: list[str] = []
    cursor: dict[str, Any] = {}
    while True:
        status, body = get(sim, "/api/v5/market/history-trades", instId="BTC-USDT-SWAP", limit=7, **cursor)
        assert status == 200 and body["code"] == "0"
        if not body["data"]:
            break
        seen += [row["tradeId"] for row in body["data"]]
        cursor = {"after": body["data"][-1]["tradeId"]}
    assert seen == [r["trade_id"] for r in lake_rows(lake, "trades", SWAP)][::-1]


def test_history_trades_by_time_keeps_the_window(sim: SimRest) -> None:
    _, body = get(sim, "/api/v5/market/history-trades", instId="ETH-USDT", type=2,
                  before=T0_MS + 7_300 * 3, after=T0_MS + 7_300 * 6)
    assert [int(row["ts"]) for row in body["data"]] == [T0_MS + 7_300 * i for i in (5, 4)]


def by_hand(rows: list[dict[str, Any]], minutes: int) -> list[list[float]]:
    bars: dict[int, list[float]] = {}
    for r in rows:
        start = r["ts_event"] // MS // (60_000 * minutes) * 60_000 * minutes
        bar = bars.setdefault(start, [start, r["price"], r["price"], r["price"], r["price"], 0.0])
        bar[2], bar[3], bar[4] = max(bar[2], r["price"]), min(bar[3], r["price"]), r["price"]
        bar[5] += r["size"]
    return list(bars.values())


@pytest.mark.parametrize(("symbol", "timeframe", "minutes"), [(SWAP, "1m", 1), (SPOT, "1m", 1), (SPOT, "3m", 3)])
def test_fetch_ohlcv_equals_bars_by_hand(okx: Any, lake: Lake, symbol: str, timeframe: str, minutes: int) -> None:
    got = okx.fetch_ohlcv(symbol, timeframe, since=T0_MS, limit=100)
    expected = by_hand(lake_rows(lake, "trades", symbol), minutes)
    assert [[*b[:5], pytest.approx(b[5])] for b in got] == expected


def levels(side: list[list[float]]) -> list[list[float]]:
    return [level[:2] for level in side]


def test_fetch_order_book_from_the_quote_or_around_the_last_trade(okx: Any, lake: Lake) -> None:
    spot = okx.fetch_order_book(SPOT)
    assert (levels(spot["bids"]), levels(spot["asks"])) == ([[2_299.5, 1.25]], [[2_299.6, 0.5]])
    last = lake_rows(lake, "trades", SWAP)[-1]
    book = okx.fetch_order_book(SWAP)
    swap = {"bids": levels(book["bids"]), "asks": levels(book["asks"])}
    contracts = pytest.approx(last["size"] / 0.01)
    if last["side"] > 0:
        assert (swap["asks"], swap["bids"]) == ([[last["price"], contracts]], [[last["price"] - 0.1, contracts]])
    else:
        assert (swap["bids"], swap["asks"]) == ([[last["price"], contracts]], [[last["price"] + 0.1, contracts]])


def test_fetch_ticker_gives_last_trade_and_quote(okx: Any, lake: Lake) -> None:
    rows = lake_rows(lake, "trades", SPOT)
    ticker = okx.fetch_ticker(SPOT)
    assert (ticker["last"], ticker["bid"], ticker["ask"], ticker["timestamp"]) == (
        rows[-1]["price"], 2_299.5, 2_299.6, rows[-1]["ts_event"] // MS)
    assert ticker["high"] == max(r["price"] for r in rows)
    assert ticker["baseVolume"] == pytest.approx(sum(r["size"] for r in rows))
    tickers = okx.fetch_tickers([SWAP])
    assert tickers[SWAP]["last"] == lake_rows(lake, "trades", SWAP)[-1]["price"]


def test_funding_rate_history_and_current_rate_equal_the_lakes_rows(okx: Any, lake: Lake) -> None:
    got = okx.fetch_funding_rate_history(SWAP)
    rows = lake_rows(lake, "funding", SWAP)
    assert [(f["timestamp"], f["fundingRate"]) for f in got] == [(r["ts_event"] // MS, r["rate"]) for r in rows]
    current = okx.fetch_funding_rate(SWAP)
    assert (current["fundingRate"], current["fundingTimestamp"], current["interval"]) == (
        0.0003, T0_MS + 8 * 3_600_000, "8h")
    assert list(okx.fetch_funding_rates()) == [SWAP]


def test_fetch_mark_price_is_the_last_trade_without_mark_bars(okx: Any, lake: Lake) -> None:
    assert okx.fetch_mark_price(SWAP)["markPrice"] == lake_rows(lake, "trades", SWAP)[-1]["price"]


def test_fetch_time_and_status(okx: Any) -> None:
    assert okx.fetch_time() > T0_MS
    assert okx.fetch_status()["status"] == "ok"


def test_unknown_inst_id_is_okx_error_51001(sim: SimRest) -> None:
    status, body = get(sim, "/api/v5/market/trades", instId="DOGE-USDT")
    assert (status, body["code"], body["data"]) == (200, "51001", [])
    assert "Instrument ID" in body["msg"] and "does not exist" in body["msg"]


def test_bad_bar_is_okx_parameter_error_51000(sim: SimRest) -> None:
    status, body = get(sim, "/api/v5/market/candles", instId="ETH-USDT", bar="7m")
    assert (status, body) == (400, {"code": "51000", "msg": "Parameter bar error", "data": []})


def test_missing_parameter_is_50014_and_unknown_path_404(sim: SimRest) -> None:
    status, body = get(sim, "/api/v5/market/ticker")
    assert (status, body["code"]) == (400, "50014")
    status, body = get(sim, "/api/v5/market/nothing-here", instId="ETH-USDT")
    assert (status, body["data"]) == (404, [])
    assert sim.unknown_paths[-1] == "/api/v5/market/nothing-here"


def test_ccxt_bad_symbol_from_51001(okx: Any) -> None:
    import ccxt

    with pytest.raises(ccxt.BadSymbol):
        okx.publicGetMarketTicker({"instId": "DOGE-USDT"})


def test_options_are_an_empty_list(sim: SimRest) -> None:
    assert get(sim, "/api/v5/public/instruments", instType="OPTION", uly="BTC-USD") == (
        200, {"code": "0", "msg": "", "data": []})
