"""Vector stores (``autograms.agent_modules``): AutoIndex retrieval in test mode, where equal
texts embed to equal vectors, and inside a bot driven turn by turn with round trips."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from autograms import Autogram, use_config
from autograms.agent_modules.search_utils import SimpleIndex
from autograms.agent_modules.vector_stores import (
    AutoIndex,
    FAISSIndex,
    NumpyIndex,
    faiss_available,
)
from tests.compat.bots import retrieval
from tests.compat.driver import converse

DOCS = [
    "Cats purr when they are content.",
    {"text": "Dogs bark at strangers.", "metadata": {"id": 2}},
    "Birds sing at dawn.",
    "Fish swim in schools.",
]
LIBRARIES = ["numpy", pytest.param("faiss", marks=pytest.mark.skipif(
    not faiss_available, reason="faiss is not installed (pip install faiss-cpu)"))]  # fmt: skip


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_document_is_its_own_nearest_neighbour(library: str) -> None:
    with use_config(test_mode=True):
        index = AutoIndex.from_texts(DOCS, index_library=library)
        for position, doc in enumerate(DOCS):
            text = doc if isinstance(doc, str) else doc["text"]
            hits = index.similarity_search(text, k=2)
            assert hits[0]["text"] == text and hits[0]["distance"] == pytest.approx(0, abs=1e-4)
            assert hits[0]["distance"] <= hits[1]["distance"]
            assert hits[0]["metadata"] == ({} if isinstance(doc, str) else doc["metadata"])
            assert position in range(len(index))


@pytest.mark.skipif(not faiss_available, reason="faiss is not installed (pip install faiss-cpu)")
@pytest.mark.parametrize("index_type", ["flat", "ivf", "hnsw"])
def test_faiss_index_types_agree_with_exact_search(index_type: str) -> None:
    with use_config(test_mode=True):
        exact = NumpyIndex.from_texts(DOCS)
        approximate = FAISSIndex.from_texts(DOCS, index_type=index_type, nlist=1)
        approximate.add_texts(["Horses gallop."])
        exact.add_texts(["Horses gallop."])
        for query in ("Horses gallop.", "Cats purr when they are content."):
            assert [h["text"] for h in approximate.similarity_search(query, k=1)] == \
                [h["text"] for h in exact.similarity_search(query, k=1)]  # fmt: skip
        copy = pickle.loads(pickle.dumps(approximate))
        assert (
            copy.similarity_search("Birds sing at dawn.", k=1)[0]["text"] == "Birds sing at dawn."
        )


def test_auto_index_wraps_the_chosen_index_and_delegates() -> None:
    with use_config(test_mode=True):
        auto = AutoIndex.from_texts(DOCS, index_library="numpy", return_wrapped=False)
        assert isinstance(auto, AutoIndex) and isinstance(auto.wrapped_index, NumpyIndex)
        assert auto.embedding_dim == len(auto.embeddings[0]) and len(auto.texts) == 4
        assert auto.similarity_search("Fish swim in schools.", k=1)[0]["text"] == \
            "Fish swim in schools."  # fmt: skip
        auto.reset_index()
        assert len(auto) == 0
        with pytest.raises(RuntimeError, match="empty"):
            auto.similarity_search("anything")
    with pytest.raises(ValueError, match="index_library"):
        AutoIndex(index_library="annoy")


def test_restricted_search_returns_documents_from_the_subset() -> None:
    with use_config(test_mode=True):
        index = NumpyIndex.from_texts(DOCS)
        hits = index.similarity_search_restricted("Cats purr when they are content.", k=2,
                                                  indices=[2, 3])  # fmt: skip
    assert {hit["text"] for hit in hits} == {"Birds sing at dawn.", "Fish swim in schools."}


def test_vectors_of_another_model_are_refused() -> None:
    with use_config(test_mode=True):
        index = NumpyIndex.from_texts(DOCS, default_size=8)
        index.embedding_kwargs = {}  # now the scripted model's own length, 1536
        with pytest.raises(ValueError, match="another embedding model"):
            index.add_texts(["Owls hoot."])
        with pytest.raises(ValueError, match="a document is a text or a dict"):
            index.add_texts([{"body": "no text"}])


def test_simple_index_searches_by_cosine_and_keeps_categories() -> None:
    index = SimpleIndex()
    index.add([1, 0], "east", "compass")
    index.add([0, 1], "north", "compass")
    index.add([1, 1], "north-east", "diagonal")
    assert index.search([1, 0.1], n=2, chron=False) == ["east", "north-east"]
    assert index.search([1, 0.1], n=2) == ["east", "north-east"]
    assert index.search([0.1, 1], n=2) == ["north", "north-east"]
    assert index.get_category("compass", last_n=1) == ["north"]
    assert index.get_category("missing") is None


@pytest.fixture
def docs_folder(tmp_path: Path) -> Path:
    (tmp_path / "animals.md").write_text("\n\n".join(d if isinstance(d, str) else d["text"]
                                                     for d in DOCS))  # fmt: skip
    return tmp_path


def test_retrieval_bot_finds_what_the_user_asks_about(docs_folder: Path) -> None:
    retrieval.SEARCHES.clear()
    autogram = Autogram(retrieval.chatbot, test_mode=True)
    with autogram.use_config():
        retrieval.init_chatbot(docs_folder, index_library="numpy")
    run = converse(
        autogram, ["Birds sing at dawn.", "Dogs bark at strangers.", "Fish swim in schools."]
    )
    assert all(run.replies)
    assert retrieval.SEARCHES and all(len(hits) == 2 for _, hits in retrieval.SEARCHES)
    for query, hits in retrieval.SEARCHES:
        assert hits[0]["text"] == query
        assert hits[0]["metadata"]["file_name"].endswith("animals.md")


@pytest.mark.skipif(not faiss_available, reason="faiss is not installed (pip install faiss-cpu)")
def test_faiss_index_built_later_holds_the_texts_added_with_init_after_add_false() -> None:
    with use_config(test_mode=True):
        index = FAISSIndex()
        index.add_texts(DOCS[:2], init_after_add=False)
        assert index.index is None
        index.add_texts(DOCS[2:])
        assert index.index.ntotal == len(DOCS)
        hit = index.similarity_search_vector(query_embedding=index.embeddings[1], k=1)[0]
        assert hit["text"] == DOCS[1]["text"]
