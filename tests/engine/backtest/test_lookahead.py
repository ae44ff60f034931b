"""No lookahead: cutting the data at time c changes nothing the backtest did before c.

`lookahead_violations` runs a configuration over the whole period and again with `end = c` for
every cut c (start fixed, so the warm-up is cut consistently), and compares the orders decided
and the fills made before c; it also checks every fill's causality. The deliberately broken
replays (`BacktestConfig.faults`) prove the check can fail.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.backtest.config import BacktestConfig
from engine.backtest.run import run_backtest
from engine.model.time import NS_PER_MIN, NS_PER_MS, ns_to_iso
from engine.results.build import BacktestResult
from engine.venues.sim import SimConfig
from tests.engine.backtest_factory import (
    END,
    START,
    client_prefix,
    config,
    nan_to_none,
    shared_lake,
    spec,
    trades,
)

ORDER_FIELDS = ("client_id", "strategy_id", "symbol", "side", "order_type", "size", "price", "ts_created",
                "decide_seq")
FILL_FIELDS = ("seq", "ts", "client_id", "strategy_id", "symbol", "side", "price", "size", "fee", "liquidity",
               "trade_id", "event_seq", "decide_seq")


def _rows(result: BacktestResult, kind: str, prefix: str, cut: int) -> list[tuple[Any, ...]]:
    """Orders decided (or fills made) before `cut`, with the run-specific id prefix removed."""
    table, fields, when = ((result.orders, ORDER_FIELDS, "ts_created") if kind == "order"
                           else (result.fills, FILL_FIELDS, "ts"))
    out = []
    for row in table.to_pylist():
        if row[when] < cut:
            row["client_id"] = row["client_id"].removeprefix(prefix)
            out.append(tuple(nan_to_none(row[f]) for f in fields))
    return sorted(out, key=lambda r: (r[-1], r)) if kind == "order" else out


def _compare(kind: str, cut: int, full: list[tuple[Any, ...]], part: list[tuple[Any, ...]]) -> list[str]:
    if full == part:
        return []
    at = next((i for i, (a, b) in enumerate(zip(full, part, strict=False)) if a != b), min(len(full), len(part)))
    a = full[at] if at < len(full) else "nothing"
    b = part[at] if at < len(part) else "nothing"
    return [f"cut {ns_to_iso(cut)}: {len(full)} {kind}s before the cut in the full run, {len(part)} in the "
            f"cut run; {kind} #{at}: full {a} vs cut {b}"]


def causality_violations(cfg: BacktestConfig, result: BacktestResult) -> list[str]:
    """Fills on or before their deciding event, or earlier than decision time + latency."""
    decided = {o["client_id"]: o for o in result.orders.to_pylist()}
    latency = cfg.sim.latency_ns
    events = result.config["events"]
    out = []
    for fill in result.fills.to_pylist():
        if not fill["event_seq"] < events:
            out.append(f"causality: fill {fill['seq']} on event {fill['event_seq']}, after the last of the "
                       f"{events} events replayed")
        order = decided.get(fill["client_id"])
        if order is None:
            out.append(f"fill {fill['seq']} of unknown order {fill['client_id']}")
            continue
        if not fill["event_seq"] > fill["decide_seq"] == order["decide_seq"] >= 0:
            out.append(f"causality: fill {fill['seq']} on event {fill['event_seq']} of an order decided on "
                       f"event {order['decide_seq']}")
        if fill["ts"] < order["ts_created"] + latency:
            out.append(f"causality: fill {fill['seq']} at {fill['ts']} before decision {order['ts_created']} "
                       f"+ latency {latency}")
    return out


def lookahead_violations(cfg: BacktestConfig, data_root: Path, cuts: list[int]) -> list[str]:
    """Everything before each cut that differs between the full run and the run ending at the cut."""
    full = run_backtest(cfg, data_root)
    out = causality_violations(cfg, full)
    for cut in cuts:
        part_cfg = replace(cfg, end=cut)
        part = run_backtest(part_cfg, data_root)
        out += causality_violations(part_cfg, part)
        for kind in ("order", "fill"):
            out += _compare(kind, cut, _rows(full, kind, client_prefix(cfg), cut),
                            _rows(part, kind, client_prefix(part_cfg), cut))
    return out


def choose_cuts(root: Path, seed: int = 5, n_random: int = 16, n_same_ms: int = 8) -> list[int]:
    """Random cut times in the trading period, some inside (or at) a millisecond holding several trades."""
    rng = np.random.default_rng(seed)
    lo = START + 2 * NS_PER_MIN
    cuts = rng.integers(lo, END, n_random).tolist()
    ts = trades(root, lo, END).column("ts_event").to_numpy()
    shared = np.flatnonzero(ts[1:] == ts[:-1])  # trade i and i+1 share their millisecond
    picked = rng.choice(shared, n_same_ms, replace=False)
    offsets = [0 if k % 2 else int(rng.integers(1, NS_PER_MS)) for k in range(n_same_ms)]
    cuts += [int(ts[i]) + off for i, off in zip(picked, offsets, strict=True)]
    return sorted(cuts)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_lake(tmp_path_factory)


@pytest.fixture(scope="module")
def cuts(root: Path) -> list[int]:
    return choose_cuts(root)


def test_choose_cuts_some_inside_same_millisecond_runs(root: Path, cuts: list[int]) -> None:
    ts = trades(root, START, END).column("ts_event").to_numpy()
    shared_ms = set((ts[1:][ts[1:] == ts[:-1]] // NS_PER_MS).tolist())
    inside = [c for c in cuts if c // NS_PER_MS in shared_ms]
    assert len(cuts) >= 20
    assert len(inside) >= 8
    assert any(c % NS_PER_MS for c in inside)  # strictly inside a millisecond, not only at its start


@pytest.mark.parametrize(
    "specs",
    [
        pytest.param(("ema_cross",), id="ema_cross"),
        pytest.param(("ema_cross_bars",), id="ema_cross_bars"),
        pytest.param(("rsi_mr",), id="rsi_mr"),
        pytest.param(("macd_trend",), id="macd_trend"),
        pytest.param(("grid",), id="grid"),
    ],
)
def test_lookahead_reference_strategy_no_violations(root: Path, cuts: list[int], specs: tuple[str, ...]) -> None:
    cfg = config(*(spec(name) for name in specs))
    full = run_backtest(cfg, root)
    fill_ts = np.asarray(full.fills.column("ts").to_numpy())
    # The check means something only if the runs trade before most cuts.
    assert full.fills.num_rows >= 10
    assert sum(int((fill_ts < c).sum()) > 0 for c in cuts) >= len(cuts) // 2
    assert lookahead_violations(cfg, root, cuts) == []


def test_lookahead_netted_portfolio_with_latency_and_walk_no_violations(root: Path, cuts: list[int]) -> None:
    names = ("ema_cross", "ema_cross_bars", "rsi_mr", "macd_trend", "grid")
    cfg = config(*(spec(n) for n in names), sim=SimConfig(fill_model="walk", latency_ns=40 * NS_PER_MS))
    assert lookahead_violations(cfg, root, cuts) == []


@pytest.mark.parametrize(
    ("name", "fault", "expected"),
    [
        pytest.param("ema_cross", "fill_on_decision", "causality", id="ema_cross-fill_on_decision"),
        pytest.param("ema_cross_bars", "bar_at_open", "cut", id="ema_cross_bars-bar_at_open"),
        pytest.param("rsi_mr", "bar_at_open", "cut", id="rsi_mr-bar_at_open"),
        pytest.param("macd_trend", "bar_at_open", "cut", id="macd_trend-bar_at_open"),
    ],
)
def test_lookahead_broken_replay_violations_found(
    root: Path, cuts: list[int], name: str, fault: str, expected: str
) -> None:
    cfg = config(spec(name), faults=frozenset({fault}))
    found = lookahead_violations(cfg, root, cuts)
    assert found, f"the lookahead check missed the {fault} fault"
    assert any(v.startswith(expected) for v in found)
