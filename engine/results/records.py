"""Arrow schemas of a backtest's (and later a live session's) records.

The trading core's recorder (`engine.trading.recorder`) hands over orders, fills and ledger rows
as plain columns with these names; the backtester adds the marks; `engine.results.build` derives equity
and statistics from them; `engine.results.runs` stores all of them in DuckDB.

"Base currency" sizes are USD and "quote currency" amounts are in the coin on an inverse contract
(`BTC/USD:BTC`, README "Inverse perpetuals"), whose cash flows are qty/price - fee.
"""

from __future__ import annotations

import pyarrow as pa

ORDERS = pa.schema(
    [
        ("client_id", pa.string()),
        ("strategy_id", pa.string()),  # '' for a netted portfolio order
        ("symbol", pa.string()),
        ("side", pa.int8()),
        ("order_type", pa.string()),
        ("size", pa.float64()),  # base currency, after rounding to the venue's lot
        ("price", pa.float64()),  # NaN for market orders
        ("ts_created", pa.int64()),
        ("decide_seq", pa.int64()),  # replay index of the event on which the order was decided
        ("status", pa.string()),  # final status
        ("filled_size", pa.float64()),
        ("avg_price", pa.float64()),
        ("reason", pa.string()),  # why rejected or canceled
    ]
)

FILLS = pa.schema(
    [
        ("seq", pa.int64()),  # order of fills in the run
        ("ts", pa.int64()),
        ("client_id", pa.string()),
        # the strategy that placed the order, or the strategies a netted fill was allocated to,
        # comma-separated (their shares: ALLOCATIONS)
        ("strategy_id", pa.string()),
        ("symbol", pa.string()),
        ("side", pa.int8()),
        ("price", pa.float64()),
        ("size", pa.float64()),
        ("fee", pa.float64()),  # quote currency, positive = cost
        ("liquidity", pa.string()),  # maker | taker
        ("trade_id", pa.string()),  # the tape trade that filled it
        ("event_seq", pa.int64()),  # replay index of that trade
        ("decide_seq", pa.int64()),
        # a spot buy's fee, paid in the base currency it received (OKX's rule); `fee` is its value
        # in quote; 0 for fills that pay their fee in quote (settle) currency
        ("fee_base", pa.float64()),
    ]
)

# One row per change of a strategy's sub-ledger: its share of a fill, an internal cross between
# strategies at a fill's price, or a funding payment. Summed over strategies it is the account.
LEDGER = pa.schema(
    [
        ("seq", pa.int64()),
        ("ts", pa.int64()),
        ("strategy_id", pa.string()),
        ("symbol", pa.string()),
        ("kind", pa.string()),  # fill | cross | funding
        ("qty", pa.float64()),  # signed base currency (0 for funding)
        ("price", pa.float64()),
        ("fee", pa.float64()),
        ("cash_flow", pa.float64()),  # quote currency: -qty*price - fee, or the funding payment
        ("client_id", pa.string()),
        ("fill_seq", pa.int64()),  # FILLS.seq of the venue fill this row allocates; -1 otherwise
    ]
)

# Each strategy's share of each venue fill: the ledger rows booked at that fill. `fill` rows sum
# to the fill's signed size (a spot buy: less fee_base, what it received) and fee; `cross` rows
# move position between strategies at the fill's price without fee and sum to 0.
ALLOCATIONS = pa.schema(
    [
        ("fill_seq", pa.int64()),  # FILLS.seq
        ("strategy_id", pa.string()),
        ("kind", pa.string()),  # fill | cross
        ("qty", pa.float64()),  # signed base currency
        ("fee", pa.float64()),  # quote currency, positive = cost
    ]
)

# Targets and orders the engine did not act on in full (README "How money is counted"), each
# recorded once per change: a target below one lot, a netted order below one lot, the minimum size
# or the minimum notional, a short target cut on spot because the account cannot go below zero.
SKIPPED = pa.schema(
    [
        ("ts", pa.int64()),
        ("strategy_id", pa.string()),  # for an order: the strategies with a gap, comma-separated
        ("symbol", pa.string()),
        ("kind", pa.string()),  # target | order | spot_short
        ("asked", pa.float64()),  # signed base currency: the target asked, or the size not ordered
        ("kept", pa.float64()),  # the target kept (0 for an order not sent)
        ("reason", pa.string()),
    ]
)

# The price each symbol is marked at, at the end of each minute that has one: the last trade
# before `ts` (the minute's end), or for a perpetual the close of the 1-minute mark bar ending at
# `ts` where the lake has mark bars (config["marks"] says which; README "How money is counted").
MARKS = pa.schema([("ts", pa.int64()), ("symbol", pa.string()), ("price", pa.float64())])

EQUITY = pa.schema(
    [
        ("ts", pa.int64()),
        ("series", pa.string()),  # a strategy id, 'portfolio', or 'buy_and_hold'
        ("equity", pa.float64()),  # quote currency
        ("position", pa.float64()),  # base currency (single-symbol runs; NaN otherwise)
    ]
)
