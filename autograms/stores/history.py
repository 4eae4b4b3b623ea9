"""The history digest: one value on a session's row that says which messages and replies its
committed turns hold, so that a caller holding a conversation (an OpenAI client resends it
with every request) can tell whether it is the session's without reading a turn row.

The digest folds SHA-256 over the conversation as a client holds it after each turn: the
user's message, then the reply unless it is empty (a turn where the program returned), each
text with surrounding whitespace removed::

    digest(0 turns) = ""
    digest after a message (role, text) = SHA-256(previous + "\\n" + JSON [role, text]) (hex)

`TurnRunner` maintains it in each commit (`SessionRecord.history_digest`); in a signed store
the session's seal binds it. A row written before schema 4 has none (None) until its next
turn, which computes it from the turn rows. An imported session starts from the digest of the
conversation its log holds (`of_log`), so that a client holding that conversation continues it.

`shown` is the one filter between AutoGRAMS' conversation history and the one a store and the
service show (the native ``/sessions`` history, the chat page).
"""

from __future__ import annotations

import hashlib
from json.encoder import encode_basestring
from collections.abc import Iterable
from typing import Any

from .records import TurnRecord

#: the digest of a session with no turns
EMPTY_DIGEST = ""


def turn_messages(user_text: str, reply: str | None) -> list[tuple[str, str]]:
    """The (role, text) messages a client holds for one turn: the user's message, then the
    reply unless it is empty, each stripped of surrounding whitespace."""
    messages = [("user", user_text.strip())]
    answer = (reply or "").strip()
    if answer:
        messages.append(("assistant", answer))
    return messages


def extend(digest: str, messages: Iterable[tuple[str, str]]) -> str:
    """The digest after `messages` ((role, text), oldest first) follow the ones of `digest`."""
    current = digest
    for role, text in messages:
        step = f"{current}\n[{_json_string(role)}, {_json_string(text)}]"
        current = hashlib.sha256(step.encode()).hexdigest()
    return current


#: a string as ``json.dumps(..., ensure_ascii=False)`` writes it: the pair above is that of
#: ``[role, text]``, made without a JSONEncoder per call (6x faster; a request's whole history
#: is digested before its turn runs)
_json_string = encode_basestring


def of_messages(messages: Iterable[tuple[str, str]]) -> str:
    """The digest of a whole conversation ((role, text) of its user and assistant messages,
    oldest first, stripped as `turn_messages` strips them)."""
    return extend(EMPTY_DIGEST, messages)


def after_turn(digest: str, user_text: str, reply: str | None) -> str:
    """The digest once a turn with `user_text` and `reply` follows the ones of `digest`."""
    return extend(digest, turn_messages(user_text, reply))


def of_turns(turns: Iterable[TurnRecord]) -> str:
    """The digest of committed `turns`, oldest first."""
    digest = EMPTY_DIGEST
    for turn in turns:
        digest = after_turn(digest, turn.user_text, turn.reply)
    return digest


def of_log(entries: Iterable[dict[str, Any]]) -> str:
    """The digest of the conversation log `entries` hold (an imported session's, whose
    turns ran before it had turn rows): each user message, even empty, and each non-empty
    reply, as a client that saw those turns holds them."""
    messages = []
    for entry in entries:
        kind = entry.get("entry_type") if isinstance(entry, dict) else None
        if kind == "user_reply":
            messages.append(("user", (entry.get("user_reply") or "").strip()))
        elif kind == "agent_reply" and (entry.get("reply") or "").strip():
            messages.append(("assistant", entry["reply"].strip()))
    return of_messages(messages)


def shown(history: list[dict[str, str]]) -> list[dict[str, str]]:
    """A session's conversation as a store and the service show it: AutoGRAMS'
    ``extract_full_conv_history()`` without the empty user message that started the program
    (a client never sent it; a chat starts with the bot's greeting)."""
    if history and history[0]["role"] == "user" and not history[0]["content"]:
        return history[1:]
    return history
