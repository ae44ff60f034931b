"""The OKX REST client's retry waits."""

from __future__ import annotations

from engine.venues.okx.rest import RetryPolicy


def test_retry_policy_delay_doubles_up_to_cap() -> None:
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
