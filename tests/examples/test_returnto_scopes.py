"""returnto_scopes: "start over" unwinds two decorated calls back to the menu (running the
interview's finally block), digressions and small talk leave no trace in the conversation,
and the local-scoped assessment sees only what it is given."""

from __future__ import annotations

from pathlib import Path

from autograms import Autogram, MemoryObject
from autograms.examples import returnto_scopes as bot
from autograms.models import ChatRequest
from tests.examples.driver import run_script
from tests.examples.scripted import asked, pick, rules_model, yes_if

QUESTIONS = [question for _, questions in bot.SECTIONS for question in questions]


def front_desk(log: list[ChatRequest] | None = None):  # noqa: ANN201
    rules = {"ask a question of their own": yes_if("?"), "Which course fits": pick("B")}
    return rules_model(rules, chat="Our courses run in the evenings.", log=log)


def session(path: Path) -> MemoryObject:
    return Autogram(root_function=bot.chatbot, test_mode=True, seed=0).load(path)


def conversation(memory: MemoryObject) -> list[str]:
    return [
        turn["content"] for level in memory.memory_dict["turn_stack"] for turn in level["turns"]
    ]


def test_start_over_returns_to_the_menu_and_counts_the_abandoned_interview(tmp_path: Path) -> None:
    path = tmp_path / "session.txt"
    run = run_script(
        "returnto_scopes", ["interview", "two years", "start over"], path, model=front_desk()
    )
    assert run.replies == [
        bot.MENU,
        QUESTIONS[0],
        QUESTIONS[1],
        f"{bot.MENU} (Interviews left unfinished so far: 1.)",
    ]
    assert run.addresses[-1] == "menu"
    memory = session(path)
    assert [level["function"] for level in memory.memory_dict["turn_stack"]] == ["chatbot"]
    assert memory.memory_dict["user_globals"][bot.__name__] == {"abandoned_interviews": 1}


def test_finished_interview_is_assessed_from_the_answers_alone(tmp_path: Path) -> None:
    log: list[ChatRequest] = []
    messages = ["interview", "two years", "at work", "I went to Rome.", "Speak fluently.", "ok"]
    run = run_script("returnto_scopes", messages, tmp_path / "session.txt", model=front_desk(log))
    assert run.addresses == [
        "menu",
        "question",
        "question",
        "question",
        "question",
        "recommend",
        "menu",
    ]
    assessment = next(r for r in log if "Which course fits" in asked(r))
    texts = [str(message["content"]) for message in assessment.messages]
    assert not any(text.startswith("User:") for text in texts), texts
    assert any("two years" in text for text in texts)
    recommendation = next(r for r in log if "course suits them" in asked(r))
    assert "the intermediate course" in asked(recommendation)
    assert "User: Speak fluently." in "\n".join(map(str, recommendation.messages))


def test_a_digression_is_answered_then_dropped_from_the_conversation(tmp_path: Path) -> None:
    path = tmp_path / "session.txt"
    messages = ["interview", "What levels do you have?", "I see", "two years"]
    run = run_script("returnto_scopes", messages, path, model=front_desk())
    assert run.replies == [
        bot.MENU,
        QUESTIONS[0],
        "Our courses run in the evenings.",
        QUESTIONS[0],
        QUESTIONS[1],
    ]
    memory = session(path)
    assert "Our courses run in the evenings." not in conversation(memory)
    assert "I see" not in conversation(memory)
    assert "two years" in conversation(memory)
    history = [message["content"] for message in memory.extract_full_conv_history()]
    assert "Our courses run in the evenings." in history


def test_small_talk_is_dropped_when_the_chat_returns_to_the_menu(tmp_path: Path) -> None:
    path = tmp_path / "session.txt"
    run = run_script("returnto_scopes", ["chat", "what courses?", "menu"], path, model=front_desk())
    assert run.addresses == ["menu", "chat_start", "chat", "menu"]
    assert "what courses?" not in conversation(session(path))
