"""`AutogramConfig`: every setting of an Autogram, validated when it is made.

Field names and defaults are those of AutoGRAMS 0.5.3, so existing configs keep working. Fields
AutoGRAMS accepted but never used either do something now or are documented as having no
effect. New fields (``base_url``, ``api_key``, ``request_timeout``, ``session_key`` ...) come
last.
"""

from __future__ import annotations

import copyreg

import functools
import warnings
from dataclasses import InitVar, dataclass, field, fields
from typing import Any

#: values of ``chatbot_type`` and ``classifier_type``
CHATBOT_TYPES = ("openai", "proxy", "huggingface_tgi")
#: values of ``embedding_type``
EMBEDDING_TYPES = ("openai", "proxy")
#: values of ``classifier_mode``
CLASSIFIER_MODES = ("json", "logit")
#: values of ``log_model_inputs`` (see ``autograms._model_inputs``)
LOG_MODEL_INPUTS = ("supervised", "all", "none")
#: values of ``reply_start_type`` (accepted for compatibility; no effect)
REPLY_START_TYPES = ("suffix", "prefix", "none")
#: placeholders of ``instruction_template`` and ``reply_suffix_inst_conversion``
INSTRUCTION_TOKEN = "<instruction>"
LAST_RESPONSE_TOKEN = "<last_response>"
AGENT_NAME_TOKEN = "<agent_name>"
#: AutoGRAMS' default ``instruction_template``, which its prompts never applied: a config
#: copied from AutoGRAMS field by field passes it, and gets the built-in format
AUTOGRAMS_INSTRUCTION_TEMPLATE = "<last_response>\n\nInstruction for <agent_name>: <instruction>"
#: the phrases ``banned_phrases="default"`` stands for (AutoGRAMS' list)
DEFAULT_BANNED_PHRASES = (
    "that request",
    "language model",
    "provide a response",
    "I can't respond",
    "I cannot engage",
    "I can't engage",
    "I'm sorry, I can't",
    "I'm sorry, I cannot",
    "I cannot respond",
    "I can't provide",
    "I cannot provide",
    "I can't fullful",
    "I cannot fullfill",
    "that prompt",
    "that instruction",
    "open ai",
)
#: request parameters the library sets itself, so ``chatbot_generation_args`` may not
RESERVED_GENERATION_ARGS = frozenset(
    {"messages", "model", "response_format", "stream", "n", "logit_bias", "tools"}
)
_DEFAULT_GENERATION_ARGS = {"temperature": 0.7}


class ConfigError(ValueError):
    """A configuration value is invalid."""

    def __reduce__(self) -> tuple:
        # Rebuild without calling __init__ (whose arguments .args does not hold), so an
        # instance kept in a paused program's locals survives a session round trip.
        return (copyreg.__newobj__, (type(self),), {**self.__dict__, "args": self.args})

    def __init__(self, field_name: str, message: str) -> None:
        #: the field at fault
        self.field = field_name
        super().__init__(message)


