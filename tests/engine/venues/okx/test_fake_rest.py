"""The fake OKX REST server: OKX's paging rules, instrument shapes, failures and pausing."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from engine.venues.okx.fake_rest import (
    CANDLES_PATH,
    INSTRUMENTS_PATH,
    TRADES_PATH,
    FakeOkxRest,
    OkxDataset,
    generate_candles,
    generate_trades,
    spot_instrument,
    swap_instrument,
)

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC in ms
TRADES = generate_trades(T0, T0 + 60_000, seed=3)
CANDLES = generate_candles(T0, T0 + 300 * 60_000, seed=3)
DATASET = OkxDataset(
    instruments=(
        swap_instrument("ETH-USDT-SWAP", "0.1"),
        spot_instrument("ETH-USDT"),
        swap_instrument("BTC-USD-SWAP", "100", tick_sz="0.1", lot_sz="1"),
    ),
    trades={"ETH-USDT-SWAP": TRADES[::-1]},  # given in any order
    candles={("ETH-USDT-SWAP", "1m"): CANDLES},
)


@pytest.fixture
def fake() -> Iterator[FakeOkxRest]:
    server = FakeOkxRest(DATASET)
    server.start()
    yield server
    server.stop()


def get(fake: FakeOkxRest, path: str, **params: Any) -> tuple[int, Any]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    try:
        with urllib.request.urlopen(f"{fake.url}{path}?{query}", timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        body = err.read().decode()
        return err.code, json.loads(body) if body.startswith("{") else body


def test_history_trades_without_cursor_returns_newest_hundred_newest_first(fake: FakeOkxRest) -> None:
    status, body = get(fake, TRADES_PATH, instId="ETH-USDT-SWAP")
    ids = [int(t["tradeId"]) for t in body["data"]]
    assert status == 200 and body["code"] == "0"
    assert ids == sorted((t.trade_id for t in TRADES), reverse=True)[:100]
    assert set(body["data"][0]) == {"instId", "side", "sz", "px", "tradeId", "ts"}


def test_history_trades_after_id_pages_older_without_gap_or_overlap(fake: FakeOkxRest) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"instId": "ETH-USDT-SWAP", "limit": 100}
    while True:
        _, body = get(fake, TRADES_PATH, **params)
        if not body["data"]:
            break
        seen += [int(t["tradeId"]) for t in body["data"]]
        params["after"] = body["data"][-1]["tradeId"]
    assert seen == sorted((t.trade_id for t in TRADES), reverse=True)


def test_history_trades_before_id_returns_only_newer(fake: FakeOkxRest) -> None:
    pivot = TRADES[len(TRADES) - 30].trade_id
    _, body = get(fake, TRADES_PATH, instId="ETH-USDT-SWAP", before=pivot)
    assert sorted(int(t["tradeId"]) for t in body["data"]) == [t.trade_id for t in TRADES[-29:]]


def test_history_trades_type2_after_ts_returns_strictly_older(fake: FakeOkxRest) -> None:
    cut = TRADES[len(TRADES) // 2].ts_ms
    _, body = get(fake, TRADES_PATH, instId="ETH-USDT-SWAP", type=2, after=cut, limit=30)
    expected = [t.trade_id for t in TRADES if t.ts_ms < cut][::-1][:30]
    assert [int(t["tradeId"]) for t in body["data"]] == expected


def test_history_trades_limit_above_hundred_is_capped(fake: FakeOkxRest) -> None:
    _, body = get(fake, TRADES_PATH, instId="ETH-USDT-SWAP", limit=500)
    assert len(body["data"]) == 100


def test_generated_trades_share_milliseconds(fake: FakeOkxRest) -> None:
    stamps = [t.ts_ms for t in TRADES]
    assert len(set(stamps)) < len(stamps)
    assert stamps == sorted(stamps)


def test_history_trades_unknown_instrument_gives_okx_51001(fake: FakeOkxRest) -> None:
    status, body = get(fake, TRADES_PATH, instId="DOGE-USDT-SWAP")
    assert status == 200 and body["code"] == "51001" and body["data"] == []


def test_history_candles_after_pages_by_open_time(fake: FakeOkxRest) -> None:
    cut = CANDLES[150].ts_ms
    _, body = get(fake, CANDLES_PATH, instId="ETH-USDT-SWAP", bar="1m", after=cut)
    assert [int(r[0]) for r in body["data"]] == [c.ts_ms for c in CANDLES[50:150]][::-1]
    assert len(body["data"][0]) == 9 and body["data"][0][8] == "1"


def test_instruments_filter_by_type_and_id(fake: FakeOkxRest) -> None:
    _, swaps = get(fake, INSTRUMENTS_PATH, instType="SWAP")
    _, one = get(fake, INSTRUMENTS_PATH, instType="SWAP", instId="BTC-USD-SWAP")
    _, options = get(fake, INSTRUMENTS_PATH, instType="OPTION", uly="BTC-USD")
    assert {r["instId"] for r in swaps["data"]} == {"ETH-USDT-SWAP", "BTC-USD-SWAP"}
    assert [r["ctType"] for r in one["data"]] == ["inverse"]
    assert options["data"] == []


def test_ccxt_load_markets_reads_contract_values(fake: FakeOkxRest) -> None:
    import ccxt

    exchange = ccxt.okx(
        {"urls": {"api": {"rest": fake.url}}, "options": {"fetchMarkets": {"types": ["spot", "swap"]}}}
    )
    markets = exchange.load_markets()
    assert markets["ETH/USDT:USDT"]["contractSize"] == 0.1
    assert markets["BTC/USD:BTC"]["inverse"] is True
    assert markets["ETH/USDT"]["spot"] is True
    assert {r.params["instType"] for r in fake.served} == {"SPOT", "SWAP"}


def test_fail_next_answers_500_then_429_with_okx_code_then_recovers(fake: FakeOkxRest) -> None:
    fake.fail_next(1, 500)
    fake.fail_next(1, 429)
    first = get(fake, TRADES_PATH, instId="ETH-USDT-SWAP")
    second = get(fake, TRADES_PATH, instId="ETH-USDT-SWAP")
    third = get(fake, TRADES_PATH, instId="ETH-USDT-SWAP")
    assert first[0] == 500
    assert second == (429, {"msg": "Too Many Requests", "code": "50011"})
    assert third[0] == 200
    assert [r.status for r in fake.served] == [500, 429, 200]


def test_fail_next_for_one_path_leaves_others_alone(fake: FakeOkxRest) -> None:
    fake.fail_next(1, 500, path=CANDLES_PATH)
    assert get(fake, TRADES_PATH, instId="ETH-USDT-SWAP")[0] == 200
    assert get(fake, CANDLES_PATH, instId="ETH-USDT-SWAP", bar="1m")[0] == 500
    assert fake.count(TRADES_PATH) == 1 and fake.count(CANDLES_PATH) == 1


def test_pause_after_holds_next_data_page_until_resume(fake: FakeOkxRest) -> None:
    fake.pause_after(1)
    assert get(fake, TRADES_PATH, instId="ETH-USDT-SWAP")[0] == 200
    assert get(fake, INSTRUMENTS_PATH, instType="SWAP")[0] == 200  # not a data page: never held
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(get(fake, TRADES_PATH, instId="ETH-USDT-SWAP")[0]))
    worker.start()
    assert fake.paused.wait(10)
    worker.join(0.2)
    assert worker.is_alive() and result == []
    fake.resume()
    worker.join(10)
    assert result == [200]


def test_stop_then_url_raises_and_port_is_closed() -> None:
    server = FakeOkxRest(DATASET)
    with server as url:
        assert get(server, INSTRUMENTS_PATH, instType="SPOT")[0] == 200
    with pytest.raises(RuntimeError):
        _ = server.url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}{INSTRUMENTS_PATH}?instType=SPOT", timeout=2)
