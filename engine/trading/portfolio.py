"""Portfolio netting and per-strategy sub-ledgers (pure: no clock, disk or network).

Several strategies trade one (account, symbol). A netting strategy sets a target position; the
targets are summed and only the difference to the actual position goes to the venue. A strategy
that places its own orders (a grid) owns their fills entirely. Every change of a strategy's
sub-ledger is an `Allocation` row (engine/results/records.py LEDGER); summed over the strategies the rows
are exactly the account's fills and funding, which `check_invariant` verifies.

Allocation of a netted fill of side d and size s (d = +1 buy, -1 sell), with gap_i = target_i -
position_i of each netting strategy:
  - "with" strategies have gap_i * d > 0 (sum of |gap| = W), "against" ones gap_i * d < 0 (X);
  - c = min(W, X) is crossed internally at the fill's price without fee: the "against"
    strategies get c pro rata to their gaps (their whole gap when X <= W, the usual case, because
    the engine orders in the direction of the net gap);
  - the "with" strategies get c (rows of kind "cross") plus the fill size s (rows of kind "fill")
    pro rata to their gaps, and the fill's fee pro rata to the same weights. A share beyond a
    strategy's gap (lot rounding, a fill of a stale order) therefore also goes pro rata to the
    "with" strategies; the next gap corrects it.
  - With no "with" strategy, the whole fill and fee go to the netting strategy whose target lies
    furthest in the fill's direction (the first registered one on a tie).

On a long-only symbol (spot) the account never holds less than zero. When the targets sum to less
than zero the gaps are taken to the kept targets instead: the longs keep theirs, and the shorts
share the longs' total pro rata to their targets (`kept_targets`), so the account goes flat.

On an inverse symbol (`inverse`, README "Inverse perpetuals") positions are USD and amounts are in
the coin: a position q is worth -q / price instead of q x price, so a row's cash flow is q / price
- fee and funding q / mark x rate; everything else (netting, crosses, the invariant) is the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import msgspec

from engine.model.errors import UserError
from engine.model.events import Fill
from engine.model.types import Side

# Gaps and crossable amounts at or below this are float noise, not positions to trade.
_EPS = 1e-12


class InvariantError(AssertionError):
    """The strategies' sub-ledgers no longer add up to the account."""


class Allocation(msgspec.Struct, frozen=True, gc=False):
    """One row of a strategy's sub-ledger (engine/results/records.py LEDGER without `seq`)."""

    ts: int
    strategy_id: str
    symbol: str
    kind: str  # "fill" | "cross" | "funding"
    qty: float  # signed base currency, USD on an inverse symbol (0.0 for funding)
    price: float
    fee: float  # the symbol's currency (quote, or the coin on an inverse symbol), cost positive
    cash_flow: float  # -qty*price - fee (inverse: qty/price - fee); for funding the payment (negative = paid)
    client_id: str = ""


@dataclass(slots=True)
class SubLedger:
    """Mutable state of one (strategy, symbol), or of the account on a symbol.

    `cash` is net of fees and funding; `fees` is the fees paid (cost positive); `funding` is the
    sum of funding payments (negative = paid); `volume` is the traded notional, internal crosses
    included for strategies (the account counts venue fills only). An `inverse` ledger values its
    (USD) position at -position / mark, in the coin.
    """

    position: float = 0.0
    cash: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    volume: float = 0.0
    inverse: bool = False

    def equity(self, mark: float) -> float:
        """Cash plus the position marked at `mark` (the PnL, since every ledger starts at zero)."""
        return self.cash + self.value(mark)

    def value(self, mark: float) -> float:
        """The position at `mark`: position x mark, or -position / mark when inverse (0 when flat)."""
        if self.inverse:
            return -self.position / mark if self.position else 0.0
        return self.position * mark

    def book(self, row: Allocation) -> None:
        """Apply one ledger row."""
        self.position += row.qty
        self.cash += row.cash_flow
        self.fees += row.fee
        if row.kind == "funding":
            self.funding += row.cash_flow
        else:
            self.volume += abs(row.qty) / row.price if self.inverse else abs(row.qty) * row.price


