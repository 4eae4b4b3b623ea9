"""``autograms debug BOT``: run a bot on random trajectories, offline, and report what broke
and which ADDRESS labels were reached.

Every run starts a new session in test mode (a scripted model: seeded random decisions,
placeholder replies) and sends ``--turns`` random user messages: plausible short replies
(or the lines of ``--messages FILE``) mixed with random text. Before every turn the session
is saved and loaded again (``serialize``/``deserialize``, or files with ``--via-files``), so
each turn also checks that the program resumes from its saved form. Run ``r`` uses the seed
``SEED + r``; ``--runs 1 --seed SEED+r`` replays it alone.
"""

from __future__ import annotations

import argparse
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
from types import FrameType, FunctionType, ModuleType
from typing import Any, TextIO

from .. import _frames
from ..autogram import Autogram
from ..config import AutogramConfig
from ..memory import MemoryObject
from ._bots import DEFAULT_EXAMPLE, Bot, add_bot_argument, bot_argument, import_bot, require_bot
from ._common import CliError, describe_error, format_frames, make_config, read_config_file, report

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
RANDOM_TEXT_SHARE = 0.2
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
AutoGRAMS' debug_autogram.py flags are accepted: --example_name and --autogram_file (BOT),
--num_simulations (--runs), --turns_per_simulation (--turns), --config_file (--config). With
no BOT, autograms_seed_agent is debugged.

exit status: 0 when every run passed; 1 when a run failed (each failure is shown with its run,
turn and seed, the exception, and the pending frames before the failing turn); 2 for an
unknown bot, a bad --config or --messages file; 130 when interrupted.
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
    parser.add_argument("--transcripts", action="store_true", help="print every run's conversation")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failure")
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
    out = sys.stdout
    session = Trajectories(
        bot,
        config,
        messages,
        turns=args.turns,
        via_files=args.via_files,
        transcripts=out if args.transcripts else None,
    )
    if bot.init_chatbot is not None:
        try:
            with Autogram(bot.chatbot, config, test_mode=True, seed=args.seed).use_config():
                bot.init_chatbot()
        except Exception as exc:
            sys.stderr.write("".join(traceback.format_exception(exc)))
            raise CliError(f"init_chatbot() failed: {describe_error(exc)}", 1) from exc
    out.write(
        f"debugging {source.name}: {args.runs} run(s) x {args.turns} turn(s), seeds "
        f"{args.seed}..{args.seed + args.runs - 1}, saved and loaded before every turn\n"
    )
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
    ) -> None:
        self.bot = bot
        self.config = config
        self.messages = tuple(messages)
        self.turns = turns
        self.via_files = via_files
        self.transcripts = transcripts
        self.coverage = Coverage(bot.module)
        self.failures: list[Failure] = []
        self.runs = 0
        self.turns_done = 0
        self.returns = 0
        self._folder = tempfile.TemporaryDirectory(prefix="autograms-debug-") if via_files else None

    def run(self, number: int, seed: int) -> None:
        """One trajectory: the opening, then `turns` user messages, saving and loading first."""
        self.runs += 1
        autogram = Autogram(self.bot.chatbot, self.config, test_mode=True, seed=seed)
        rng = random.Random(seed)
        self._transcript(f"--- run {number} (seed {seed})")
        memory: MemoryObject | None = None
        turn, phase, message = 0, "start", None
        try:
            with self.coverage.tracing(number):
                text, memory = autogram.reply()
                self._after_turn(memory, text, None, number)
                for turn in range(1, self.turns + 1):
                    phase, message = "save/load", None
                    memory = self._save_and_load(autogram, memory, number, turn)
                    phase, message = "reply", user_message(rng, self.messages)
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


def user_message(rng: random.Random, messages: Sequence[str]) -> str:
    """A plausible message, or (sometimes) random text."""
    if rng.random() >= RANDOM_TEXT_SHARE:
        return rng.choice(messages)
    words = [rng.choice(_RANDOM_WORDS + tuple(messages)) for _ in range(rng.randint(1, 12))]
    text = " ".join(words)
    return text * rng.randint(2, 20) if rng.random() < 0.1 else text


# -- coverage -------------------------------------------------------------------------------


