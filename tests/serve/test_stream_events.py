"""What a streamed response sends, generated: a turn thread writes pieces, restarts, the model's
"answering" marks (an empty piece) and a result at random moments (many arrive together when the event loop is behind), and the client must
end up with exactly the committed reply -- or with no end marker when the reply does not
continue what it was sent."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from autograms.serve.streaming import Answering, Diverged, Finished, Piece, TurnStream
from autograms.stores.records import TurnResult

CASES = 150
WORDS = ("Hel", "lo", " there", ",", " friend", "!", " ok", "é", "\n")


def _turn(rng: random.Random) -> tuple[list[tuple[str, str]], str]:
    """The calls a turn thread makes, and the reply the turn commits."""
    calls: list[tuple[str, str]] = []
    candidate = ""
    for _ in range(rng.randrange(0, 12)):
        draw = rng.random()
        if draw < 0.1:
            calls.append(("restart", ""))
            candidate = ""
        elif draw < 0.2:
            calls.append(("write", ""))  # the model has begun answering
        else:
            word = rng.choice(WORDS)
            calls.append(("write", word))
            candidate += word
    ending = rng.random()
    if ending < 0.7:
        reply = candidate  # the streamed answer is the reply
    elif ending < 0.85:
        reply = candidate + rng.choice(WORDS)  # a fixed text follows the model's
    else:
        reply = rng.choice(WORDS)  # the reply is another text (error_response, a rerun)
    return calls, reply


async def _received(calls: list[tuple[str, str]], reply: str, rng: random.Random) -> list:
    stream = TurnStream()
    pauses = [rng.random() < 0.3 for _ in calls]
    gate = threading.Event()

    def turn_thread() -> None:
        gate.wait(5)
        for (call, text), pause in zip(calls, pauses, strict=True):
            stream.restart() if call == "restart" else stream.write(text)
            if pause:
                threading.Event().wait(0.0005)
        stream.finish(TurnResult("s", reply, 1))

    thread = threading.Thread(target=turn_thread)
    thread.start()
    gate.set()
    try:
        return [event async for event in stream.events(ping_seconds=5)]
    finally:
        thread.join(5)


@pytest.mark.parametrize("seed", range(CASES))
def test_the_client_gets_the_committed_reply_or_no_end_marker(seed: int) -> None:
    rng = random.Random(seed)
    calls, reply = _turn(rng)
    events = asyncio.run(_received(calls, reply, rng))
    answering = [event for event in events if isinstance(event, Answering)]
    assert len(answering) <= 1
    if answering:  # first, and only once the model began (said so, or wrote and restarted)
        assert events[0] is answering[0] and any(call == "write" for call, _ in calls)
    *pieces, last = [event for event in events if not isinstance(event, Answering)]
    assert all(isinstance(piece, Piece) and piece.text for piece in pieces)
    sent = "".join(piece.text for piece in pieces)
    written = "".join(text for call, text in calls)
    if all(call == "write" for call, _ in calls) and reply.startswith(written):
        assert isinstance(last, Finished)  # nothing restarted: nothing can diverge
    if reply.startswith(sent):
        assert isinstance(last, Finished)
        assert sent + last.rest == reply
    else:
        assert isinstance(last, Diverged)
        assert last.result.reply == reply


def _sent(chunks: list[tuple[bytes, bool]]) -> tuple[list[dict], list[str]]:
    """The ASGI messages an EventStream of `chunks` sends, and what its generator did."""
    from autograms.serve.streaming import EventStream

    trace: list[str] = []

    async def body():
        try:
            for chunk in chunks:
                yield chunk
            trace.append("returned")
        finally:
            trace.append("finally")

    messages: list[dict] = []

    async def send(message: dict) -> None:
        messages.append(message)

    async def receive() -> dict:
        raise AssertionError("an event stream does not read the request")

    scope = {"type": "http", "asgi": {"spec_version": "2.3"}}
    asyncio.run(EventStream(body(), {"X-Session-Id": "s1"})(scope, receive, send))
    return messages, trace


def test_the_last_chunk_goes_out_with_the_end_of_the_body():
    messages, trace = _sent([(b"data: 1\n\n", True), (b"data: [DONE]\n\n", False)])
    start, *bodies = messages
    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert headers[b"x-session-id"] == b"s1"
    assert headers[b"cache-control"] == b"no-cache"
    assert [(m["body"], m["more_body"]) for m in bodies] == [
        (b"data: 1\n\n", True),
        (b"data: [DONE]\n\n", False),  # no empty message after it: one write
    ]
    assert trace == ["returned", "finally"]  # the generator ran to its end


def test_chunks_that_end_without_a_last_one_still_end_the_body():
    messages, trace = _sent([(b": ping\n\n", True)])
    assert [(m["body"], m["more_body"]) for m in messages[1:]] == [
        (b": ping\n\n", True),
        (b"", False),
    ]
    assert trace == ["returned", "finally"]


def _abandoning(calls: list[tuple[str, str]]) -> int:
    """How many of `calls`' restarts come after text written since the previous one."""
    count, written = 0, False
    for call, text in calls:
        if call == "write":
            written = written or bool(text)
        elif written:
            count, written = count + 1, False
    return count


@pytest.mark.parametrize("seed", range(40))
def test_a_restart_wakes_the_event_loop_only_when_it_abandons_written_text(seed: int) -> None:
    """Every streamed model call starts with a restart: one that abandons nothing must not
    wake the event loop while the turn thread sends the model its request."""
    rng = random.Random(seed)
    calls, reply = _turn(rng)
    calls.insert(0, ("restart", ""))  # as a streamed model call begins
    if rng.random() < 0.5:
        calls.insert(rng.randrange(len(calls)), ("restart", ""))  # back to back
    wakes = []

    async def received() -> list:
        loop = asyncio.get_running_loop()
        plain = loop.call_soon_threadsafe

        def counted(*args):  # noqa: ANN002, ANN202
            wakes.append(args)
            return plain(*args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        try:
            return await _received(calls, reply, rng)
        finally:
            del loop.call_soon_threadsafe

    events = asyncio.run(received())
    writes = sum(call == "write" for call, _ in calls)  # an empty one too
    assert len(wakes) == writes + _abandoning(calls) + 1  # the texts, the restarts, the end
    sent = "".join(event.text for event in events if isinstance(event, Piece))
    if reply.startswith(sent):
        assert sent + events[-1].rest == reply


@pytest.mark.parametrize("seed", range(40))
def test_answering_comes_first_and_once_when_the_model_begins_before_it_writes(seed: int):
    """The model's "answering" mark before its first piece is an Answering event, so that the
    response sends its status and headers while the model writes; it never comes twice nor
    after a piece, whatever arrives together (an attempt retried, the event loop behind)."""
    rng = random.Random(seed)
    words = [rng.choice(WORDS) for _ in range(rng.randrange(0, 5))]
    calls = [("restart", ""), ("write", "")]
    calls += [("write", word) for word in words]
    if rng.random() < 0.3:  # a retried attempt begins again
        calls += [("restart", ""), ("write", "")] + [("write", word) for word in words]
    reply = "".join(words)
    events = asyncio.run(_received(calls, reply, rng))
    answering = [index for index, event in enumerate(events) if isinstance(event, Answering)]
    assert answering in ([], [0])
    if len(events) > 1 and not isinstance(events[0], Piece):
        assert answering == [0]  # the mark came apart from the first piece
    assert isinstance(events[-1], Finished) and events[-1].result.reply == reply
