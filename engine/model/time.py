"""Time: int64 nanoseconds UTC, bar intervals, and ISO-8601 text."""

from __future__ import annotations

from engine.model.errors import UserError

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_DAY = 86_400 * NS_PER_S

_UNIT_NS = {"s": NS_PER_S, "m": NS_PER_MIN, "h": 60 * NS_PER_MIN, "d": NS_PER_DAY}


def interval_ns(interval: str) -> int:
    """Length of a bar interval such as '1s', '5m', '4h' or '1d', in ns (1 s to 1 d)."""
    unit = interval[-1:]
    count = interval[:-1]
    if unit not in _UNIT_NS or not count.isdigit() or int(count) <= 0:
        raise UserError(f"interval {interval!r} is not like '1s', '1m', '4h' or '1d'")
    ns = int(count) * _UNIT_NS[unit]
    if not NS_PER_S <= ns <= NS_PER_DAY:
        raise UserError(f"interval {interval!r} is outside 1s..1d")
    return ns


def to_ns(value: object, field: str = "time") -> int:
    """Parse a time (int ns, ISO-8601 string or date; naive means UTC) into int64 ns UTC."""
    from datetime import UTC, date, datetime

    if isinstance(value, bool):
        raise UserError(f"{field} {value!r} is not a time")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp()) * NS_PER_S + dt.microsecond * 1000
    if isinstance(value, date):
        return to_ns(datetime(value.year, value.month, value.day, tzinfo=UTC), field)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            return to_ns(datetime.fromisoformat(text), field)
        except ValueError:
            pass
    raise UserError(f"{field} {value!r} is not an ISO date or time like 2024-01-01 or 2024-01-01T12:00")


def ns_to_iso(ns: int) -> str:
    """ISO-8601 UTC text of an int64 ns time (to the millisecond)."""
    from datetime import UTC, datetime

    dt = datetime.fromtimestamp(ns // NS_PER_S, tz=UTC)
    ms = (ns % NS_PER_S) // NS_PER_MS
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{ms:03d}" if ms else "") + "Z"
