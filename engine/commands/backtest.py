"""`okxbot backtest`: replay the lake through one or more strategies and print a summary.

Several `--strategy NAME` form one netted portfolio; each `--param k=v`, `--weight W` and
`--id NAME` belongs to the `--strategy` before it. Without `--start`/`--end` the run covers all
the data the lake holds for the symbols. Bad input (unknown strategy, a parameter out of range,
an empty date range, no data, a data root that cannot be written) gets one line naming what is
wrong and exit code 2, before anything runs.
"""

from __future__ import annotations

import argparse
from typing import Any


class _StrategyAction(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, ns: argparse.Namespace, values: Any,
                 option: str | None = None) -> None:
        ns.strategies = [*(ns.strategies or []), {"name": values, "params": []}]


class _PerStrategyAction(argparse.Action):
    """An option that belongs to the --strategy before it (--param repeats, --weight and --id once)."""

    def __call__(self, parser: argparse.ArgumentParser, ns: argparse.Namespace, values: Any,
                 option: str | None = None) -> None:
        if not ns.strategies:
            parser.error(f"{option} must follow the --strategy it belongs to")
        entry = ns.strategies[-1]
        if self.dest == "params":
            entry["params"].append(values)
        elif self.dest in entry:
            parser.error(f"{option} is given twice for --strategy {entry['name']}")
        else:
            entry[self.dest] = values


def add_parser(sub: Any) -> None:
    """Register the command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "backtest", help="backtest strategies on the lake's ticks",
        description="Replay trades (and funding) from the lake through the strategies, netted into one "
        "portfolio, on the simulated venue; print each strategy, the portfolio and buy-and-hold.",
    )
    p.add_argument("--strategy", action=_StrategyAction, dest="strategies", required=True, metavar="NAME[@SYMBOL]",
                   help="a registered strategy (repeat for a portfolio; @SYMBOL picks one of the --symbol "
                        "values, default the first); `okxbot strategies` lists them")
    p.add_argument("--param", action=_PerStrategyAction, dest="params", metavar="K=V",
                   help="a parameter of the preceding --strategy")
    p.add_argument("--weight", action=_PerStrategyAction, dest="weight", type=float, metavar="W",
                   help="the preceding --strategy's share of --capital, in (0, 1] (default: equal shares "
                        "of what the weighted ones leave)")
    p.add_argument("--id", action=_PerStrategyAction, dest="id", metavar="NAME",
                   help="name the preceding --strategy's instance (its series in the results)")
    p.add_argument("--symbol", required=True, action="append", dest="symbols", metavar="SYMBOL",
                   help="ccxt symbol, e.g. ETH/USDT:USDT (repeat to replay several symbols together)")
    p.add_argument("--start", default=None, help="UTC start (ISO date or time; default: the first data)")
    p.add_argument("--end", default=None, help="UTC end, exclusive (default: just after the last data)")
    p.add_argument("--venue", default=None, help="lake venue to read (default: the one holding the symbol)")
    p.add_argument("--fill-model", choices=("touch", "walk"), default="touch", help="market fill model")
    p.add_argument("--latency-ms", type=float, default=0.0, help="order latency in ms (default 0)")
    p.add_argument("--queue-ahead", type=float, default=0.0,
                   help="base size ahead of our limit orders (USD on an inverse perpetual)")
    p.add_argument("--quote-staleness-ms", type=float, default=1000.0, metavar="MS",
                   help="a quote older than this is no book at an order's arrival (default 1000)")
    p.add_argument("--taker-fee", type=float, default=None, help="override the taker fee (fraction)")
    p.add_argument("--maker-fee", type=float, default=None, help="override the maker fee (fraction)")
    p.add_argument("--capital", default="10000", metavar="AMOUNT[CCY]",
                   help="the account's capital, in USDT or the currency named after it (0.5BTC); the strategies "
                        "share it by --weight, each converted at the start into its symbol's currency "
                        "(default 10000 USDT)")
    p.add_argument("--warn-leverage", type=float, default=1.5, metavar="X",
                   help="warn when gross exposure passes X times equity (default 1.5)")
    p.add_argument("--no-warmup", action="store_true", help="do not load history before --start")
    p.add_argument("--no-save", action="store_true", help="do not store the run in <data-root>/okxbot.duckdb")
    p.add_argument("--report", default=None, metavar="PATH", help="also write the HTML report here")
    p.add_argument("--wide", action="store_true", help="print every column of the summary (default: fit 100)")
    p.set_defaults(func=run, strategies=None)


def run(args: argparse.Namespace) -> int:
    """Build the configuration, run, print the summary, store the run."""
    import sys
    from pathlib import Path

    from engine.backtest.run import run_backtest
    from engine.results.summary import summary_table

    cfg = config_from_args(args)
    if args.report:
        _check_report_path(Path(args.report))
    if not args.no_save:
        from engine.results.runs import ensure_writable

        ensure_writable(args.data_root)  # before the replay, not after it
    result = run_backtest(cfg, args.data_root)
    print(summary_table(result, wide=args.wide))
    for warning in result.config.get("warnings", []):
        print(f"okxbot: warning: {warning}", file=sys.stderr)
    if not args.no_save:
        from engine.results.runs import save_run

        save_run(args.data_root, result)
        print(f"run {result.run_id} saved in {Path(args.data_root) / 'okxbot.duckdb'}")
    if args.report:
        from engine.results.report import write_html

        print(f"report: {write_html(result, Path(args.report))}")
    return 0


def _check_report_path(path: Any) -> None:
    """Refuse, before the replay, a report path that cannot be written: a folder, or a file whose
    folder's parent does not exist (the folder itself is created)."""
    from engine.model.errors import UserError

    if path.is_dir():
        raise UserError(f"--report {path} is a folder; give a file name such as {path / 'report.html'}")
    if not path.parent.exists() and not path.parent.parent.is_dir():
        raise UserError(f"--report {path}: its folder {path.parent} cannot be created ({path.parent.parent} "
                        "does not exist)")


