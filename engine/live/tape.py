"""The OKX simulator's tape from the lake: the trades and quotes of the chosen symbols."""

from __future__ import annotations

from collections.abc import Iterable

from engine.model.errors import UserError
from engine.model.time import NS_PER_MS
from engine.store.lake import Lake
from engine.venues.okx.formats import VENUE, inst_id
from engine.venues.okx.sim_ws import Tape, TapeQuote, TapeTrade


def tape_from_lake(lake: Lake, symbols: Iterable[str], start: int | None = None, end: int | None = None) -> Tape:
    """The okx trades (and quotes, when stored) of each symbol with ts_event in [start, end);
    a UserError names a symbol the lake holds no okx trades of."""
    trades: dict[str, list[TapeTrade]] = {}
    quotes: dict[str, list[TapeQuote]] = {}
    for symbol in symbols:
        inst = inst_id(symbol)
        table = lake.read("trades", VENUE, symbol, start, end).to_pydict()
        if not table["ts_event"]:
            held = sorted(s for k, v, s in lake.entries() if k == "trades" and v == VENUE)
            raise UserError(f"the lake holds no okx trades of {symbol} (it has: {', '.join(held) or 'none'})")
        trades[inst] = [
            TapeTrade(ts // NS_PER_MS, trade_id, price, size, side)
            for ts, trade_id, price, size, side in zip(table["ts_event"], table["trade_id"], table["price"],
                                                       table["size"], table["side"], strict=True)
        ]
        q = lake.read("quotes", VENUE, symbol, start, end).to_pydict()
        quotes[inst] = [
            TapeQuote(ts // NS_PER_MS, *values)
            for ts, *values in zip(q["ts_event"], q["bid"], q["ask"], q["bid_size"], q["ask_size"], strict=True)
        ]
    return Tape(trades, {inst: rows for inst, rows in quotes.items() if rows})
