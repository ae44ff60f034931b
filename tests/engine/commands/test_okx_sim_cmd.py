"""`okxbot okx-sim`: bad input is one line and exit 2; good input serves the lake's trades."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from engine.cli import build_parser, main
from engine.commands.okx_sim import build_rest, build_sim, serve
from engine.venues.okx.channels import BUSINESS_PATH
from tests.engine.live_factory import run, trade_lake


@pytest.mark.parametrize(("extra", "words"), [
    (["--port", "70000"], "--port 70000 must be between 0 and 65535"),
    (["--port", "abc"], "--port 'abc' is not a number"),
    (["--speed", "-1"], "--speed must be 0 or more"),
    (["--speed", "nan"], "--speed must be 0 or more"),
    (["--idle-timeout", "0"], "--idle-timeout above 0"),
    (["--rest-port", "-3"], "--rest-port -3 must be between 0 and 65535"),
    (["--from-lake", "ETH/USDT"], "the lake holds no okx trades of ETH/USDT (it has: BTC/USDT)"),
    (["--from-lake", "BTC-USDT"], "BTC-USDT"),
])
def test_okx_sim_bad_input_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                                            words: str) -> None:
    trade_lake(tmp_path, n=3)
    assert main(["--data-root", str(tmp_path), "okx-sim", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("okxbot: error: ") and words in err and err.count("\n") == 1


def test_okx_sim_port_in_use_one_line(tmp_path: Path) -> None:
    async def body() -> str:
        first = build_sim(_args(tmp_path, "--port", "0"))
        await first.start()
        try:
            second = build_sim(_args(tmp_path, "--port", str(first.port)))
            with pytest.raises(Exception) as refused:
                await serve(second)
            return str(refused.value)
        finally:
            await first.stop()

    assert "cannot listen on 127.0.0.1:" in run(body())


def test_okx_sim_serves_lake_trades(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trade_lake(tmp_path, n=3)

    async def body() -> list[str]:
        sim = build_sim(_args(tmp_path, "--port", "0", "--from-lake", "BTC/USDT", "--speed", "0"))
        task = asyncio.create_task(serve(sim))
        while sim._server is None:
            await asyncio.sleep(0.005)
        async with connect(sim.url(BUSINESS_PATH)) as ws:
            await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "trades-all", "instId": "BTC-USDT"}]}))
            pushes = [json.loads(await ws.recv()) for _ in range(4)][1:]
        task.cancel()
        return [p["data"][0]["tradeId"] for p in pushes]

    assert run(body()) == ["1000", "1001", "1002"]
    assert "ws/v5/public" in capsys.readouterr().out


def test_okx_sim_serves_the_rest_side_beside_the_websocket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trade_lake(tmp_path, n=3)
    args = _args(tmp_path, "--port", "0", "--rest-port", "0", "--from-lake", "BTC/USDT", "--speed", "0")

    async def body() -> dict[str, object]:
        sim = build_sim(args)
        rest = build_rest(args)
        task = asyncio.create_task(serve(sim, rest))
        while rest[0]._server is None:
            await asyncio.sleep(0.005)
        url = f"{rest[0].url}/api/v5/market/trades?instId=BTC-USDT"
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return dict(json.loads(body))

    answer = run(body())
    assert answer["code"] == "0"
    assert sorted(d["tradeId"] for d in answer["data"]) == ["1000", "1001", "1002"]  # type: ignore[union-attr]
    out = capsys.readouterr().out
    assert "and REST at http://127.0.0.1:" in out


def _args(root: Path, *argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["--data-root", str(root), "okx-sim", *argv])
