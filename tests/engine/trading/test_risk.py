"""Pre-trade risk checks: each rule, the shrinking and rounding, and their order of application."""

from __future__ import annotations

import math

import pytest

from engine.model.errors import ConfigError
from engine.model.time import NS_PER_MS, NS_PER_S
from engine.model.types import Side, make_instrument
from engine.trading.risk import RiskDecision, RiskEngine, RiskLimits, RiskState
from tests.factories import make_submit

PERP = "ETH/USDT:USDT"  # lot 0.001 ETH, max leverage 10
SPOT = "ETH/USDT"  # lot 1e-6 ETH
INSTRUMENTS = {s: make_instrument(s) for s in (PERP, SPOT)}


def _risk(**limits: float) -> RiskEngine:
    return RiskEngine(RiskLimits(**limits), INSTRUMENTS)  # type: ignore[arg-type]


def _state(position: float = 0.0, price: float = 2000.0, equity: float = 1e9, **kw: float) -> RiskState:
    return RiskState(position=position, price=price, equity=equity, ts=0, **kw)


def _check(risk: RiskEngine, side: Side, size: float, state: RiskState | None = None, **kw: object
           ) -> RiskDecision:
    return risk.check(make_submit(side=side, size=size, **kw), state or _state())  # type: ignore[arg-type]


def test_check_no_limit_hit_accepts_full_size_without_reason() -> None:
    assert _check(_risk(), Side.BUY, 1.2345) == RiskDecision(True, 1.2345, "")


def test_kill_on_rejects_every_order_and_off_accepts_again() -> None:
    risk = _risk()
    risk.kill()
    assert risk.killed
    for side in Side:
        decision = _check(risk, side, 1.0, reduce_only=True)
        assert not decision.accepted and "kill switch" in decision.reason and decision.size == 0.0
    risk.kill(False)
    assert _check(risk, Side.BUY, 1.0).accepted


def test_check_unknown_symbol_or_bad_size_rejected_naming_it() -> None:
    risk = _risk()
    assert "BTC/USDT" in _check(risk, Side.BUY, 1.0, symbol="BTC/USDT").reason
    for size in (0.0, -1.0, math.nan, math.inf):
        decision = _check(risk, Side.BUY, size)
        assert not decision.accepted and "size" in decision.reason


def test_check_order_rate_rejects_beyond_max_in_window_and_recovers() -> None:
    risk = _risk(max_orders=3, rate_window_ns=NS_PER_S)
    for i in range(3):
        assert _check(risk, Side.BUY, 1.0, ts=i * 100 * NS_PER_MS).accepted
    decision = _check(risk, Side.BUY, 1.0, ts=999 * NS_PER_MS)
    assert not decision.accepted
    assert "order rate: 3 orders" in decision.reason and "max_orders is 3" in decision.reason
    # The first order (ts 0) leaves the window at 1 s; the rejected one was never counted.
    assert _check(risk, Side.BUY, 1.0, ts=NS_PER_S).accepted
    assert not _check(risk, Side.BUY, 1.0, ts=NS_PER_S + 1).accepted


def test_check_rejected_orders_do_not_count_toward_rate() -> None:
    risk = _risk(max_orders=1, max_position=1.0)
    assert not _check(risk, Side.BUY, 1.0, _state(position=1.0)).accepted
    assert _check(risk, Side.BUY, 1.0).accepted


def test_pause_shrinks_to_closing_size_and_rejects_adding() -> None:
    risk = _risk()
    risk.pause()
    decision = _check(risk, Side.SELL, 3.0, _state(position=1.0))
    assert decision.accepted and decision.size == pytest.approx(1.0)
    assert "paused" in decision.reason and "shrunk from 3 to 1" in decision.reason
    adding = _check(risk, Side.BUY, 1.0, _state(position=1.0))
    assert not adding.accepted and "paused" in adding.reason
    assert not _check(risk, Side.SELL, 1.0, _state(position=0.0)).accepted
    risk.pause(False)
    assert _check(risk, Side.BUY, 1.0, _state(position=1.0)).accepted


def test_pause_counts_open_orders_on_the_closing_side() -> None:
    risk = _risk()
    risk.pause()
    decision = _check(risk, Side.SELL, 1.0, _state(position=1.0, open_sell=0.4))
    assert decision.size == pytest.approx(0.6)
    assert not _check(risk, Side.SELL, 1.0, _state(position=1.0, open_sell=1.0)).accepted


def test_reduce_only_order_never_flips_position() -> None:
    risk = _risk()
    decision = _check(risk, Side.BUY, 5.0, _state(position=-2.0), reduce_only=True)
    assert decision.accepted and decision.size == pytest.approx(2.0) and "reduce-only" in decision.reason
    assert not _check(risk, Side.BUY, 1.0, _state(position=0.0), reduce_only=True).accepted
    assert not _check(risk, Side.BUY, 1.0, _state(position=2.0), reduce_only=True).accepted


