"""The TradingEngine with a SimVenue: netting, re-planning, own orders, risk, warm-up.

The test drives the engine as the backtester does: it sets the SimClock (time and replay index)
of each event, lets the venue match the event's trade, then runs the strategies' reactions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pytest

from engine.model.clock import SimClock
from engine.model.events import OrderStatus, OrderType, OrderUpdate, Trade
from engine.model.time import NS_PER_MS, NS_PER_S
from engine.model.types import Side, make_instrument
from engine.results.records import LEDGER
from engine.trading.engine import EngineConfig, TradingEngine
from engine.trading.portfolio import SubLedger
from engine.trading.risk import RiskLimits
from engine.trading.strategy import Strategy
from engine.venues.sim import SimConfig, SimVenue

SWAP = "ETH/USDT:USDT"
SPOT = "ETH/USDT"
T0 = 1_700_000_000 * NS_PER_S
S = OrderStatus


class Manual(Strategy):
    """A strategy the test drives by hand; it keeps the updates of its own orders."""

    def __init__(self) -> None:
        super().__init__()
        self.updates: list[OrderUpdate] = []

    def on_order_update(self, update: OrderUpdate) -> None:
        self.updates.append(update)


class LastPrices:
    """The engine's price source, and the venue's view of the market: no book, and the last trade
    before the event being matched (as the replay shows it to an order arriving on that event)."""

    def __init__(self, price: float) -> None:
        self.last = {SWAP: price, SPOT: price}
        self.before = dict(self.last)

    def last_price(self, symbol: str) -> float:
        return self.last.get(symbol, math.nan)

    def book(self, symbol: str, at: int, decided: int) -> None:
        return None

    def last_trade(self, symbol: str, at: int, decided: int) -> tuple[float, int]:
        return self.before.get(symbol, math.nan), 0

    def earliest(self, symbol: str, decided: int) -> int:
        return decided + 1


@dataclass
class Rig:
    engine: TradingEngine
    venue: SimVenue
    clock: SimClock
    prices: LastPrices
    strategies: dict[str, Manual] = field(default_factory=dict)

    def __getitem__(self, strategy_id: str) -> Manual:
        return self.strategies[strategy_id]

    def act(self, *reactions: Callable[[], object]) -> None:
        """The strategies' reactions to the current event, then the end of the event (as the replay does)."""
        for react in reactions:
            react()
        self.engine.end_event()

    def event(self, price: float, *reactions: Callable[[], object], dt: int = NS_PER_MS, size: float = 10.0,
              symbol: str = SWAP) -> None:
        """The next trade of the tape: the venue matches it, then the strategies react to it."""
        self.clock.ts += dt
        self.clock.seq += 1
        self.prices.before[symbol] = self.prices.last.get(symbol, math.nan)
        self.prices.last[symbol] = price
        self.venue.on_trade(Trade(symbol, self.clock.ts, self.clock.ts, price, size, 1, f"t{self.clock.seq}"),
                            self.clock.seq)
        self.act(*reactions)

    def target(self, strategy_id: str, target: float) -> Callable[[], None]:
        """A reaction: the strategy sets its target."""
        return lambda: self[strategy_id].ctx.set_target(target)

    def ledger(self, strategy_id: str, symbol: str = SWAP) -> SubLedger:
        return self.engine.portfolio.ledger(strategy_id, symbol)

    def orders(self, strategy_id: str = "") -> list[tuple[Side, float, OrderStatus]]:
        return [(o.side, o.size, o.status) for o in self.engine.oms.orders() if o.strategy_id == strategy_id]


def make_rig(*ids: str, symbol: str = SWAP, sim: SimConfig | None = None, limits: RiskLimits | None = None,
             price: float = 2000.0) -> Rig:
    """An engine and its venue at event 0 (last trade at `price`), with hand-driven strategies."""
    instruments = {SWAP: make_instrument(SWAP), SPOT: make_instrument(SPOT)}
    clock = SimClock(T0, 0)
    prices = LastPrices(price)
    engine = TradingEngine(EngineConfig(limits=limits or RiskLimits(), capital=100_000.0), instruments, clock, prices)
    venue = SimVenue(instruments, sim or SimConfig(), engine.bus.publish, clock, prices, market=prices)
    engine.attach(venue)
    rig = Rig(engine, venue, clock, prices)
    for sid in ids:
        rig.strategies[sid] = Manual()
        engine.add_strategy(sid, rig.strategies[sid], symbol)
    engine.start()
    return rig


def assert_account_matches_venue(rig: Rig, mark: float, symbol: str = SWAP) -> None:
    """Sub-ledgers sum to the account, and the account is the venue's own."""
    rig.engine.portfolio.check_invariant({symbol: mark})
    account = rig.engine.portfolio.account(symbol)
    assert account.position == pytest.approx(rig.venue.positions.get(symbol, 0.0), abs=1e-12)
    assert account.cash == pytest.approx(rig.venue.cash.get(symbol, 0.0), rel=1e-12, abs=1e-9)


