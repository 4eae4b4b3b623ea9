"""The recruiter example on the real local model (SmolLM2-135M), once per installed backend:
10 candidate messages, the session saved to a file and loaded by a new Autogram at every turn
(as a new process would). Part of ``make test-llm``.

What a 135M model says is not asserted; that every turn answers, that nothing raises, and that
the conversation moves on from the greeting to the interview questions is.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig
from autograms.examples import recruiter
from autograms.models.local_server import LocalModelServer

pytestmark = pytest.mark.llm

logger = logging.getLogger("autograms.tests.llm")

#: the first requests after a cold start can take tens of seconds on a busy 2-core machine
REQUEST_TIMEOUT = 300.0
CANDIDATE = [
    "Yes, I'm ready.",
    "I studied computer science at the University of Texas.",
    "Three years of Python, mostly Django and data pipelines.",
    "I like your products and the small team.",
    "I am hoping for 130,000 dollars a year.",  # above the budget: Daisy negotiates
    "No, I really need more than that.",
    "Yes, remote work would help a lot.",
    "Thanks, bye!",
    "Will I hear back this week?",
    "See you.",
]
SCREENING_LABELS = {
    "background",
    "salary",
    "salary_again",
    "negotiate",
    "benefits",
    "outcome",
    "closing",
}


def config_for(server: LocalModelServer) -> AutogramConfig:
    """The recruiter's config for a llama.cpp server: an OpenAI-compatible "proxy" endpoint."""
    return server.chat_config(
        request_timeout=REQUEST_TIMEOUT,
        chatbot_max_tries=2,
        chatbot_wait_per_try=1,
        classifier_wait_per_try=1,
    )


def test_recruiter_runs_ten_turns_with_save_and_load_every_turn(
    llm_server: LocalModelServer, tmp_path: Path
) -> None:
    config = config_for(llm_server)
    session = tmp_path / "recruiter.session"
    replies: list[str | None] = []
    addresses: list[str | None] = []
    timings: list[float] = []
    for message in [None, *CANDIDATE]:
        autogram = Autogram(root_function=recruiter.chatbot, autogram_config=config)
        memory = autogram.load(session) if session.exists() else None
        started = time.monotonic()
        text, memory = autogram.reply(message or "", memory_object=memory)
        timings.append(time.monotonic() - started)
        autogram.save(session, memory)
        replies.append(text)
        addresses.append(
            next(
                (
                    e.get("address")
                    for e in reversed(memory.model_turns)
                    if e.get("entry_type") == "agent_reply"
                ),
                None,
            )
        )
        logger.info(
            "%s turn %d (%.1f s) user=%r agent=%r",
            llm_server.backend.kind,
            len(replies) - 1,
            timings[-1],
            message,
            text,
        )
    logger.info(
        "%s: %d turns in %.1f s (slowest %.1f s)",
        llm_server.backend.kind,
        len(timings),
        sum(timings),
        max(timings),
    )

    assert replies[0] == recruiter.GREETING
    assert all(isinstance(text, str) and text.strip() for text in replies), replies
    assert SCREENING_LABELS & set(addresses), addresses
    assert any(recruiter.BACKGROUND_QUESTIONS[0] in text for text in replies), replies
    assert Autogram(root_function=recruiter.chatbot, autogram_config=config).load(session).is_paused
