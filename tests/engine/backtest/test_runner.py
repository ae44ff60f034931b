"""The backtester end to end on a small synthetic lake: replay order, bars, warm-up, funding,
netting, latency and fill models, and the sub-ledger invariant."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.backtest.config import BacktestConfig
from engine.backtest.run import run_backtest
from engine.model.time import NS_PER_MIN, NS_PER_MS
from engine.results.build import BacktestResult
from engine.results.summary import summary_table
from engine.store.lake import Lake
from engine.store.synthetic import VENUE
from engine.venues.sim import SimConfig
from tests.engine.backtest_factory import (
    BAR_PROBE,
    END,
    FUNDING_AT,
    HOLD,
    START,
    SYMBOL,
    TICK_PROBE,
    bare_lake,
    config,
    replay,
    replay_key,
    shared_lake,
    spec,
    trades,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_lake(tmp_path_factory)


@pytest.fixture(scope="module")
def bare_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bare_lake(tmp_path_factory)


def _seen(cfg: BacktestConfig, root: Path) -> list[tuple[Any, ...]]:
    bt = replay(cfg, root)
    return bt.strategies[cfg.strategies[0].strategy_id].seen  # type: ignore[attr-defined]


def _expected_ticks(root: Path, start: int, end: int) -> list[tuple[Any, ...]]:
    """The lake's trades in [start, end) stably sorted by receive time: lake order breaks ties."""
    table = trades(root, start, end)
    order = np.argsort(replay_key(table), kind="stable")
    cols = [replay_key(table)] + [table.column(c).to_numpy() for c in ("ts_event", "price", "size", "side")]
    return [tuple(x) for x in zip(*(c[order].tolist() for c in cols), strict=True)]


# --- replay order and bars ------------------------------------------------------------------


@pytest.mark.parametrize("probe", [TICK_PROBE, BAR_PROBE], ids=["ticks_only", "ticks_and_bars"])
def test_replay_ticks_in_receive_time_order_ties_in_lake_order(root: Path, probe: str) -> None:
    cfg = config(spec(probe, "probe"))
    ticks = [e[1:6] for e in _seen(cfg, root) if e[0] == "tick"]
    expected = _expected_ticks(root, START, END)
    # Sweeps share one receive time: the tie order is visible.
    keys = np.array([t[0] for t in expected])
    assert (keys[1:] == keys[:-1]).sum() > 100
    assert ticks == expected


def test_replay_trades_without_ts_recv_ordered_by_ts_event(bare_root: Path) -> None:
    ticks = [e[1:6] for e in _seen(config(spec(TICK_PROBE, "probe")), bare_root) if e[0] == "tick"]
    table = trades(bare_root, START, END)
    assert 0 < table.column("ts_recv").null_count < table.num_rows
    # ts_event is earlier than the neighbours' ts_recv: such trades move ahead of lake order
    assert np.any(np.diff(replay_key(table)) < 0)
    assert ticks == _expected_ticks(bare_root, START, END)