@dataclass
class AutogramConfig:
    """Settings of one Autogram: models, endpoints, prompts, retries and limits."""

    #: maximum tokens of a chat reply (None: let the server decide)
    max_tokens: int | None = 1024
    #: system prompt of the root conversation (read by the memory layer)
    default_prompt: str = "You are an agent."
    #: the agent's name: a leading "<agent_name>:" echoed by the model is removed from replies
    agent_name: str = "Agent"
    #: label of user messages in prompts ("User: hello")
    user_name: str = "User"
    #: label of instructions in prompts, upper-cased ("INSTRUCTION: reply politely")
    instruction_name: str = "Instruction"
    #: "openai" (api.openai.com or ``base_url``), "proxy" (any OpenAI-compatible server:
    #: LocalAI, LiteLLM, vLLM, llama.cpp, ollama) or "huggingface_tgi"
    chatbot_type: str = "openai"
    #: model name for chat replies, and for decisions unless ``classifier_path`` is set
    chatbot_path: str = "gpt-4o"
    #: put the system prompt in front of the first user message instead of a system message
    system_prompt_in_turns: bool = False
    #: reply text used when the chat model fails after all tries (None: raise ModelCallError)
    error_response: str | None = None
    #: extra request parameters for chat and structured calls (None: {"temperature": 0.7})
    chatbot_generation_args: dict[str, Any] | None = None
    #: HTTP attempts per chat call; transient errors (408/409/429/5xx/timeouts) are retried
    chatbot_max_tries: int = 3
    #: seconds before the first retry of a chat call; doubles on each further retry
    chatbot_wait_per_try: float = 5
    #: token budget of a chat prompt; older turns are dropped to fit
    chatbot_max_input_len: int = 3500
    #: HTTP attempts per decision call (yes_or_no, multiple_choice, TRANSITION)
    classifier_max_tries: int = 2
    #: seconds before the first retry of a decision call; doubles on each further retry
    classifier_wait_per_try: float = 5
    #: decision prompts are sent whole, as AutoGRAMS sends them (their ``max_turns`` bounds
    #: them); with ``chatbot_max_input_len`` this sizes the conversation a session keeps live
    classifier_max_input_len: int = 2048
    #: send decision prompts without the system prompt
    exclude_classifier_system_prompt: bool = False
    #: phrases that make a chat reply be generated once more ("default": AutoGRAMS' list)
    banned_phrases: list[str] | str | None = None
    #: tidy chat replies: strip whitespace and an echoed "<agent_name>:" label
    post_process_response: bool = True
    #: server type for decisions (None: same as ``chatbot_type``)
    classifier_type: str | None = None
    #: model name for decisions (None: ``chatbot_path``)
    classifier_path: str | None = None
    #: "json" (structured answer, works everywhere) or "logit" (one biased token; needs a
    #: server with logit_bias and a tiktoken-known model). None: "json"
    classifier_mode: str | None = None
    #: "openai" or "proxy" endpoint for embeddings (None: "proxy" if ``chatbot_type`` is
    #: "proxy", "openai" if it is "openai", no embeddings for "huggingface_tgi")
    embedding_type: str | None = None
    #: model name for embeddings
    embedding_path: str = "text-embedding-3-small"
    #: format of the final prompt message, with <last_response> (the user's pending
    #: messages), <instruction> and optionally <agent_name> (None, or AutoGRAMS' default
    #: template, which its prompts never applied: the built-in format)
    instruction_template: str | None = None
    #: accepted for compatibility ("suffix", "prefix" or "none"); has no effect, as in AutoGRAMS
    reply_start_type: str = "suffix"
    #: accepted for compatibility; has no effect, as in AutoGRAMS
    default_reply_start_template: str | None = None
    #: accepted for compatibility; has no effect, as in AutoGRAMS
    user_instruction_template: str | None = None
    #: text put in front of every decision question (None: nothing)
    default_question_prompt: str | None = None
    #: default ``max_turns`` of TRANSITION: user turns of history the decision sees
    default_transition_context: int = 1
    #: reply_suffix's instruction, with <instruction> standing for the required text
    #: (None: built-in wording)
    reply_suffix_inst_conversion: str | None = None
    #: port of the local server for "proxy"/"huggingface_tgi" (http://localhost:PORT/v1); the
    #: ports also take a string of digits ("8080"), as AutoGRAMS' scripts pass them
    chatbot_proxy_port: int = 8080
    #: port of a separate local server for decisions (None: the chat server)
    classifier_proxy_port: int | None = None
    #: port of a separate local server for embeddings (None: the chat server)
    embedding_proxy_port: int | None = None
    #: base URL of the chat server, e.g. "http://127.0.0.1:8080/v1" (wins over the port
    #: settings; None: OpenAI, or $OPENAI_BASE_URL, or the proxy port)
    base_url: str | None = None
    #: API key of the chat server (None: $OPENAI_API_KEY for OpenAI; no key for other servers)
    api_key: str | None = field(default=None, repr=False)
    #: base URL of a separate server for decisions (None: same as chat)
    classifier_base_url: str | None = None
    #: API key for ``classifier_base_url`` (None: ``api_key``)
    classifier_api_key: str | None = field(default=None, repr=False)
    #: base URL of a separate server for embeddings
    embedding_base_url: str | None = None
    #: API key for ``embedding_base_url`` (None: ``api_key``)
    embedding_api_key: str | None = field(default=None, repr=False)
    #: seconds one HTTP request may take before it counts as a (retried) timeout (None: no limit)
    request_timeout: float | None = 60.0
    #: HMAC key that signs saved sessions (None: $AUTOGRAMS_SESSION_KEY as set when an
    #: Autogram with this config first saves or loads a session, else unsigned)
    session_key: str | bytes | None = field(default=None, repr=False)
    #: which model calls' log entries hold the prompt they sent, in AutoGRAMS' form
    #: (``function_inputs``' input_turns, output_turns, system_prompt ...): "supervised" (the
    #: calls a supervisor answered: what AutoGRAMS' finetuning data preparation reads), "all"
    #: (the log then grows by a prompt per call) or "none"
    log_model_inputs: str = "supervised"
    #: deprecated spelling of ``max_tokens``
    max_response_len: InitVar[int | None] = None

    def __post_init__(self, max_response_len: int | None) -> None:
        if max_response_len is not None:
            warnings.warn(
                "max_response_len is deprecated: use max_tokens", DeprecationWarning, stacklevel=3
            )
            self.max_tokens = max_response_len
        self.chatbot_generation_args = _generation_args(self.chatbot_generation_args)
        self.banned_phrases = _banned_phrases(self.banned_phrases)
        _check_choices(self)
        _check_numbers(self)
        _check_texts(self)

    @property
    def resolved_classifier_type(self) -> str:
        """Server type used for decisions."""
        return self.classifier_type or self.chatbot_type

    @property
    def resolved_classifier_path(self) -> str:
        """Model name used for decisions."""
        return self.classifier_path or self.chatbot_path

    @property
    def resolved_embedding_type(self) -> str | None:
        """Server type used for embeddings (None: ``chatbot_type`` has none)."""
        if self.embedding_type is not None:
            return self.embedding_type
        if self.embedding_base_url is not None or self.embedding_proxy_port is not None:
            return "proxy"
        return {"openai": "openai", "proxy": "proxy"}.get(self.chatbot_type)

    @property
    def proxy_address(self) -> str:
        """AutoGRAMS' ``proxy_address``: the local chat server's URL for ``chatbot_proxy_port``
        (``base_url``, when set, is used instead)."""
        return f"http://localhost:{self.chatbot_proxy_port}/v1"

    @property
    def resolved_classifier_mode(self) -> str:
        """Decision mode actually used: "json" or "logit"."""
        return self.classifier_mode or "json"