def test_spot_sell_shrinks_to_holding_minus_open_sells() -> None:
    risk = _risk()
    decision = _check(risk, Side.SELL, 1.0, _state(position=0.5, open_sell=0.2), symbol=SPOT)
    assert decision.accepted and decision.size == pytest.approx(0.3)
    assert "spot holdings" in decision.reason
    nothing = _check(risk, Side.SELL, 1.0, _state(position=0.0), symbol=SPOT)
    assert not nothing.accepted and "spot holdings" in nothing.reason
    # A perpetual may go short.
    assert _check(risk, Side.SELL, 1.0, _state(position=0.0)).size == 1.0


def test_max_position_shrinks_counting_open_orders_and_lets_reductions_pass() -> None:
    risk = _risk(max_position=2.0)
    decision = _check(risk, Side.BUY, 1.0, _state(position=1.5, open_buy=0.2))
    assert decision.accepted and decision.size == pytest.approx(0.3)
    assert "max_position 2" in decision.reason and "position 1.5" in decision.reason
    assert _check(risk, Side.SELL, 5.0, _state(position=1.5)).size == pytest.approx(3.5)
    assert not _check(risk, Side.BUY, 0.1, _state(position=2.5)).accepted
    assert _check(risk, Side.SELL, 0.5, _state(position=2.5)).size == 0.5


def test_max_notional_shrinks_at_state_price() -> None:
    risk = _risk(max_notional=1000.0)
    decision = _check(risk, Side.BUY, 1.0, _state(position=0.2, price=2000.0))
    assert decision.size == pytest.approx(0.3)
    assert "max_notional 1000" in decision.reason and "price 2000" in decision.reason
    no_price = _check(risk, Side.BUY, 1.0, _state(price=math.nan))
    assert not no_price.accepted and "max_notional check needs a price" in no_price.reason


def test_margin_perp_limits_position_to_equity_times_leverage() -> None:
    risk = _risk()
    # 1000 USDT at leverage 10 carries 5 ETH at 2000.
    decision = _check(risk, Side.BUY, 3.0, _state(position=4.0, equity=1000.0))
    assert decision.size == pytest.approx(1.0) and "margin" in decision.reason
    assert _check(risk, Side.BUY, 3.0, _state(equity=1000.0, open_buy=4.5)).size == pytest.approx(0.5)
    lower = RiskEngine(RiskLimits(max_leverage=2.0), INSTRUMENTS)
    assert _check(lower, Side.BUY, 3.0, _state(equity=1000.0)).size == pytest.approx(1.0)
    broke = _state(position=-1.0, equity=-50.0)
    assert not _check(risk, Side.SELL, 0.1, broke).accepted
    assert _check(risk, Side.BUY, 0.5, broke).size == 0.5


def test_margin_not_applied_on_spot() -> None:
    assert _check(_risk(), Side.BUY, 3.0, _state(equity=10.0), symbol=SPOT).size == 3.0


def test_shrunk_size_rounds_down_to_lot_and_rejects_below_minimum() -> None:
    risk = _risk(max_position=0.3337)
    assert _check(risk, Side.BUY, 1.0).size == pytest.approx(0.333)  # perp lot 0.001 ETH
    tiny = _check(_risk(max_position=0.0005), Side.BUY, 1.0)
    assert not tiny.accepted and "rounds to zero lots" in tiny.reason
    strict = RiskEngine(RiskLimits(max_position=0.004), {PERP: make_instrument(PERP, min_notional=10.0)})
    below = strict.check(make_submit(size=1.0), _state(price=2000.0))
    assert not below.accepted and "notional 8" in below.reason and "minimum 10" in below.reason


def test_unshrunk_size_is_passed_through_unrounded() -> None:
    assert _check(_risk(max_position=5.0), Side.BUY, 0.12345).size == 0.12345


def test_order_of_rules_kill_before_rate_before_pause() -> None:
    risk = _risk(max_orders=1)
    assert _check(risk, Side.BUY, 1.0).accepted
    risk.pause()
    assert "order rate" in _check(risk, Side.BUY, 1.0).reason
    risk.kill()
    assert "kill switch" in _check(risk, Side.BUY, 1.0).reason


def test_order_of_rules_shrinks_accumulate_in_order() -> None:
    risk = _risk(max_position=5.0, max_notional=2000.0)
    decision = _check(risk, Side.BUY, 10.0, _state(price=1000.0))
    assert decision.size == pytest.approx(2.0)
    first, second = decision.reason.split("; ")
    assert first.startswith("max_position 5") and "shrunk from 10 to 5" in first
    assert second.startswith("max_notional 2000") and "shrunk from 5 to 2" in second


def test_order_of_rules_pause_before_position_limit() -> None:
    risk = _risk(max_position=0.5)
    risk.pause()
    decision = _check(risk, Side.SELL, 3.0, _state(position=1.0))
    assert decision.size == pytest.approx(1.0)
    assert decision.reason.startswith("paused") and "max_position" not in decision.reason


