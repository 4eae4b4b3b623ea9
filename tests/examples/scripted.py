"""Scripted models for the example tests: answers chosen from what the request asks and what
the user last said, so a conversation takes a known path (in any process, with no state)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from autograms.models import ChatRequest, ScriptedModel

_USER = re.compile(r"^User: (.*)$", re.M)

#: answers a request: the raw text (or dict) to send back, or None for the default answer
Rule = Callable[[ChatRequest, str], "str | dict[str, Any] | None"]


def user_said(request: ChatRequest) -> str:
    """The user's last message as the request shows it ("User: ..." lines)."""
    said = _USER.findall("\n".join(str(m.get("content", "")) for m in request.messages))
    return said[-1] if said else ""


def asked(request: ChatRequest) -> str:
    """The request's question or instruction: its latest message holding one (a repair
    request ends with the repair text, after the message it repairs)."""
    for message in reversed(request.messages):
        content = str(message.get("content", ""))
        if "QUESTION:" in content or "INSTRUCTION:" in content:
            return content
    return ""


def rules_model(
    rules: Mapping[str, Rule],
    *,
    chat: str = "Nice. More text follows.",
    log: list[ChatRequest] | None = None,
) -> ScriptedModel:
    """A model that answers a request with the first rule whose key occurs in what the request
    asks (`asked`); chat requests without a rule get `chat`. Every request is appended to
    `log`."""

    def handler(request: ChatRequest) -> str | dict[str, Any] | None:
        if log is not None:
            log.append(request)
        text = asked(request)
        for key, rule in rules.items():
            if key in text:
                answer = rule(request, user_said(request))
                if answer is not None:
                    return answer
        return chat if request.kind == "chat" else None

    return ScriptedModel(handler)


def yes_if(*words: str) -> Rule:
    """A yes/no rule: Yes when the user's message contains one of `words`, else No; a message
    containing "hmm" gets an answer that is no label at all (a DecisionError)."""

    def rule(request: ChatRequest, said: str) -> str | dict[str, Any]:
        lowered = said.lower()
        if "hmm" in lowered:
            return {"answer": "perhaps"}
        return {"answer": "Yes" if any(word in lowered for word in words) else "No"}

    return rule


def pick(label: str) -> Rule:
    """A multiple-choice rule that always answers `label` ("A", "B" ...)."""
    return lambda request, said: {"answer": label}
