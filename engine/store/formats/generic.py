"""Generic tables of trades, quotes, bars or funding rates: CSV, Parquet or Arrow/Feather files.

Columns are found by name, case-insensitively (see `SYNONYMS`). Times may be epoch s, ms, us or
ns (told apart by magnitude), ISO 8601 strings (naive means UTC) or Arrow timestamps. Sides may
be words (buy/sell), numbers (1/-1) or a buyer-is-maker flag. Bars take their interval from
--interval, an `interval` column, or else the most common spacing of their times.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from engine.model.errors import UserError
from engine.model.time import NS_PER_DAY, NS_PER_MIN, NS_PER_S, interval_ns
from engine.model.types import parse_symbol
from engine.store.formats._common import (
    Batch,
    Options,
    Parsed,
    Source,
    Unreadable,
    read_buyer_maker,
    read_floats,
    read_ns,
    read_side,
    resolve,
    row_skipper,
)

NAME = "generic"
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ts_event": ("ts_event", "timestamp", "time", "ts", "date", "datetime", "open_time", "created_time"),
    "ts_recv": ("ts_recv", "local_timestamp", "recv_time", "receive_time", "ts_init"),
    "trade_id": ("trade_id", "id", "tradeid", "trade id"),
    "price": ("price", "px"),
    "size": ("size", "amount", "quantity", "qty", "sz"),
    "side": ("side", "taker_side"),
    "buyer_maker": ("buyer_maker", "is_buyer_maker", "isbuyermaker"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume", "vol"),
    "interval": ("interval", "timeframe"),
    "bid": ("bid", "bid_price", "bidpx", "best_bid"),
    "ask": ("ask", "ask_price", "askpx", "best_ask"),
    "bid_size": ("bid_size", "bid_amount", "bid_qty", "bidsz"),
    "ask_size": ("ask_size", "ask_amount", "ask_qty", "asksz"),
    "rate": ("rate", "funding_rate", "fundingrate"),
    "symbol": ("symbol", "instrument", "pair"),
    "venue": ("venue", "exchange"),
}
_TEXT = ("trade_id", "side", "buyer_maker", "symbol", "venue", "interval")


def _find(names: list[str], role: str) -> str | None:
    """The column (original spelling) playing `role`, by the first synonym present."""
    lowered = {name.strip().lower(): name for name in names}
    return next((lowered[s] for s in SYNONYMS[role] if s in lowered), None)


def _kind(names: list[str]) -> str | None:
    def has(*roles: str) -> bool:
        return all(_find(names, r) for r in roles)

    if not has("ts_event"):
        return None
    if has("open", "high", "low", "close"):
        return "bars"
    if has("bid", "ask"):
        return "quotes"
    if has("price", "size"):
        return "trades"
    return "funding" if has("rate") else None


def _binary(source: Source) -> bool:
    return source.head[:4] == b"PAR1" or source.head[:6] == b"ARROW1"


def _delimiter(line: str) -> str:
    return max((",", ";", "\t", "|"), key=line.count)


def sniff(source: Source) -> bool:
    """Parquet or Arrow files, or a delimited text header naming a time column and a kind's columns."""
    if _binary(source):
        return True
    line = source.first_line()
    return _kind([n.strip().strip('"') for n in line.split(_delimiter(line))]) is not None


