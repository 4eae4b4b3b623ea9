"""The conversation an OpenAI client sends, checked against the session it continues.

An OpenAI client resends the whole conversation with every request; the newest user message is
the turn's input. The rest must be what the session holds -- each committed turn's user message
and reply, in order -- or the request is not a continuation:

* **continue**: the history equals every committed turn: the newest message is the next turn;
* **repeat**: the history equals the first k turns and the newest message is turn k+1's (a
  client that did not get the reply, or retries): the stored reply of that turn is the answer,
  nothing runs;
* **mismatch**: anything else -- a client that edited or regenerated an earlier message, one
  that sends only the newest message of a session that has turns, one whose session was
  deleted: refused (409 ``history_mismatch``) naming the first message that differs by its
  index in the request's ``messages``. The
  service never guesses which branch the client wants and never forks the session.

Compared per message: the role, and the text with surrounding whitespace removed (the newest
message reaches the bot as sent, whitespace and all, as in the native API and plain Python).
System and developer messages are the client's own instructions and are ignored (the bot has
its own), as are empty assistant messages (the reply of a turn where the program returned).
Assistant messages before the first user message are the session's opening when the bot spoke
first (its first turn had an empty message, which `GET /v1/sessions/{id}` does not show, nor
does a chat UI; an imported session's conversation counts as such an opening too), and
otherwise a greeting the chat UI shows on its own, ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..stores import history as digests
from ..stores.records import SessionRecord, TurnRecord
from .errors import HTTPError, bad_request

#: roles that carry the client's own instructions, not the conversation
IGNORED_ROLES = frozenset({"system", "developer"})


@dataclass(frozen=True, slots=True)
class ChatInput:
    """What an OpenAI request asks: the conversation before, and the newest user message."""

    #: (role, text) of the user and assistant messages before the newest user message, each
    #: text without surrounding whitespace
    history: tuple[tuple[str, str], ...]
    #: the newest user message without surrounding whitespace (as it is compared)
    text: str
    #: the newest user message as sent: the turn's input
    message: str
    #: the index in the request's ``messages`` of each history message, then of the newest
    places: tuple[int, ...] = ()
    #: the (non-empty) assistant messages before the first user message, and their indexes
    greeting: tuple[str, ...] = ()
    greeting_places: tuple[int, ...] = ()

    @property
    def position(self) -> int:
        """The newest message's turn number (1 for the first turn)."""
        return sum(role == "user" for role, _ in self.history) + 1

    @property
    def derived_key(self) -> str:
        """The idempotency key of this turn when the client sends none: one per position, in
        another series when the request has a greeting (it counts as a turn in sessions where
        the bot spoke first, not in others: the two never share a key)."""
        series = "openai-greeted-turn" if self.greeting else "openai-turn"
        return f"{series}-{self.position}"

    def spoken_first(self) -> ChatInput:
        """This request with its greeting as the reply to an empty first message (a session
        where the bot spoke first); itself when it has no greeting."""
        if not self.greeting:
            return self
        opening = (("user", ""), *(("assistant", text) for text in self.greeting))
        return ChatInput(
            (*opening, *self.history),
            self.text,
            self.message,
            (self.greeting_places[0], *self.greeting_places, *self.places),
        )

    def digests(self) -> tuple[str, ...]:
        """The history digests this request's history may have: without its greeting, and,
        with one, where the bot spoke first."""
        plain = digests.of_messages(self.history)
        if not self.greeting:
            return (plain,)
        return plain, digests.of_messages(self.spoken_first().history)


@dataclass(frozen=True, slots=True)
class Match:
    """How a request relates to its session's turns."""

    #: the committed turn the request repeats (None: the request is the next turn)
    repeated: TurnRecord | None = None


