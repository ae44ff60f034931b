"""Portfolio netting, sub-ledgers, internal crosses, funding and the account invariant."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model.errors import UserError
from engine.model.types import Side
from engine.trading.portfolio import InvariantError, PortfolioManager, SubLedger
from tests.factories import make_fill

SYM = "ETH/USDT:USDT"


def _pm(**targets: float) -> PortfolioManager:
    pm = PortfolioManager()
    for sid, target in targets.items():
        pm.set_target(sid, SYM, target)
    return pm


def test_allocate_fill_roadmap_example_nets_and_puts_fee_on_buyer() -> None:
    pm = _pm(A=1.0, B=-0.5)
    assert pm.gap(SYM) == pytest.approx(0.5)
    rows = pm.allocate_fill(make_fill(0.5, 2000.0, side=Side.BUY, fee=0.5))
    assert pm.strategy_position("A", SYM) == pytest.approx(1.0)
    assert pm.strategy_position("B", SYM) == pytest.approx(-0.5)
    assert pm.position(SYM) == pytest.approx(0.5)
    assert pm.ledger("A", SYM).fees == pytest.approx(0.5)
    assert pm.ledger("B", SYM).fees == 0.0
    # A bought 1 at 2000 plus the fee, B sold 0.5 at 2000.
    assert pm.ledger("A", SYM).cash == pytest.approx(-2000.5)
    assert pm.ledger("B", SYM).cash == pytest.approx(1000.0)
    assert pm.account(SYM).cash == pytest.approx(-1000.5)
    assert pm.gap(SYM) == pytest.approx(0.0, abs=1e-12)
    pm.check_invariant({SYM: 2100.0})
    assert sorted((r.strategy_id, r.kind, r.qty) for r in rows) == [
        ("A", "cross", pytest.approx(0.5)),
        ("A", "fill", pytest.approx(0.5)),
        ("B", "cross", pytest.approx(-0.5)),
    ]
    assert math.fsum(r.qty for r in rows) == pytest.approx(0.5)
    assert math.fsum(r.cash_flow for r in rows) == pytest.approx(-0.5 * 2000.0 - 0.5)


def test_allocate_fill_partial_pieces_cross_against_first_then_reach_targets() -> None:
    pm = _pm(A=1.0, B=-0.5)
    pm.allocate_fill(make_fill(0.2, 2000.0, fee=0.2))
    assert pm.strategy_position("B", SYM) == pytest.approx(-0.5)
    assert pm.strategy_position("A", SYM) == pytest.approx(0.7)
    assert pm.gap(SYM) == pytest.approx(0.3)
    pm.allocate_fill(make_fill(0.3, 2010.0, fee=0.3))
    assert pm.strategy_position("A", SYM) == pytest.approx(1.0)
    assert pm.ledger("A", SYM).fees == pytest.approx(0.5)
    pm.check_invariant({SYM: 1990.0})


def test_allocate_fill_two_with_strategies_split_size_and_fee_pro_rata() -> None:
    pm = _pm(A=3.0, B=1.0)
    pm.allocate_fill(make_fill(2.0, 100.0, fee=4.0))
    assert pm.strategy_position("A", SYM) == pytest.approx(1.5)
    assert pm.strategy_position("B", SYM) == pytest.approx(0.5)
    assert pm.ledger("A", SYM).fees == pytest.approx(3.0)
    assert pm.ledger("B", SYM).fees == pytest.approx(1.0)


def test_allocate_fill_beyond_all_gaps_gives_excess_pro_rata_to_with() -> None:
    pm = _pm(A=1.0, B=3.0)
    pm.allocate_fill(make_fill(8.0, 100.0))
    assert pm.strategy_position("A", SYM) == pytest.approx(2.0)
    assert pm.strategy_position("B", SYM) == pytest.approx(6.0)
    assert pm.gap(SYM) == pytest.approx(-4.0)


def test_allocate_fill_no_with_strategy_goes_to_target_furthest_in_direction() -> None:
    pm = _pm(A=0.0, B=-1.0)
    pm.allocate_fill(make_fill(1.0, 100.0, side=Side.BUY, fee=0.1))
    assert pm.strategy_position("A", SYM) == pytest.approx(1.0)
    assert pm.strategy_position("B", SYM) == 0.0
    assert pm.ledger("A", SYM).fees == pytest.approx(0.1)
    pm.check_invariant({SYM: 100.0})


def test_allocate_fill_stale_fill_against_net_gap_crosses_only_what_is_crossable() -> None:
    pm = _pm(A=0.3, B=-0.5)  # net gap -0.2, but a stale buy of 0.1 fills
    pm.allocate_fill(make_fill(0.1, 100.0, side=Side.BUY))
    # 0.3 crossed (all A wants), B gets 0.3 of its 0.5, and A takes the 0.1 bought.
    assert pm.strategy_position("B", SYM) == pytest.approx(-0.3)
    assert pm.strategy_position("A", SYM) == pytest.approx(0.4)
    assert pm.position(SYM) == pytest.approx(0.1)
    pm.check_invariant({SYM: 120.0})


def test_allocate_fill_netted_without_targets_raises_naming_order() -> None:
    pm = PortfolioManager()
    with pytest.raises(ValueError, match="o7"):
        pm.allocate_fill(make_fill(1.0, 100.0, client_id="o7"))


def test_allocate_fill_owner_gets_whole_fill_and_stays_out_of_gap() -> None:
    pm = _pm(A=1.0)
    rows = pm.allocate_fill(make_fill(2.0, 50.0, side=Side.SELL, fee=0.1, client_id="g1"), owner="grid1")
    assert [(r.strategy_id, r.kind, r.qty, r.client_id) for r in rows] == [("grid1", "fill", -2.0, "g1")]
    assert pm.strategy_position("grid1", SYM) == -2.0
    assert pm.strategy_position("A", SYM) == 0.0
    assert pm.gap(SYM) == pytest.approx(1.0)
    assert pm.position(SYM) == -2.0
    assert "grid1" in pm.strategies()
    pm.check_invariant({SYM: 55.0})


def test_allocate_fill_owner_with_target_changes_its_gap() -> None:
    pm = _pm(A=1.0)
    pm.allocate_fill(make_fill(0.4, 50.0, client_id="a1"), owner="A")
    assert pm.gap(SYM) == pytest.approx(0.6)


def test_allocate_fill_bad_values_raise() -> None:
    pm = _pm(A=1.0)
    with pytest.raises(ValueError, match="size"):
        pm.allocate_fill(make_fill(0.0, 100.0))
    with pytest.raises(ValueError, match="price"):
        pm.allocate_fill(make_fill(1.0, math.nan))


def test_cross_offsetting_gaps_moves_positions_without_account_change() -> None:
    pm = _pm(A=1.0, B=-1.0)
    assert pm.gap(SYM) == 0.0
    rows = pm.cross(SYM, 2000.0, ts=5)
    assert {(r.strategy_id, r.qty, r.cash_flow, r.fee, r.ts) for r in rows} == {
        ("A", 1.0, -2000.0, 0.0, 5),
        ("B", -1.0, 2000.0, 0.0, 5),
    }
    assert pm.position(SYM) == 0.0
    assert pm.account(SYM) == SubLedger()
    pm.check_invariant({SYM: 2500.0})


def test_cross_partial_offset_crosses_the_smaller_side() -> None:
    pm = _pm(A=2.0, B=-0.5)
    pm.cross(SYM, 10.0, ts=0)
    assert pm.strategy_position("A", SYM) == pytest.approx(0.5)
    assert pm.strategy_position("B", SYM) == pytest.approx(-0.5)
    assert pm.gap(SYM) == pytest.approx(1.5)
    assert pm.ledger("A", SYM).volume == pytest.approx(5.0)


def test_cross_nothing_offsetting_returns_no_rows() -> None:
    pm = _pm(A=2.0, B=1.0)
    assert pm.cross(SYM, 10.0, ts=0) == []
    assert pm.cross("BTC/USDT", 10.0, ts=0) == []


def test_apply_funding_long_pays_short_receives_account_pays_sum() -> None:
    pm = _pm(A=1.0, B=-0.5)
    pm.allocate_fill(make_fill(0.5, 2000.0))
    rows = pm.apply_funding(SYM, rate=0.0001, mark=2000.0, ts=9)
    flows = {r.strategy_id: r.cash_flow for r in rows}
    assert flows == {"A": pytest.approx(-0.2), "B": pytest.approx(0.1)}
    assert all(r.kind == "funding" and r.qty == 0.0 and r.price == 2000.0 for r in rows)
    assert pm.ledger("A", SYM).funding == pytest.approx(-0.2)
    assert pm.account(SYM).funding == pytest.approx(-0.1)
    assert pm.account(SYM).cash == pytest.approx(-1000.0 - 0.1)
    pm.check_invariant({SYM: 2000.0})


def test_apply_funding_no_positions_returns_no_rows() -> None:
    pm = _pm(A=1.0)
    assert pm.apply_funding(SYM, 0.001, 2000.0, 0) == []
    assert pm.account(SYM).cash == 0.0


def test_check_invariant_broken_account_raises_naming_symbol_and_numbers() -> None:
    pm = _pm(A=1.0)
    pm.allocate_fill(make_fill(1.0, 100.0))
    pm._accounts[SYM].position = 1.5  # corrupt the account on purpose
    with pytest.raises(InvariantError, match=r"ETH/USDT:USDT.*1\.0.*1\.5"):
        pm.check_invariant({SYM: 100.0})
    pm._accounts[SYM].position = 1.0
    pm._accounts[SYM].cash -= 0.01
    with pytest.raises(InvariantError, match="PnL"):
        pm.check_invariant({SYM: 100.0})


def test_check_invariant_missing_mark_with_position_raises() -> None:
    pm = _pm(A=1.0)
    pm.allocate_fill(make_fill(1.0, 100.0))
    with pytest.raises(ValueError, match="no mark"):
        pm.check_invariant({})


def test_set_target_not_finite_raises_user_error() -> None:
    with pytest.raises(UserError, match="nan"):
        _pm(A=math.nan)


def test_register_empty_id_raises_and_order_is_kept() -> None:
    pm = PortfolioManager()
    with pytest.raises(ValueError):
        pm.register("")
    pm.register("b")
    pm.register("a")
    pm.register("b")
    assert pm.strategies() == ["b", "a"]
    assert pm.target("a", SYM) is None


def test_ledger_returns_copy_not_live_state() -> None:
    pm = _pm(A=1.0)
    pm.allocate_fill(make_fill(1.0, 100.0))
    pm.ledger("A", SYM).position = 99.0
    assert pm.strategy_position("A", SYM) == 1.0


# -- properties -----------------------------------------------------------------------------------
_TARGET = st.tuples(st.just("target"), st.sampled_from("ABC"), st.integers(-20, 20).map(lambda n: n / 4))
_FILL = st.tuples(st.just("fill"), st.floats(0.05, 1.0), st.floats(1000.0, 3000.0), st.floats(-2e-4, 1e-3))
_GRID = st.tuples(st.just("grid"), st.sampled_from([1, -1]), st.floats(0.01, 3.0), st.floats(1000.0, 3000.0))
_CROSS = st.tuples(st.just("cross"), st.floats(1000.0, 3000.0))
_FUND = st.tuples(st.just("funding"), st.floats(-1e-3, 1e-3), st.floats(1000.0, 3000.0))
_STALE = st.tuples(st.just("stale"), st.floats(0.01, 2.0), st.floats(1000.0, 3000.0))
_OPS = st.lists(st.one_of(_TARGET, _FILL, _GRID, _CROSS, _FUND, _STALE), max_size=40)


class _Tape:
    """Runs random operations and keeps the totals the properties compare against."""

    def __init__(self) -> None:
        self.pm = PortfolioManager()
        self.fees = 0.0
        self.mark = 2000.0

    def run(self, op: tuple) -> None:
        kind, *args = op
        if kind == "target":
            self.pm.set_target(args[0], SYM, args[1])
        elif kind == "fill":
            self._netted(args[0] * self.pm.gap(SYM), args[1], args[2])
        elif kind == "stale":
            self._netted(-math.copysign(args[0], self.pm.gap(SYM)), args[1], 0.0)
        elif kind == "grid":
            self._fill(args[0] * args[1], args[2], 0.0005, owner="G")
        elif kind == "cross":
            self.mark = args[0]
            assert all(r.fee == 0.0 for r in self.pm.cross(SYM, args[0], 0))
        else:
            rows = self.pm.apply_funding(SYM, args[0], args[1], 0)
            assert all(r.cash_flow == pytest.approx(-self.pm.strategy_position(r.strategy_id, SYM)
                                                    * args[1] * args[0]) for r in rows)

    def _netted(self, qty: float, price: float, fee_rate: float) -> None:
        if abs(qty) > 1e-9 and any(self.pm.target(s, SYM) is not None for s in "ABC"):
            self._fill(qty, price, fee_rate, owner="")

    def _fill(self, qty: float, price: float, fee_rate: float, owner: str) -> None:
        fee = abs(qty) * price * fee_rate
        before = self.pm.position(SYM)
        rows = self.pm.allocate_fill(make_fill(abs(qty), price, side=Side.of(qty), fee=fee), owner=owner)
        self.fees += fee
        self.mark = price
        assert math.fsum(r.qty for r in rows) == pytest.approx(qty, abs=1e-9)
        assert math.fsum(r.cash_flow for r in rows) == pytest.approx(-qty * price - fee, abs=1e-6)
        assert math.fsum(r.fee for r in rows) == pytest.approx(fee, abs=1e-12)
        assert self.pm.position(SYM) == pytest.approx(before + qty, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(_OPS)
def test_portfolio_random_sequences_keep_invariant_positions_and_fees(ops: list[tuple]) -> None:
    tape = _Tape()
    for op in ops:
        tape.run(op)
        tape.pm.check_invariant({SYM: tape.mark})
        ids = tape.pm.strategies()
        assert math.fsum(tape.pm.strategy_position(s, SYM) for s in ids) == pytest.approx(
            tape.pm.position(SYM), abs=1e-9
        )
        strat_fees = math.fsum(tape.pm.ledger(s, SYM).fees for s in ids)
        assert strat_fees == pytest.approx(tape.fees, abs=1e-9)
        assert tape.pm.account(SYM).fees == pytest.approx(tape.fees, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from("ABCD"), st.integers(-20, 20).map(lambda n: n / 4), min_size=1),
    st.lists(st.floats(0.1, 0.9), max_size=4),
)
def test_allocate_fill_whole_gap_in_pieces_brings_every_strategy_to_target(
    targets: dict[str, float], pieces: list[float]
) -> None:
    pm = _pm(**targets)
    for frac in [*pieces, 1.0]:  # the last piece fills what is left
        qty = frac * pm.gap(SYM)
        if abs(qty) > 1e-12:
            pm.allocate_fill(make_fill(abs(qty), 2000.0, side=Side.of(qty), fee=abs(qty)))
    assert pm.gap(SYM) == pytest.approx(0.0, abs=1e-9)
    pm.cross(SYM, 2000.0, 0)  # offsetting targets (net gap 0) never needed an order
    for sid, target in targets.items():
        assert pm.strategy_position(sid, SYM) == pytest.approx(target, abs=1e-9)
    # Only strategies trading in a fill's direction pay, so fees sit where positions were built.
    assert math.fsum(pm.ledger(s, SYM).fees for s in targets) == pytest.approx(pm.account(SYM).fees)
    pm.check_invariant({SYM: 2000.0})
