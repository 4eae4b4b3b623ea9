"""Exponential backoff on transient failures, stopping at the first success."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

logger = logging.getLogger("autograms")

T = TypeVar("T")

#: HTTP statuses worth retrying (plus every 5xx)
TRANSIENT_STATUSES = frozenset({408, 409, 429})


def is_transient_status(status: int | None) -> bool:
    """True for 408, 409, 429 and 5xx."""
    return status is not None and (status in TRANSIENT_STATUSES or 500 <= status <= 599)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one call."""

    #: total attempts, the first one included
    max_tries: int = 3
    #: seconds before the first retry; each further retry waits twice as long
    wait: float = 5.0
    #: upper bound of one wait, server hints included
    max_wait: float = 60.0
    #: fraction of random extra wait, so that many clients do not retry in lockstep
    jitter: float = 0.1

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        backoff = self.wait * 2 ** (retry - 1)
        backoff *= 1 + self.jitter * random.random()
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        return min(backoff, self.max_wait)


@dataclass(frozen=True)
class Failure:
    """How a failed attempt should be treated."""

    #: retry it (timeouts, connection errors, 408/409/429/5xx)
    transient: bool
    #: seconds the server asked to wait (Retry-After), if any
    retry_after: float | None = None


class RetriesExhausted(Exception):
    """Internal: the last attempt failed; carries the attempt count and the last error."""

    def __init__(self, error: BaseException, attempts: int, failure: Failure) -> None:
        self.error = error
        self.attempts = attempts
        self.failure = failure
        super().__init__(f"{attempts} attempts failed: {error}")


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    classify: Callable[[Exception], Failure | None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "model call",
) -> tuple[T, int]:
    """Call ``fn`` until it succeeds; returns (result, attempts).

    ``classify`` maps an exception to a `Failure`, or None if the exception is not a call
    failure at all (it then propagates unchanged). Non-transient failures and the last
    transient one raise `RetriesExhausted`.
    """
    attempt = 1
    while True:
        try:
            return fn(), attempt
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            if not failure.transient or attempt >= policy.max_tries:
                raise RetriesExhausted(exc, attempt, failure) from exc
            wait = policy.delay(attempt, failure.retry_after)
            logger.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.2f s",
                what,
                attempt,
                policy.max_tries,
                exc,
                wait,
            )
            sleep(wait)
            attempt += 1