def config_from_args(args: argparse.Namespace) -> Any:
    """The BacktestConfig the arguments describe (validated; UserError naming what is wrong)."""
    from engine.backtest.config import BacktestConfig, StrategySpec
    from engine.backtest.data import data_span
    from engine.model.errors import UserError
    from engine.model.time import to_ns
    from engine.store.lake import Lake
    from engine.strategies.catalog import parse_params
    from engine.venues.sim import SimConfig

    specs: list[StrategySpec] = []
    names = [s["name"] for s in args.strategies]
    for entry in args.strategies:
        name, _, symbol = entry["name"].partition("@")
        if symbol and symbol not in args.symbols:
            raise UserError(f"--strategy {entry['name']}: {symbol} is not one of the --symbol values")
        n = names.count(entry["name"])
        sid = entry.get("id") or (name if n == 1 else f"{name}{len(specs) + 1}")
        specs.append(StrategySpec(name, parse_params(entry["params"]), sid, symbol, entry.get("weight")))
    for flag, value in (("--latency-ms", args.latency_ms), ("--queue-ahead", args.queue_ahead)):
        if not value >= 0:
            raise UserError(f"{flag} {value:g} must be >= 0")
    if not args.quote_staleness_ms > 0:
        raise UserError(f"--quote-staleness-ms {args.quote_staleness_ms:g} must be > 0")
    capital, currency = parse_capital(args.capital)
    lake = Lake.at(args.data_root)
    venue = args.venue or _venue_of(lake, args.symbols)
    symbols = list(dict.fromkeys(args.symbols))
    first, last = data_span(lake, venue, symbols) if args.start is None or args.end is None else (0, 0)
    return BacktestConfig(
        strategies=tuple(specs), symbols=tuple(symbols),
        start=first if args.start is None else to_ns(args.start, "--start"),
        end=last if args.end is None else to_ns(args.end, "--end"), venue=venue,
        sim=SimConfig(args.fill_model, round(args.latency_ms * 1_000_000), args.queue_ahead,
                      args.maker_fee, args.taker_fee, round(args.quote_staleness_ms * 1_000_000)),
        capital=capital, capital_currency=currency, warn_leverage=args.warn_leverage,
        warmup=not args.no_warmup, progress=True,
    )


def parse_capital(text: str) -> tuple[float, str]:
    """`--capital`: an amount, then optionally a currency (10000, 10000USDT, 0.5 BTC); USDT by default."""
    import math
    import re

    from engine.model.errors import UserError

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z][A-Za-z0-9]+)?\s*", text)
    amount = float(m.group(1)) if m else math.nan
    if not (m and math.isfinite(amount) and amount > 0):
        raise UserError(f"--capital {text!r} must be a positive amount, optionally followed by a currency "
                        "(10000, 0.5BTC)")
    return amount, (m.group(2) or "USDT").upper()


def _venue_of(lake: Any, symbols: list[str]) -> str:
    """The one venue holding data of all the symbols (UserError naming the symbol otherwise)."""
    from engine.model.errors import DataError
    from engine.model.types import parse_symbol

    common: set[str] | None = None
    for symbol in symbols:
        parse_symbol(symbol)
        venues = set(lake.venues("trades", symbol) or lake.venues("bars", symbol))
        if not venues:
            raise DataError(f"no trades or bars for {symbol} in the lake at {lake.root} (see `okxbot data ls`)")
        common = venues if common is None else common & venues
    if common is not None and len(common) == 1:
        return next(iter(common))
    held = ", ".join(sorted(common or ())) or "none in common"
    raise DataError(f"{', '.join(symbols)}: pick the venue with --venue (venues: {held})")
