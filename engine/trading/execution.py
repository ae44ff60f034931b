"""Immediate execution: one market order for the netted gap, cancelling what no longer fits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from engine.model.types import Instrument, Side
from engine.trading.oms import Order


class Plan(msgspec.Struct, frozen=True, gc=False):
    """What to do for one symbol: cancel these working orders, then (maybe) send one order."""

    cancel: tuple[str, ...] = ()
    side: Side | None = None
    size: float = 0.0
    reason: str = ""


class Immediate:
    """Close the gap between the netted target and the position with one market order.

    Working netted orders count towards the gap. When they point the wrong way or are too large
    (targets moved back), they are cancelled first; the engine plans again once the venue
    confirms the cancel, so the account is never over-ordered.
    """

    def plan(self, inst: Instrument, gap: float, working: Sequence[Order], price: float) -> Plan:
        """Plan the orders for a gap (target - position, base currency) given the working orders."""
        pending = 0.0
        if working:
            pending = sum(o.remaining * int(o.side) for o in working)
            wrong_way = any(int(o.side) * gap <= 0 for o in working)
            if wrong_way or abs(pending) > abs(gap) + 1e-12:
                return Plan(cancel=tuple(o.client_id for o in working), reason="targets moved")
        needed = inst.round_size(gap - pending)
        if needed == 0:
            return Plan(reason="below one lot")
        ref = price if math.isfinite(price) else 0.0
        err = inst.size_error(needed, ref) if ref > 0 else None
        if err:
            return Plan(reason=err)
        return Plan(side=Side.of(needed), size=abs(needed))
