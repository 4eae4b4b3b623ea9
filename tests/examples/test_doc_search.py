"""doc_search: the documentation index builds offline in test mode from the README and the
library's docstrings, searches by cosine similarity, and retrieval leaves nothing behind in
the conversation but the answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig
from autograms.agent_modules.vector_stores import Index
from autograms.examples import _docs, doc_search
from autograms.models import ChatRequest, ScriptedModel
from tests.examples.driver import run_script
from tests.examples.scripted import asked, rules_model, yes_if


def test_index_builds_in_test_mode_from_readme_and_docstrings() -> None:
    autogram = Autogram(root_function=doc_search.chatbot, test_mode=True, seed=0)
    with autogram.use_config():
        index = doc_search.init_chatbot()
        assert doc_search.init_chatbot() is index  # built once per configuration
    assert type(index).__name__ in ("NumpyIndex", "FAISSIndex")  # what AutoIndex chose
    assert isinstance(index, Index)
    sections = _docs.all_sections()
    assert len(index) == len(sections) > 100
    assert index.embedding_dim == 1536
    titles = [doc["metadata"]["title"] for doc in index.texts]
    assert titles[0].startswith("README")
    assert any(title.startswith("autograms.functional.reply(") for title in titles)
    assert any(title.startswith("autograms.Autogram.save(") for title in titles)
    assert not any(title.startswith(("autograms._", "module autograms._")) for title in titles)


def test_a_search_for_a_sections_own_text_finds_it_first_as_an_excerpt() -> None:
    autogram = Autogram(root_function=doc_search.chatbot, test_mode=True, seed=0)
    section = next(
        s for s in _docs.all_sections() if s.title.startswith("autograms.Autogram.save(")
    )
    with autogram.use_config():
        hits = doc_search.search(doc_search.as_document(section)["text"])
    assert len(hits) == doc_search.TOP_K
    assert hits[0]["metadata"]["title"] == section.title and hits[0]["distance"] == 0
    excerpt = doc_search.as_excerpt(hits[0])
    assert excerpt.startswith(f"[{section.title}]\n{section.text[:40]}")
    assert len(excerpt) <= len(section.title) + 3 + doc_search.MAX_EXCERPT + 4


def test_readme_comes_from_the_installed_metadata_without_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_docs, "package_dir", lambda: tmp_path / "autograms")
    assert _docs.readme_text().lstrip().startswith("# autograms")


def test_readme_sections_split_at_headings_and_long_paragraphs() -> None:
    long = "\n\n".join("word " * 100 for _ in range(5))
    sections = _docs.readme_sections(f"# Title\n\nintro\n\n## Short\n\nbody\n\n## Long\n\n{long}")
    assert [s.title for s in sections][:2] == ["README", "README: Short"]
    assert all(s.title.startswith("README: Long (") for s in sections[2:])
    assert all(len(s.text) <= _docs.MAX_SECTION_CHARS + 500 for s in sections)


def test_index_is_built_lazily_when_init_chatbot_was_not_called(tmp_path: Path) -> None:
    model = ScriptedModel(seed=7, embedding_dim=8)  # a configuration no other test uses
    run = run_script("doc_search", ["What is GOTO?"], tmp_path / "session.txt", model=model)
    assert run.addresses == ["welcome", "answer"]


def test_excerpts_reach_the_answer_but_do_not_stay_in_the_conversation(tmp_path: Path) -> None:
    log: list[ChatRequest] = []
    model = rules_model({"answer the user's question?": yes_if("goto")}, chat="An answer.", log=log)
    path = tmp_path / "session.txt"
    run = run_script(
        "doc_search", ["What does GOTO do?", "And sessions?", "thanks"], path, model=model
    )
    assert run.replies[1:] == ["An answer."] * 3
    answers = [r for r in log if "using the documentation excerpts" in asked(r)]
    assert len(answers) == 3
    for request in answers:
        system = request.messages[0]["content"]
        assert system.startswith(doc_search.SYSTEM_PROMPT)
        assert system.count("Documentation excerpts:") == 1
    rewrites = [r for r in log if "Write a short search query" in asked(r)]
    assert len(rewrites) == 2  # "And sessions?" and "thanks" were not answered by excerpts
    memory = Autogram(root_function=doc_search.chatbot, test_mode=True).load(path)
    turns = [turn for level in memory.memory_dict["turn_stack"] for turn in level["turns"]]
    assert [turn["role"] for turn in turns] == ["agent"] + ["user", "agent"] * 3
    levels = memory.memory_dict["turn_stack"]
    # as in AutoGRAMS, the root's level comes first
    assert [level["function"] for level in levels] == ["chatbot", "answer"]
    assert levels[0]["system_prompt"] == doc_search.SYSTEM_PROMPT
    assert levels[1]["system_prompt"].count("Documentation excerpts:") == 1


def test_init_chatbot_says_what_to_set_when_there_is_no_embeddings_endpoint() -> None:
    config = AutogramConfig(chatbot_type="huggingface_tgi")  # TGI serves no embeddings
    with Autogram(root_function=doc_search.chatbot, autogram_config=config).use_config():
        with pytest.raises(RuntimeError, match="set embedding_base_url"):
            doc_search.init_chatbot()