def _generation_args(args: dict[str, Any] | None) -> dict[str, Any]:
    if args is None:
        return dict(_DEFAULT_GENERATION_ARGS)
    if not isinstance(args, dict):
        raise ConfigError(
            "chatbot_generation_args",
            f"chatbot_generation_args must be a dict: got {type(args).__name__}",
        )
    reserved = sorted(RESERVED_GENERATION_ARGS & args.keys())
    if reserved:
        raise ConfigError(
            "chatbot_generation_args",
            f"chatbot_generation_args may not set {reserved}: the library sets them per call",
        )
    args = dict(args)
    if "batch_size" in args:
        warnings.warn(
            "chatbot_generation_args['batch_size'] is not a request parameter and is ignored",
            UserWarning,
            stacklevel=4,
        )
        del args["batch_size"]
    return args


def _banned_phrases(value: list[str] | str | None) -> list[str]:
    if value is None:
        return []
    if value == "default":
        return list(DEFAULT_BANNED_PHRASES)
    if isinstance(value, str) or not all(isinstance(p, str) for p in value):
        raise ConfigError(
            "banned_phrases", f"banned_phrases must be a list of str or 'default': got {value!r}"
        )
    return list(value)


def _one_of(config: AutogramConfig, name: str, allowed: tuple[str, ...], *, optional: bool) -> None:
    value = getattr(config, name)
    if (value is None and optional) or value in allowed:
        return
    raise ConfigError(name, f"{name} must be one of {list(allowed)}: got {value!r}")


