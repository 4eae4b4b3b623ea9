"""Bounded memos: dicts of results the engine would otherwise recompute, started afresh when
full.

The engine keeps small pure results in plain dicts keyed by content or by code identity
(checked headers, where a code object is found, fingerprints, built capture code). Clearing
a full dict whole costs nothing per hit, where an LRU would pay on every one; the misses
after a clear refill it with what is in use.
"""

from __future__ import annotations

from typing import Any


def remember(memo: dict, key: Any, value: Any, capacity: int) -> None:
    """Keep ``memo[key] = value``, emptying `memo` first if it holds `capacity` entries."""
    if len(memo) >= capacity:
        memo.clear()
    memo[key] = value
