"""The trading engine: strategies, portfolio netting, risk, OMS and execution wired on one bus.

The same object runs a backtest (SimClock + replay + SimVenue), paper trading (live feed +
SimVenue) and live trading (live feed + a real venue); only the clock, the data source and the
venue change. Flow: Signal -> portfolio target -> execution plan -> SubmitOrder -> risk -> OMS
-> venue -> OrderUpdate/Fill -> OMS -> sub-ledger allocation -> strategy.on_order_update.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from engine.model.bus import EventBus
from engine.model.events import (
    AmendOrder,
    CancelOrder,
    ClientIdFactory,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Signal,
    SubmitOrder,
)
from engine.model.types import Instrument, Side
from engine.trading.context import StrategyContext
from engine.trading.execution import Immediate
from engine.trading.money import Money
from engine.trading.oms import OrderManager, UnknownOrder
from engine.trading.portfolio import PortfolioManager
from engine.trading.ports import AskSource, Clock, PriceSource, Venue
from engine.trading.recorder import Recorder, Skip
from engine.trading.risk import RiskEngine, RiskLimits, RiskState, buy_price
from engine.trading.strategy import Strategy

log = logging.getLogger("okxbot.engine")



@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Account-level settings of one engine."""

    account: str = "main"
    client_prefix: str = "ob"
    limits: RiskLimits = field(default_factory=RiskLimits)
    capital: float = 10_000.0  # the account's; risk counts the strategies' capitals per currency (money.py)
    warn_leverage: float = 1.5  # warn once when gross exposure passes this multiple of equity