class PortfolioManager:
    """Targets, sub-ledgers and the account ledger of one account, per symbol."""

    def __init__(self, account: str = "main") -> None:
        self.account_id = account
        self._strategies: dict[str, None] = {}
        self._symbols: dict[str, None] = {}
        self._ledgers: dict[tuple[str, str], SubLedger] = {}
        self._accounts: dict[str, SubLedger] = {}
        self._targets: dict[str, dict[str, float]] = {}  # symbol -> netting strategy -> target
        self._long_only: set[str] = set()
        self._inverse: set[str] = set()

    # -- strategies and targets -----------------------------------------------------------
    def register(self, strategy_id: str) -> None:
        """Add a strategy (idempotent); `strategies()` keeps registration order."""
        if not strategy_id:
            raise ValueError("strategy id must not be empty ('' marks a netted order)")
        self._strategies.setdefault(strategy_id, None)

    def strategies(self) -> list[str]:
        """Registered strategy ids, in registration order."""
        return list(self._strategies)

    def set_target(self, strategy_id: str, symbol: str, target: float) -> None:
        """Set a strategy's target position on `symbol`; this makes it a netting strategy there."""
        if not math.isfinite(target):
            raise UserError(f"target of strategy {strategy_id!r} on {symbol}: {target!r} is not finite")
        self.register(strategy_id)
        self._symbols.setdefault(symbol, None)
        self._targets.setdefault(symbol, {})[strategy_id] = float(target)

    def long_only(self, symbol: str) -> None:
        """The account can never hold less than zero of `symbol` (a spot symbol)."""
        self._long_only.add(symbol)

    def inverse(self, symbol: str) -> None:
        """`symbol` is an inverse contract: positions in USD, amounts in the coin (before any row of it)."""
        if any(sym == symbol for _sid, sym in self._ledgers) or symbol in self._accounts:
            raise ValueError(f"{symbol} already has ledger rows: declare it inverse before trading it")
        self._inverse.add(symbol)

    def kept_targets(self, symbol: str) -> dict[str, float]:
        """The targets the account works towards: as set, except on a long-only symbol whose targets
        sum below zero, where the shorts share the longs' total pro rata and the account goes flat."""
        targets = self._targets.get(symbol, {})
        if symbol not in self._long_only or math.fsum(targets.values()) >= -_EPS:
            return dict(targets)
        longs = math.fsum(t for t in targets.values() if t > 0)
        shorts = {sid: -t for sid, t in targets.items() if t < 0}
        shares = _split(-longs, shorts) if longs > 0 else dict.fromkeys(shorts, 0.0)
        return {sid: shares.get(sid, t) for sid, t in targets.items()}

    def target(self, strategy_id: str, symbol: str) -> float | None:
        """The strategy's target on `symbol`, or None if it never set one."""
        return self._targets.get(symbol, {}).get(strategy_id)

    def gap(self, symbol: str) -> float:
        """Sum over netting strategies of (target - position): what the venue still has to do."""
        targets = self._targets.get(symbol)
        if targets is not None and len(targets) == 1:  # the common case, on every order: no dict
            for sid, target in targets.items():
                led = self._ledgers.get((sid, symbol))
                if target < 0 and symbol in self._long_only:
                    target = 0.0
                return target - (led.position if led else 0.0)
        return math.fsum(self._gaps(symbol).values())

    def gaps(self, symbol: str) -> dict[str, float]:
        """Each netting strategy's kept target less its position on `symbol`."""
        return self._gaps(symbol)

    def _gaps(self, symbol: str) -> dict[str, float]:
        targets = self.kept_targets(symbol) if symbol in self._long_only else self._targets.get(symbol, {})
        return {sid: t - self.strategy_position(sid, symbol) for sid, t in targets.items()}

    # -- reading ----------------------------------------------------------------------------
    def position(self, symbol: str) -> float:
        """The account's position on `symbol`."""
        acct = self._accounts.get(symbol)
        return acct.position if acct else 0.0

    def strategy_position(self, strategy_id: str, symbol: str) -> float:
        """One strategy's position on `symbol`."""
        led = self._ledgers.get((strategy_id, symbol))
        return led.position if led else 0.0

    def ledger(self, strategy_id: str, symbol: str) -> SubLedger:
        """A copy of the strategy's sub-ledger on `symbol` (zeros if it never traded it)."""
        led = self._ledgers.get((strategy_id, symbol))
        return replace(led) if led else SubLedger()

    def account(self, symbol: str) -> SubLedger:
        """A copy of the account's own ledger on `symbol`."""
        acct = self._accounts.get(symbol)
        return replace(acct) if acct else SubLedger()

    def account_equity(self, symbol: str, mark: float) -> float:
        """The account's PnL on `symbol` at `mark` (no copy: the risk check calls it per order)."""
        acct = self._accounts.get(symbol)
        return acct.equity(mark) if acct else 0.0

    def symbols(self) -> list[str]:
        """Symbols with a target or a ledger, in order of first appearance."""
        return list(self._symbols)

    # -- changes ----------------------------------------------------------------------------
    def allocate_fill(self, fill: Fill, owner: str = "") -> list[Allocation]:
        """Book a venue fill: to `owner` entirely, or (owner '') netted over the strategies."""
        if not (fill.size > 0 and math.isfinite(fill.size) and fill.price > 0 and math.isfinite(fill.fee)):
            raise ValueError(
                f"fill of order {fill.client_id!r}: size {fill.size!r}, price {fill.price!r} and "
                f"fee {fill.fee!r} must be finite with size and price positive"
            )
        # what the account receives: a spot buy's fee is taken from the base currency it buys
        qty = fill.size - fill.fee_base if fill.side is Side.BUY else -fill.size
        inverse = fill.symbol in self._inverse
        if owner:
            self.register(owner)
            rows = [_row(fill, owner, "fill", qty, fill.fee, inverse)]
        else:
            rows = self._netted_rows(fill, qty, inverse)
        self._book_all(rows)
        self._account(fill.symbol).book(_row(fill, "", "fill", qty, fill.fee, inverse))
        return rows

    def _netted_rows(self, fill: Fill, qty: float, inverse: bool) -> list[Allocation]:
        d = 1 if fill.side is Side.BUY else -1
        gaps = self._gaps(fill.symbol)
        if len(gaps) == 1:  # one netting strategy: the whole fill is its own (the common case)
            return [_row(fill, next(iter(gaps)), "fill", qty, fill.fee, inverse)]
        if not gaps:
            raise ValueError(
                f"netted fill of order {fill.client_id!r} on {fill.symbol}: no strategy has a target there"
            )
        with_ = {sid: abs(g) for sid, g in gaps.items() if g * d > _EPS}
        against = {sid: abs(g) for sid, g in gaps.items() if g * d < -_EPS}
        if not with_:
            targets = self._targets[fill.symbol]
            heir = max(targets, key=lambda sid: targets[sid] * d)
            return [_row(fill, heir, "fill", qty, fill.fee, inverse)]
        crossed = min(math.fsum(with_.values()), math.fsum(against.values()))
        rows: list[Allocation] = []
        if crossed > _EPS:
            rows += [_row(fill, sid, "cross", q, 0.0, inverse) for sid, q in _split(-d * crossed, against).items()]
            rows += [_row(fill, sid, "cross", q, 0.0, inverse) for sid, q in _split(d * crossed, with_).items()]
        fees = _split(fill.fee, with_)
        rows += [_row(fill, sid, "fill", q, fees[sid], inverse) for sid, q in _split(qty, with_).items()]
        return rows

    def cross(self, symbol: str, price: float, ts: int) -> list[Allocation]:
        """Move offsetting gaps between strategies internally at `price`, without fee."""
        if not (price > 0 and math.isfinite(price)):
            raise ValueError(f"cross on {symbol}: price {price!r} must be finite and positive")
        gaps = self._gaps(symbol)
        longs = {sid: g for sid, g in gaps.items() if g > _EPS}
        shorts = {sid: -g for sid, g in gaps.items() if g < -_EPS}
        crossed = min(math.fsum(longs.values()), math.fsum(shorts.values()))
        if crossed <= _EPS:
            return []
        inverse = symbol in self._inverse
        rows = [
            Allocation(ts, sid, symbol, "cross", q, price, 0.0, _flow(q, price, inverse))
            for total, weights in ((crossed, longs), (-crossed, shorts))
            for sid, q in _split(total, weights).items()
        ]
        self._book_all(rows)
        return rows

    def apply_funding(self, symbol: str, rate: float, mark: float, ts: int) -> list[Allocation]:
        """Each strategy with a position pays position * mark * rate (inverse: position / mark * rate, in
        the coin); the account pays the sum."""
        if not (math.isfinite(rate) and math.isfinite(mark) and mark > 0):
            raise ValueError(f"funding on {symbol}: rate {rate!r} and mark {mark!r} must be finite, mark > 0")
        notional = 1.0 / mark if symbol in self._inverse else mark  # a unit's worth in the symbol's currency
        rows = [
            Allocation(ts, sid, sym, "funding", 0.0, mark, 0.0, -led.position * notional * rate)
            for (sid, sym), led in self._ledgers.items()
            if sym == symbol and led.position != 0.0
        ]
        if not rows:
            return []
        self._book_all(rows)
        total = math.fsum(r.cash_flow for r in rows)
        self._account(symbol).book(Allocation(ts, "", symbol, "funding", 0.0, mark, 0.0, total))
        return rows

    def _book_all(self, rows: list[Allocation]) -> None:
        for row in rows:
            key = (row.strategy_id, row.symbol)
            led = self._ledgers.get(key)
            if led is None:
                self._symbols.setdefault(row.symbol, None)
                led = self._ledgers[key] = SubLedger(inverse=row.symbol in self._inverse)
            led.book(row)

    def _account(self, symbol: str) -> SubLedger:
        acct = self._accounts.get(symbol)
        if acct is None:
            acct = self._accounts[symbol] = SubLedger(inverse=symbol in self._inverse)
        return acct

    # -- checks -----------------------------------------------------------------------------
    def check_invariant(self, marks: Mapping[str, float], tol: float = 1e-6) -> None:
        """Raise InvariantError unless, per symbol, strategy positions and PnLs sum to the account's.

        `tol` is absolute for amounts up to 1 and relative above (positions to the largest
        position, PnL to the largest cash or position value), because float sums of many fills
        carry rounding in proportion to the amounts.
        """
        for symbol in self._symbols:
            legs = [led for (_, sym), led in self._ledgers.items() if sym == symbol]
            acct = self._accounts.get(symbol, SubLedger())
            _check_symbol(symbol, legs, acct, _mark(symbol, marks, legs, acct), tol)


