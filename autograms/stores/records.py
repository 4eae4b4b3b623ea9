"""Plain records a store returns and the turn runner hands to its callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One row of the sessions table."""

    #: the session's id (chosen by the caller, or a random one)
    id: str
    #: who the session belongs to (tenant or API key id); None when not set
    owner: str | None
    #: the number of turns committed
    version: int
    #: seconds since the epoch when it was created
    created_at: float
    #: seconds since the epoch of its last committed turn (or its creation)
    updated_at: float
    #: the session as `Autogram.serialize` wrote it (None in listings)
    blob: str | None = None
    #: the program it belongs to, ``module:qualname`` of the root function (None: unknown)
    program: str | None = None
    #: in a signed store: the digest chain over its log rows (`integrity`); else None
    log_head: str | None = None
    #: in a signed store: the HMAC binding the row's blob to its program, id, owner, version,
    #: log_head and turns (`integrity`); else None
    seal: str | None = None
    #: the number of its turn rows (its version, less the deploys' rewrites); None for a row
    #: of schema 2 or older until its first turn under schema 3 (None in listings)
    turns: int | None = None
    #: the digest of its turns' messages and replies (`autograms.stores.history`); None for a
    #: row of schema 3 or older until its first turn under schema 4 (None in listings)
    history_digest: str | None = None


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One committed turn: its idempotency key, the user's message and the reply."""

    session_id: str
    idempotency_key: str
    #: the session version this turn produced (1 for the first turn)
    version: int
    user_text: str
    #: the program's reply; None when the program returned
    reply: str | None
    #: seconds since the epoch when it was committed
    created_at: float
    #: in a signed store: the HMAC binding the row's key, message and reply to its session and
    #: version (`integrity`); else None
    seal: str | None = None


@dataclass(frozen=True, slots=True)
class Ticket:
    """A turn's place in its session's queue: the queue's row is keyed by the session and
    the idempotency key; `number` orders the session's tickets (arrival order)."""

    session_id: str
    idempotency_key: str
    number: int


@dataclass(frozen=True, slots=True)
class Claim:
    """What a store says when a turn asks for its place in the session's queue."""

    #: the turn already committed with this idempotency key, if any
    done: TurnRecord | None = None
    #: the session as it is now (None when it does not exist)
    session: SessionRecord | None = None
    #: the turn's ticket in the session's queue (None when none was taken)
    ticket: Ticket | None = None
    #: whether no live ticket of the session is older than this one
    first: bool = False
    #: whether a live ticket with the same idempotency key exists (a turn running now)
    running: bool = False
    #: the session's committed turns, oldest first, read with the claim when it asked for
    #: them (`Store.claim`'s `turns`); else None
    turns: list[TurnRecord] | None = None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Model calls (of a session, or of one turn) and their tokens, summed from the log."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def of(cls, entries: list[dict[str, Any]]) -> TokenUsage:
        """The model calls among log `entries`, and their tokens (an entry a program
        appended may be no dict: it is no model call)."""
        calls = [e for e in entries if isinstance(e, dict) and e.get("entry_type") == "model"]
        return cls(
            len(calls),
            sum(entry.get("prompt_tokens") or 0 for entry in calls),
            sum(entry.get("completion_tokens") or 0 for entry in calls),
        )


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What `TurnRunner.run_turn` returns."""

    session_id: str
    #: the program's reply; None when the program returned
    reply: str | None
    #: the session version the turn produced
    version: int
    #: True when the turn had been committed before (a retry with the same key): nothing ran
    replayed: bool = False
    #: the model calls this run of the turn made (none when replayed)
    usage: TokenUsage = TokenUsage()


@dataclass(frozen=True, slots=True)
class WaitPoint:
    """Where a paused program waits: one decorated frame, outermost first."""

    #: module and qualified name of the function
    function: str
    lineno: int
    #: the ADDRESS label of the pending call, if it has one
    address: str | None


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as `Sessions.get` shows it."""

    id: str
    owner: str | None
    version: int
    created_at: float
    updated_at: float
    #: every user and assistant message, oldest first ({"role", "content"}), without the
    #: empty user message that started the program (`autograms.stores.history.shown`)
    history: list[dict[str, str]] = field(default_factory=list)
    #: where the program waits (empty when it is not paused)
    waiting: list[WaitPoint] = field(default_factory=list)
    usage: TokenUsage = TokenUsage()