class _Columns:
    """The batch being built: lake columns, the file's names behind them, the unreadable rows."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.values: dict[str, pa.Array | pa.ChunkedArray] = {}
        self.names: dict[str, str] = {}
        self.unreadable: list[Unreadable] = []

    def add(self, role: str, name: str, found: tuple[pa.Array, Unreadable | None]) -> None:
        self.values[role], self.names[role] = found[0], name
        if found[1] is not None:
            self.unreadable.append(found[1])

    def numbers(self, roles: tuple[str, ...]) -> None:
        for role in roles:
            name = _find(self.table.column_names, role)
            if name:
                self.add(role, name, read_floats(self.table[name], name, role))


def parse(source: Source, options: Options) -> Parsed:
    """One batch of the kind the columns describe."""
    table, malformed = _read(source)
    names = table.column_names
    kind = _kind(names)
    if kind is None:
        raise UserError(f"{source.path}: columns {names} are not trades, quotes, bars or funding (need a time column)")
    venue, symbol = resolve(source, options, _said(source, table, "venue"), _said(source, table, "symbol"))
    out = _Columns(table)
    time = _find(names, "ts_event")
    assert time is not None  # a kind needs it
    out.add("ts_event", time, read_ns(table[time], time))
    recv = _find(names, "ts_recv")
    if recv and kind in ("trades", "quotes"):
        out.add("ts_recv", recv, read_ns(table[recv], recv))
    if kind == "trades":
        _trades(source, out)
    elif kind == "quotes":
        out.numbers(("bid", "ask", "bid_size", "ask_size"))
    elif kind == "bars":
        _bars(source, out, options)
    else:
        out.numbers(("rate",))
    batch = Batch(kind, venue, symbol, pa.table(out.values), tuple(out.unreadable), out.names)
    skipped = {"malformed": len(malformed)} if malformed else {}
    return Parsed(NAME, [batch], skipped, malformed[0] if malformed else None)


def _read(source: Source) -> tuple[pa.Table, list[str]]:
    """The table, and the CSV lines skipped for having the wrong number of fields."""
    if _binary(source):
        data = source.path if not source.compression else pa.BufferReader(source.read())
        table = pq.read_table(data) if source.head[:4] == b"PAR1" else feather.read_table(data)
        if source.on_bytes is not None and not source.compression:
            source.on_bytes(source.size)
        return table, []
    line = source.first_line()
    delimiter = _delimiter(line)
    names = [n.strip().strip('"') for n in line.split(delimiter)]
    text = {n: pa.string() for role in _TEXT if (n := _find(names, role))}
    try:
        return _read_csv(source, delimiter, text)
    except pa.ArrowInvalid:  # a value that does not fit the type inferred from the first rows
        return _read_csv(source, delimiter, {n: pa.string() for n in names})


def _read_csv(source: Source, delimiter: str, types: dict[str, pa.DataType]) -> tuple[pa.Table, list[str]]:
    malformed: list[str] = []

    with source.open() as stream:
        table = pcsv.read_csv(
            stream,
            parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=row_skipper(malformed)),
            convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
    return table, malformed


def _said(source: Source, table: pa.Table, role: str) -> str | None:
    """The one venue or ccxt symbol a column states, if it states one."""
    name = _find(table.column_names, role)
    if name is None:
        return None
    values = [v for v in pc.unique(table[name]).to_pylist() if v]
    if len(values) != 1:
        if len(values) > 1:
            raise UserError(f"{source.path}: holds several {role}s {values[:5]}; split the file per {role}")
        return None
    value = str(values[0])
    if role == "venue":
        return value.lower()
    try:
        parse_symbol(value)
    except UserError:
        return None  # an exchange's own symbol (BTCUSDT): --symbol names it
    return value


def _trades(source: Source, out: _Columns) -> None:
    table = out.table
    names = table.column_names
    out.numbers(("price", "size"))
    side, maker = _find(names, "side"), _find(names, "buyer_maker")
    if side:
        out.add("side", side, read_side(table[side], side))
    elif maker:
        out.add("side", maker, read_buyer_maker(table[maker], maker))
    else:
        raise UserError(f"{source.path}: trades need a side (buy/sell) or buyer_maker column")
    trade_id = _find(names, "trade_id")
    if trade_id:
        out.add("trade_id", trade_id, (pc.cast(table[trade_id], pa.string()), None))


def _bars(source: Source, out: _Columns, options: Options) -> None:
    table = out.table
    out.numbers(("open", "high", "low", "close", "volume"))
    if "volume" not in out.values:
        out.values["volume"] = pa.array(np.zeros(table.num_rows))
    named = _find(table.column_names, "interval")
    if options.interval is not None:
        interval_ns(options.interval)
        out.values["interval"] = pa.array([options.interval] * table.num_rows, pa.string())
    elif named:
        out.add("interval", named, (table[named], None))
    else:
        ts = out.values["ts_event"]
        out.values["interval"] = pa.array([infer_interval(source, ts)] * table.num_rows, pa.string())


def infer_interval(source: Source, ts: pa.Array | pa.ChunkedArray) -> str:
    """The most common spacing of bar times as an interval name ('1m', '4h', ...)."""
    times = np.unique(pc.drop_null(ts).to_numpy())
    steps, counts = np.unique(np.diff(times), return_counts=True)
    if not len(steps):
        raise UserError(f"{source.path}: cannot infer the bar interval from one bar; pass --interval")
    step = int(steps[counts.argmax()])
    for unit, size in (("d", NS_PER_DAY), ("h", 60 * NS_PER_MIN), ("m", NS_PER_MIN), ("s", NS_PER_S)):
        if step % size == 0:
            name = f"{step // size}{unit}"
            interval_ns(name)
            return name
    raise UserError(f"{source.path}: bars {step} ns apart are not a whole number of seconds; pass --interval")