def test_risk_limits_non_positive_raise_config_error_naming_field() -> None:
    with pytest.raises(ConfigError, match="max_orders"):
        RiskLimits(max_orders=0)
    with pytest.raises(ConfigError, match=r"max_position.*-1"):
        RiskLimits(max_position=-1.0)


def test_spot_cash_limit_price_values_the_buy_and_perps_and_sells_are_not_cash_checked() -> None:
    risk = _risk()
    state = _state(position=1.0, price=2000.0, cash=1_000.0, reserved=400.0)
    # free 1,000 - 400 = 600; a limit buy at 1,500 pays 600 / 1,500 = 0.4 ETH of the 1 asked
    shrunk = _check(risk, Side.BUY, 1.0, state, symbol=SPOT, price=1500.0)
    assert shrunk.accepted and shrunk.size == pytest.approx(0.4)
    assert shrunk.reason.startswith("spot cash: 600.00 USDT free (1,000.00 cash less 400.00 reserved by open "
                                    "buys), the order costs 1,500.00 USDT at 1500")
    # a market buy is valued at the last trade when no book is seen: 600 / 2,000 = 0.3 ETH ...
    assert _check(risk, Side.BUY, 1.0, state, symbol=SPOT).size == pytest.approx(0.3)
    # ... and at the ask when one is: 600 / 2,400 = 0.25 ETH; a limit buy still at its limit
    asked = _state(position=1.0, price=2000.0, cash=1_000.0, reserved=400.0, ask=2_400.0)
    assert _check(risk, Side.BUY, 1.0, asked, symbol=SPOT).size == pytest.approx(0.25)
    assert _check(risk, Side.BUY, 1.0, asked, symbol=SPOT, price=1500.0).size == pytest.approx(0.4)
    assert _check(risk, Side.SELL, 1.0, state, symbol=SPOT).size == 1.0
    assert _check(risk, Side.BUY, 1.0, state, symbol=PERP).size == 1.0
    risk.cash_check = False  # the deliberate fault
    assert _check(risk, Side.BUY, 1.0, state, symbol=SPOT).size == 1.0


def test_check_fill_values_the_fill_at_its_price_without_open_orders() -> None:
    risk = _risk(max_leverage=1.0)
    # margin at fill: equity 1,000 at leverage 1, a buy of 9 filled at 200 -> 1,000 / 200 = 5 ETH
    cut = risk.check_fill(make_submit(side=Side.BUY, size=9.0, symbol=PERP, price=200.0),
                          _state(price=200.0, equity=1_000.0))
    assert (cut.accepted, cut.size) == (True, 5.0)
    assert cut.reason.startswith("margin: equity 1000 USDT at leverage 1 and price 200")
    assert cut.reason.endswith("fill of 9 ETH at 200 cut to 5")
    # nothing left: rejected, size 0; a fill within every limit passes whole with no reason
    full = _state(position=5.0, price=200.0, equity=1_000.0)
    assert risk.check_fill(make_submit(side=Side.BUY, size=1.0, symbol=PERP, price=200.0), full).size == 0.0
    assert risk.check_fill(make_submit(side=Side.SELL, size=1.0, symbol=PERP, price=200.0), full) == \
        RiskDecision(True, 1.0, "")


def test_equity_at_or_below_zero_only_reduces() -> None:
    risk = _risk()
    broke = _state(position=2.0, equity=0.0)
    adding = _check(risk, Side.BUY, 1.0, broke, symbol=PERP)
    assert not adding.accepted and adding.reason.startswith("equity 0 USDT at or below zero (reduce only)")
    assert _check(risk, Side.SELL, 3.0, broke, symbol=PERP).size == 2.0  # closes, never flips


def test_fill_fits_says_yes_only_when_no_rule_can_cut_the_fill() -> None:
    perp, spot = INSTRUMENTS[PERP], INSTRUMENTS[SPOT]
    risk = _risk(max_leverage=1.0)
    # equity 1,000 at leverage 1 and price 200: |position| up to 5; long 2, a buy of 3 fits, of 3.5 not
    assert risk.fill_fits(perp, 1, 3.0, 200.0, 2.0, 1_000.0, False)
    assert not risk.fill_fits(perp, 1, 3.5, 200.0, 2.0, 1_000.0, False)
    assert risk.fill_fits(perp, -1, 7.0, 200.0, 2.0, 1_000.0, False)  # sell 7 from +2: short 5
    for args in [(spot, 1, 1.0, 200.0, 0.0, 1_000.0, False),   # spot: cash and holdings need the full check
                 (perp, 1, 1.0, 200.0, 0.0, 1_000.0, True),    # reduce-only
                 (perp, 1, 1.0, 200.0, 0.0, 0.0, False)]:      # equity at zero
        assert not risk.fill_fits(*args)
    risk.pause()
    assert not risk.fill_fits(perp, 1, 1.0, 200.0, 0.0, 1_000.0, False)
    assert not _risk(max_position=100.0).fill_fits(perp, 1, 1.0, 200.0, 0.0, 1_000.0, False)
