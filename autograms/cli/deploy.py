"""``autograms sessions check|upgrade BOT``: before a deploy, load every stored session against
the bot's new code without running it, and decide what becomes of the ones it would refuse.

``check`` changes nothing: it prints one line per session -- resumes here (function, line,
ADDRESS), resumes at a remapped label, idle, or refused (function, line, what changed) --
then the totals, and exits 1 when any session would be refused. On a store several bots
share, only the bot's own sessions (and the unclaimed ones, marked) are checked; the others
are counted as skipped. ``upgrade`` rewrites the
sessions that ``--map`` resumes at labels of the new code or ``--restart`` restarts, and
leaves every other one as it is. The Python API under both is `autograms.deploys`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ..autogram import Autogram
from ..deploys import DeployReport, SessionCheck, Verdict, check_sessions, upgrade_sessions
from ..stores.urls import hide_password
from ._bots import (
    Bot,
    BotNotFoundError,
    BotSource,
    add_bot_argument,
    bot_argument,
    load_bot,
    require_bot,
)
from ._common import CliError, make_config, read_config_file, report
from ._stores import open_existing_store

COMMAND = "sessions"

EPILOG = """\
examples:
  autograms sessions check mybot.py --store sqlite:///sessions.db
  autograms sessions check mybot.py --folder saved/ --map ask_salary=ask_expectations
  autograms sessions upgrade mybot.py --store postgresql://bot@db/bot --map old_step=review
  autograms sessions upgrade mybot.py --store sqlite:///sessions.db --restart

--map OLD=NEW resumes a session the new code would refuse at ADDRESS NEW: OLD is the ADDRESS
label it paused at, or its function (qualname or module.qualname). It continues as if it had
paused at the call labelled NEW, in the innermost function of its stack that has that label
(the calls inside it are left); that call returns the user's next message. --restart starts
the refused sessions no mapping resumes from the top, their conversation history kept.
Sessions not upgraded stay as they are, for the old code to continue.

shared stores: only the bot's own sessions are checked and upgraded; the sessions of other
bots are left alone and counted as skipped. A session no bot owns yet (a row of schema 1 whose
session named no program) is checked too, marked [unclaimed], since its next message may start
this bot; upgrade never rewrites it.

