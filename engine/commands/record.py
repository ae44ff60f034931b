"""`okxbot record --symbol S.. [--channels trades,books,bbo,funding] [--flush-every 2]`: OKX market
data into the lake for as long as it runs (engine.live.feed + engine.live.recorder)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.live.config import FeedConfig
    from engine.live.recorder import Flush, Recorder

DEFAULT_CHANNELS = "trades,bbo,funding"
STATUS_EVERY = 5.0  # seconds between status lines at most


def add_parser(sub: Any) -> None:
    """Register `record`."""
    p = sub.add_parser("record", help="record OKX market data into the lake until Ctrl-C",
                       description="Stream OKX's public market data of each --symbol into the lake: a new part "
                                   "file per kind and symbol every --flush-every seconds, outages as `gaps` rows. "
                                   "Ctrl-C or SIGTERM flushes and exits 0; a SIGKILL loses at most the last "
                                   "interval. OKXBOT_OKX_WS_URL points it elsewhere (e.g. `okxbot okx-sim`).")
    p.add_argument("--symbol", action="append", required=True, metavar="SYMBOL",
                   help="ccxt symbol (BTC/USDT, BTC/USDT:USDT); repeat for more")
    p.add_argument("--channels", default=DEFAULT_CHANNELS,
                   help=f"comma-separated: trades, bbo, books, funding, tickers, candles, mark "
                        f"(default {DEFAULT_CHANNELS})")
    p.add_argument("--flush-every", default="2", help="seconds between flushes to the lake (default 2)")
    p.set_defaults(func=run)


def build(args: argparse.Namespace) -> tuple[FeedConfig, Recorder]:
    """The feed's config and the recorder the arguments ask for; a UserError for bad input."""
    from engine.commands import number
    from engine.live.config import FeedConfig, subscriptions
    from engine.live.recorder import Recorder, okx_channels
    from engine.model.errors import UserError
    from engine.store.lake import Lake
    from engine.venues.okx.formats import inst_id

    flush_every = number(args.flush_every, "--flush-every")
    if not 0 < flush_every < float("inf"):
        raise UserError(f"--flush-every must be above 0 seconds, not {args.flush_every}")
    symbols = list(dict.fromkeys(args.symbol))
    for symbol in symbols:
        inst_id(symbol)
    subs = subscriptions(okx_channels(args.channels.split(",")), symbols)
    lake = Lake.at(args.data_root)
    lake.check_writable()
    return FeedConfig.from_env(subscriptions=subs), Recorder(lake, flush_every=flush_every)


def run(args: argparse.Namespace) -> int:
    """Record until Ctrl-C or SIGTERM; exit 0 after the last flush."""
    import asyncio

    config, recorder = build(args)
    asyncio.run(record(config, recorder))
    return 0


async def record(config: FeedConfig, recorder: Recorder) -> None:
    """Run the feed into the recorder until SIGINT or SIGTERM, then flush what is left."""
    import asyncio
    import signal

    from engine.live.feed import OkxFeed

    feed = OkxFeed(config, recorder.on_event, recorder.on_gap)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, feed.stop)
    status = _Status(recorder)
    names = ", ".join(sorted({s.channel for s in config.subscriptions}))
    print(f"record: {config.public_url} ({names}) of {len({s.symbol for s in config.subscriptions})} "
          f"symbol(s) into {recorder.lake.root}, a flush every {recorder.flush_every:g} s; Ctrl-C stops", flush=True)
    flusher = asyncio.create_task(recorder.run(status.flushed))
    flusher.add_done_callback(lambda _task: feed.stop())  # a failed flush (a full disk) ends the run
    try:
        await feed.run()
    finally:
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)
    if not flusher.cancelled() and flusher.exception() is not None:
        raise flusher.exception()  # type: ignore[misc]
    status.line(final=True)


class _Status:
    """One status line per flush that wrote something, at most every STATUS_EVERY seconds."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.last = 0.0

    def flushed(self, flush: Flush) -> None:
        import time

        now = time.monotonic()
        if flush.rows and now - self.last >= STATUS_EVERY:
            self.last = now
            self.line()

    def line(self, final: bool = False) -> None:
        totals = self.recorder.totals
        rows = ", ".join(f"{kind} {n}" for kind, n in sorted(totals.items()) if kind != "gaps") or "no rows"
        when = "stopped; wrote" if final else "written so far:"
        print(f"record: {when} {rows}; gaps {totals.get('gaps', 0)}", flush=True)
