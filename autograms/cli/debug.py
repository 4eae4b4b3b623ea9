"""``autograms debug BOT``: run a bot on random trajectories, offline, and report what broke,
which ADDRESS labels were reached and which lines of the bot's functions ran.

Every run starts a new session in test mode (a scripted model: seeded random decisions,
placeholder replies) and sends ``--turns`` random user messages. Most are drawn from the bot
itself (`autograms.cli._vocabulary`: the strings its code compares the user's text with, the
words of its constants, numbers near those its parsing expects); the others are plausible
short replies (or the lines of ``--messages FILE``) and random text. Before every turn the
session is saved and loaded again (``serialize``/``deserialize``, or files with
``--via-files``), so each turn also checks that the program resumes from its saved form. Run
``r`` uses the seed ``SEED + r``; ``--runs 1 --seed SEED+r`` replays it alone.

With ``--store URL SESSION_ID`` every run starts from a session kept in a store
(`autograms.stores`) instead of a new one: where its program waits, with its log read from the
store when the program looks at its history. Nothing is written to the store.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..autogram import Autogram
from ..config import AutogramConfig
from ..memory import MemoryObject
from ..models.records import ChatRequest
from ..models.scripted import Handler, ScriptedModel
from ..stores import Sessions, StoreError
from ..stores.integrity import key_of
from ..stores.runner import restore, verified_head
from ..stores.urls import hide_password
from ._bots import DEFAULT_EXAMPLE, Bot, add_bot_argument, bot_argument, import_bot, require_bot
from ._coverage import LabelCoverage, LineCoverage, format_ranges, tracing, tracing_lines
from ._vocabulary import Vocabulary, read_vocabulary
from ._common import CliError, describe_error, format_frames, make_config, read_config_file, report
from ._stores import open_existing_store

COMMAND = "debug"
#: plausible user messages (the default of --messages)
DEFAULT_MESSAGES = (
    "yes",
    "no",
    "ok",
    "sure",
    "maybe",
    "I don't know",
    "hello",
    "hi, my name is Ada",
    "tell me more",
    "why?",
    "can you repeat that?",
    "I'm ready",
    "not yet",
    "stop",
    "thanks, bye",
    "42",
    "3/4",
    "I have five years of experience",
    "what do you mean?",
    "",
)
#: share of turns whose message is random text instead of one of the messages
RANDOM_TEXT_SHARE = 0.15
#: share of turns whose message comes from the bot's own vocabulary (when it has one)
VOCABULARY_SHARE = 0.5
_RANDOM_WORDS = (
    "the",
    "a",
    "yes",
    "no",
    "why",
    "what",
    "how",
    "please",
    "again",
    "number",
    "café",
    "über",
    "✓",
    "12",
    "-1",
    "0.5",
    "?",
    "!",
    "...",
    "{}",
    "'",
    '"',
    "\\n",
)

EPILOG = """\
the report: how many runs failed, the ADDRESS labels reached (and in how many runs), and the
statements of the functions in the bot's file that ran, with the lines that never ran.

AutoGRAMS' debug_autogram.py flags are accepted: --example_name and --autogram_file (BOT),
--num_simulations (--runs), --turns_per_simulation (--turns), --config_file (--config). With
no BOT, autograms_seed_agent is debugged.