def received(rig: Rig) -> list[tuple[str, Side, float, OrderType]]:
    return [(c.strategy_id, c.side, c.size, c.order_type) for c in rig.venue.received]


# -- netting ------------------------------------------------------------------------------------------
def test_netting_opposite_targets_same_instant_send_one_net_order() -> None:
    rig = make_rig("A", "B")
    rig.act(rig.target("A", 1.0), rig.target("B", -0.5))
    rig.event(2001.0)
    assert received(rig) == [("", Side.BUY, 0.5, OrderType.MARKET)]
    a, b = rig.ledger("A"), rig.ledger("B")
    assert (a.position, b.position) == (1.0, -0.5)
    fee = 0.5 * 2001.0 * 0.0005  # the swap taker fee on the one venue fill
    assert (a.fees, b.fees) == (pytest.approx(fee), 0.0)
    assert rig.venue.fees == pytest.approx(fee)
    # A bought 0.5 from B inside the account and 0.5 at the venue, both at the fill's price
    assert a.cash == pytest.approx(-1.0 * 2001.0 - fee)
    assert b.cash == pytest.approx(0.5 * 2001.0)
    mark = 2010.0
    assert a.equity(mark) == pytest.approx(1.0 * (2010.0 - 2001.0) - fee)
    assert b.equity(mark) == pytest.approx(-0.5 * (2010.0 - 2001.0))
    assert_account_matches_venue(rig, mark)


def test_netting_each_strategy_pnl_reported_in_ledger_rows() -> None:
    rig = make_rig("A", "B")
    rig.act(rig.target("A", 1.0), rig.target("B", -0.5))
    rig.event(2001.0)
    rig.event(1990.0, rig.target("B", 0.0))  # B buys its 0.5 back
    rig.event(1995.0)
    mark = 1995.0
    rows = pa.table(rig.engine.recorder.ledger_columns(), schema=LEDGER).to_pylist()
    for sid in ("A", "B"):
        mine = [r for r in rows if r["strategy_id"] == sid]
        pnl = math.fsum(r["cash_flow"] for r in mine) + math.fsum(r["qty"] for r in mine) * mark
        assert pnl == pytest.approx(rig.ledger(sid).equity(mark))
    # B: sold 0.5 at 2001, bought it back at 1995 (the fill after its new target), paying that fee
    assert rig.ledger("B").position == pytest.approx(0.0, abs=1e-12)
    assert rig.ledger("B").equity(mark) == pytest.approx(0.5 * (2001.0 - 1995.0) - 0.5 * 1995.0 * 0.0005)
    assert_account_matches_venue(rig, mark)


def test_netting_offsetting_targets_send_no_order_and_cross_internally() -> None:
    rig = make_rig("A", "B")
    rig.act(rig.target("A", 1.0), rig.target("B", -1.0))
    rig.event(2001.0)
    assert rig.venue.received == []
    a, b = rig.ledger("A"), rig.ledger("B")
    assert (a.position, b.position) == (1.0, -1.0)
    assert (a.fees, b.fees) == (0.0, 0.0)
    assert a.cash == -b.cash == pytest.approx(-2000.0)  # crossed at the last price when decided
    assert rig.engine.portfolio.account(SWAP).position == 0.0
    assert_account_matches_venue(rig, 2001.0)


