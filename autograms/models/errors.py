"""Exceptions of the model layer.

    ModelError                      base of everything below
    ├── ModelConfigError            no usable endpoint, key or tokenizer for a call
    ├── ModelCallError              the server failed (after retries) or refused the request
    ├── StructuredOutputError       the model's output did not match the schema after a repair
    └── DecisionError               the model did not pick one of the offered answers

Every error carries the `ModelCall` records of the requests it made (``calls``), so callers can
still log the tokens spent.
"""

from __future__ import annotations

import copyreg

from collections.abc import Sequence
from typing import Any


class ModelError(Exception):
    """Base class of the model layer's errors."""

    def __reduce__(self) -> tuple:
        # Rebuild without calling __init__ (whose arguments .args does not hold), so an
        # instance kept in a paused program's locals survives a session round trip.
        return (copyreg.__newobj__, (type(self),), {**self.__dict__, "args": self.args})

    calls: tuple[Any, ...] = ()


class ModelConfigError(ModelError):
    """A model call cannot be made with the current configuration."""

    def __init__(self, setting: str, message: str) -> None:
        #: the configuration field or environment variable to set
        self.setting = setting
        super().__init__(message)


class ModelCallError(ModelError):
    """The server did not give a usable answer."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status_code: int | None = None,
        attempts: int = 1,
        transient: bool = False,
    ) -> None:
        #: base URL of the server that failed
        self.endpoint = endpoint
        #: HTTP status of the last failure, or None for timeouts and connection errors
        self.status_code = status_code
        #: number of HTTP requests sent
        self.attempts = attempts
        #: True if the last failure was of a kind that is normally retried
        self.transient = transient
        super().__init__(message)


class StructuredOutputError(ModelError):
    """The model's output could not be parsed or validated against the schema."""

    def __init__(self, schema_name: str, output: str, reason: str, calls: Sequence[Any]) -> None:
        #: name of the schema that was asked for
        self.schema_name = schema_name
        #: the last raw output of the model
        self.output = output
        #: why the output was refused (parse error or first validation error)
        self.reason = reason
        self.calls = tuple(calls)
        super().__init__(
            f"model output does not match schema {schema_name!r}: {reason}; "
            f"output was {output[:200]!r}"
        )


class DecisionError(ModelError):
    """The model did not choose one of the offered answers."""

    def __init__(
        self, question: str, choices: Sequence[str], output: str, reason: str, calls: Sequence[Any]
    ) -> None:
        #: the question that was asked
        self.question = question
        #: the answers that were offered
        self.choices = tuple(choices)
        #: the model's last raw output
        self.output = output
        #: why no answer could be read from it
        self.reason = reason
        self.calls = tuple(calls)
        super().__init__(
            f"model made no decision for {question[:80]!r}: {reason}; "
            f"output was {output[:200]!r}, choices {list(self.choices)!r}"
        )
