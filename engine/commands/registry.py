"""`okxbot promote SPEC` and `okxbot registry list | show ID | retire ID` (README "Promotion")."""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.commands import help_when_bare


def add_parser(sub: Any) -> None:
    """Register `promote` and `registry`."""
    p = sub.add_parser("promote", help="validate a study's trial and, when its gate passes, register it",
                       description="Run the validation notebook (papermill) for a study's trial (default: its best) "
                                   "and, only when every gate threshold passes and the strategy's code is the code "
                                   "validated, write its entry into <data-root>/registry.json.")
    p.add_argument("spec", metavar="SPEC", help="the study's spec file, or NAME for research/studies/NAME.toml")
    p.add_argument("--trial", default=None, metavar="N", help="the trial to promote (default: the best)")
    p.add_argument("--mode", action="append", default=None, choices=("paper", "live"),
                   help="allowed mode (repeat for both; default paper)")
    p.add_argument("--storage", default=None, metavar="URL", help="a database URL (default: the journal)")
    p.set_defaults(func=run_promote)

    r = sub.add_parser("registry", help="the promoted strategies: list, show, retire")
    inner = r.add_subparsers(dest="registry_command", metavar="SUBCOMMAND")
    inner.add_parser("list", help="every entry").set_defaults(func=run_list)
    show = inner.add_parser("show", help="one entry, in full")
    show.add_argument("entry", metavar="ID", help="an entry id, STUDY/TRIAL")
    show.set_defaults(func=run_show)
    ret = inner.add_parser("retire", help="retire an entry (the live runner stops trading it)")
    ret.add_argument("entry", metavar="ID", help="an entry id, STUDY/TRIAL")
    ret.set_defaults(func=run_retire)

    help_when_bare(r)


def run_promote(args: argparse.Namespace) -> int:
    from engine.commands.study import spec_path
    from engine.model.errors import UserError
    from engine.research.promote import promote
    from engine.research.spec import load_spec

    if args.trial is not None and not args.trial.isdigit():
        raise UserError(f"--trial {args.trial!r} must be a trial number (0, 1, ...)")
    spec = load_spec(spec_path(args.spec))
    entry, written = promote(spec, args.data_root, None if args.trial is None else int(args.trial), args.storage,
                             tuple(dict.fromkeys(args.mode or ["paper"])))
    verb = "promoted" if written else "already promoted, unchanged:"
    print(f"{verb} {entry['id']} ({entry['strategy']}, modes {', '.join(entry['modes'])}) into "
          f"{args.data_root}/registry.json")
    print(json.dumps({k: entry[k] for k in ("params", "symbols", "source_hash", "report")}, indent=2))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from engine.research.registry import read_registry

    entries = read_registry(args.data_root)["entries"]
    if not entries:
        print("the registry is empty (okxbot promote SPEC)")
        return 0
    print(f"{'id':<24} {'strategy':<18} {'status':<8} {'modes':<11} promoted at")
    for e in entries:
        print(f"{e['id'][:24]:<24} {e['strategy'][:18]:<18} {e['status']:<8} {','.join(e['modes']):<11} "
              f"{e['promoted_at']}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from engine.research.registry import entry_text

    print(entry_text(args.data_root, args.entry))
    return 0


def run_retire(args: argparse.Namespace) -> int:
    from engine.research.registry import retire

    entry = retire(args.data_root, args.entry)
    print(f"{entry['id']}: retired at {entry['retired_at']}")
    return 0