class TradingEngine:
    """Runs strategies against one venue account."""

    def __init__(
        self,
        config: EngineConfig,
        instruments: Mapping[str, Instrument],
        clock: Clock,
        prices: PriceSource,
    ) -> None:
        self.config = config
        self.instruments = dict(instruments)
        self.clock = clock
        self.prices = prices
        self._asks = prices if isinstance(prices, AskSource) else None  # a market spot buy reserves at the ask
        self.bus = EventBus()
        self.portfolio = PortfolioManager(config.account)
        self.money = Money(self.instruments, self.portfolio, prices)
        for symbol, inst in self.instruments.items():
            if not inst.is_perp:
                self.portfolio.long_only(symbol)
            if inst.inverse:
                self.portfolio.inverse(symbol)
        self.risk = RiskEngine(config.limits, self.instruments)
        self.oms = OrderManager()
        self.execution = Immediate()
        self.ids = ClientIdFactory(config.client_prefix)
        self.recorder = Recorder()
        self.venue: Venue | None = None
        self.trading = True
        self.strategies: dict[str, Strategy] = {}
        self.contexts: dict[str, StrategyContext] = {}
        self.capitals: dict[str, float] = {}
        self.warnings: list[tuple[int, str]] = []
        # Symbols whose targets changed during the current event; `end_event` plans them. The
        # driver tests it (a dict, falsy when empty) after every event before calling end_event.
        self.unplanned: dict[str, None] = {}
        self.bus.subscribe(Signal, self._on_signal)
        self.bus.subscribe(SubmitOrder, self._on_submit)
        self.bus.subscribe(CancelOrder, self._on_cancel)
        self.bus.subscribe(AmendOrder, self._on_amend)
        self.bus.subscribe(OrderUpdate, self._on_update)

    # -- set-up ---------------------------------------------------------------------------
    def attach(self, venue: Venue) -> None:
        """Send orders to `venue`; it reports back through `self.bus.publish`. A simulated venue
        (one with a `guard`) asks `check_fill` before each fill, as an exchange checks its account."""
        self.venue = venue
        if hasattr(venue, "guard"):
            venue.guard = self.check_fill

    def add_strategy(
        self, strategy_id: str, strategy: Strategy, symbol: str, capital: float | None = None
    ) -> StrategyContext:
        """Register a strategy trading `symbol` (its primary symbol) with its share of the capital
        (default: the whole account's)."""
        if strategy_id in self.strategies:
            raise ValueError(f"strategy id {strategy_id!r} is used twice")
        self.strategies[strategy_id] = strategy
        self.capitals[strategy_id] = self.config.capital if capital is None else capital
        self.money.add_capital(symbol, self.capitals[strategy_id])
        self.portfolio.register(strategy_id)
        ctx = StrategyContext(self, strategy_id, symbol)
        self.contexts[strategy_id] = ctx
        return ctx

    def start(self) -> None:
        """Call every strategy's on_start."""
        for sid, strategy in self.strategies.items():
            strategy.on_start(self.contexts[sid])

    def stop(self) -> None:
        """Call every strategy's on_stop (a grid cancels its orders there)."""
        for strategy in self.strategies.values():
            strategy.on_stop()

    def begin_trading(self) -> None:
        """End of warm-up: execute the targets the strategies set while warming up."""
        self.trading = True
        self.unplanned.clear()
        for symbol in sorted({s for (_sid, s) in self._targets()}):
            self._reconcile(symbol)

    def end_event(self) -> None:
        """Plan the orders for the targets set during the event just dispatched, one symbol at a time.

        Planning once per event nets the targets the strategies set at the same instant (A +1,
        B -0.5 send one buy of 0.5, not a buy of 1 and its correction). The driver (replay, live
        runner) calls it after each event's callbacks.
        """
        while self.unplanned:
            symbol = next(iter(self.unplanned))
            del self.unplanned[symbol]
            self._reconcile(symbol)

    # -- strategy-facing --------------------------------------------------------------------
    def signal(self, strategy_id: str, symbol: str, target: float) -> None:
        """A strategy's new target position, in whole lots of the symbol (rounded toward zero).

        A target below one lot is recorded (once per change) in the recorder's `skipped`.
        """
        inst = self.instruments.get(symbol)
        asked = float(target)
        target = inst.round_size(target) if inst is not None else asked
        if target == 0.0 and asked != 0.0 and inst is not None and self.trading:
            lot, unit = inst.lot_size * inst.contract_value, inst.size_currency
            self.recorder.skip(Skip(self.clock.ts, strategy_id, symbol, "target", asked, 0.0,
                                    f"{abs(asked):g} {unit} is below one lot of {lot:g} {unit}"),
                               f"{strategy_id}@{symbol}")
        elif self.recorder.skipping:  # a target acted on again: its next skip is a change
            self.recorder.unskip("target", f"{strategy_id}@{symbol}")
        self.bus.publish(Signal(strategy_id, symbol, target, self.clock.ts))

    def submit_own(
        self, strategy_id: str, symbol: str, side: Side, size: float, price: float, post_only: bool
    ) -> str:
        """A strategy's own limit order (not netted); returns its client order id, '' in warm-up."""
        if not self.trading:
            return ""
        cid = self.ids.next()
        self.bus.publish(SubmitOrder(cid, symbol, Side(side), float(size), OrderType.LIMIT, self.clock.ts,
                                     float(price), strategy_id, post_only))
        return cid

    def cancel_own(self, strategy_id: str, client_id: str) -> None:
        """Cancel one of the strategy's own orders."""
        order = self.oms.get(client_id)
        if order.strategy_id != strategy_id:
            raise ValueError(f"order {client_id} does not belong to strategy {strategy_id}")
        if order.is_open:
            self.bus.publish(CancelOrder(client_id, order.symbol, self.clock.ts))

    def amend_own(self, strategy_id: str, client_id: str, price: float, size: float) -> None:
        """Amend one of the strategy's own orders."""
        order = self.oms.get(client_id)
        if order.strategy_id != strategy_id:
            raise ValueError(f"order {client_id} does not belong to strategy {strategy_id}")
        if order.is_open:  # it may have filled or been canceled on this very event
            self.bus.publish(AmendOrder(client_id, order.symbol, self.clock.ts, price, size))

    def log(self, strategy_id: str, message: str) -> None:
        log.info("%s: %s", strategy_id, message)

    # -- funding ------------------------------------------------------------------------------
    def funding(self, symbol: str, rate: float, mark: float) -> None:
        """A funding instant: the venue settles the account, the portfolio splits it by strategy."""
        if self.venue is not None and hasattr(self.venue, "apply_funding"):
            self.venue.apply_funding(symbol, rate, mark)
        self.recorder.allocations(self.portfolio.apply_funding(symbol, rate, mark, self.clock.ts))

    # -- bus handlers ---------------------------------------------------------------------------
    def _on_signal(self, sig: Signal) -> None:
        self.portfolio.set_target(sig.strategy_id, sig.symbol, sig.target)
        if self.trading:
            self.unplanned[sig.symbol] = None

    def _reconcile(self, symbol: str) -> None:
        working = self.oms.open_orders(symbol=symbol, strategy_id="")
        inst = self.instruments[symbol]
        if not inst.is_perp:
            self._record_shortfalls(symbol, inst.base)
        gap = self.portfolio.gap(symbol)
        price = self.prices.last_price(symbol)
        plan = self.execution.plan(inst, gap, working, price)
        ts = self.clock.ts
        if plan.skipped:
            who = ",".join(sid for sid, g in self.portfolio.gaps(symbol).items() if abs(g) > 1e-12)
            self.recorder.skip(Skip(ts, who, symbol, "order", plan.skipped, 0.0, plan.reason), symbol)
        elif self.recorder.skipping:
            self.recorder.unskip("order", symbol)
        for cid in plan.cancel:
            self.bus.publish(CancelOrder(cid, symbol, ts))
        if plan.side is not None:
            self.bus.publish(SubmitOrder(self.ids.next(), symbol, plan.side, plan.size, OrderType.MARKET, ts))
        elif not working and not plan.cancel and math.isfinite(price):
            self.recorder.allocations(self.portfolio.cross(symbol, price, ts))

    def _record_shortfalls(self, symbol: str, base: str) -> None:
        """Record once each short target cut on a spot symbol (the account cannot go below zero)."""
        kept = self.portfolio.kept_targets(symbol)
        asked = {sid: self.portfolio.target(sid, symbol) or 0.0 for sid in kept}
        net, longs = math.fsum(asked.values()), math.fsum(t for t in asked.values() if t > 0)
        for sid, k in kept.items():
            if k == asked[sid]:
                if self.recorder.skipping:
                    self.recorder.unskip("spot_short", f"{sid}@{symbol}")
                continue
            reason = (f"spot: the account cannot hold less than zero {base}; the targets sum to {net:g}, "
                      f"so the shorts share the longs' {longs:g} pro rata")
            self.recorder.skip(Skip(self.clock.ts, sid, symbol, "spot_short", asked[sid], k, reason),
                               f"{sid}@{symbol}")

    def _on_submit(self, cmd: SubmitOrder) -> None:
        self.recorder.order_decided(cmd.client_id, self.clock.seq)
        state = self._risk_state(cmd)
        decision = self.risk.check(cmd, state)
        if decision.accepted and decision.size != cmd.size:
            cmd = msgspec.structs.replace(cmd, size=decision.size)
        self.oms.submit(cmd)
        if not decision.accepted:
            self.bus.publish(OrderUpdate(cmd.client_id, cmd.symbol, OrderStatus.REJECTED, cmd.ts,
                                         reason=f"risk: {decision.reason}"))
            return
        if not math.isfinite(cmd.price) and self.money.spot_buy(cmd):
            self.money.reserve(cmd.client_id, buy_price(cmd, state))
        assert self.venue is not None, "no venue attached"
        self.venue.submit(cmd)

    def _on_cancel(self, cmd: CancelOrder) -> None:
        assert self.venue is not None, "no venue attached"
        self.venue.cancel(cmd)

    def _on_amend(self, cmd: AmendOrder) -> None:
        assert self.venue is not None, "no venue attached"
        self.oms.amend(cmd)
        self.venue.amend(cmd)

    def _on_update(self, update: OrderUpdate) -> None:
        applied = self.oms.apply_update(update)
        if applied.ignored:  # a resend after a reconnect: nothing new to book
            return
        order, fill = applied.order, applied.fill
        if not order.is_open:
            self.money.release(order.client_id)
        if fill is not None:
            self.recorder.fill(fill, order.strategy_id, self.clock.seq)
            self.recorder.allocations(self.portfolio.allocate_fill(fill, owner=order.strategy_id))
            position = self.portfolio.position(fill.symbol)
            if not self.warnings and abs(position) > abs(position - fill.side * fill.size):  # exposure grew
                self._check_leverage(fill.ts)
        if order.strategy_id:
            owner = self.strategies.get(order.strategy_id)
            if owner is not None:
                owner.on_order_update(update)
        elif self.trading and self._needs_reconcile(update.status, order.symbol):
            # Planned after the event, like a new target: an order that is still on its way through
            # the bus is in the OMS by then, so the gap is never ordered twice.
            self.unplanned[order.symbol] = None

    def _needs_reconcile(self, status: OrderStatus, symbol: str) -> bool:
        """After a cancel the gap is open again; after a fill only if targets moved meanwhile."""
        if status is OrderStatus.CANCELED:
            return True
        return status is OrderStatus.FILLED and abs(self.portfolio.gap(symbol)) > 1e-12

    def check_fill(self, client_id: str, symbol: str, side: int, size: float, price: float) -> tuple[float, str]:
        """The venue's question before a fill: how much of it the limits allow at its price (risk.py
        `check_fill`): cash, holdings, margin, reduce-only, pause and equity, checked again."""
        try:
            order = self.oms.get(client_id)
        except UnknownOrder:  # not the engine's order (a test driving the venue alone)
            return size, ""
        inst = self.instruments[symbol]
        if inst.is_perp and self.risk.fill_fits(inst, side, size, price, self.portfolio.position(symbol),
                                                self.money.equity(inst.settle, symbol, price), order.reduce_only):
            return size, ""  # the common case, without building the full check
        cmd = SubmitOrder(client_id, symbol, Side(side), size, OrderType.LIMIT, self.clock.ts, price,
                          order.strategy_id, order.post_only, order.reduce_only)
        currency = self.money.currency(symbol)
        cash, reserved = math.inf, 0.0
        if self.money.spot_buy(cmd):
            others = [o for o in self.oms.open_orders() if o.client_id != client_id]
            cash, reserved = self.money.cash(currency), self.money.reserved(currency, others)
        state = RiskState(position=self.portfolio.position(symbol), price=price,
                          equity=self.money.equity(currency, symbol, price), ts=self.clock.ts, cash=cash,
                          reserved=reserved)
        decision = self.risk.check_fill(cmd, state)
        return decision.size, decision.reason

    # -- state ----------------------------------------------------------------------------------
    def _risk_state(self, cmd: SubmitOrder) -> RiskState:
        symbol = cmd.symbol
        price = self.prices.last_price(symbol)
        open_orders = self.oms.open_orders(symbol=symbol)
        currency = self.money.currency(symbol)
        cash, reserved, ask = math.inf, 0.0, math.nan
        if self.money.spot_buy(cmd):
            cash, reserved = self.money.cash(currency), self.money.reserved(currency, self.oms.open_orders())
            if self._asks is not None:
                ask = self._asks.ask(symbol)
        return RiskState(
            position=self.portfolio.position(symbol),
            price=price,
            equity=self.money.equity(currency),
            ts=self.clock.ts,
            open_buy=sum(o.remaining for o in open_orders if o.side is Side.BUY),
            open_sell=sum(o.remaining for o in open_orders if o.side is Side.SELL),
            cash=cash,
            reserved=reserved,
            ask=ask,
        )

    def equity(self, currency: str) -> float:
        """Account equity in `currency`: the capital in it plus the PnL of its symbols at the last
        prices (amounts in different currencies are never added)."""
        return self.money.equity(currency)

    def strategy_equity(self, strategy_id: str) -> float:
        """A strategy's capital plus its PnL on every symbol, at the last prices."""
        total = self.capitals[strategy_id]
        for symbol in self.instruments:
            price = self.prices.last_price(symbol)
            if math.isfinite(price):
                total += self.portfolio.ledger(strategy_id, symbol).equity(price)
        return total

    def _check_leverage(self, ts: int) -> None:
        """Warn once when the account's gross exposure in a currency passes `warn_leverage` times its
        equity in that currency."""
        gross: dict[str, float] = {}
        for symbol, inst in self.instruments.items():
            price = self.prices.last_price(symbol)
            if math.isfinite(price):
                gross[inst.settle] = gross.get(inst.settle, 0.0) + inst.notional(self.portfolio.position(symbol), price)
        limit = self.config.warn_leverage
        for currency, exposure in sorted(gross.items()):
            equity = self.money.equity(currency)
            if exposure > limit * max(equity, 0.0):
                text = (f"gross exposure {exposure:,.2f} {currency} is {exposure / equity:.2f}x the account's "
                        f"equity {equity:,.2f} {currency}, past the stated {limit:g}x" if equity > 0 else
                        f"gross exposure {exposure:,.2f} {currency} with equity {equity:,.2f} (at or below zero)")
                self.warnings.append((ts, text))
                log.warning("%s", text)
                return

    def _targets(self) -> list[tuple[str, str]]:
        return [(sid, sym) for sid in self.strategies for sym in self.instruments
                if self.portfolio.target(sid, sym) is not None]
