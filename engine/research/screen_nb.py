"""The screen's numba kernels: arrays in, arrays out (README "Screens", the convention).

A direction series (what the strategy holds after each bar's close) becomes market orders filled
at the next bar's open, as taker; equity is read at every close. `sweep_nb` runs many direction
series (one row each) in one call, in parallel over the rows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit, prange

Array = npt.NDArray[np.float64]

BASE, QUOTE, FRACTION = 0, 1, 2  # size units, as engine.trading.sizing names them
STATS = ("pnl", "return_pct", "sharpe", "max_dd_pct", "orders", "fees", "exposure_pct")
ORDER_FIELDS = ("bar", "qty", "price", "fee")  # bar: the index of the bar whose open fills it


@njit(cache=True)
def unit_position_nb(size: float, unit: int, price: float, capital: float) -> float:
    """Base units of one direction unit at `price`, as engine.trading.sizing.position_size."""
    if unit == BASE:
        return size
    notional = size * capital if unit == FRACTION else size
    return notional / price


@njit(cache=True)
def simulate_nb(open_: Array, close: Array, direction: Array, size: float, unit: int, capital: float,
                fee: float, ann: float, orders_out: Array) -> tuple[Array, int]:
    """Trade one direction series; return its STATS and the number of orders written to `orders_out`
    (rows of ORDER_FIELDS; a 0-row array records nothing)."""
    record = orders_out.shape[0] > 0
    pos = cash = target = held_d = fees = 0.0
    orders = held = n_ret = 0
    e_prev = peak = capital
    mean = m2 = mdd = 0.0
    for i in range(close.shape[0]):
        q = target - pos
        if q != 0.0:  # decided on the previous close: fills whole at this bar's open, as taker
            px = open_[i]
            f = abs(q) * px * fee
            cash -= q * px + f
            fees += f
            pos = target
            if record:
                orders_out[orders, 0] = i
                orders_out[orders, 1] = q
                orders_out[orders, 2] = px
                orders_out[orders, 3] = f
            orders += 1
        d = direction[i]
        if d != held_d:  # sized at this close, only when the direction changes (as Strategy.hold)
            held_d = d
            target = 0.0 if d == 0.0 else d * unit_position_nb(size, unit, close[i], capital)
        e = capital + cash + pos * close[i]
        if pos != 0.0:
            held += 1
        r = e / e_prev - 1.0
        n_ret += 1
        delta = r - mean
        mean += delta / n_ret
        m2 += delta * (r - mean)
        e_prev = e
        peak = e if e > peak else peak
        dd = 1.0 - e / peak
        mdd = dd if dd > mdd else mdd
    out = np.full(len(STATS), np.nan)
    out[0] = e_prev - capital
    out[1] = 100.0 * out[0] / capital
    if n_ret > 1 and m2 > 0.0:
        out[2] = mean / np.sqrt(m2 / (n_ret - 1)) * np.sqrt(ann)
    out[3] = 100.0 * mdd
    out[4] = orders
    out[5] = fees
    if close.shape[0]:
        out[6] = 100.0 * held / close.shape[0]
    return out, orders


@njit(cache=True, parallel=True)
def sweep_nb(open_: Array, close: Array, directions: Array, sizes: Array, units: npt.NDArray[np.int64],
             capital: float, fee: float, ann: float) -> Array:
    """STATS of every row of `directions` (rows: grid points, columns: bars), each with its size and unit."""
    out = np.empty((directions.shape[0], len(STATS)))
    none = np.empty((0, len(ORDER_FIELDS)))
    for k in prange(directions.shape[0]):
        out[k] = simulate_nb(open_, close, directions[k], sizes[k], units[k], capital, fee, ann, none)[0]
    return out
