"""Immediate execution: one market order for the netted gap, cancelling what no longer fits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from engine.model.types import Instrument, Side
from engine.trading.oms import Order


class Plan(msgspec.Struct, frozen=True, gc=False):
    """What to do for one symbol: cancel these working orders, then (maybe) send one order.

    `skipped` is the signed size left unordered because it is below one lot, the minimum size or
    the minimum notional (`reason` says which); 0.0 when nothing was skipped.
    """

    cancel: tuple[str, ...] = ()
    side: Side | None = None
    size: float = 0.0
    reason: str = ""
    skipped: float = 0.0


class Immediate:
    """Close the gap between the netted target and the position with one market order.

    Working netted orders count towards the gap. When they point the wrong way or are too large
    (targets moved back), they are cancelled first; the engine plans again once the venue
    confirms the cancel, so the account is never over-ordered.
    """

    def plan(self, inst: Instrument, gap: float, working: Sequence[Order], price: float) -> Plan:
        """Plan the orders for a gap (target - position, in the symbol's size currency) given the
        working orders.

        On spot a buy's fee is paid in the base currency it receives, so a buy of s delivers
        s x (1 - taker fee): a buy is sized gap / (1 - fee), rounded up to whole lots, so that the
        account reaches its target, and working buys count for what they will deliver. A rest
        smaller than one lot is the dust those fees leave (or a sell's rounding): nothing to do.
        """
        keep = 1.0 - inst.taker_fee if not inst.is_perp else 1.0  # what a buy delivers per unit
        pending = 0.0
        if working:
            pending = sum(o.remaining * int(o.side) * (keep if o.side is Side.BUY else 1.0) for o in working)
            wrong_way = any(int(o.side) * gap <= 0 for o in working)
            if wrong_way or abs(pending) > abs(gap) + 1e-12:
                return Plan(cancel=tuple(o.client_id for o in working), reason="targets moved")
        rest = gap - pending
        if abs(rest) < inst.lot_size * inst.contract_value * (1 - 1e-9):
            return Plan()
        needed = inst.ceil_size(rest / keep) if rest > 0 and keep != 1.0 else inst.round_size(rest)
        ref = price if math.isfinite(price) else 0.0
        err = inst.size_error(needed, ref) if ref > 0 else None
        if err:
            return Plan(reason=err, skipped=needed)
        return Plan(side=Side.of(needed), size=abs(needed))