@dataclass
class FunctionLabels:
    """The ADDRESS labels of one decorated function and the runs that reached each."""

    module: str
    qualname: str
    #: label -> source line of the labelled call
    lines: dict[str, int]
    reached: dict[str, set[int]] = field(default_factory=dict)


class Coverage:
    """Which ADDRESS labels of the bot's decorated functions the runs reached.

    A label counts as reached when its call is made: a profile hook sees every call made
    from a decorated frame and maps the caller's position to the engine's call site (so
    labels on calls that do not pause count too); agent replies logged with an address are
    counted as well.
    """

    def __init__(self, module: ModuleType | None) -> None:
        self.functions: dict[tuple[str, str], FunctionLabels] = {}
        self._run = -1
        if module is not None:
            for function in _decorated_functions(module):
                self._info(function.__code__)

    def _info(self, code: Any) -> FunctionLabels | None:
        info = _frames.lookup(code)
        if info is None:
            return None
        key = (info.module, info.qualname)
        labels = self.functions.get(key)
        if labels is None:
            lines = {label: info.sites[index].lineno for label, index in info.labels.items()}
            labels = self.functions[key] = FunctionLabels(info.module, info.qualname, lines)
        return labels

    def tracing(self, run: int) -> _Tracing:
        self._run = run
        return _Tracing(self._profile)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            caller = frame.f_back
        elif event == "c_call":
            caller = frame
        else:
            return
        if caller is None:
            return
        info = _frames.lookup(caller.f_code)
        if info is None or not info.labels:
            return
        site = info.site_at(caller.f_code, caller.f_lasti)
        if site is not None and site.label is not None:
            self.mark(info.module, info.qualname, site.label, caller.f_code)

    def mark(self, module: str, qualname: str, label: str, code: Any = None) -> None:
        labels = self.functions.get((module, qualname))
        if labels is None and code is not None:
            labels = self._info(code)
        if labels is not None:
            labels.reached.setdefault(label, set()).add(self._run)

    def note_log(self, memory: MemoryObject, run: int) -> None:
        """Count replies logged with an address (for labels the profile hook could miss)."""
        self._run = run
        for entry in memory.model_turns[-4:]:
            address, function = entry.get("address"), entry.get("function_name")
            if entry.get("entry_type") != "agent_reply" or not address or not function:
                continue
            for labels in self.functions.values():
                if labels.qualname == function and address in labels.lines:
                    labels.reached.setdefault(address, set()).add(run)

    def totals(self) -> tuple[int, int]:
        total = sum(len(f.lines) for f in self.functions.values())
        reached = sum(len(set(f.reached) & set(f.lines)) for f in self.functions.values())
        return reached, total


class _Tracing:
    """Context manager installing a profile hook for the current thread."""

    def __init__(self, hook: Callable[[FrameType, str, Any], None]) -> None:
        self.hook = hook
        self.previous: Any = None

    def __enter__(self) -> None:
        self.previous = sys.getprofile()
        sys.setprofile(self.hook)

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self.previous)


def _decorated_functions(module: ModuleType) -> Iterator[FunctionType]:
    """The decorated functions defined in `module`: top level, and methods of its classes."""
    name = module.__name__
    for value in list(vars(module).values()):
        candidates = [value]
        if isinstance(value, type) and value.__module__ == name:
            candidates = list(vars(value).values())
        for candidate in candidates:
            function = getattr(candidate, "__func__", candidate)
            code = getattr(function, "__code__", None)
            if (
                code is not None
                and getattr(function, "__module__", None) == name
                and _frames.lookup(code) is not None
            ):
                yield function


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
    for failure in session.failures:
        _write_failure(out, failure, args)
    out.flush()


def _write_coverage(out: TextIO, coverage: Coverage) -> None:
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


def _write_failure(out: TextIO, failure: Failure, args: argparse.Namespace) -> None:
    where = "the opening turn" if failure.phase == "start" else f"turn {failure.turn}"
    out.write(
        f"\nFAILED: run {failure.run}, {where} ({failure.phase}), seed {failure.seed}: "
        f"{describe_error(failure.exception)}\n"
    )
    if failure.message is not None:
        out.write(f"  user message: {failure.message!r}\n")
    extra = f" --messages {args.messages}" if args.messages else ""
    extra += " --via-files" if args.via_files else ""
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