def _expected_bars(root: Path, start: int, end: int) -> dict[int, tuple[float, ...]]:
    """open -> (release, open, high, low, close, volume) of every complete 1m bar, from raw trades."""
    table = trades(root, start, end)
    key = replay_key(table)
    order = np.argsort(key, kind="stable")
    bucket = (table.column("ts_event").to_numpy()[order] // NS_PER_MIN) * NS_PER_MIN
    price, size, key = table.column("price").to_numpy()[order], table.column("size").to_numpy()[order], key[order]
    out: dict[int, tuple[float, ...]] = {}
    for o in np.unique(bucket).tolist():
        m = bucket == o
        if o + NS_PER_MIN <= end:
            release = max(o + NS_PER_MIN, int(key[m].max()) + 1)
            p = price[m]
            out[o] = (release, p[0], p.max(), p.min(), p[-1], float(size[m].sum()))
    return out


def test_replay_bar_reaches_on_bar_at_close_after_every_earlier_trade(root: Path) -> None:
    cfg = config(spec(BAR_PROBE, "probe"))
    seen = _seen(cfg, root)
    expected = _expected_bars(root, START, END)
    bars = {e[1]: e for e in seen if e[0] == "bar"}
    assert sorted(bars) == sorted(expected)
    delayed = 0
    for k, event in enumerate(seen):
        if event[0] != "bar":
            continue
        release, *ohlcv = expected[event[1]]
        assert event[2] == release  # the clock when on_bar ran
        assert event[3:8] == pytest.approx(ohlcv, rel=1e-12)
        before = [e[1] for e in seen[:k] if e[0] == "tick"]
        after = [e[1] for e in seen[k + 1 :] if e[0] == "tick"]
        assert max(before) < release <= min(after, default=release)
        delayed += release > event[1] + NS_PER_MIN
    # Some bars have a trade received after their close: they must wait for it.
    assert delayed > 0


def _quoted_at(root: Path, ts: int, column: str) -> list[float]:
    """The values of a quote column that can be in force at `ts`: the quotes received exactly then
    and the last one before (which of them counts depends on the rank of the deciding event)."""
    q = Lake.at(root).read("quotes", VENUE, SYMBOL, ts - 10 * NS_PER_MIN, ts + 1)
    key = np.where(q.column("ts_recv").is_null().to_numpy(zero_copy_only=False), q.column("ts_event").to_numpy(),
                   q.column("ts_recv").fill_null(0).to_numpy())
    order = np.argsort(key, kind="stable")
    key, values = key[order], q.column(column).to_numpy()[order]
    before = values[key < ts]
    return [*values[key == ts].tolist(), *before[-1:].tolist()]


# --- warm-up --------------------------------------------------------------------------------


def test_warmup_ticks_loads_declared_history_without_trading(root: Path) -> None:
    seen = _seen(config(spec(TICK_PROBE, "probe", ticks=100)), root)
    before = trades(root, None, START).column("ts_event").to_numpy()
    hundredth = int(before[-100])
    warm = [e for e in seen if e[2] < START]
    assert warm[0][2] == hundredth
    assert len(warm) == int((before >= hundredth).sum()) >= 100  # ties at the 100th trade's time included
    assert not any(e[-1] for e in warm)
    assert all(e[-1] for e in seen if e[2] >= START)


def test_warmup_bars_loads_declared_history_without_trading(root: Path) -> None:
    seen = _seen(config(spec(BAR_PROBE, "probe", bars=100)), root)
    bars = [e for e in seen if e[0] == "bar"]
    assert [b[1] for b in bars if b[1] < START] == [START + k * NS_PER_MIN for k in range(-100, 0)]
    assert not any(e[-1] for e in bars if e[1] < START)
    assert all(e[-1] for e in bars if e[1] >= START)
    assert min(e[2] for e in seen if e[0] == "tick") >= START - 100 * NS_PER_MIN


@pytest.mark.parametrize(
    ("name", "params"),
    [("ema_cross", {"fast": 10, "slow": 100}), ("ema_cross_bars", {"fast": 10, "slow": 100})],
    ids=["100_ticks", "100_bars"],
)
def test_warmup_strategy_with_history_trades_from_first_event_after_start(
    root: Path, name: str, params: dict[str, Any]
) -> None:
    warm = run_backtest(config(spec(name, **params)), root)
    cold = run_backtest(config(spec(name, **params), warmup=False), root)
    first = min(warm.orders.column("ts_created").to_pylist())
    # Warm at the start: decided then (ticks) or on the bar that closes at the start (bars) ...
    assert START <= first < START + NS_PER_MIN
    if name == "ema_cross":
        assert first == START
    # ... and filled at once, at the quote in force (README "How fills work": takers), or, without a
    # usable book, on the first trade of the trading period received after that.
    keys = np.sort(replay_key(trades(root, START, END)))
    fill = min(warm.fills.to_pylist(), key=lambda f: f["ts"])
    if fill["trade_id"]:
        assert fill["ts"] == keys[np.searchsorted(keys, first)]
    else:
        assert fill["ts"] == first and fill["liquidity"] == "taker"
        assert fill["price"] in _quoted_at(root, first, "ask" if fill["side"] > 0 else "bid")
    # Without history the strategy needs its 100 ticks / bars after the start first.
    cold_first = min(cold.orders.column("ts_created").to_pylist())
    assert cold_first >= START + (100 * NS_PER_MIN if name == "ema_cross_bars" else 0)
    assert cold_first >= keys[99]


# --- funding --------------------------------------------------------------------------------


def _mark_at(root: Path, ts: int) -> float:
    """Close of the last 1m mark bar complete at `ts`, read here from the lake."""
    bars = Lake.at(root).read("mark", VENUE, SYMBOL, ts - 10 * NS_PER_MIN, ts)
    done = [r for r in bars.to_pylist() if r["ts_event"] + NS_PER_MIN <= ts]
    return float(done[-1]["close"])


def test_funding_long_pays_short_receives_at_mark(root: Path) -> None:
    cfg = config(spec(HOLD, "long", size=1.0), spec(HOLD, "short", size=-0.4))
    result = run_backtest(cfg, root)
    funding = Lake.at(root).read("funding", VENUE, SYMBOL, START, END).to_pylist()
    assert [f["ts_event"] for f in funding] == [FUNDING_AT]
    rate = funding[0]["rate"]
    assert rate > 0  # the seeded data: the long pays
    mark = _mark_at(root, FUNDING_AT)
    last_trade = float(trades(root, None, FUNDING_AT).column("price")[-1].as_py())
    assert mark != last_trade  # so the check below tells the mark from the last trade
    ledger = result.ledger.to_pylist()
    rows = {r["strategy_id"]: r for r in ledger if r["kind"] == "funding"}
    assert sorted(rows) == ["long", "short"]
    for sid, size in (("long", 1.0), ("short", -0.4)):
        row = rows[sid]
        held = sum(r["qty"] for r in ledger if r["strategy_id"] == sid and r["kind"] != "funding"
                   and r["ts"] <= FUNDING_AT)
        assert held == pytest.approx(size)
        assert row["ts"] == FUNDING_AT
        assert row["price"] == mark
        assert row["cash_flow"] == pytest.approx(-size * mark * rate, rel=1e-12)
    assert rows["long"]["cash_flow"] < 0 < rows["short"]["cash_flow"]
    stats = {r["series"]: r for r in result.stats.to_pylist()}
    assert stats["portfolio"]["funding"] == pytest.approx(rows["long"]["cash_flow"] + rows["short"]["cash_flow"])


def test_funding_without_mark_bars_marked_at_last_trade(bare_root: Path) -> None:
    result = run_backtest(config(spec(HOLD, "long", size=1.0)), bare_root)
    rate = Lake.at(bare_root).read("funding", VENUE, SYMBOL, START, END).column("rate")[0].as_py()
    before = trades(bare_root, None, FUNDING_AT + NS_PER_MIN)
    key = replay_key(before)
    # At equal times funding comes before trades: the last trade received before the instant.
    last = float(before.column("price")[int(np.flatnonzero(key == key[key < FUNDING_AT].max())[-1])].as_py())
    rows = [r for r in result.ledger.to_pylist() if r["kind"] == "funding"]
    assert [(r["ts"], r["strategy_id"]) for r in rows] == [(FUNDING_AT, "long")]
    assert rows[0]["price"] == last
    assert rows[0]["cash_flow"] == pytest.approx(-1.0 * last * rate, rel=1e-12)


# --- results: invariant and netting ---------------------------------------------------------


def _stats(result: BacktestResult) -> dict[str, dict[str, Any]]:
    return {r["series"]: r for r in result.stats.to_pylist()}


def test_backtest_multi_strategy_sub_ledgers_sum_to_portfolio(root: Path) -> None:
    cfg = config(spec("ema_cross"), spec("rsi_mr"), spec("grid"), spec(HOLD, "hold", size=0.3))
    stats = _stats(run_backtest(cfg, root))
    ids = ["ema_cross", "rsi_mr", "grid", "hold"]
    assert all(stats[s]["fills"] > 0 for s in ids)
    assert sum(stats[s]["pnl"] for s in ids) == pytest.approx(stats["portfolio"]["pnl"], abs=1e-6)
    assert sum(stats[s]["fees"] for s in ids) == pytest.approx(stats["portfolio"]["fees"], abs=1e-9)
    assert sum(stats[s]["funding"] for s in ids) == pytest.approx(stats["portfolio"]["funding"], abs=1e-9)


def _position_path(ledger: list[dict[str, Any]], sid: str) -> list[float]:
    """The strategy's successive positions, one per instant at which its sub-ledger moved."""
    by_ts: dict[int, float] = defaultdict(float)
    for r in ledger:
        if r["strategy_id"] == sid:
            by_ts[r["ts"]] += r["qty"]
    path: list[float] = []
    pos = 0.0
    for ts in sorted(by_ts):
        pos += by_ts[ts]
        if not path or abs(pos - path[-1]) > 1e-9:
            path.append(round(pos, 9))
    return path


def test_backtest_netting_saves_fees_against_two_real_single_runs(root: Path) -> None:
    # A trend and a mean-reversion strategy on the same bars: they often want opposite things.
    trend, meanrev = spec("ema_cross_bars", "trend"), spec("rsi_mr", "meanrev")
    both = run_backtest(config(trend, meanrev), root)
    alone = {s.strategy_id: run_backtest(config(s), root) for s in (trend, meanrev)}
    fees_alone = sum(_stats(r)[sid]["fees"] for sid, r in alone.items())
    assert _stats(both)["portfolio"]["fees"] < fees_alone
    assert both.fills.num_rows < sum(r.fills.num_rows for r in alone.values())
    ledger = both.ledger.to_pylist()
    assert any(r["kind"] == "cross" for r in ledger)  # they did oppose each other
    for sid, single in alone.items():
        # Alone, each bar's market order fills the whole target change of the strategy ...
        single_path = _position_path(single.ledger.to_pylist(), sid)
        fills = single.fills.to_pylist()
        assert len(fills) == len(single_path)
        assert np.cumsum([f["side"] * f["size"] for f in fills]) == pytest.approx(single_path)
        # ... and in the portfolio the strategy holds the same succession of positions.
        assert _position_path(ledger, sid) == pytest.approx(single_path)


# --- latency and fill models ----------------------------------------------------------------


def _fill_delays(result: BacktestResult) -> np.ndarray:
    decided = dict(zip(result.orders.column("client_id").to_pylist(),
                       result.orders.column("ts_created").to_pylist(), strict=True))
    return np.array([f["ts"] - decided[f["client_id"]] for f in result.fills.to_pylist()])


def test_backtest_latency_shifts_fills_later(root: Path) -> None:
    latency = 250 * NS_PER_MS
    base = config(spec("ema_cross"))
    now = run_backtest(base, root)
    late = run_backtest(replace(base, sim=SimConfig(latency_ns=latency)), root)
    assert (_fill_delays(now) < latency).any()  # without latency many fills come sooner
    assert (_fill_delays(late) >= latency).all()
    assert late.config["latency_ns"] == latency
    # A market order fills at its arrival (decision + latency) at the quote, or without a usable
    # book on the first trade received at or after its arrival.
    keys = np.sort(replay_key(trades(root, START, END)))
    firsts: dict[str, dict[str, Any]] = {}
    for f in late.fills.to_pylist():
        firsts.setdefault(f["client_id"], f)
    at_quote = 0
    for order in late.orders.to_pylist():
        fill = firsts.get(order["client_id"])
        if fill is None:
            continue
        arrival = order["ts_created"] + latency
        if fill["trade_id"]:
            assert fill["ts"] == keys[np.searchsorted(keys, arrival)]
        else:
            at_quote += 1
            assert fill["ts"] == arrival
            assert fill["price"] in _quoted_at(root, arrival, "ask" if fill["side"] > 0 else "bid")
    assert len(firsts) > 10 and 0 < at_quote < len(firsts)


def test_backtest_walk_fills_trade_by_trade_touch_fills_whole(root: Path) -> None:
    big = spec("ema_cross", size=3.0)  # far more than most trades
    touch = run_backtest(config(big), root)
    walk = run_backtest(config(big, sim=SimConfig(fill_model="walk")), root)
    assert touch.config["fill_model"] == "touch" and "fill model touch" in summary_table(touch)
    assert walk.config["fill_model"] == "walk" and "fill model walk" in summary_table(walk)
    touch_sizes = defaultdict(list)
    for f in touch.fills.to_pylist():
        touch_sizes[f["client_id"]].append(f["size"])
    assert all(len(v) == 1 for v in touch_sizes.values())
    size_of = dict(zip(trades(root).column("trade_id").to_pylist(), trades(root).column("size").to_pylist(),
                       strict=True))
    used: dict[str, float] = defaultdict(float)
    for f in walk.fills.to_pylist():
        if f["trade_id"]:
            used[f["trade_id"]] += f["size"]
        else:  # at the quote: at most the quoted size
            side = "ask" if f["side"] > 0 else "bid"
            assert f["size"] <= max(_quoted_at(root, f["ts"], f"{side}_size")) * (1 + 1e-9)
    assert all(used[t] <= size_of[t] * (1 + 1e-9) for t in used)
    assert walk.fills.num_rows > 2 * walk.orders.num_rows
    assert not math.isclose(_stats(walk)["portfolio"]["pnl"], _stats(touch)["portfolio"]["pnl"])
