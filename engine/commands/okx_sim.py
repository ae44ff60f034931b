"""`okxbot okx-sim [--port N] [--rest-port N] [--from-lake SYMBOL..] [--speed X]`: a local OKX on
loopback: its v5 WebSocket (engine.venues.okx.sim_ws) and the public REST paths ccxt calls for market
data (engine.venues.okx.sim_rest), both from the lake."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.venues.okx.sim_rest import SimRest
    from engine.venues.okx.sim_ws import OkxWsSim

DEFAULT_PORT = 8765
DEFAULT_REST_PORT = 8766


def add_parser(sub: Any) -> None:
    """Register `okx-sim`."""
    p = sub.add_parser("okx-sim", help="serve a local OKX simulator (v5 WebSocket and REST) replaying the lake",
                       description="Serve OKX's v5 public and business WebSocket endpoints on 127.0.0.1: "
                                   "subscribe acks and errors, ping/pong, the idle drop, and the lake's okx trades "
                                   "(and quotes) of each --from-lake symbol replayed as OKX pushes. Point the feed "
                                   "at it with OKXBOT_OKX_WS_URL=ws://127.0.0.1:PORT/ws/v5/public. Beside it, on "
                                   "--rest-port, the public REST paths ccxt's okx client calls for market data.")
    p.add_argument("--port", default=str(DEFAULT_PORT), help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free)")
    p.add_argument("--rest-port", default=str(DEFAULT_REST_PORT),
                   help=f"port of the REST side on 127.0.0.1 (default {DEFAULT_REST_PORT}; 0: any free); "
                        "point ccxt at it with urls={'api': {'rest': 'http://127.0.0.1:PORT'}}")
    p.add_argument("--from-lake", nargs="+", default=[], metavar="SYMBOL",
                   help="replay the lake's okx trades of these ccxt symbols (BTC/USDT, BTC/USDT:USDT)")
    p.add_argument("--speed", default="1", help="replay speed, times real time (default 1; 0: as fast as possible)")
    p.add_argument("--idle-timeout", default="30", help="close a connection silent this many seconds (default 30)")
    p.set_defaults(func=run)


def build_sim(args: argparse.Namespace) -> OkxWsSim:
    """The simulator the arguments ask for (not yet listening); a UserError for bad input."""
    from engine.commands import number
    from engine.live.tape import tape_from_lake
    from engine.model.errors import UserError
    from engine.store.lake import Lake, refuse_files
    from engine.venues.okx.sim_ws import OkxWsSim, SimConfig, Tape

    port = number(args.port, "--port", int)
    if not 0 <= port <= 65535:
        raise UserError(f"--port {args.port} must be between 0 and 65535")
    speed = number(args.speed, "--speed", float)
    idle = number(args.idle_timeout, "--idle-timeout", float)
    if not (0 <= speed < float("inf") and 0 < idle < float("inf")):
        raise UserError(f"--speed must be 0 or more and --idle-timeout above 0, not {args.speed} and "
                        f"{args.idle_timeout}")
    tape = Tape()
    if args.from_lake:
        lake = Lake.at(args.data_root)
        refuse_files(lake.root.parent)
        tape = tape_from_lake(lake, args.from_lake)
    return OkxWsSim(SimConfig(port=port, speed=speed, idle_timeout=idle), tape)


def build_rest(args: argparse.Namespace) -> tuple[SimRest, int]:
    """The REST side for the --from-lake symbols and its port (not yet listening)."""
    from engine.commands import number
    from engine.model.errors import UserError
    from engine.store.lake import Lake
    from engine.venues.okx.sim_rest import SimRest

    port = number(args.rest_port, "--rest-port", int)
    if not 0 <= port <= 65535:
        raise UserError(f"--rest-port {args.rest_port} must be between 0 and 65535")
    return SimRest(Lake.at(args.data_root), list(args.from_lake)), port


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    import asyncio

    sim = build_sim(args)
    asyncio.run(serve(sim, build_rest(args)))
    return 0


async def serve(sim: OkxWsSim, rest: tuple[SimRest, int] | None = None) -> None:
    """Listen (the WebSocket side, and the REST side when given) and print where, until cancelled."""
    import asyncio

    from engine.model.errors import UserError
    from engine.venues.okx.channels import BUSINESS_PATH, PUBLIC_PATH

    try:
        await sim.start()
    except OSError as exc:
        raise UserError(f"cannot listen on 127.0.0.1:{sim.config.port}: {exc.strerror or exc}") from exc
    rest_url = ""
    try:
        if rest is not None:
            try:
                rest_url = rest[0].start("127.0.0.1", rest[1])
            except OSError as exc:
                raise UserError(f"cannot listen on 127.0.0.1:{rest[1]} (--rest-port): "
                                f"{exc.strerror or exc}") from exc
        symbols = ", ".join(sorted(sim.tape.instruments())) or "no trades (no --from-lake)"
        where = f" and REST at {rest_url}" if rest_url else ""
        print(f"okx-sim: {sim.url(PUBLIC_PATH)} and {sim.url(BUSINESS_PATH)}{where}, replaying {symbols} "
              f"at speed {sim.config.speed:g}; Ctrl-C stops", flush=True)
        await asyncio.Event().wait()
    finally:
        if rest_url:
            rest[0].stop()  # type: ignore[index]
        await sim.stop()

