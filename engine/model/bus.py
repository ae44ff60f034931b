"""A deterministic in-process event bus.

Handlers run in subscription order. An event published from inside a handler is queued and
dispatched after the current event's handlers have all run (breadth first), so the order of
effects never depends on recursion depth. A Redis transport can later carry the same events
between processes.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class EventBus:
    """Subscribe handlers to event types and publish events to them."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self._queue: deque[Any] = deque()
        self._dispatching = False
        self.published = 0

    def subscribe(self, event_type: type, handler: Handler) -> None:
        """Call `handler(event)` for every published event of exactly `event_type`."""
        self._handlers[event_type].append(handler)

    def publish(self, event: Any) -> None:
        """Queue `event`; dispatch it now unless a dispatch is already running."""
        self._queue.append(event)
        self.published += 1
        if self._dispatching:
            return
        self._dispatching = True
        try:
            while self._queue:
                item = self._queue.popleft()
                for handler in self._handlers.get(type(item), ()):
                    handler(item)
        finally:
            self._dispatching = False
            self._queue.clear()