def _check_choices(config: AutogramConfig) -> None:
    _one_of(config, "chatbot_type", CHATBOT_TYPES, optional=False)
    _one_of(config, "classifier_type", CHATBOT_TYPES, optional=True)
    _one_of(config, "embedding_type", EMBEDDING_TYPES, optional=True)
    _one_of(config, "classifier_mode", CLASSIFIER_MODES, optional=True)
    _one_of(config, "reply_start_type", REPLY_START_TYPES, optional=False)
    _one_of(config, "log_model_inputs", LOG_MODEL_INPUTS, optional=False)
    if config.classifier_mode == "logit" and config.resolved_classifier_type == "huggingface_tgi":
        raise ConfigError(
            "classifier_mode",
            "classifier_mode 'logit' does not work with huggingface_tgi: TGI has no logit_bias; "
            "use classifier_mode='json'",
        )


def _check_int(config: AutogramConfig, name: str, low: int, *, optional: bool = False) -> None:
    value = getattr(config, name)
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(name, f"{name} must be an int >= {low}: got {value!r}")


def _check_number(config: AutogramConfig, name: str, *, positive: bool, optional: bool) -> None:
    value = getattr(config, name)
    if value is None and optional:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(name, f"{name} must be a number {bound}: got {value!r}")


def _check_numbers(config: AutogramConfig) -> None:
    _check_int(config, "max_tokens", 1, optional=True)
    for name in (
        "chatbot_max_tries",
        "classifier_max_tries",
        "chatbot_max_input_len",
        "classifier_max_input_len",
    ):
        _check_int(config, name, 1)
    _check_int(config, "default_transition_context", 0)
    for name in ("chatbot_proxy_port", "classifier_proxy_port", "embedding_proxy_port"):
        port = getattr(config, name)
        if isinstance(port, str) and port.isascii() and port.isdigit():
            setattr(config, name, int(port))  # AutoGRAMS' run_autogram.py passes argparse strings
        _check_int(config, name, 1, optional=name != "chatbot_proxy_port")
        port = getattr(config, name)
        if port is not None and port > 65535:
            raise ConfigError(name, f"{name} must be a TCP port (1-65535): got {port}")
    _check_number(config, "chatbot_wait_per_try", positive=False, optional=False)
    _check_number(config, "classifier_wait_per_try", positive=False, optional=False)
    _check_number(config, "request_timeout", positive=True, optional=True)


def _check_texts(config: AutogramConfig) -> None:
    for name in ("base_url", "classifier_base_url", "embedding_base_url"):
        url = getattr(config, name)
        if url is not None and not (
            isinstance(url, str) and url.startswith(("http://", "https://"))
        ):
            raise ConfigError(name, f"{name} must start with http:// or https://: got {url!r}")
    for name in ("instruction_template", "reply_suffix_inst_conversion"):
        template = getattr(config, name)
        if template is not None and INSTRUCTION_TOKEN not in template:
            raise ConfigError(name, f"{name} must contain {INSTRUCTION_TOKEN}: got {template!r}")
    if config.session_key is not None and not isinstance(config.session_key, str | bytes):
        kind = type(config.session_key).__name__
        raise ConfigError("session_key", f"session_key must be str or bytes: got {kind}")


def _reject_unknown_fields(init: Any) -> Any:
    known = {f.name for f in fields(AutogramConfig)} | {"max_response_len"}

    @functools.wraps(init)
    def __init__(self: AutogramConfig, *args: Any, **kwargs: Any) -> None:
        for name in kwargs:
            if name not in known:
                import difflib  # only for the message

                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise TypeError(f"unknown AutogramConfig field {name!r}{hint}")
        init(self, *args, **kwargs)

    return __init__


AutogramConfig.__init__ = _reject_unknown_fields(AutogramConfig.__init__)  # type: ignore[method-assign]
