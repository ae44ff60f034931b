"""The synthetic market: determinism, the lake's contract, and the stylised facts of real markets."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.cli import main
from engine.model.errors import UserError
from engine.model.types import make_instrument
from engine.store.lake import Lake
from engine.store.schema import BARS, FUNDING, QUOTES, TRADES
from engine.store.synthetic import RegimeParams, SynthConfig, SynthData, generate, iter_chunks, write_synthetic

DAY = SynthConfig()  # ETH/USDT:USDT, 2024-01-01, 24 h, seed 7, 3 trades/s
JAN_1_2024_NS = 1_704_067_200 * 10**9
MINUTE_NS = 60 * 10**9
TICK = 0.01  # ETH/USDT:USDT on OKX
LOT = 0.001  # one contract of 0.001 ETH


@pytest.fixture(scope="module")
def day() -> SynthData:
    return generate(DAY)


def _digest(data: SynthData) -> str:
    digest = hashlib.sha256()
    for table in data.by_kind().values():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def _col(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table[name].to_numpy())


def _minute_returns(trades: pa.Table) -> np.ndarray:
    """Log returns between the last trade prices of consecutive minutes."""
    minute = _col(trades, "ts_event") // MINUTE_NS
    last = np.flatnonzero(np.diff(minute, append=minute[-1] + 1))
    return np.diff(np.log(_col(trades, "price")[last]))


def _on_grid(values: np.ndarray, step: float) -> bool:
    return bool(np.all(np.abs(values / step - np.rint(values / step)) < 1e-6))


# --- determinism --------------------------------------------------------------------------------


def test_generate_same_seed_identical_bytes(day: SynthData) -> None:
    assert _digest(generate(DAY)) == _digest(day)


def test_generate_different_seed_different_tables(day: SynthData) -> None:
    other = generate(replace(DAY, seed=8))
    assert _digest(other) != _digest(day)
    n = min(other.trades.num_rows, day.trades.num_rows)
    assert not np.array_equal(_col(other.trades, "price")[:n], _col(day.trades, "price")[:n])


def test_generate_longer_run_starts_with_the_shorter_run() -> None:
    short, long = generate(replace(DAY, hours=2)), generate(replace(DAY, hours=26))
    end = replace(DAY, hours=2).end_ns
    for kind, table in short.by_kind().items():
        head = long.by_kind()[kind].filter(pc.less(long.by_kind()[kind]["ts_event"], end))
        assert table.num_rows > 0
        assert table.equals(head), kind


def test_iter_chunks_short_chunks_join_without_gaps() -> None:
    cfg = SynthConfig(trade_rate=1000.0, hours=0.1)  # so many events that chunks are two minutes
    chunks = list(iter_chunks(cfg))
    assert len(chunks) == 3
    trades = pa.concat_tables([c.trades for c in chunks])
    ids = [int(i.split("-")[1]) for i in trades["trade_id"].to_pylist()]
    assert ids == list(range(1, len(ids) + 1))
    quotes = pa.concat_tables([c.quotes for c in chunks])
    mid = np.log((_col(quotes, "bid") + _col(quotes, "ask")) / 2)
    assert np.abs(np.diff(mid)).max() < 0.01
    assert np.all(np.diff(_col(quotes, "ts_recv")) > 0)


# --- the lake's contract ------------------------------------------------------------------------


def test_generate_tables_match_lake_schemas_and_say_synthetic(day: SynthData) -> None:
    for table, schema in ((day.trades, TRADES), (day.quotes, QUOTES), (day.funding, FUNDING), (day.mark, BARS)):
        assert table.schema.equals(schema)
        assert table.schema.metadata[b"okxbot.source"] == b"synthetic"
    ids = day.trades["trade_id"]
    assert pc.all(pc.starts_with(ids, "syn7-")).as_py()
    assert pc.count_distinct(ids).as_py() == day.trades.num_rows


def test_generate_prices_positive_and_on_the_tick(day: SynthData) -> None:
    prices = [_col(day.trades, "price"), _col(day.quotes, "bid"), _col(day.quotes, "ask")]
    prices += [_col(day.mark, name) for name in ("open", "high", "low", "close")]
    for values in prices:
        assert values.min() > 0
        assert _on_grid(values, TICK)


def test_generate_sizes_on_the_lot_and_heavy_tailed(day: SynthData) -> None:
    size = _col(day.trades, "size")
    assert size.min() >= LOT
    assert _on_grid(size, LOT)
    assert _on_grid(_col(day.quotes, "bid_size"), LOT)
    assert np.quantile(size, 0.999) > 50 * np.median(size)


def test_generate_quotes_bid_below_ask_and_at_least_one_per_trade(day: SynthData) -> None:
    assert np.all(_col(day.quotes, "bid") < _col(day.quotes, "ask"))
    assert day.quotes.num_rows >= day.trades.num_rows


def test_generate_streams_sorted_and_received_a_few_ms_later(day: SynthData) -> None:
    for table in day.by_kind().values():
        assert np.all(np.diff(_col(table, "ts_event")) >= 0)
    for table in (day.trades, day.quotes):
        ts, recv = _col(table, "ts_event"), _col(table, "ts_recv")
        assert np.all(np.diff(recv) >= 0)
        assert np.all(recv > ts)
        assert 1.0 < np.median(recv - ts) / 1e6 < 20.0


def test_generate_trade_rate_near_the_configured_rate(day: SynthData) -> None:
    assert 0.75 < day.trades.num_rows / (DAY.trade_rate * 86_400) < 1.33


def test_generate_starts_at_start_price_and_time(day: SynthData) -> None:
    assert SynthConfig(start="2024-01-01").start_ns == JAN_1_2024_NS == DAY.start_ns
    assert JAN_1_2024_NS <= _col(day.trades, "ts_event")[0] < JAN_1_2024_NS + MINUTE_NS
    assert _col(day.trades, "ts_event")[-1] < JAN_1_2024_NS + 1440 * MINUTE_NS
    assert abs(_col(day.trades, "price")[0] / DAY.start_price - 1) < 0.01


# --- stylised facts -----------------------------------------------------------------------------


def test_generate_minute_returns_heavy_tailed(day: SynthData) -> None:
    r = _minute_returns(day.trades)
    z = (r - r.mean()) / r.std()
    assert np.mean(z**4) - 3.0 > 3.0  # excess kurtosis; a Gaussian walk gives about 0


def test_generate_absolute_returns_cluster(day: SynthData) -> None:
    a = np.abs(_minute_returns(day.trades))
    assert np.corrcoef(a[:-1], a[1:])[0, 1] > 0.1
    assert np.corrcoef(a[:-30], a[30:])[0, 1] > 0.05


def test_generate_rolling_volatility_differs_across_the_day(day: SynthData) -> None:
    r = _minute_returns(day.trades)
    hourly = r[: len(r) // 60 * 60].reshape(-1, 60).std(axis=1)
    assert hourly.max() / hourly.min() > 3.5  # about 2 without regimes


def test_generate_spread_widens_when_the_market_is_volatile(day: SynthData) -> None:
    hour = (_col(day.trades, "ts_event") - JAN_1_2024_NS) // (60 * MINUTE_NS)
    r = _minute_returns(day.trades)
    vol = r[: len(r) // 60 * 60].reshape(-1, 60).std(axis=1)
    quote_hour = (_col(day.quotes, "ts_event") - JAN_1_2024_NS) // (60 * MINUTE_NS)
    spread = _col(day.quotes, "ask") - _col(day.quotes, "bid")
    mean_spread = np.bincount(quote_hour, spread) / np.bincount(quote_hour)
    calm, wild = np.argsort(vol)[:4], np.argsort(vol)[-4:]
    assert hour.max() == 23
    assert mean_spread[wild].mean() > 1.5 * mean_spread[calm].mean()


def test_generate_sweeps_print_same_ms_runs_up_the_book(day: SynthData) -> None:
    ts, price, side = _col(day.trades, "ts_event"), _col(day.trades, "price"), _col(day.trades, "side")
    same = ts[1:] == ts[:-1]
    assert same.mean() > 0.1
    walks = (side[1:] == side[:-1]) & np.isclose(price[1:] - price[:-1], TICK * side[1:])
    assert walks[same].mean() > 0.9


def test_generate_taker_side_follows_the_price(day: SynthData) -> None:
    minute = (_col(day.trades, "ts_event") - JAN_1_2024_NS) // MINUTE_NS
    flow = np.bincount(minute, _col(day.trades, "side").astype(float), minlength=1440)
    assert np.corrcoef(flow[1:], _minute_returns(day.trades))[0, 1] > 0.2


def test_generate_activity_follows_the_time_of_day() -> None:
    flat = RegimeParams(activity=(1.0, 1.0, 1.0))
    data = generate(SynthConfig(trade_rate=1.0, seasonality=0.5, regimes=flat))
    hour = (_col(data.trades, "ts_event") - JAN_1_2024_NS) // (60 * MINUTE_NS)
    per_hour = np.bincount(hour, minlength=24)
    assert per_hour[12:16].sum() > 1.5 * per_hour[0:4].sum()


def test_generate_funding_only_at_eight_hour_marks(day: SynthData) -> None:
    ts, rate = _col(day.funding, "ts_event"), _col(day.funding, "rate")
    assert list(ts) == [JAN_1_2024_NS + h * 60 * MINUTE_NS for h in (0, 8, 16)]
    assert np.all(np.abs(rate - DAY.funding_mean) < 10 * DAY.funding_noise)
    long = generate(SynthConfig(hours=24 * 10, trade_rate=0.05)).funding
    assert long.num_rows == 30
    assert abs(_col(long, "rate").mean() - DAY.funding_mean) < 5e-5
    assert len(set(_col(long, "rate"))) == 30


def test_generate_mark_bars_every_minute_near_the_trades(day: SynthData) -> None:
    ts = _col(day.mark, "ts_event")
    assert list(ts) == [JAN_1_2024_NS + i * MINUTE_NS for i in range(1440)]
    assert set(day.mark["interval"].to_pylist()) == {"1m"}
    o, h, low, c = (_col(day.mark, n) for n in ("open", "high", "low", "close"))
    assert np.all((low <= np.minimum(o, c)) & (h >= np.maximum(o, c)))
    minute = (_col(day.trades, "ts_event") - JAN_1_2024_NS) // MINUTE_NS
    last = np.flatnonzero(np.diff(minute, append=minute[-1] + 1))
    assert np.abs(c[minute[last]] / _col(day.trades, "price")[last] - 1).max() < 0.003


def test_generate_spot_symbol_has_no_funding_or_mark() -> None:
    data = generate(SynthConfig(symbol="ETH/USDT", hours=1))
    assert data.trades.num_rows > 1000
    assert data.funding.num_rows == 0 and data.mark.num_rows == 0
    spot = make_instrument("ETH/USDT")
    assert _on_grid(_col(data.trades, "size"), spot.lot_size * spot.contract_value)


# --- config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hours", -1.0),
        ("hours", 0),
        ("trade_rate", 0.0),
        ("seed", -3),
        ("seasonality", 1.0),
        ("quotes_per_trade", 0.5),
        ("start_price", 0.5),
        ("start", "yesterday"),
        ("start", "2024-01-01T00:00:30Z"),
        ("symbol", "ETHUSDT"),
    ],
)
def test_config_bad_value_raises_user_error_naming_it(field: str, value: object) -> None:
    with pytest.raises(UserError) as err:
        SynthConfig(**{field: value})  # type: ignore[arg-type]
    assert str(value) in str(err.value)
    assert field in str(err.value) or field == "symbol"


def test_config_bad_regime_raises_user_error_naming_it() -> None:
    with pytest.raises(UserError, match=r"regimes\.minutes.*0\.0"):
        SynthConfig(regimes=RegimeParams(minutes=(0.0, 90.0, 20.0)))


# --- writing ------------------------------------------------------------------------------------


def test_write_synthetic_writes_every_kind_once(data_root: Path) -> None:
    cfg = replace(DAY, hours=1)
    data, lake = generate(cfg), Lake.at(data_root)
    reports = {r.kind: r for r in write_synthetic(lake, cfg)}
    assert set(reports) == {"trades", "quotes", "funding", "mark"}
    for kind, table in data.by_kind().items():
        assert reports[kind].venue == "synthetic"
        assert (reports[kind].received, reports[kind].new_rows, reports[kind].rejected) == (table.num_rows,) * 2 + ({},)
        stored = lake.read(kind, "synthetic", cfg.symbol)
        assert stored.replace_schema_metadata(None).equals(table.replace_schema_metadata(None)), kind
    again = write_synthetic(lake, cfg)
    assert [r.new_rows for r in again] == [0, 0, 0, 0]


def test_cli_data_synth_second_run_adds_nothing(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data-root", str(data_root), "data", "synth", "--hours", "0.5", "--seed", "3"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "SYNTHETIC" in first and "seed 3" in first
    trades = Lake.at(data_root).read("trades", "synthetic", "ETH/USDT:USDT")
    assert trades.num_rows > 1000
    assert re.search(rf"trades\s+{trades.num_rows:,} rows: {trades.num_rows:,} new", first)
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert len(re.findall(r" 0 new,", second)) == 4


def test_cli_data_synth_bad_hours_exits_with_message(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-root", str(data_root), "data", "synth", "--hours", "-2"]) == 2
    assert "hours" in capsys.readouterr().err
    assert not (data_root / "lake").exists()
