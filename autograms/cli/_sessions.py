"""Where ``autograms run`` keeps a conversation, and how the user hears how to go on with it.

With ``--session FILE`` the conversation lives in FILE: continued if it exists, saved after every
turn. Without it, in a terminal, each bot has a saved conversation of its own under
``~/.cache/autograms/sessions/`` (``$XDG_CACHE_HOME``): saved after every turn, offered for
continuing the next time the bot is run (``--new`` starts afresh without asking, ``--no-save``
saves nothing). When stdin is not a terminal nothing is saved unless ``--session`` says where.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..models.local_install import command_for, python_command
from ._bots import BotSource
from ._common import CliError

#: the folder of the cache that holds the per-bot conversations
SESSIONS_FOLDER = "sessions"


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """Where a run's conversation is saved, and whether it continues one."""

    #: the session file saved after every turn (None: nothing is saved)
    path: Path | None
    #: continue the session saved in `path`
    resume: bool
    #: `path` is the bot's own saved conversation, not a ``--session`` file
    default: bool
    #: ``--saveload_file``: the last message is kept and sent again on resume (`_replay`)
    replay: bool = False


def cache_folder() -> Path:
    """``~/.cache/autograms`` (or under ``$XDG_CACHE_HOME``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "autograms"


def default_session_path(source: BotSource) -> Path:
    """The bot's own saved conversation: ``<name>.session`` for an example, and for a file
    ``<stem>-<hash of its path>.session`` (two ``bot.py`` in two folders do not share one)."""
    if source.module_name is not None:
        name = source.module_name.rsplit(".", 1)[-1]
    else:
        digest = hashlib.sha256(os.path.realpath(source.path).encode()).hexdigest()[:8]
        name = f"{source.name}-{digest}"
    return cache_folder() / SESSIONS_FOLDER / f"{name}.session"


def plan_session(
    source: BotSource,
    *,
    session: str | None,
    new: bool,
    replay: bool = False,
    save: bool,
    interactive: bool,
    ask: Callable[[str], str] = input,
    out: TextIO | None = None,
) -> SessionPlan:
    """Choose where the conversation is saved; asks (with `ask`) whether to continue the
    bot's saved conversation when there is one and the run is `interactive`. `replay`: the
    `session` file is a ``--saveload_file`` one."""
    if session is not None:
        path = Path(session).expanduser()
        resume = _existing_session(path) and not new
        return SessionPlan(path, resume, default=False, replay=replay)
    if not save or not interactive:
        return SessionPlan(None, resume=False, default=False)
    path = default_session_path(source)
    if new or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        return SessionPlan(path, resume=False, default=True)
    stream = out or sys.stdout
    stream.write(f"(a conversation with {source.name} was saved {_when(path)})\n")
    stream.flush()
    answer = ask("continue it? [Y/n] ").strip().lower()
    return SessionPlan(path, resume=answer in ("", "y", "yes"), default=True)


def _existing_session(path: Path) -> bool:
    """Whether there is a session to continue at `path` (else one will be saved there)."""
    if path.exists():
        if not path.is_file():
            raise CliError(f"cannot use session {str(path)!r}: not a file")
        if not os.access(path, os.R_OK):
            raise CliError(f"cannot read session {str(path)!r}: permission denied")
        return True
    if not path.parent.resolve().is_dir():
        raise CliError(
            f"cannot save session {str(path)!r}: folder {str(path.parent)!r} does not exist"
        )
    return False


def _when(path: Path) -> str:
    saved = datetime.datetime.fromtimestamp(path.stat().st_mtime)
    today = datetime.date.today()
    if saved.date() == today:
        return f"today at {saved:%H:%M}"
    return f"on {saved:%Y-%m-%d} at {saved:%H:%M}"


def set_aside(path: Path) -> Path:
    """Rename a session that cannot be continued (and its log) to ``<path>.old``, so a new
    one can be saved in its place; the new name."""
    old = path.with_name(path.name + ".old")
    os.replace(path, old)
    log = Path(f"{path}.log")
    if log.exists():
        os.replace(log, Path(f"{old}.log"))
    return old


def autograms_command() -> str:
    """How to name the ``autograms`` command in a shell, where the user stands: ``autograms``
    when that is what the shell finds, else the path of this installation's script."""
    script = Path(sys.executable).with_name("autograms")
    if script.is_file():
        return command_for(str(script), "autograms")
    return f"{python_command()} -m autograms"


def continue_command(bot: str, plan: SessionPlan) -> str:
    """The command that continues the conversation saved as `plan` says."""
    command = f"{autograms_command()} run {shlex.quote(bot)}"
    if plan.path is not None and not plan.default:
        flag = "--saveload_file" if plan.replay else "--session"
        command += f" {flag} {shlex.quote(str(plan.path))}"
    return command
