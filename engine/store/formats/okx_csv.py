"""OKX's downloadable trade history (okx.com/data-download), CSV or the zip it comes in.

Two headers exist: `instrument_name,trade_id,side,price,size,created_time[,source]` and the older
bilingual `trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间`, whose
instrument is only in the file name (`BTC-USDT-trades-2025-04-19.zip`). `created_time` is epoch
ms, `side` the taker's; swap sizes are contracts and are converted to base currency.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from engine.errors import UserError
from engine.store.formats import _okx
from engine.store.formats._common import Batch, Options, Parsed, Source, resolve, to_side
from engine.types import NS_PER_MS, okx_inst_id, symbol_from_okx

NAME = "okx-csv"
_FILE = re.compile(r"^([A-Z0-9]+-[A-Z0-9]+(?:-SWAP)?)-(?:agg)?trades-\d{4}-\d{2}-\d{2}", re.IGNORECASE)
_TYPES = {"trade_id": pa.string(), "side": pa.string(), "instrument_name": pa.string(), "created_time": pa.int64()}


def _header(source: Source) -> list[str]:
    """Column names with the bilingual header's Chinese halves removed."""
    return [name.split("/", 1)[0].strip().lower() for name in source.first_line().split(",")]


def sniff(source: Source) -> bool:
    """A header naming trade_id and created_time."""
    names = _header(source)
    return "trade_id" in names and "created_time" in names


def parse(source: Source, options: Options) -> Parsed:
    """One batch per instrument in the file."""
    names = _header(source)
    missing = {"trade_id", "side", "price", "size", "created_time"} - set(names)
    if missing:
        raise UserError(f"{source.path}: OKX trade CSV without column(s) {sorted(missing)}")
    with source.open() as stream:
        table = pcsv.read_csv(
            stream,
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pcsv.ConvertOptions(column_types={n: t for n, t in _TYPES.items() if n in names}),
        )
    if "instrument_name" in names:
        instruments = pc.unique(table["instrument_name"]).to_pylist()
    else:
        match = _FILE.match(source.name)
        instruments = [match[1].upper() if match else None]
    batches = []
    for inst in instruments:
        part = table
        if len(instruments) > 1:
            part = table.filter(pc.equal(table["instrument_name"], inst))
        batches.append(_batch(source, options, inst, part))
    return Parsed(NAME, batches)


def _batch(source: Source, options: Options, inst: str | None, table: pa.Table) -> Batch:
    symbol = symbol_from_okx(inst) if inst else None
    venue, symbol = resolve(source, options, _okx.VENUE, symbol)
    prices = np.asarray(pc.cast(table["price"], pa.float64()).to_numpy(), dtype=float)
    sizes = np.asarray(pc.cast(table["size"], pa.float64()).to_numpy(), dtype=float)
    sizes = _okx.base_sizes(inst or okx_inst_id(symbol), sizes, prices, options, str(source.path))
    out = pa.table(
        {
            "ts_event": pc.multiply(table["created_time"], NS_PER_MS),
            "trade_id": table["trade_id"],
            "price": prices,
            "size": sizes,
            "side": to_side(table["side"]),
        }
    )
    return Batch("trades", venue, symbol, out)
