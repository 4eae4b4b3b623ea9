"""The turn runner: ``(session_id, user_text, idempotency_key) -> reply``, exactly once, with
any number of worker processes on any number of machines sharing one store.

The protocol of one turn:

1. *Claim* (a short transaction, not flushed to disk): if a turn with this idempotency key is
   committed, return its reply -- nothing runs (the same key with another message is refused).
   Otherwise take a ticket in the session's queue, with a lease, and read the session's blob
   and version.
2. *Wait* while an older live ticket of the session exists (policy ``"enqueue"``: turns run one
   after the other in arrival order), or refuse at once (policy ``"reject"``: SessionBusyError).
3. *Run* the program on the blob, with **no database lock held** (model calls take seconds).
   The log is read from the store only if the program asks for it.
4. *Commit* (one durable transaction): replace the blob only if the session is still at the
   version the turn started from, insert the turn row keyed by ``(session_id,
   idempotency_key)`` and the log entries the turn appended, leave the queue.

With ``optimistic=True`` a runner keeps the sessions it committed last (the newest
`KEPT_SESSIONS`) and runs the next turn of one of them on that copy without a claim -- one
round trip instead of two -- committing it only if the session is still at that version, no
other turn holds a live ticket of it and the key is new (`Store.commit`'s `unclaimed`); if not,
the turn runs again through the claim like any other. A turn that holds a ticket is never
overtaken that way, so ``"enqueue"`` keeps the store's arrival order (a turn on a copy
arrives when it commits). It needs ``"enqueue"``: under ``"reject"`` it could not tell a turn
that committed while it ran (busy) from one that committed before it began. It pays off when
a session's messages go to one worker (sticky routing); a session served by several workers
then runs most turns twice (model calls too).

A commit that finds another version (a worker paused past its lease, another that ignored the
queue) writes nothing: under ``"enqueue"`` the turn runs again on top of the newer session (or
finds its key committed by a retry and returns that reply), under ``"reject"`` it is refused.
Correctness rests on that version check, never on the queue's leases. A failed turn (the
program raises, the model is down) leaves the queue and records nothing; the error reaches the
caller. Model calls are at-least-once; what the session holds and the caller sees, exactly once.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from .. import session as envelopes
from ..session import program_name
from .._errors import SessionError
from .._seconds import check_seconds
from .._reply_stream import ReplyStream, streaming_replies
from ..autogram import Autogram
from ..memory import MemoryObject
from . import history, integrity
from .base import Store
from .errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    SessionBusyError,
    SessionNotFoundError,
    StoredSessionError,
    StoreError,
    TurnInProgressError,
    UnstorableReplyError,
)
from .inputs import check_id, check_text
from .leases import LeaseKeeper
from .records import Claim, SessionRecord, Ticket, TokenUsage, TurnRecord, TurnResult

logger = logging.getLogger("autograms")

#: what to do with a message for a session that is running another turn
POLICIES = ("enqueue", "reject")
#: a caller's look at a turn's claim before the turn runs or is replayed (`run_turn`)
Vet = Callable[[Claim], TurnResult | None]
#: told the model usage of a run of a turn that was not committed (`run_turn`)
Billed = Callable[[TokenUsage], None]
#: how many sessions an optimistic runner keeps (its newest commits), blob included
KEPT_SESSIONS = 256


class TurnRunner:
    """Runs turns of `autogram`'s program on sessions kept in `store`.

    `policy` is ``"enqueue"`` (default) or ``"reject"``. `lease_seconds` is how long a turn
    keeps later ones waiting without news from its worker: the lease is renewed while the
    program runs (`autograms.stores.leases`), so a worker that died or is paused mid-turn holds
    a session no longer than that, and a long model call keeps its place (`renew_lease=False`
    leaves it to expire, as a paused worker's would). `wait_seconds` bounds how long a turn
    waits in the queue before SessionBusyError. `optimistic` runs the next turn of a session
    this runner committed last without a claim (see the module's notes: for sticky routing).
    """

    def __init__(
        self,
        autogram: Autogram,
        store: Store,
        *,
        policy: str = "enqueue",
        lease_seconds: float = 30.0,
        wait_seconds: float = 120.0,
        renew_lease: bool = True,
        optimistic: bool = False,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}: expected one of {', '.join(POLICIES)}")
        if optimistic and policy != "enqueue":
            # a turn on a copy reaches the store only at its commit: it cannot tell whether
            # a turn that committed meanwhile ran while it did (busy) or before it began
            raise ValueError(f"optimistic=True needs policy 'enqueue', not {policy!r}")
        check_seconds("lease_seconds", lease_seconds, positive=True)
        check_seconds("wait_seconds", wait_seconds, positive=False)
        self.autogram = autogram
        self.store = store
        #: the program a session no program owns yet belongs to once this runner commits a turn
        self.program = program_name(autogram.root_function)
        self.policy = policy
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self._leases = LeaseKeeper(store, lease_seconds) if renew_lease else None
        #: tickets of the turns whose programs run now in this process
        self._running: set[Ticket | None] = set()
        self._running_lock = threading.Lock()
        #: with `optimistic`: each session this runner committed last, as it committed it,
        #: with that turn's idempotency key (oldest first; None: not optimistic)
        self._kept: OrderedDict[str, tuple[SessionRecord, str]] | None = (
            OrderedDict() if optimistic else None
        )

    def __repr__(self) -> str:
        return f"<TurnRunner {self.store.url} policy={self.policy}>"

    def run_turn(
        self,
        session_id: str,
        user_text: str,
        idempotency_key: str | None = None,
        *,
        owner: str | None = None,
        reply_stream: ReplyStream | None = None,
        vet: Vet | None = None,
        vet_turns: bool = True,
        on_billed: Billed | None = None,
    ) -> TurnResult:
        """Run the session's next turn with the user's message, or return the reply of the
        turn already committed with `idempotency_key` (without running anything).

        Without a key the message cannot be retried safely (a new key is made). With `owner`,
        a session of another owner is reported as not found. With `reply_stream`, the reply
        is handed to it while the model writes it (see `autograms._reply_stream`); the
        returned reply is the one committed. With `vet`, the claim -- with the session's
        committed turns, read in the claim's round trip -- is shown to ``vet(claim)`` before
        the turn runs or a committed one is replayed: it may refuse (raise), answer instead
        (a TurnResult), or let the turn go on (None). With ``vet_turns=False`` the claim it is
        shown carries no turns (``claim.turns`` None): `vet` compares a conversation with
        ``claim.session.history_digest`` (`autograms.stores.history`) and reads the turns
        (`Store.turns`) only when they differ or when it must know one turn. `on_billed` is
        called with the model calls (and their tokens) of each run of the turn that is not
        committed -- the program raised, or its commit lost to another turn's and it runs
        again -- when it made any: billed by the model's server, they are in no TurnResult
        and no session's usage.
        """
        key = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
        self._check_inputs(session_id, user_text, key, owner)
        deadline = time.monotonic() + self.wait_seconds
        ticket: Ticket | None = None
        # the session the turn's first claim found: another one under its id at a later claim
        # was made after this turn began (a copy kept from before does not count: the
        # message may have been sent to the session made since)
        created_at = None
        kept = self._take_kept(session_id, key, owner) if vet is None else None
        if kept is not None:
            result = self._run_on_copy(kept, user_text, key, reply_stream, on_billed)
            if result is not None:
                return result
            logger.info("turn %s of session %s ran without a claim on an old copy", key, session_id)
        while True:
            claim = self._wait_for_turn(
                session_id, key, user_text, owner, ticket, deadline, vet, vet_turns
            )
            if isinstance(claim, TurnResult):
                return claim
            if created_at is None:
                created_at = claim.session.created_at
            elif claim.session.created_at != created_at:
                self._leave(claim.ticket)
                raise SessionNotFoundError(
                    f"session {session_id!r} was deleted while this turn ran (a new session "
                    "has its id now): the message was not applied",
                    reason="not found",
                    session_id=session_id,
                )
            if claim.done is not None:
                return TurnResult(session_id, claim.done.reply, claim.done.version, replayed=True)
            ticket = claim.ticket
            result = self._run_and_commit(
                claim.session, user_text, key, ticket, reply_stream, on_billed
            )
            if result is not None:
                return result
            logger.info("turn %s of session %s lost its commit race", key, session_id)
            if self.policy == "reject":
                self._leave(ticket)
                raise _busy(session_id, "another turn committed while this one ran")

    def _run_on_copy(
        self,
        kept: SessionRecord,
        user_text: str,
        key: str,
        reply_stream: ReplyStream | None,
        on_billed: Billed | None,
    ) -> TurnResult | None:
        """The turn run and committed on a kept copy; None if it must run through the claim:
        its commit lost, or it failed on a copy the session has left behind (its error is
        the copy's, not the session's: the run on the session decides)."""
        try:
            return self._run_and_commit(
                kept, user_text, key, None, reply_stream, on_billed, claimed=False
            )
        except Exception:
            if self._is_current(kept):  # the session's own error: a claimed turn raises it too
                raise
            logger.info("turn %s failed on an old copy of session %s", key, kept.id)
            return None

    def _is_current(self, kept: SessionRecord) -> bool:
        """Whether the stored session is still the one `kept` copies (a turn on the copy
        would be committed)."""
        stored = self.store.load_session(kept.id)
        return stored is not None and (
            stored.version,
            stored.created_at,
            stored.owner,
            stored.program,
        ) == (kept.version, kept.created_at, kept.owner, kept.program)

    def _take_kept(self, session_id: str, key: str, owner: str | None) -> SessionRecord | None:
        """The session as this runner committed it last, taken out (a second turn of it in
        this process meanwhile claims), if it is kept, owned by `owner` (when given) and the
        key is not the one of that turn (a retry: replayed by the claim, nothing run)."""
        if self._kept is None:
            return None
        with self._running_lock:
            kept, last_key = self._kept.pop(session_id, (None, None))
        if kept is None or last_key == key or (owner is not None and kept.owner != owner):
            return None
        return kept

    def _keep(self, session: SessionRecord, key: str) -> None:
        """Keep `session` as committed by the turn with `key` (optimistic runners only)."""
        if self._kept is None:
            return
        with self._running_lock:
            self._kept[session.id] = (session, key)
            self._kept.move_to_end(session.id)
            while len(self._kept) > KEPT_SESSIONS:
                self._kept.popitem(last=False)

    def _check_inputs(
        self, session_id: object, user_text: object, key: object, owner: object
    ) -> None:
        """Refuse what the store could not keep before the program runs."""
        sid = check_id("session_id", session_id)
        check_id("idempotency_key", key, session_id=sid)
        if owner is not None:
            check_id("owner", owner, session_id=sid)
        check_text("user_text", user_text, holds_nul=self.store.holds_nul, session_id=sid)

    def _check_reply(self, reply: str, session_id: str) -> None:
        """Refuse a reply the store could not keep: the turn's own failure, not its input's."""
        try:
            check_text("the reply", reply, holds_nul=self.store.holds_nul, session_id=session_id)
        except InvalidInputError as exc:
            raise UnstorableReplyError(
                f"{exc}; the turn was not committed", reason=exc.reason, session_id=session_id
            ) from None

    def _wait_for_turn(
        self,
        session_id: str,
        key: str,
        user_text: str,
        owner: str | None,
        ticket: Ticket | None,
        deadline: float,
        vet: Vet | None,
        vet_turns: bool,
    ) -> Claim | TurnResult:
        """The claim of a turn first in its session's queue (holding `ticket` or a new one),
        or of a committed turn (holding none), or the answer `vet` gave instead (holding
        none). Whatever ends the wait otherwise -- a refusal, Ctrl-C -- leaves the queue."""
        delay = 0.001
        try:
            while True:
                claim = self.store.claim(
                    session_id, key, self.lease_seconds, ticket, turns=vet is not None and vet_turns
                )
                ticket = claim.ticket or ticket
                if claim.session is None or (owner is not None and claim.session.owner != owner):
                    raise SessionNotFoundError(
                        f"no session {session_id!r}", reason="not found", session_id=session_id
                    )
                if claim.done is not None:
                    check_program(self.autogram, claim.session)
                    self._check_committed(claim)
                    answer = None if vet is None else vet(claim)
                    if answer is None:
                        _check_same_message(claim.done, user_text)
                    self._leave(ticket)
                    return claim if answer is None else answer
                if claim.running:
                    # a signed store's turn row deleted in the database leaves its ticket,
                    # which would look like its turn running: refused as tampered instead
                    key_in_use = integrity.key_of(self.autogram)
                    integrity.check_seal(key_in_use, claim.session)
                    integrity.check_turn_count(key_in_use, self.store, claim.session)
                    raise TurnInProgressError(
                        f"the turn with idempotency key {key!r} of session {session_id!r} is "
                        "running now; retry later with the same key",
                        reason="in progress",
                        session_id=session_id,
                    )
                if claim.first:
                    answer = None if vet is None else vet(claim)
                    if answer is not None:
                        self._leave(ticket)
                        return answer
                    return claim
                if self.policy == "reject" or time.monotonic() > deadline:
                    waited = "" if self.policy == "reject" else f" after {self.wait_seconds} s"
                    raise _busy(session_id, f"another turn is running{waited}")
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        except BaseException:
            self._leave(ticket)
            raise

    def _check_committed(self, claim: Claim) -> None:
        """In a signed store, refuse a committed turn row that does not match its seal (its
        message, reply or key edited in the database) before it is replayed."""
        key = integrity.key_of(self.autogram)
        if key is None or claim.done is None or claim.session is None:
            return
        integrity.check_seal(key, claim.session)
        integrity.check_turn_seal(key, claim.done)

    def _run_and_commit(
        self,
        session: SessionRecord,
        user_text: str,
        key: str,
        ticket: Ticket | None,
        reply_stream: ReplyStream | None,
        on_billed: Billed | None,
        *,
        claimed: bool = True,
    ) -> TurnResult | None:
        """Run the turn on `session`; its result if the commit won, None if it lost (the
        ticket still held). A turn that fails -- in the program or in the store -- leaves the
        queue. `on_billed` is told the model usage of a run that is not committed. Not
        `claimed`: `session` is a kept copy, committed only if nothing happened since."""
        try:
            with self._holding(ticket):
                reply, blob, entries = self._run(session, user_text, reply_stream, on_billed)
            if reply is not None:
                self._check_reply(reply, session.id)
            signing = integrity.key_of(self.autogram)
            turn = TurnRecord(session.id, key, session.version + 1, user_text, reply, time.time())
            if signing is not None:
                turn = replace(turn, seal=integrity.turn_seal(signing, turn))
            turns = 1 + (
                session.turns
                if session.turns is not None
                else self.store.count_turns(session.id, session.version)
            )
            digest = history.after_turn(self._digest_before(session), user_text, reply)
            owned = replace(
                session,
                program=session.program or self.program,
                turns=turns,
                history_digest=digest,
            )
            log_head, seal = integrity.sealing(signing, owned, turn.version, blob, entries)
            unclaimed = None if claimed else session
            committed = self.store.commit(
                session.id,
                session.version,
                blob,
                turn,
                entries,
                ticket,
                log_head=log_head,
                seal=seal,
                program=None if session.program else self.program,
                turns=turns,
                history_digest=digest,
                unclaimed=unclaimed,
            )
            if not committed:
                _bill(on_billed, entries)
                return None
        except BaseException:
            self._leave(ticket)
            raise
        committed_session = replace(
            owned, version=turn.version, blob=blob, log_head=log_head, seal=seal
        )
        self._keep(committed_session, key)
        return TurnResult(session.id, reply, turn.version, usage=TokenUsage.of(entries))

    def _digest_before(self, session: SessionRecord) -> str:
        """The history digest of `session` before this turn: its row's, or for a row written
        before schema 4, folded once over its turn rows (in a signed store, each checked
        against its seal first)."""
        if session.history_digest is not None:
            return session.history_digest
        turns = [turn for turn in self.store.turns(session.id) if turn.version <= session.version]
        integrity.check_turn_seals(integrity.key_of(self.autogram), turns)
        return history.of_turns(turns)

    def _run(
        self,
        session: SessionRecord,
        user_text: str,
        reply_stream: ReplyStream | None,
        on_billed: Billed | None,
    ) -> tuple[str | None, str, list[dict[str, Any]]]:
        memory = restore(self.autogram, self.store, session)
        integrity.check_turn_count(integrity.key_of(self.autogram), self.store, session)
        try:
            with _naming(session.id), _streaming_to(reply_stream):
                reply, memory = self.autogram.reply(user_text, memory_object=memory)
        except BaseException:
            _bill(on_billed, memory.failed_turn_calls)
            raise
        return reply, self.autogram.serialize(memory, include_log=False), memory.last_turn_log

    def abandon_running(self) -> int:
        """Leave the queue for every turn whose program is still running in this process, and
        return how many: at shutdown, when they will not finish, the sessions' next messages
        go ahead at once instead of after the lease. A turn that still gets to its commit is
        checked by version as always."""
        with self._running_lock:
            tickets, self._running = self._running, set()
        for ticket in tickets:
            self._leave(ticket)
        return len(tickets)

    @contextlib.contextmanager
    def _holding(self, ticket: Ticket | None) -> Iterator[None]:
        """The ticket's lease renewed for the length of the block (unless told not to)."""
        with self._running_lock:
            if ticket is not None:  # a turn on a kept copy holds no place to leave
                self._running.add(ticket)
        try:
            with contextlib.nullcontext() if self._leases is None else self._leases.holding(ticket):
                yield
        finally:
            with self._running_lock:
                self._running.discard(ticket)

    def _leave(self, ticket: Ticket | None) -> None:
        """Leave the queue; if the store cannot be reached, the lease ends the ticket."""
        if ticket is None:
            return
        try:
            self.store.release(ticket)
        except StoreError as error:
            logger.warning("could not leave the queue (ticket %s): %s", ticket, error)


def restore(autogram: Autogram, store: Store, session: SessionRecord) -> MemoryObject:
    """The memory of a stored session, its log read from the store when first looked at;
    a row that does not check out (edited in the database ...) is refused naming it."""
    key = integrity.key_of(autogram)
    integrity.check_seal(key, session)
    read_log = functools.partial(
        store.read_log, session.id, session.version, head=verified_head(key, session)
    )
    with _naming(session.id):
        return autogram.deserialize(session.blob, log=read_log)


def check_program(autogram: Autogram, record: SessionRecord) -> None:
    """Refuse (StoredSessionError "other program") a session another program owns, before
    anything of it is shown, replayed or deleted; nothing is decoded (the row names it)."""
    if record.program is None or record.program == program_name(autogram.root_function):
        return
    envelope = envelopes.Envelope(b"", {}, None, record.program)
    with _naming(record.id):
        envelopes.check_program(envelope, autogram.root_function)


def verified_head(key: bytes | None, session: SessionRecord) -> str | None:
    """The head the log of a sealed `session` must end at (None: unsigned, not checked)."""
    return None if key is None else (session.log_head or integrity.EMPTY_HEAD)


@contextlib.contextmanager
def _naming(session_id: str) -> Iterator[None]:
    """Re-raise a SessionError as StoredSessionError naming the session."""
    try:
        yield
    except StoredSessionError:
        raise
    except SessionError as error:
        raise StoredSessionError(
            f"stored session {session_id!r} refused: {error}",
            reason=error.reason,
            session_id=session_id,
        ) from error


def _streaming_to(reply_stream: ReplyStream | None) -> contextlib.AbstractContextManager[None]:
    """The turn's reply handed to `reply_stream` while it is written; nothing when None."""
    return contextlib.nullcontext() if reply_stream is None else streaming_replies(reply_stream)


def _bill(on_billed: Billed | None, entries: list[dict[str, Any]]) -> None:
    """Tell `on_billed` the model usage among `entries` of a run not committed, if any."""
    usage = TokenUsage.of(entries)
    if on_billed is not None and usage.calls:
        on_billed(usage)


def _check_same_message(done: TurnRecord, user_text: str) -> None:
    if done.user_text != user_text:
        raise IdempotencyKeyReusedError(
            f"idempotency key {done.idempotency_key!r} of session {done.session_id!r} was "
            f"used for another message (turn {done.version}); use a new key for a new message",
            reason="key reused",
            session_id=done.session_id,
        )


def _busy(session_id: str, why: str) -> SessionBusyError:
    return SessionBusyError(
        f"session {session_id!r} is busy: {why}", reason="busy", session_id=session_id
    )