def _row(fill: Fill, strategy_id: str, kind: str, qty: float, fee: float, inverse: bool) -> Allocation:
    flow = _flow(qty, fill.price, inverse)
    return Allocation(fill.ts, strategy_id, fill.symbol, kind, qty, fill.price, fee, flow - fee, fill.client_id)


def _flow(qty: float, price: float, inverse: bool) -> float:
    """Cash paid for `qty` at `price`, before fees: -qty x price, or qty / price (in the coin) inverse."""
    return qty / price if inverse else -qty * price


def _split(total: float, weights: Mapping[str, float]) -> dict[str, float]:
    """Split `total` pro rata to positive `weights`; the shares add up to `total`.

    When |total| equals the weights' sum each share is its weight exactly (a whole gap); otherwise
    the last share takes the remainder, so rounding never leaks out of the sum.
    """
    wsum = math.fsum(weights.values())
    if abs(total) == wsum:
        return {sid: math.copysign(w, total) for sid, w in weights.items()}
    ids = list(weights)
    shares = {sid: total * weights[sid] / wsum for sid in ids[:-1]}
    shares[ids[-1]] = total - math.fsum(shares.values())
    return shares


def _mark(symbol: str, marks: Mapping[str, float], legs: list[SubLedger], acct: SubLedger) -> float:
    if symbol in marks:
        return marks[symbol]
    if acct.position == 0.0 and all(led.position == 0.0 for led in legs):
        return 0.0  # nothing to mark: PnL is the cash alone
    raise ValueError(f"check_invariant: no mark for {symbol}, which has open positions")


def _check_symbol(symbol: str, legs: list[SubLedger], acct: SubLedger, mark: float, tol: float) -> None:
    pos_sum = math.fsum(led.position for led in legs)
    pos_scale = max([1.0, abs(acct.position)] + [abs(led.position) for led in legs])
    if abs(pos_sum - acct.position) > tol * pos_scale:
        raise InvariantError(
            f"{symbol}: strategy positions sum to {pos_sum!r} but the account holds {acct.position!r}"
        )
    pnl_sum = math.fsum(led.equity(mark) for led in legs)
    pnl = acct.equity(mark)
    terms = [acct.cash, acct.value(mark)] + [x for led in legs for x in (led.cash, led.value(mark))]
    if abs(pnl_sum - pnl) > tol * max(1.0, *(abs(x) for x in terms)):
        raise InvariantError(
            f"{symbol}: strategy PnLs sum to {pnl_sum!r} but the account PnL is {pnl!r} at mark {mark!r}"
        )
