"""A menu bot with GOTO, RETURNTO, TRANSITION, nested scopes and user globals (AutoGRAMS style)."""

from autograms import autograms_function
from autograms.functional import (
    GOTO,
    RETURNTO,
    multiple_choice,
    reply,
    reply_instruction,
    thought,
    yes_or_no,
)
from autograms.memory import init_user_globals
from autograms.nodes import TRANSITION, location

MENU = "menu"
user_globals = init_user_globals()
user_globals["visits"] = 0
user_globals["notes"] = []


@autograms_function(conv_scope="normal")
def take_note():
    while True:
        note = reply("Dictate a note (or 'back', 'menu', 'quit').", ADDRESS="dictate")
        if note == "back":
            return len(user_globals["notes"])
        if note == "menu":
            RETURNTO(MENU)
        if note == "quit":
            RETURNTO("bye")
        user_globals["notes"] = user_globals["notes"] + [note]
        thought(f"The user noted {note}")


@autograms_function()
def chatbot():
    name = reply("Hi! Your name?", ADDRESS="ask_name")
    if not name:
        GOTO("ask_name")
    location(ADDRESS=MENU)
    user_globals["visits"] += 1
    choice = reply(
        f"{name}, menu #{user_globals['visits']}: notes, chat, rename, quit", ADDRESS="menu_reply"
    )
    if choice == "notes":
        count = take_note(ADDRESS="notes")
        reply(f"You have {count} notes.", ADDRESS="count")
        GOTO(MENU)
    if choice == "rename":
        GOTO("ask_name")
    if choice == "chat":
        if yes_or_no("Is the user friendly?"):
            reply_instruction("Chat warmly.", ADDRESS="chat_warm")
        else:
            mood = ["sad", "angry", "bored"][
                multiple_choice("Which mood?", ["sad", "angry", "bored"])
            ]
            reply(f"You seem {mood}.", ADDRESS="chat_mood")
        TRANSITION(
            "Where next?", {"back to the menu": MENU, "say goodbye": "bye"}, ADDRESS="chat_next"
        )
    location(ADDRESS="bye")
    reply(f"Bye {name}, {len(user_globals['notes'])} notes.", ADDRESS="goodbye")
