"""Builders for the live feed and OKX simulator tests: a lake of trades, fast timers, waiting on conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

from engine.live.config import FeedConfig, Subscription
from engine.live.tape import tape_from_lake
from engine.store.lake import Lake
from engine.venues.okx.channels import PUBLIC_PATH
from engine.venues.okx.sim_ws import OkxWsSim, Tape

T = TypeVar("T")
T0_MS = 1_767_225_600_000  # 2026-01-01


def run(coro: Awaitable[T], timeout: float = 10.0) -> T:
    """Run a test's coroutine on a fresh event loop, failing after `timeout` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def until(condition: Callable[[], bool], timeout: float = 3.0, what: str = "condition") -> None:
    """Wait for `condition` to hold, polling; an AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def trades_table(n: int, step_ms: int = 5, first_id: int = 1000, size: float = 0.25) -> pa.Table:
    """`n` trades `step_ms` apart, alternating sides, prices 100, 100.5, 101, ..."""
    return pa.table({
        "ts_event": pa.array([(T0_MS + i * step_ms) * 1_000_000 for i in range(n)], pa.int64()),
        "ts_recv": pa.nulls(n, pa.int64()),
        "trade_id": pa.array([str(first_id + i) for i in range(n)], pa.string()),
        "price": pa.array([100.0 + 0.5 * i for i in range(n)], pa.float64()),
        "size": pa.array([size + 0.01 * (i % 7) for i in range(n)], pa.float64()),
        "side": pa.array([1 if i % 2 else -1 for i in range(n)], pa.int8()),
    })


def trade_lake(tmp_path: Path, symbol: str = "BTC/USDT", n: int = 200, step_ms: int = 5) -> Lake:
    lake = Lake.at(tmp_path)
    lake.write("trades", "okx", symbol, trades_table(n, step_ms))
    return lake


def tape(tmp_path: Path, symbol: str = "BTC/USDT", n: int = 200, step_ms: int = 5) -> Tape:
    return tape_from_lake(trade_lake(tmp_path, symbol, n, step_ms), [symbol])


def feed_config(sim: OkxWsSim, subs: tuple[Subscription, ...], **timers: float) -> FeedConfig:
    """A feed on the simulator with timers at a tenth of the real ones or less."""
    values: dict[str, float] = {"ping_after": 2.0, "pong_timeout": 0.5, "backoff_base": 0.02, "backoff_cap": 0.1,
                                "open_timeout": 1.0} | timers
    # REST on a closed local port: a test never reaches OKX; the poller tests point it at SimRest
    return FeedConfig(subs, public_url=sim.url(PUBLIC_PATH), business_url=sim.url("/ws/v5/business"), seed=7,
                      rest_url="http://127.0.0.1:9", **values)