--store URL SESSION_ID starts every run from that stored session (sqlite:///FILE or
postgresql://...), read-only: its log is read from the store, and nothing is written there.

exit status: 0 when every run passed; 1 when a run failed (each failure is shown with its run,
turn and seed, the exception, and the pending frames before the failing turn); 2 for an
unknown bot, a bad --config or --messages file, a store or stored session that cannot be
opened; 130 when interrupted.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``debug`` arguments to `parser`."""
    add_bot_argument(parser, default=DEFAULT_EXAMPLE)
    parser.add_argument(
        "--runs",
        type=_positive,
        default=20,
        metavar="N",
        help="number of trajectories (default: 20)",
    )
    parser.add_argument(
        "--turns",
        type=_positive,
        default=10,
        metavar="M",
        help="user messages per trajectory, after the opening (default: 10)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="seed of the first run; run r uses S+r (default: 0)",
    )
    parser.add_argument(
        "--messages",
        metavar="FILE",
        help="user messages to pick from: one per line, or a JSON list of strings",
    )
    parser.add_argument("--config", metavar="FILE", help="JSON object of AutogramConfig fields")
    parser.add_argument(
        "--via-files",
        action="store_true",
        help="save and load the session through files (Autogram.save/load) "
        "instead of serialize/deserialize",
    )
    parser.add_argument(
        "--store",
        nargs=2,
        metavar=("URL", "SESSION_ID"),
        help="start every run from this session of the store at URL instead of a new one "
        "(read-only: its log is read there, nothing is written)",
    )
    parser.add_argument("--transcripts", action="store_true", help="print every run's conversation")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
    parser.add_argument(
        "--unusable-answers",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="share (0 to 1) of decision answers the scripted model makes unusable, to run "
        "the bot's handling of DecisionError (default: 0)",
    )
    # the original debug_autogram.py's flags (the epilog lists them)
    hidden = argparse.SUPPRESS
    parser.add_argument("--num_simulations", dest="runs", type=_positive, help=hidden)
    parser.add_argument("--turns_per_simulation", dest="turns", type=_positive, help=hidden)
    parser.add_argument("--config_file", dest="config", help=hidden)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``autograms debug`` with `argv`; the exit status."""
    parser = argparse.ArgumentParser(
        prog="autograms debug",
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Debug as `args` (from `add_arguments`) ask; the exit status."""
    try:
        return _run(args)
    except CliError as exc:
        report(COMMAND, exc.message)
        return exc.status


def _run(args: argparse.Namespace) -> int:
    args.bot, _ = bot_argument(args)
    source = require_bot(args.bot)
    config = make_config(
        read_config_file(args.config) if args.config else {}, source=args.config or "the options"
    )
    messages = read_messages(args.messages) if args.messages else DEFAULT_MESSAGES
    bot = import_bot(source)
    starting = stored_start(bot, config, *args.store) if args.store else contextlib.nullcontext()
    with starting as start:
        return _debug(args, source, bot, config, messages, start)


def _debug(
    args: argparse.Namespace,
    source: Any,
    bot: Bot,
    config: AutogramConfig,
    messages: Sequence[str],
    start: StoredStart | None,
) -> int:
    out = sys.stdout
    session = Trajectories(
        bot,
        config,
        messages,
        turns=args.turns,
        via_files=args.via_files,
        transcripts=out if args.transcripts else None,
        unusable_answers=args.unusable_answers,
        start=start,
    )
    if bot.init_chatbot is not None:
        try:
            autogram = Autogram(bot.chatbot, config, test_mode=True, seed=args.seed)
            with autogram.use_config(), tracing_lines(session.lines):  # its lines count too
                bot.init_chatbot()
        except Exception as exc:
            sys.stderr.write("".join(traceback.format_exception(exc)))
            raise CliError(f"init_chatbot() failed: {describe_error(exc)}", 1) from exc
    out.write(
        f"debugging {source.name}: {args.runs} run(s) x {args.turns} turn(s), seeds "
        f"{args.seed}..{args.seed + args.runs - 1}, saved and loaded before every turn\n"
    )
    if start is not None:
        out.write(f"every run starts from {start.describe()}\n")
    out.flush()
    bar = ProgressBar(args.runs, sys.stderr)
    started = time.perf_counter()
    interrupted = False
    try:
        for number in range(args.runs):
            session.run(number, args.seed + number)
            bar.update(number + 1, session.failed_runs())
            if args.fail_fast and session.failures:
                break
    except KeyboardInterrupt:
        interrupted = True
    bar.close()
    elapsed = time.perf_counter() - started
    write_report(out, session, args, elapsed)
    if interrupted:
        out.write("interrupted\n")
        return 130
    return 1 if session.failures else 0


class StoredStart:
    """The starting point of every run: a session kept in a store, restored afresh for each
    run (its log read from the store only when the program looks at its history)."""

    def __init__(self, store: Any, record: Any, url: str) -> None:
        self.store = store
        self.record = record
        self.url = url

    def __call__(self, autogram: Autogram) -> MemoryObject:
        return restore(autogram, self.store, self.record)

    def describe(self) -> str:
        return (
            f"session {self.record.id!r} of {hide_password(self.url)} "
            f"(version {self.record.version})"
        )


@contextlib.contextmanager
def stored_start(
    bot: Bot, config: AutogramConfig, url: str, session_id: str
) -> Iterator[StoredStart]:
    """The stored session `session_id` of the store at `url`, checked once (signature, seal,
    program, code) before any run; a `CliError` when the store or the session cannot be
    opened. The store is closed when the block ends."""
    store = open_existing_store(url)
    try:
        try:
            autogram = Autogram(bot.chatbot, config, test_mode=True)
            record = Sessions(autogram, store).record(session_id)
            start = StoredStart(store, record, url)
            # refused here rather than in every run: the row, its blob, and its log
            start(autogram)
            store.read_log(record.id, record.version, head=verified_head(key_of(autogram), record))
        except StoreError as exc:
            raise CliError(f"cannot debug from stored session {session_id!r}: {exc}") from exc
        yield start
    finally:
        store.close()


def read_messages(path: str) -> tuple[str, ...]:
    """The user messages in `path`: a JSON list of strings, or one message per line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"cannot read messages file {path!r}: {reason}") from exc
    if text.lstrip().startswith("["):
        try:
            messages = json.loads(text)
        except ValueError as exc:
            raise CliError(f"messages file {path!r} is not valid JSON: {exc}") from exc
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            raise CliError(f"messages file {path!r} must hold a JSON list of strings")
    else:
        messages = [line for line in text.splitlines() if line.strip()]
    if not messages:
        raise CliError(f"messages file {path!r} holds no messages")
    return tuple(messages)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1: got {text!r}")
    return value


# -- trajectories ---------------------------------------------------------------------------


@dataclass
class Failure:
    """A run that raised: where, with which message, and the program's state before it."""

    run: int
    turn: int
    seed: int
    #: "start", "save/load" or "reply"
    phase: str
    message: str | None
    exception: BaseException
    #: pending frames before the failing turn (None: not paused, or not readable)
    frames: list[Any] | None
    frames_note: str | None = None
    #: other runs that failed the same way
    same_in: list[int] = field(default_factory=list)

    @property
    def signature(self) -> tuple[str, str, tuple[str, int] | None]:
        frames = traceback.extract_tb(self.exception.__traceback__)
        last = (frames[-1].filename, frames[-1].lineno) if frames else None
        return type(self.exception).__name__, str(self.exception), last


class Trajectories:
    """Runs of one bot; collects failures, label coverage and counts."""

    def __init__(
        self,
        bot: Bot,
        config: AutogramConfig,
        messages: Sequence[str],
        *,
        turns: int,
        via_files: bool = False,
        transcripts: TextIO | None = None,
        unusable_answers: float = 0.0,
        start: Callable[[Autogram], MemoryObject] | None = None,
    ) -> None:
        self.bot = bot
        #: the session every run starts from (None: a new one, begun by the opening turn)
        self.start = start
        self.config = config
        self.messages = tuple(messages)
        self.turns = turns
        self.via_files = via_files
        self.transcripts = transcripts
        self.unusable_answers = unusable_answers
        source = _source_of(bot)
        self.vocabulary = read_vocabulary(bot.module, source)
        self.coverage = LabelCoverage(bot.module)
        self.lines = LineCoverage(bot.source.path, source)
        self.failures: list[Failure] = []
        self.runs = 0
        self.turns_done = 0
        self.returns = 0
        self._folder = tempfile.TemporaryDirectory(prefix="autograms-debug-") if via_files else None

    def run(self, number: int, seed: int) -> None:
        """One trajectory: the opening (or the stored session it starts from), then `turns`
        user messages, saving and loading first."""
        self.runs += 1
        model = ScriptedModel(unusable_decisions(self.unusable_answers, seed), seed=seed)
        autogram = Autogram(self.bot.chatbot, self.config, test_mode=True, seed=seed, model=model)
        rng = random.Random(seed)
        self._transcript(f"--- run {number} (seed {seed})")
        memory: MemoryObject | None = None
        turn, phase, message = 0, "start", None
        try:
            with tracing(self.coverage, self.lines, number):
                if self.start is None:
                    text, memory = autogram.reply()
                    self._after_turn(memory, text, None, number)
                else:
                    memory = self.start(autogram)
                for turn in range(1, self.turns + 1):
                    phase, message = "save/load", None
                    memory = self._save_and_load(autogram, memory, number, turn)
                    phase, message = "reply", user_message(rng, self.messages, self.vocabulary)
                    text, memory = autogram.reply(message, memory_object=memory)
                    self._after_turn(memory, text, message, number)
        except Exception as exc:
            self._record(Failure(number, turn, seed, phase, message, exc, None), autogram, memory)

    def _save_and_load(
        self, autogram: Autogram, memory: MemoryObject, number: int, turn: int
    ) -> MemoryObject:
        if self._folder is None:
            return autogram.deserialize(autogram.serialize(memory))
        path = os.path.join(self._folder.name, f"run{number}.session")
        autogram.save(path, memory)
        return autogram.load(path)

    def _after_turn(
        self, memory: MemoryObject, text: str | None, message: str | None, number: int
    ) -> None:
        self.turns_done += 1
        self.coverage.note_log(memory, number)
        if message is not None:
            self._transcript(f"user:  {message!r}")
        if text is None and not memory.is_paused:
            self.returns += 1
            self._transcript("(the program returned)")
        else:
            self._transcript(f"agent: {text!r}")

    def _record(self, failure: Failure, autogram: Autogram, memory: MemoryObject | None) -> None:
        if memory is None or not memory.is_paused:
            failure.frames_note = (
                "the program had not started" if memory is None else "the program was not paused"
            )
        else:
            try:
                failure.frames = autogram.pending_frames(memory)
            except Exception as exc:
                failure.frames_note = f"cannot read them: {describe_error(exc)}"
        for earlier in self.failures:
            if earlier.signature == failure.signature:
                earlier.same_in.append(failure.run)
                return
        self.failures.append(failure)
        self._transcript(f"FAILED at turn {failure.turn}: {describe_error(failure.exception)}")

    def _transcript(self, line: str) -> None:
        if self.transcripts is not None:
            self.transcripts.write(f"{line}\n")

    def failed_runs(self) -> int:
        return sum(1 + len(failure.same_in) for failure in self.failures)


def unusable_decisions(share: float, seed: int) -> Handler | None:
    """A scripted-model handler answering `share` of the decision requests with text that
    names no option (each request drawn from the seed and its messages: replays repeat)."""
    if share <= 0:
        return None

    def handler(request: ChatRequest) -> str | None:
        if request.kind != "decision":
            return None
        key = json.dumps([seed, request.messages], sort_keys=True, default=str)
        draw = random.Random(hashlib.sha256(key.encode()).digest()).random()
        return "I am not sure." if draw < share else None

    return handler


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1: got {text!r}")
    return value


def _source_of(bot: Bot) -> str | None:
    try:
        return bot.source.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def user_message(
    rng: random.Random, messages: Sequence[str], vocabulary: Vocabulary | None = None
) -> str:
    """A message of the bot's own vocabulary, a plausible message, or random text."""
    if vocabulary and rng.random() < VOCABULARY_SHARE:
        return vocabulary.message(rng)
    if rng.random() >= RANDOM_TEXT_SHARE:
        return rng.choice(messages)
    words = [rng.choice(_RANDOM_WORDS + tuple(messages)) for _ in range(rng.randint(1, 12))]
    text = " ".join(words)
    return text * rng.randint(2, 20) if rng.random() < 0.1 else text


# -- output ---------------------------------------------------------------------------------


class ProgressBar:
    """``[#####.....] 5/10 runs, 0 failed`` on `stream`: redrawn in place on a terminal,
    else a line per tenth of the work."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self.total = total
        self.stream = stream
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._tenths = -1
        self.update(0, 0)

    def update(self, done: int, failed: int) -> None:
        filled = self.width * done // self.total
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} runs, "
            f"{failed} failed"
        )
        if self.tty:
            self.stream.write(f"\r{line}")
        else:
            tenths = 10 * done // self.total
            if tenths == self._tenths:
                return
            self._tenths = tenths
            self.stream.write(f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def write_report(
    out: TextIO, session: Trajectories, args: argparse.Namespace, elapsed: float
) -> None:
    """The summary, the label coverage and every failure."""
    failed = session.failed_runs()
    out.write(
        f"{session.runs} run(s), {session.turns_done} turn(s) in {elapsed:.1f} s: "
        f"{failed} failed; the program returned {session.returns} time(s)\n"
    )
    _write_coverage(out, session.coverage)
    _write_lines(out, session.lines, session.bot.source.path.name)
    for failure in session.failures:
        _write_failure(out, failure, args)
    out.flush()


def _write_coverage(out: TextIO, coverage: LabelCoverage) -> None:
    reached, total = coverage.totals()
    if total == 0:
        out.write("ADDRESS-label coverage: the bot's decorated functions have no ADDRESS labels\n")
        return
    out.write(
        f"ADDRESS-label coverage: {reached} of {total} labels reached ({100 * reached // total}%)\n"
    )
    for labels in sorted(coverage.functions.values(), key=lambda f: (f.module, f.qualname)):
        if not labels.lines:
            continue
        out.write(f"  {labels.qualname}\n")
        for label, line in sorted(labels.lines.items(), key=lambda item: item[1]):
            runs = labels.reached.get(label)
            mark, note = ("x", f"{len(runs)} run(s)") if runs else (" ", "never reached")
            out.write(f"    [{mark}] {label:<28} line {line:<5} {note}\n")


def _write_lines(out: TextIO, lines: LineCoverage, filename: str) -> None:
    run, total = lines.totals()
    if total == 0:
        return
    out.write(
        f"line coverage: {run} of {total} statements of the functions in {filename} "
        f"ran ({100 * run // total}%)\n"
    )
    missed = lines.missed_lines()
    if missed:
        out.write(f"  never ran: lines {format_ranges(missed, sorted(lines.statements))}\n")


def _write_failure(out: TextIO, failure: Failure, args: argparse.Namespace) -> None:
    where = "the opening turn" if failure.phase == "start" else f"turn {failure.turn}"
    out.write(
        f"\nFAILED: run {failure.run}, {where} ({failure.phase}), seed {failure.seed}: "
        f"{describe_error(failure.exception)}\n"
    )
    if failure.message is not None:
        out.write(f"  user message: {failure.message!r}\n")
    extra = f" --messages {args.messages}" if args.messages else ""
    extra += f" --unusable-answers {args.unusable_answers}" if args.unusable_answers else ""
    extra += " --via-files" if args.via_files else ""
    extra += f" --store {hide_password(args.store[0])} {args.store[1]}" if args.store else ""
    out.write(
        f"  replay: autograms debug {args.bot} --runs 1 --turns {args.turns} "
        f"--seed {failure.seed}{extra}\n"
    )
    if failure.same_in:
        out.write(f"  the same failure in run(s): {', '.join(map(str, failure.same_in))}\n")
    if failure.frames is not None:
        out.write("  pending frames before the turn (outermost first):\n")
        for line in format_frames(failure.frames, indent="    "):
            out.write(f"{line}\n")
    else:
        out.write(f"  pending frames before the turn: none ({failure.frames_note})\n")
    out.write("  traceback (most recent call last):\n")
    for line in _user_traceback(failure.exception):
        out.write(f"    {line}\n")


def _user_traceback(exc: BaseException) -> list[str]:
    """The traceback without the library's own frames (all of it if nothing else is left)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    examples = os.path.join(package, "examples") + os.sep
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [
        f
        for f in frames
        if not os.path.abspath(f.filename).startswith(package)
        or os.path.abspath(f.filename).startswith(examples)
    ]
    shown = traceback.StackSummary.from_list(mine or frames).format()
    lines = [line for block in shown for line in block.rstrip("\n").split("\n")]
    return lines + [describe_error(exc)]
