"""Conversation scopes and system-prompt scoping across nested decorated calls."""

from autograms import autograms_function
from autograms.functional import (
    get_system_prompt,
    reply,
    set_system_prompt,
    thought,
    append_system_prompt,
)


@autograms_function(conv_scope="global")
def global_child():
    append_system_prompt("global child rules")
    reply(f"global child sees: {get_system_prompt()!r}")
    return thought("global child thinks")


@autograms_function(conv_scope="normal")
def normal_child():
    set_system_prompt("normal child prompt")
    return reply("normal child asks")


@autograms_function(conv_scope="local")
def local_child():
    return reply("local child asks")


@autograms_function()
def chatbot():
    set_system_prompt("root prompt")
    reply("root asks")
    global_child()
    normal_child()
    local_child()
    reply(f"root again with {get_system_prompt()!r}")
    return "done"
