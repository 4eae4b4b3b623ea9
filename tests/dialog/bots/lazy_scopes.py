"""Conversation scopes opened only when needed: decorated calls that record into the
conversation on some paths only, set a system prompt and return, pause three calls deep
under calls that record nothing, and GOTO/RETURNTO across scopes."""

from autograms import autograms_function
from autograms.functional import (
    GOTO,
    RETURNTO,
    append_system_prompt,
    get_system_prompt,
    reply,
    set_system_prompt,
    thought,
)


@autograms_function()
def doubled(x):
    return x * 2


@autograms_function(conv_scope="normal")
def notes_if(flag):
    if flag:
        return thought("note this")
    return "quiet"


@autograms_function(conv_scope="global")
def prompt_for_a_moment(text):
    set_system_prompt(text)
    return get_system_prompt()


@autograms_function(conv_scope="local")
def deep_outer():
    return deep_middle()


@autograms_function(conv_scope="global")
def deep_middle():
    total = 0
    for i in range(3):
        total += doubled(i)
    return deep_inner(total)


@autograms_function(conv_scope="normal")
def deep_inner(total):
    return reply(f"deep inner asks ({total}) under {get_system_prompt()!r}")


@autograms_function()
def jumper():
    append_system_prompt("jumper rules")
    answer = reply("jumper asks", ADDRESS="jumper_ask")
    if answer == "again":
        GOTO("jumper_ask")
    if answer == "back":
        RETURNTO("root_menu")
    return answer


@autograms_function()
def chatbot():
    set_system_prompt("root prompt")
    seen = [doubled(i) for i in range(4)]
    first = reply(f"root asks {seen}", ADDRESS="root_menu")
    note = notes_if(first == "note")
    prompt = prompt_for_a_moment("a moment's prompt")
    reply(f"root: {note!r} {prompt!r}, now {get_system_prompt()!r} {doubled(5)}")
    inner = deep_outer()
    reply(f"deep gave {inner}")
    result = jumper()
    reply(f"jumper gave {result} under {get_system_prompt()!r}")
    return "done"
