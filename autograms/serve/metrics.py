"""Prometheus metrics of a service, served at ``GET /metrics``.

Each app has its own registry (two apps in one process never mix their numbers). With several
worker processes (``autograms serve --workers N``) prometheus_client's multiprocess mode is on
(``PROMETHEUS_MULTIPROC_DIR``, set by the command): each process writes its numbers to that
folder and whichever worker answers ``/metrics`` sums them all.

===================================== ==========================================================
autograms_http_requests_total         requests by route, method and status
autograms_http_request_seconds        request duration by route (a stream: until its end)
autograms_turns_total                 turns by outcome: committed, replayed, failed
autograms_turn_errors_total           failed turns by error code (model_unavailable ...)
autograms_turn_seconds                from the request to the committed turn
autograms_time_to_first_token_seconds from a streamed request to its first piece of reply
autograms_model_calls_total           model calls made by turns (failed ones' too: billed)
autograms_model_tokens_total          their tokens, by kind: prompt, completion
autograms_streams_open                replies being streamed now
===================================== ==========================================================
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE

from ..stores.records import TokenUsage, TurnResult

__all__ = ["CONTENT_TYPE", "Metrics"]

#: latency buckets in seconds: a few ms (replayed turns) to minutes (slow models)
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The metrics of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        registry = self.registry
        self.requests = Counter(
            "autograms_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "autograms_http_request_seconds",
            "HTTP request duration (a streamed response: until its end)",
            ["route"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self.turns = Counter("autograms_turns", "turns by outcome", ["outcome"], registry=registry)
        self.turn_errors = Counter(
            "autograms_turn_errors", "failed turns by error code", ["code"], registry=registry
        )
        self.turn_seconds = Histogram(
            "autograms_turn_seconds",
            "time from the request to the committed turn",
            buckets=_BUCKETS,
            registry=registry,
        )
        self.first_token_seconds = Histogram(
            "autograms_time_to_first_token_seconds",
            "time from a streamed request to the first piece of its reply",
            buckets=_BUCKETS,
            registry=registry,
        )
        self.model_calls = Counter(
            "autograms_model_calls", "model calls made by turns", registry=registry
        )
        self.model_tokens = Counter(
            "autograms_model_tokens", "model tokens used by turns", ["kind"], registry=registry
        )
        self.streams_open = Gauge(
            "autograms_streams_open",
            "replies being streamed now",
            registry=registry,
            multiprocess_mode="livesum",
        )

        # the series every turn counts in, looked up once (a turn's end waits for none)
        self._committed = self.turns.labels("committed")
        self._replayed = self.turns.labels("replayed")
        self._prompt_tokens = self.model_tokens.labels("prompt")
        self._completion_tokens = self.model_tokens.labels("completion")

    def turn_done(self, result: TurnResult, seconds: float) -> None:
        """Count a committed or replayed turn and its model usage."""
        (self._replayed if result.replayed else self._committed).inc()
        self.turn_seconds.observe(seconds)
        if result.usage.calls:
            self.model_used(result.usage)

    def model_used(self, usage: TokenUsage) -> None:
        """Count model calls and their tokens: a committed turn's, or those of a run of a
        turn that was not committed (it failed, or lost its commit race), which the model's
        server billed all the same."""
        self.model_calls.inc(usage.calls)
        self._prompt_tokens.inc(usage.prompt_tokens)
        self._completion_tokens.inc(usage.completion_tokens)

    def turn_failed(self, code: str) -> None:
        self.turns.labels("failed").inc()
        self.turn_errors.labels(code).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes (every worker's numbers in multiprocess mode)."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return generate_latest(combined)
