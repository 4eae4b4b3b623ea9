"""Token accounting: reads the API usage field, or estimates it when a server sends none."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .records import ChatRequest, ModelCall
from .tokens import TokenCounter, count_messages, message_text

#: request parameters copied into a ModelCall's request summary
SUMMARY_PARAMS = (
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "seed",
    "stop",
    "logprobs",
    "top_logprobs",
)


@dataclass(frozen=True)
class UsageCounts:
    """Token counts of one call."""

    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    estimated: bool
    #: the usage object's other fields, as plain data (None: none)
    details: Mapping[str, Any] | None = None


def usage_counts(
    usage: Any, messages: Sequence[Mapping[str, Any]], output: str, counter: TokenCounter
) -> UsageCounts:
    """Counts from the response's ``usage`` object, or local estimates if it is missing."""
    prompt = getattr(usage, "prompt_tokens", None)
    if prompt is None:
        return UsageCounts(count_messages(messages, counter), counter.count(output), None, True)
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    return UsageCounts(prompt, completion, cached, False, _other_fields(usage))


#: the usage fields a ModelCall holds as its own
_COUNTS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})


def _other_fields(usage: Any) -> dict[str, Any] | None:
    """The fields of the SDK's usage object other than the counts, as plain data (AutoGRAMS
    logged the whole object: reasoning and audio tokens, and any a server adds)."""
    to_dict = getattr(usage, "to_dict", None)
    if not callable(to_dict):
        return None
    try:
        fields = to_dict()
    except Exception:  # noqa: BLE001 - an odd usage object: its counts are enough
        return None
    other = {key: value for key, value in fields.items() if key not in _COUNTS}
    return other or None


def request_summary(request: ChatRequest) -> dict[str, Any]:
    """Small description of a request for logs: no message text."""
    summary: dict[str, Any] = {
        "role": request.role,
        "messages": len(request.messages),
        "input_chars": sum(len(message_text(m)) for m in request.messages),
    }
    summary.update({k: request.params[k] for k in SUMMARY_PARAMS if k in request.params})
    if request.output is not None:
        summary["schema"] = request.output.name
    if request.choices:
        summary["choices"] = list(request.choices)
    return summary


def call_record(
    request: ChatRequest,
    counts: UsageCounts,
    *,
    model: str,
    endpoint: str,
    latency: float,
    attempts: int,
    output_mode: str | None,
    finish_reason: str | None,
    output: str,
) -> ModelCall:
    """The `ModelCall` of a finished chat request."""
    return ModelCall(
        kind=request.kind,
        model=model,
        endpoint=endpoint,
        prompt_tokens=counts.prompt_tokens,
        completion_tokens=counts.completion_tokens,
        cached_tokens=counts.cached_tokens,
        usage_estimated=counts.estimated,
        usage_details=counts.details,
        latency=latency,
        attempts=attempts,
        output_mode=output_mode,
        finish_reason=finish_reason,
        request=request_summary(request),
        output=output,
        sent=request,
    )