signed sessions: with a session key (the config's session_key or AUTOGRAMS_SESSION_KEY) a
session that is unsigned or altered is refused, and a signed one is also unpickled, so a
saved value whose class the new code removed is found. Without a key nothing is unpickled:
a mapping that must read an unsigned session's values (it leaves frames inside the label)
refuses it, and --restart restarts it from its log (its messages kept, its per-session
globals back to their defaults). --trust-unsigned unpickles such sessions instead: use it
only when every session in the store or folder comes from you.

exit status: 0 when no session is refused (after upgrade: none is left refused); 1 when some
are; 2 for an unknown bot, a bot file that does not import, a bad --config, --map or store
URL, or a missing folder.
"""

#: how each verdict reads in the report, and in its totals
_SAID = {
    Verdict.RESUMES: "resumes here",
    Verdict.REMAPPED: "resumes at a remapped label",
    Verdict.MAPPED: "resumes at a mapped label",
    Verdict.RESTARTS: "restarts from the top, history kept",
    Verdict.IDLE: "idle: starts from the top at its next message",
    Verdict.REFUSED: "refused",
}
_DONE = {
    Verdict.MAPPED: "moved to a mapped label",
    Verdict.RESTARTS: "restarted from the top, history kept",
    Verdict.REFUSED: "refused: kept for the old code",
}
_TOTALS = {
    Verdict.RESUMES: "resume here",
    Verdict.REMAPPED: "at a remapped label",
    Verdict.MAPPED: "at a mapped label",
    Verdict.RESTARTS: "restart",
    Verdict.IDLE: "idle",
    Verdict.REFUSED: "refused",
}
_TOTALS_DONE = {
    **_TOTALS,
    Verdict.MAPPED: "moved to a mapped label",
    Verdict.RESTARTS: "restarted",
    Verdict.REFUSED: "refused (kept)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``check`` and ``upgrade`` subcommands to `parser`."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, summary in (
        ("check", "report how every stored session fits the bot's code (changes nothing)"),
        ("upgrade", "rewrite the sessions --map or --restart say (leaves the others)"),
    ):
        sub = actions.add_parser(
            action,
            help=summary,
            description=summary,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_bot_argument(sub)
        where = sub.add_mutually_exclusive_group(required=True)
        where.add_argument("--store", metavar="URL", help="sqlite:///FILE or postgresql://...")
        where.add_argument("--folder", metavar="DIR", help="a folder of session files")
        sub.add_argument(
            "--map",
            metavar="OLD=NEW",
            action="append",
            default=[],
            help="resume sessions refused at label or function OLD at ADDRESS NEW (repeatable)",
        )
        sub.add_argument(
            "--restart", action="store_true", help="restart refused sessions no --map resumes"
        )
        sub.add_argument(
            "--trust-unsigned",
            action="store_true",
            help="unpickle sessions no signature covers when a mapping or restart needs them",
        )
        sub.add_argument("--config", metavar="FILE", help="JSON object of AutogramConfig fields")
        sub.add_argument("--json", action="store_true", help="write the report as JSON")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Check or upgrade as `args` (from `add_arguments`) ask; the exit status."""
    try:
        return _run(args, out or sys.stdout)
    except CliError as exc:
        report(f"{COMMAND} {args.action}", exc.message)
        return exc.status


def _run(args: argparse.Namespace, out: TextIO) -> int:
    labels = parse_mapping(args.map)
    source = require_bot(bot_argument(args)[0])
    config = make_config(
        read_config_file(args.config) if args.config else {}, source=args.config or "the options"
    )
    bot = _import_bot(source)
    autogram = Autogram(bot.chatbot, config, test_mode=True)
    act = check_sessions if args.action == "check" else upgrade_sessions
    plan = {"labels": labels, "restart": args.restart, "trust_unsigned": args.trust_unsigned}
    if args.folder is not None:
        if not os.path.isdir(args.folder):
            raise CliError(f"no folder of session files at {args.folder!r}")
        where = args.folder
        result = act(autogram, folder=args.folder, **plan)
    else:
        where = hide_password(args.store)
        result = _on_store(act, autogram, args.store, plan)
    if args.json:
        json.dump(to_json(result), out, indent=2)
        out.write("\n")
    else:
        write_report(result, out, action=args.action, where=where)
    return 0 if result.ok else 1


def _import_bot(source: BotSource) -> Bot:
    """The bot's new code; one that does not import is a `CliError` of exit status 2 (not 1,
    which says some session would be refused), without a traceback."""
    try:
        return load_bot(source)
    except BotNotFoundError as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - any failure of the bot's own top level
        raise CliError(f"cannot import {source.argument}: {type(exc).__name__}: {exc}") from exc


def _on_store(act: Any, autogram: Autogram, url: str, plan: dict[str, Any]) -> DeployReport:
    store = open_existing_store(url)
    try:
        return act(autogram, store=store, **plan)
    finally:
        store.close()


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``OLD=NEW`` pairs as a mapping; a `CliError` for a malformed one."""
    labels: dict[str, str] = {}
    for pair in pairs:
        old, equals, new = pair.partition("=")
        if not equals or not old.strip() or not new.strip().isidentifier():
            raise CliError(
                f"bad --map {pair!r}: write OLD=NEW, OLD an ADDRESS label or a function, "
                "NEW an ADDRESS label"
            )
        labels[old.strip()] = new.strip()
    return labels


# -- the report ------------------------------------------------------------------------------


def write_report(result: DeployReport, out: TextIO, *, action: str, where: str) -> None:
    """One line per session (two for a refusal: the facts, then the engine's words), then
    the totals."""
    width = max((len(check.session) for check in result.sessions), default=0)
    said = _DONE if action == "upgrade" else {}
    for check in result.sessions:
        verdict = said.get(check.verdict, _SAID[check.verdict])
        out.write(f"  {check.session:<{width}}  {verdict}{_details(check)}\n")
        if check.message and check.verdict in (Verdict.REFUSED, Verdict.RESTARTS):
            out.write(f"  {'':<{width}}    {check.message}\n")
    out.write(f"{summary(result, done=action == 'upgrade')} ({where})\n")


def _details(check: SessionCheck) -> str:
    frame = check.frame
    if frame is None:
        return (f" ({check.reason})" if check.reason else "") + _unclaimed(check)
    text = f": {frame.qualname} ({_place(frame.filename, frame.lineno)})"
    if frame.label:
        text += f" at ADDRESS {frame.label!r}"
    elif frame.fit == "refused":
        text += ", no ADDRESS label"
    if check.verdict is Verdict.MAPPED:
        text += f", was at {_paused(check)}"
    if frame.reason:
        text += f" ({frame.reason})"
    if not check.locals_checked:
        text += " [locals checked when it loads: written before session format 3]"
    return text + _unclaimed(check)


def _unclaimed(check: SessionCheck) -> str:
    return " [unclaimed: no bot owns it yet]" if check.unclaimed else ""


def _paused(check: SessionCheck) -> str:
    """Where a mapped session paused: its innermost frame as it was."""
    inner = check.frames[-1]
    label = f" ADDRESS {inner.paused_label!r}" if inner.paused_label else ""
    return f"{inner.qualname}{label}"


def _place(filename: str | None, lineno: int) -> str:
    return f"{os.path.basename(filename)}:{lineno}" if filename else f"line {lineno}"


def summary(result: DeployReport, *, done: bool = False) -> str:
    """``N sessions: a resume here, b at a remapped label, ...`` (verdicts with none left out;
    `done`: as an upgrade did them), and how many of other programs were skipped."""
    totals = _TOTALS_DONE if done else _TOTALS
    parts = [
        f"{result.count(verdict)} {said}"
        for verdict, said in totals.items()
        if result.count(verdict)
    ]
    total = len(result.sessions)
    noun = "session" if total == 1 else "sessions"
    skipped = f"; {result.skipped} of other bots skipped" if result.skipped else ""
    return f"{total} {noun}" + (": " + ", ".join(parts) if parts else "") + skipped


def to_json(result: DeployReport) -> dict[str, Any]:
    """The report as plain data: totals by verdict, the sessions of other programs skipped,
    and every session with its frames."""
    return {
        "ok": result.ok,
        "totals": {verdict.value: result.count(verdict) for verdict in Verdict},
        "skipped": result.skipped,
        "sessions": [
            {
                "session": check.session,
                "verdict": check.verdict.value,
                "reason": check.reason,
                "message": check.message,
                "format": check.format,
                "values_read": check.values_read,
                "locals_checked": check.locals_checked,
                "unclaimed": check.unclaimed,
                "frames": [
                    {
                        "module": frame.module,
                        "function": frame.qualname,
                        "fit": frame.fit,
                        "file": frame.filename,
                        "line": frame.lineno,
                        "label": frame.label,
                        "paused_label": frame.paused_label,
                        "reason": frame.reason,
                    }
                    for frame in check.frames
                ],
            }
            for check in result.sessions
        ],
    }