def read_messages(messages: Any) -> ChatInput:
    """The conversation of an OpenAI ``messages`` list; 400 when it is not one."""
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list of messages", "invalid_messages")
    conversation = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise bad_request(f"messages[{index}] must be an object", "invalid_messages")
        role = message.get("role")
        if role in IGNORED_ROLES:
            continue
        if role not in ("user", "assistant"):
            raise bad_request(
                f"messages[{index}] has role {role!r}: this service takes user and assistant "
                "messages (system messages are ignored; it runs no tools)",
                "invalid_messages",
            )
        conversation.append((role, message_text(message.get("content"), index), index))
    if not conversation or conversation[-1][0] != "user":
        raise bad_request("the last message must be the user's", "invalid_messages")
    greeting = []
    while conversation and conversation[0][0] == "assistant":
        role, text, index = conversation.pop(0)
        greeting.append((role, text.strip(), index))
    greeting = [message for message in greeting if message[1]]
    kept = [message for message in conversation[:-1] if message[0] == "user" or message[1].strip()]
    kept.append(conversation[-1])
    return ChatInput(
        tuple((role, text.strip()) for role, text, _ in kept[:-1]),
        conversation[-1][1].strip(),
        conversation[-1][1],
        tuple(index for _, _, index in kept),
        tuple(text for _, text, _ in greeting),
        tuple(index for _, _, index in greeting),
    )


def message_text(content: Any, index: int) -> str:
    """The text of a message's content (a string, or a list of text parts), as sent."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise bad_request(
                    f"messages[{index}] has a content part that is not text: this service "
                    "takes text only",
                    "invalid_messages",
                )
            texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise bad_request(f"messages[{index}].content must be a string or a list of parts")


def continues(chat: ChatInput, session: SessionRecord) -> bool:
    """Whether `chat` is the next turn of `session`, told by the history digest on its row
    alone (no turn row read): its history is the session's whole conversation. False when it
    is not, or when the row has no digest yet (written before schema 4): `match_turns`, on
    the turns, then says what the request is."""
    return session.history_digest is not None and session.history_digest in chat.digests()


def repeats_latest(chat: ChatInput, session: SessionRecord, done: TurnRecord) -> bool:
    """Whether `chat` repeats `done`, the session's latest turn, told by the digest on its
    row (no turn row read): the conversation before it and its message are the turn's."""
    if session.history_digest is None or done.version != session.version:
        return False
    if done.user_text.strip() != chat.text:
        return False
    return any(
        digests.after_turn(before, done.user_text, done.reply) == session.history_digest
        for before in chat.digests()
    )


def match_turns(chat: ChatInput, turns: Sequence[TurnRecord], session_id: str) -> Match:
    """Whether `chat` continues or repeats the session's `turns`; 409 when it does neither."""
    if turns and not turns[0].user_text.strip():
        chat = chat.spoken_first()
    position = chat.position
    if position > len(turns) + 1:
        raise _mismatch(
            session_id,
            f"the request's history has {position - 1} user messages, the session only "
            f"{len(turns)} turns",
        )
    expected = transcript(turns[: position - 1])
    for index, (seen, wanted) in enumerate(zip(chat.history, expected, strict=False)):
        if seen != wanted:
            raise _mismatch(session_id, f"messages[{chat.places[index]}] ({seen[0]}) differs")
    if len(chat.history) < len(expected):
        raise _mismatch(
            session_id,
            f"the assistant's reply before messages[{chat.places[len(chat.history)]}] is missing",
        )
    if len(chat.history) > len(expected):
        raise _mismatch(
            session_id,
            f"messages[{chat.places[len(expected)]}] ({chat.history[len(expected)][0]}) is "
            "not in the session",
        )
    if position == len(turns) + 1:
        return Match()
    repeated = turns[position - 1]
    if repeated.user_text.strip() != chat.text:
        raise _mismatch(
            session_id,
            f"messages[{chat.places[-1]}] (user) differs from the session's turn {position}: "
            "earlier messages cannot be edited or regenerated",
        )
    return Match(repeated)


def transcript(turns: Sequence[TurnRecord]) -> list[tuple[str, str]]:
    """The (role, text) messages a client holds after `turns`."""
    messages = []
    for turn in turns:
        messages.append(("user", turn.user_text.strip()))
        reply = (turn.reply or "").strip()
        if reply:
            messages.append(("assistant", reply))
    return messages


def _mismatch(session_id: str, detail: str) -> HTTPError:
    return HTTPError(
        409,
        "history_mismatch",
        f"the conversation sent does not continue session {session_id!r}: {detail}; this "
        "service continues a conversation as it happened -- send the history it returned, or "
        "start a new conversation (another X-Session-Id or user)",
    )
