"""`grid`: a classic grid of resting limit orders around a reference price.

On the first trade while `ctx.trading` is true the strategy takes that price as the reference
and places `levels` buy orders below it and `levels` sell orders above it, level k at
`reference + k*spacing` (spacing = step x reference, or step x tick_size when `step_unit` is
"ticks"; prices rounded to `tick_size` when it is set). When an order is done (filled, or
cancelled after a partial fill) the filled amount is put back one level away on the other side:
a buy filled at level k becomes a sell at level k+1, a sell at level k a buy at level k-1. A
counter-order whose level still holds an order (only after a gap or out-of-order fills) is
skipped rather than stacked against it.

Sizes follow the shared rule: `size` (each order) and `max_position` are in `size_unit` (a
fraction of the strategy's capital by default) and are converted to base currency (USD on an
inverse contract) once, at the reference price. Inventory is capped: an order is placed only if
the position stays within +-`max_position` even if every open order on that side fills.
`on_stop` cancels every open order. The strategy places its own orders (`ctx.submit_limit`) and
never calls `set_target`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.model.errors import UserError
from engine.model.events import OrderUpdate, Trade
from engine.model.types import Side
from engine.trading.sizing import position_size
from engine.trading.strategy import Param, Strategy

_EPS = 1e-12  # slack for sums of float sizes against the cap


@dataclass(frozen=True, slots=True)
class GridOrder:
    """One of the grid's own open orders."""

    level: int
    side: Side
    size: float
    price: float
    filled: float = 0.0


class Grid(Strategy):
    """Resting buy and sell orders every `step` around a reference price, refilled on fills."""

    name = "grid"
    # The annotations give mypy the instance type; the base class sets each to its coerced value.
    levels = Param(5, low=1, high=200, doc="orders on each side of the reference")
    step = Param(0.002, low=0.0, open_low=True, doc="level spacing, in `step_unit`s")
    step_unit = Param("fraction", choices=("fraction", "ticks"), doc="unit of `step`")
    tick_size = Param(0.0, low=0.0, doc="price increment to round to; 0: no rounding")
    size = Param(0.1, low=0.0, open_low=True, doc="size of each order, in size_unit")
    max_position = Param(0.5, low=0.0, doc="cap on |position|, in size_unit")
    post_only = Param(False, doc="send the orders post-only")

    def validate(self) -> None:
        if self.step_unit == "ticks" and self.tick_size <= 0:
            raise UserError(
                f"strategy {self.name!r}: parameter 'step_unit' is 'ticks' but parameter "
                f"'tick_size' is {self.tick_size!r}; set tick_size > 0"
            )

    def reset(self) -> None:
        self.reference: float | None = None
        self.order_size = 0.0  # `size` and `max_position` in base currency, set with the reference
        self.cap = 0.0
        self.inventory = 0.0  # net of this strategy's own fills, base currency
        self.orders: dict[str, GridOrder] = {}
        self._early: list[OrderUpdate] = []  # updates on ids that submit_limit has not returned yet
        self._stopped = False

    # -- callbacks ---------------------------------------------------------------------------
    def on_tick(self, tick: Trade) -> None:
        if self.reference is not None or not self.ctx.trading:
            return
        self.reference = tick.price
        self.order_size = position_size(self.size, self.size_unit, tick.price, self.ctx.capital, self.ctx.inverse)
        self.cap = position_size(self.max_position, self.size_unit, tick.price, self.ctx.capital,
                                 self.ctx.inverse)
        for k in range(1, self.levels + 1):  # nearest levels first, so the cap trims the far ones
            self._place(-k, Side.BUY, self.order_size)
            self._place(k, Side.SELL, self.order_size)
        self.ctx.log(f"grid: reference {tick.price:g}, {len(self.orders)} orders, cap {self.cap:g}")

    def on_order_update(self, update: OrderUpdate) -> None:
        order = self.orders.get(update.client_id)
        if order is None:
            # The venue may answer (reject, fill) inside submit_limit, before its id is known to
            # us: keep the update for `_place`, which drops it if the id turns out not to be ours.
            self._early.append(update)
            return
        # Without a fill record, a status change carries only the cumulative filled size.
        fill = update.fill
        qty = fill.size if fill is not None else max(0.0, update.filled_size - order.filled)
        if qty > 0.0:
            self.inventory += order.side.sign * qty
            order = replace(order, filled=order.filled + qty)
        if update.status.is_open:
            self.orders[update.client_id] = order
            return
        del self.orders[update.client_id]
        if order.filled > 0.0 and not self._stopped:
            if order.side is Side.BUY:
                self._place(order.level + 1, Side.SELL, order.filled)
            else:
                self._place(order.level - 1, Side.BUY, order.filled)

    def on_stop(self) -> None:
        self._stopped = True
        ids = list(self.orders)
        ids += [cid for cid in self.ctx.open_orders() if cid not in self.orders]
        for cid in ids:
            self.ctx.cancel(cid)

    # -- helpers -----------------------------------------------------------------------------
    def level_price(self, level: int) -> float:
        """The price of grid level `level` (0 is the reference)."""
        if self.reference is None:
            raise RuntimeError("the grid has no reference price yet")
        unit = self.tick_size if self.step_unit == "ticks" else self.reference
        price = self.reference + level * self.step * unit
        if self.tick_size > 0:
            # round() again to drop the binary noise of n*tick (0.1*3 = 0.30000000000000004)
            price = round(round(price / self.tick_size) * self.tick_size, 12)
        return price

    def exposure(self, side: Side) -> float:
        """The position if every open order on `side` filled."""
        open_size = sum(o.size - o.filled for o in self.orders.values() if o.side is side)
        return self.inventory + side.sign * open_size

    def _place(self, level: int, side: Side, size: float) -> None:
        """Place `size` at `level` unless the level is taken, the price is not positive, or the
        cap would be breached."""
        if any(o.level == level for o in self.orders.values()):
            return
        price = self.level_price(level)
        worst = side.sign * (self.exposure(side) + side.sign * size)  # along `side` only
        if price <= 0.0 or worst > self.cap + _EPS:
            return
        self._early = []
        cid = self.ctx.submit_limit(side, size, price, post_only=self.post_only)
        if not cid:  # the engine sends nothing while it is not trading
            return
        self.orders[cid] = GridOrder(level, side, size, price)
        early, self._early = self._early, []
        for update in early:
            if update.client_id == cid:
                self.on_order_update(update)
