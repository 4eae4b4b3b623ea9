"""A language school's front desk: a nested placement interview, RETURNTO and conversation scopes.

Shows:

* ``RETURNTO("menu")`` from two decorated calls deep: saying "start over" during any interview
  question unwinds the question and the interview and re-asks the menu question of
  `chatbot`. The interview's ``finally`` block runs on the way out and counts the abandoned
  interview in a per-session global (``init_user_globals``);
* ``GOTO`` in the same function: the menu loops back to itself, and a question is asked again
  after a digression;
* the three conversation scopes, each for a reason:

  - ``"global"`` (`placement_interview`, `ask`): the questions and answers stay in the
    conversation, so the chat afterwards can refer to them;
  - ``"normal"`` (`side_question`, `free_chat`): a digression in the middle of the interview,
    and small talk, are seen while they happen and dropped when the call returns, so they
    do not clutter what later model calls read;
  - ``"local"`` (`assess_level`): the assessment sees none of the conversation, only the
    answers it is given, so small talk cannot sway it.

Run it:

    autograms run returnto_scopes
"""

from __future__ import annotations

from autograms import DecisionError, autograms_function
from autograms.functional import (
    GOTO,
    RETURNTO,
    extract_last_user_reply,
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    thought,
    yes_or_no,
)
from autograms.memory import init_user_globals

FRONT_DESK = (
    "You work at the front desk of the Lingua language school, which teaches English. "
    "Be brief and friendly."
)
MENU = (
    "Welcome to Lingua! Say 'interview' for a short placement interview, or 'chat' to talk "
    "about our courses. You can say 'start over' at any time during the interview."
)
INTERVIEW, CHAT = "interview", "chat"
MENU_CHOICES = ("a placement interview", "a chat about the courses", "neither, or unclear")
RESTART_WORDS = ("start over", "restart", "back to the menu")
LEAVE_CHAT_WORDS = ("menu", "bye", "done", "start over")
LEVELS = ("beginner", "intermediate", "advanced")
#: (section, questions) of the placement interview
SECTIONS = (
    (
        "background",
        (
            "How long have you been learning English?",
            "Where do you use English today: at work, at school, or while travelling?",
        ),
    ),
    (
        "skills",
        (
            "Please describe your last holiday in two or three sentences.",
            "What would you like to be able to do in English a year from now?",
        ),
    ),
)
#: side questions answered per interview question at most
MAX_DIGRESSIONS = 2
#: small-talk turns before the chat hands back to the menu
MAX_CHAT_TURNS = 6
#: reply tokens at most
REPLY_TOKENS = 150

G = init_user_globals()
G["abandoned_interviews"] = 0


def wants_restart(message: str) -> bool:
    return any(words in message.lower() for words in RESTART_WORDS)


def menu_text() -> str:
    abandoned = G["abandoned_interviews"]
    return f"{MENU} (Interviews left unfinished so far: {abandoned}.)" if abandoned else MENU


def menu_choice(message: str) -> str | None:
    """INTERVIEW or CHAT as the message names them (the model decides if it names neither),
    or None when nothing clear was asked for."""
    lowered = message.lower()
    for keyword in (INTERVIEW, CHAT):
        if keyword in lowered:
            return keyword
    try:
        index = multiple_choice("What does the user want?", MENU_CHOICES)
    except DecisionError:
        return None
    return (INTERVIEW, CHAT, None)[index]


@autograms_function()
def chatbot() -> None:
    """The menu; each choice runs, then the menu is asked again."""
    set_system_prompt(FRONT_DESK)
    message = reply(menu_text(), ADDRESS="menu")
    choice = menu_choice(message)
    if choice == INTERVIEW:
        level = placement_interview()
        reply_instruction(
            f"Tell the user that the {level} course suits them, mentioning one "
            "thing they said in the interview. Then say they can say anything to "
            "go back to the menu.",
            max_tokens=REPLY_TOKENS,
            ADDRESS="recommend",
        )
    elif choice == CHAT:
        free_chat()
    else:
        reply("Sorry, I didn't get that. Say anything to see the menu again.", ADDRESS="unclear")
    GOTO("menu")


@autograms_function(conv_scope="global")
def placement_interview() -> str:
    """Ask every section's questions; returns the recommended level. An abandoned interview
    (RETURNTO out of it) is counted by the ``finally`` block."""
    finished = False
    answers: list[str] = []
    try:
        for section, questions in SECTIONS:
            for question in questions:
                answers.append(f"{section}: {question} -> {ask(question)}")
        finished = True
    finally:
        if not finished:
            G["abandoned_interviews"] += 1
    return assess_level(answers)


@autograms_function(conv_scope="global")
def ask(question: str) -> str:
    """One interview question: "start over" returns to the menu; a question back from the
    user is answered in a digression, then the question is asked again."""
    digressions = 0
    answer = reply(question, ADDRESS="question")
    if wants_restart(answer):
        RETURNTO("menu")
    if digressions < MAX_DIGRESSIONS and asked_back():
        digressions += 1
        side_question()
        GOTO("question")
    return answer


def asked_back() -> bool:
    """Whether the user answered with a question of their own instead of an answer."""
    if "?" not in (extract_last_user_reply() or ""):
        return False
    try:
        return yes_or_no("Did the user ask a question of their own instead of answering?")
    except DecisionError:
        return False


@autograms_function(conv_scope="normal")
def side_question() -> None:
    """Answer the user's question; this exchange is dropped from the conversation on return."""
    reply_instruction(
        "Answer the user's question in one or two sentences, then say you will "
        "repeat the interview question.",
        max_tokens=REPLY_TOKENS,
        ADDRESS="digression",
    )


@autograms_function(conv_scope="local")
def assess_level(answers: list[str]) -> str:
    """The course level, judged only from `answers` (this scope sees no other turns)."""
    thought(
        "Placement interview answers:\n"
        + "\n".join(answers)
        + "\nIn two sentences, judge the student's English level."
    )
    try:
        index = multiple_choice("Which course fits the student best?", LEVELS)
    except DecisionError:
        index = 0
    return LEVELS[index]


@autograms_function(conv_scope="normal")
def free_chat() -> None:
    """Small talk about the courses until the user says 'menu' (or `MAX_CHAT_TURNS` pass)."""
    message = reply(
        "Happy to chat about our courses! Ask me anything, or say 'menu' to go back.",
        ADDRESS="chat_start",
    )
    for _ in range(MAX_CHAT_TURNS):
        if any(word in message.lower() for word in LEAVE_CHAT_WORDS):
            return
        message = reply_instruction(
            "Answer the user briefly about Lingua's English courses "
            "(beginner, intermediate, advanced; evenings or weekends).",
            max_tokens=REPLY_TOKENS,
            ADDRESS="chat",
        )
