"""The OKX simulator's WebSocket side, spoken to by a plain `websockets` client over loopback."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from engine.venues.okx.channels import BUSINESS_PATH, PUBLIC_PATH
from engine.venues.okx.formats import Contract
from engine.venues.okx.sim_ws import OkxWsSim, SimConfig, contracts
from tests.engine.live_factory import run, tape


def test_contracts_swap_size_in_contracts_exactly() -> None:
    swap = Contract("BTC-USDT-SWAP", spot=False, contract_size=Decimal("0.01"))
    assert contracts(0.03, 50000.0, swap) == "3"
    assert contracts(0.03, 50000.0, Contract("BTC-USDT", spot=True)) == "0.03"


def test_subscribe_ack_echoes_id_and_wrong_url_is_60018() -> None:
    async def body() -> list[dict[str, object]]:
        async with OkxWsSim() as sim, connect(sim.url(PUBLIC_PATH)) as ws:
            await ws.send(json.dumps({"id": "7", "op": "subscribe", "args": [
                {"channel": "tickers", "instId": "BTC-USDT"}, {"channel": "candle1m", "instId": "BTC-USDT"}]}))
            return [json.loads(await ws.recv()) for _ in range(2)]

    ack, error = run(body())
    assert ack["id"] == "7" and ack["event"] == "subscribe"
    assert ack["arg"] == {"channel": "tickers", "instId": "BTC-USDT"} and ack["connId"]
    assert error["event"] == "error" and error["code"] == "60018" and error["id"] == "7"
    assert "Wrong URL or channel:candle1m,instId:BTC-USDT" in str(error["msg"])


def test_candles_subscribe_on_business_acked() -> None:
    async def body() -> dict[str, object]:
        async with OkxWsSim() as sim, connect(sim.url(BUSINESS_PATH)) as ws:
            await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]}))
            return dict(json.loads(await ws.recv()))

    ack = run(body())
    assert ack["event"] == "subscribe" and "id" not in ack


def test_bad_op_is_60012_and_ping_is_pong() -> None:
    async def body() -> tuple[dict[str, object], str | bytes]:
        async with OkxWsSim() as sim, connect(sim.url(PUBLIC_PATH)) as ws:
            await ws.send("{not json")
            error = json.loads(await ws.recv())
            await ws.send("ping")
            return error, await ws.recv()

    error, pong = run(body())
    assert error["code"] == "60012"
    assert pong == "pong"


def test_idle_connection_dropped_after_idle_timeout() -> None:
    async def body() -> tuple[int | None, int, float]:
        async with OkxWsSim(SimConfig(idle_timeout=0.15)) as sim, connect(sim.url(PUBLIC_PATH)) as ws:
            started = __import__("time").monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            code = closed.value.rcvd.code if closed.value.rcvd else None
            return code, sim.idle_drops, __import__("time").monotonic() - started

    code, drops, waited = run(body())
    assert code == 4000 and drops == 1
    assert 0.1 < waited < 1.0


def test_unknown_path_closed() -> None:
    async def body() -> int | None:
        async with OkxWsSim() as sim, connect(sim.url("/ws/v5/nowhere")) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert run(body()) == 4004


def test_trades_replayed_as_okx_pushes_swap_in_contracts(tmp_path: Path) -> None:
    async def body() -> list[dict[str, object]]:
        sim = OkxWsSim(SimConfig(speed=0), tape(tmp_path, "BTC/USDT:USDT", n=3))
        async with sim, connect(sim.url(BUSINESS_PATH)) as ws:
            await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "trades-all",
                                                                     "instId": "BTC-USDT-SWAP"}]}))
            return [json.loads(await ws.recv()) for _ in range(4)][1:]

    pushes = run(body())
    first = pushes[0]["data"][0]  # type: ignore[index]
    assert pushes[0]["arg"] == {"channel": "trades-all", "instId": "BTC-USDT-SWAP"}
    assert (first["tradeId"], first["px"], first["sz"], first["side"]) == ("1000", "100", "25", "sell")
    assert [p["data"][0]["tradeId"] for p in pushes] == ["1000", "1001", "1002"]  # type: ignore[index]


def test_refuse_connections_answers_503_then_serves_again() -> None:
    async def body() -> int:
        async with OkxWsSim() as sim:
            sim.refuse_connections(0.2)
            with pytest.raises(InvalidStatus, match="503"):
                async with connect(sim.url()):
                    pass
            await asyncio.sleep(0.25)
            async with connect(sim.url()) as ws:
                await ws.send("ping")
                assert await ws.recv() == "pong"
            return sim.refused

    assert run(body()) == 1


def test_live_subscription_hears_only_new_trades(tmp_path: Path) -> None:
    async def body() -> int:
        async with OkxWsSim(SimConfig(speed=4, live=True), tape(tmp_path)) as sim:  # 5 ms trades: 800/s
            await asyncio.sleep(0.1)
            async with connect(sim.url()) as ws:
                await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "trades", "instId": "BTC-USDT"}]}))
                await ws.recv()  # the ack
                return int(json.loads(await ws.recv())["data"][0]["tradeId"])

    assert run(body()) >= 1050  # about 80 trades were pushed to nobody
