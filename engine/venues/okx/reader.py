"""Read a stream of OKX WebSocket messages: parse each, keep the `books` books, count what went wrong.

No I/O but a log line: the live feed hands every message in with its receive time and gets the
events back, plus the (channel, instId) pairs whose book broke and must be resubscribed. A
malformed message is counted by (channel, reason) and logged once per pair at WARNING (later
ones at DEBUG), never raised; market data carries no secrets, and only the reason is logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.venues.okx.book import L2Book
from engine.venues.okx.formats import Contract, default_contract, symbol_of
from engine.venues.okx.pushes import Event, Kind, Push, parse_push

log = logging.getLogger("okxbot.okx")


@dataclass(slots=True)
class ParseStats:
    """Counts of a stream: messages by kind; by (channel, reason) what was malformed or skipped; by
    (instId, reason) the `books` breaks."""

    kinds: Counter[str] = field(default_factory=Counter)
    malformed: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    book_breaks: Counter[tuple[str, str]] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Read:
    """One message read: the push, its events (with the `books` book's quote), books to resubscribe."""

    push: Push
    events: tuple[Event, ...]
    resubscribe: tuple[tuple[str, str], ...] = ()


class PushReader:
    """Parse messages in arrival order; `verify_checksum=False` skips the (non-zero) book checksum."""

    def __init__(self, contracts: Mapping[str, Contract] | None = None, verify_checksum: bool = True) -> None:
        self.contracts = dict(contracts or {})
        self.verify_checksum = verify_checksum
        self.stats = ParseStats()
        self.books: dict[str, L2Book] = {}

    def read(self, message: Any, ts_recv: int) -> Read:
        """Parse one message (text or decoded JSON) received at `ts_recv` ns. Never raises."""
        push = parse_push(message, ts_recv, self.contracts)
        self._count(push)
        if push.channel != "books" or not push.books:
            return Read(push, push.events)
        events = list(push.events)
        broken: list[tuple[str, str]] = []
        for update in push.books:
            book = self.books.setdefault(update.inst_id, L2Book(update.inst_id, self.verify_checksum))
            problem = book.apply(update)
            if problem:
                self._book_break(update.inst_id, problem)
                broken.append(("books", update.inst_id))
            else:
                events.append(book.quote(symbol_of(update.inst_id), ts_recv, self._contract(update.inst_id)))
        return Read(push, tuple(events), tuple(dict.fromkeys(broken)))

    def _contract(self, inst: str) -> Contract:
        # parse_push has already refused a book whose contract size is unknown
        contract = self.contracts.get(inst) or default_contract(inst)
        assert contract is not None
        return contract

    def _count(self, push: Push) -> None:
        self.stats.kinds[push.kind] += 1
        for reason in push.skipped:
            self.stats.skipped[push.channel, reason] += 1
        if push.kind is Kind.MALFORMED:
            key = (push.channel or "?", push.reason)
            self.stats.malformed[key] += 1
            level = logging.WARNING if self.stats.malformed[key] == 1 else logging.DEBUG
            log.log(level, "okx: malformed %s message (%s), dropped; %d so far",
                    key[0], key[1], self.stats.malformed[key])
        elif push.kind is Kind.ERROR:
            log.warning("okx: error event on %s: %s", push.channel or "?", push.reason)

    def _book_break(self, inst: str, problem: str) -> None:
        self.stats.book_breaks[inst, problem.split(":", 1)[0]] += 1
        log.warning("okx: books %s is stale (%s); resubscribe", inst, problem)