def test_netting_target_moved_back_while_order_works_cancels_and_orders_new_difference() -> None:
    latency = 10 * NS_PER_MS
    rig = make_rig("A", sim=SimConfig(latency_ns=latency))
    rig.act(rig.target("A", 1.0))
    rig.event(2001.0, rig.target("A", 0.4), dt=latency // 4)  # before the buy arrives: it is cancelled
    assert received(rig) == [("", Side.BUY, 1.0, OrderType.MARKET)]
    # The buy arrives (t + 10 ms) before the cancel (t + 2.5 ms + 10 ms): a market order executes from
    # its arrival, so the cancel is refused and the buy fills at the next print, 2002; the engine then
    # sells what is too much, 0.6.
    rig.event(2002.0, dt=2 * latency)
    assert received(rig) == [("", Side.BUY, 1.0, OrderType.MARKET),
                             ("", Side.SELL, pytest.approx(0.6), OrderType.MARKET)]
    assert rig.orders() == [(Side.BUY, 1.0, S.FILLED), (Side.SELL, pytest.approx(0.6), S.NEW)]
    assert "cancel refused" in rig.engine.oms.orders()[0].reason
    rig.event(2003.0, dt=2 * latency)
    assert rig.orders()[-1] == (Side.SELL, pytest.approx(0.6), S.FILLED)
    assert rig.ledger("A").position == pytest.approx(0.4)
    assert_account_matches_venue(rig, 2003.0)


def test_netting_fill_before_cancel_lands_is_kept_and_difference_ordered() -> None:
    latency = 10 * NS_PER_MS
    rig = make_rig("A", sim=SimConfig(latency_ns=latency))
    rig.act(rig.target("A", 1.0))
    rig.event(2001.0, rig.target("A", 0.4), dt=latency // 4)
    rig.event(2002.0, dt=latency * 3 // 4)  # the buy has arrived, the cancel has not: it fills
    assert rig.orders() == [(Side.BUY, 1.0, S.FILLED), (Side.SELL, pytest.approx(0.6), S.NEW)]
    rig.event(2000.0, dt=latency)
    assert rig.ledger("A").position == pytest.approx(0.4)
    assert_account_matches_venue(rig, 2000.0)


# -- a strategy's own orders ------------------------------------------------------------------------
def test_own_limit_orders_not_netted_and_fills_belong_to_owner() -> None:
    rig = make_rig("A", "G")
    grid = rig["G"]
    buy = grid.ctx.submit_limit(Side.BUY, 0.5, 1990.0)
    sell = grid.ctx.submit_limit(Side.SELL, 0.5, 2010.0)
    rig.act(rig.target("A", 1.0))
    assert received(rig) == [("G", Side.BUY, 0.5, OrderType.LIMIT), ("G", Side.SELL, 0.5, OrderType.LIMIT),
                             ("", Side.BUY, 1.0, OrderType.MARKET)]
    rig.event(1985.0)
    rig.event(2015.0)
    assert [(u.client_id, u.status) for u in grid.updates] == [(buy, S.LIVE), (sell, S.LIVE), (buy, S.FILLED),
                                                               (sell, S.FILLED)]
    assert rig["A"].updates == []  # a netting strategy hears of its fills through its position
    owners = [(owner, f.client_id) for f, owner, _seq in rig.engine.recorder.fills]
    assert sorted(owners) == sorted([("G", buy), ("G", sell), ("", rig.venue.received[2].client_id)])
    g, a = rig.ledger("G"), rig.ledger("A")
    assert g.position == 0.0 and g.fees == pytest.approx((0.5 * 1990.0 + 0.5 * 2010.0) * 0.0002)
    assert g.cash == pytest.approx(0.5 * (2010.0 - 1990.0) - g.fees)
    assert a.position == 1.0 and a.fees == pytest.approx(1985.0 * 0.0005)
    assert rig.orders("G") == [(Side.BUY, 0.5, S.FILLED), (Side.SELL, 0.5, S.FILLED)]
    assert_account_matches_venue(rig, 2015.0)


def test_own_order_cancel_reaches_owner() -> None:
    rig = make_rig("G")
    cid = rig["G"].ctx.submit_limit(Side.BUY, 0.5, 1990.0)
    rig["G"].ctx.cancel(cid)
    assert [u.status for u in rig["G"].updates] == [S.LIVE]  # no latency, no book: it rests at once
    rig.event(1980.0)  # the cancel lands at the next event, before that print is matched
    assert [u.status for u in rig["G"].updates] == [S.LIVE, S.CANCELED]
    assert rig["G"].ctx.open_orders() == []
    assert rig.ledger("G").position == 0.0  # cancelled before the print at 1980 could fill it


# -- risk ----------------------------------------------------------------------------------------------
def test_risk_rejected_own_order_reaches_strategy_and_oms_with_reason() -> None:
    rig = make_rig("G", symbol=SPOT)
    cid = rig["G"].ctx.submit_limit(Side.SELL, 1.0, 2010.0)  # spot: nothing to sell
    (update,) = rig["G"].updates
    assert (update.client_id, update.status) == (cid, S.REJECTED)
    assert update.reason.startswith("risk: spot holdings")
    order = rig.engine.oms.get(cid)
    assert order.status is S.REJECTED and order.reason == update.reason
    assert rig.venue.received == []


def test_risk_limit_rejects_netted_order_beyond_max_position() -> None:
    rig = make_rig("A", limits=RiskLimits(max_position=0.5))
    rig.act(rig.target("A", 1.0))
    rig.event(2001.0)  # the order shrunk to 0.5 fills; the rest of the gap is refused
    assert rig.orders() == [(Side.BUY, 0.5, S.FILLED), (Side.BUY, 0.5, S.REJECTED)]
    rejected = rig.engine.oms.orders()[-1]
    assert rejected.reason.startswith("risk: max_position 0.5")
    assert received(rig) == [("", Side.BUY, 0.5, OrderType.MARKET)]
    assert rig.ledger("A").position == 0.5


def test_risk_kill_switch_rejects_netted_and_own_orders() -> None:
    rig = make_rig("A", "G")
    rig.engine.risk.kill()
    rig.act(rig.target("A", 1.0))
    cid = rig["G"].ctx.submit_limit(Side.BUY, 0.5, 1990.0)
    rig.event(1985.0)
    assert rig.venue.received == []
    assert [o.status for o in rig.engine.oms.orders()] == [S.REJECTED, S.REJECTED]
    assert all("kill switch" in o.reason for o in rig.engine.oms.orders())
    assert [(u.client_id, u.status) for u in rig["G"].updates] == [(cid, S.REJECTED)]


def test_risk_pause_entries_lets_only_reducing_orders_through() -> None:
    rig = make_rig("A")
    rig.act(rig.target("A", 1.0))
    rig.event(2001.0)
    rig.engine.risk.pause()
    rig.event(2002.0, rig.target("A", 2.0))
    rig.event(2003.0)
    assert rig.orders()[-1] == (Side.BUY, 1.0, S.REJECTED) and "paused" in rig.engine.oms.orders()[-1].reason
    assert rig.ledger("A").position == 1.0
    rig.event(2004.0, rig.target("A", 0.0))
    rig.event(2005.0)
    assert rig.orders()[-1] == (Side.SELL, 1.0, S.FILLED)
    assert rig.ledger("A").position == 0.0
    assert_account_matches_venue(rig, 2005.0)


# -- warm-up ---------------------------------------------------------------------------------------------
def test_warmup_targets_remembered_and_net_difference_sent_at_begin_trading() -> None:
    rig = make_rig("A", "B", "G")
    rig.engine.trading = False
    rig.act(rig.target("A", 1.0), rig.target("B", -0.5))
    assert rig["G"].ctx.submit_limit(Side.BUY, 1.0, 1990.0) == ""  # no own orders in warm-up either
    rig.event(1980.0)
    assert rig.venue.received == [] and rig.engine.oms.orders() == []
    assert rig.engine.portfolio.target("A", SWAP) == 1.0 and rig.ledger("A").position == 0.0
    rig.engine.begin_trading()
    assert received(rig) == [("", Side.BUY, 0.5, OrderType.MARKET)]
    rig.event(1985.0)
    assert (rig.ledger("A").position, rig.ledger("B").position) == (1.0, -0.5)
    assert_account_matches_venue(rig, 1985.0)


# -- capital, the context's view, the leverage warning ------------------------------------------------
def test_context_capital_last_price_and_equity_by_hand() -> None:
    rig = make_rig()
    for sid, cap in (("A", 60_000.0), ("B", 40_000.0)):
        rig.strategies[sid] = Manual()
        rig.engine.add_strategy(sid, rig.strategies[sid], SWAP, cap)
    rig.engine.start()
    rig.act(rig.target("A", 1.0))
    rig.event(2000.0)  # A buys 1 at 2000, taker fee 0.05% = 1.0
    rig.event(2100.0)
    ctx = rig["A"].ctx
    assert (ctx.capital, rig["B"].ctx.capital) == (60_000.0, 40_000.0)
    assert ctx.last_price() == 2100.0
    assert ctx.equity() == pytest.approx(60_000.0 + 1.0 * (2100.0 - 2000.0) - 1.0)
    assert rig["B"].ctx.equity() == 40_000.0


def test_leverage_warning_once_when_gross_passes_the_stated_multiple() -> None:
    rig = make_rig("A")  # account capital 100,000; warn above 1.5x
    rig.act(rig.target("A", 50.0))
    rig.event(2000.0)  # 50 x 2000 = 100,000 gross on ~100,000 equity: 1.0x, no warning
    assert rig.engine.warnings == []
    rig.act(rig.target("A", 80.0))
    rig.event(2000.0)  # 80 x 2000 = 160,000 gross: 1.6x
    assert len(rig.engine.warnings) == 1
    ts, text = rig.engine.warnings[0]
    assert ts == rig.clock.ts and "gross exposure 160,000.00" in text and "past the stated 1.5x" in text
    rig.act(rig.target("A", 90.0))
    rig.event(2000.0)
    assert len(rig.engine.warnings) == 1  # said once


def test_targets_are_whole_lots_rounded_toward_zero() -> None:
    # ETH swap: 0.01 contracts of 0.1 ETH = 0.001 ETH a lot
    rig = make_rig("A", "B")
    rig.act(rig.target("A", 0.12345), rig.target("B", -0.0567))
    rig.event(2000.0)
    assert rig.engine.portfolio.target("A", SWAP) == 0.123 and rig.engine.portfolio.target("B", SWAP) == -0.056
    assert received(rig) == [("", Side.BUY, 0.067, OrderType.MARKET)]  # 0.123 - 0.056, no dust left over
    assert (rig.ledger("A").position, rig.ledger("B").position) == (pytest.approx(0.123), pytest.approx(-0.056))
