"""A code-writing bot in the shape of AutoGRAMS' seed agent (Asa): at import it checks the
installed version with an integer parse and reads the sources and docstrings of the whole
``autograms`` package with `inspect`; its conversation decides with yes/no and multiple-choice
questions, thinks, extracts code blocks and writes files relative to the working folder."""

import inspect
import os

import autograms
from autograms import autograms_function
from autograms.functional import (
    extract_code,
    generate_list,
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    thought,
    yes_or_no,
)

REQUIRED_VERSION = "0.5.2"


def older_than(version, required):
    return [int(part) for part in version.split(".")] < [int(p) for p in required.split(".")]


if older_than(autograms.__version__, REQUIRED_VERSION):
    raise Exception(f"autograms {autograms.__version__} is older than {REQUIRED_VERSION}")

#: objects whose source inspect could not read (what Asa printed as "Skipping ...")
SKIPPED = []


def package_sources():
    """Source of every function and class reachable from ``autograms`` by attribute."""
    sources, seen = {}, set()

    def visit(module):
        if module in seen or not module.__name__.startswith("autograms"):
            return
        seen.add(module)
        for name in dir(module):
            value = getattr(module, name)
            if inspect.ismodule(value):
                visit(value)
            elif inspect.isfunction(value) or inspect.isclass(value):
                if getattr(value, "__module__", "").startswith("autograms"):
                    try:
                        sources[f"{module.__name__}.{name}"] = inspect.getsource(value)
                    except (TypeError, OSError):
                        SKIPPED.append(f"{module.__name__}.{name}")

    visit(autograms)
    return sources


SOURCES = package_sources()


@autograms_function()
def chatbot():
    set_system_prompt(f"You know the autograms sources of {len(SOURCES)} functions and classes.")
    reply("Hi! I write autograms bots and answer questions about autograms.")
    while True:
        if yes_or_no("Is the user asking us to write code?"):
            write_code()
        elif yes_or_no("Is the user asking a question?"):
            topic = multiple_choice("What is it about?", ["autograms", "programming", "other"])
            if topic < 2:
                thought("Which parts of the docs answer it?")
            reply_instruction("Answer the user's question.")
        else:
            reply_instruction("Reply to the user.")


@autograms_function()
def write_code():
    reply_instruction("Tell the user the plan and ask if it is ok.")
    ideas = generate_list("Name the files to write.")
    result = thought("Write the code in two ```python blocks.")
    blocks = extract_code(result, merge_blocks=False)
    if len(blocks) != 2:
        blocks = ["# chatbot\n", "# run it\n"]
    folder = os.path.join("asa_code", f"bot_{len(ideas)}")
    save_files(folder, blocks)
    reply_instruction(f"Tell the user the code is in {folder}.")


def save_files(folder, blocks):
    os.makedirs(folder, exist_ok=True)
    for name, code in zip(("chatbot_code.py", "run_chatbot.py"), blocks, strict=True):
        with open(os.path.join(folder, name), "w") as handle:
            handle.write(code)


@autograms_function()
def write_then_ask():
    """The seed agent's way of writing a file: the closed file stays in a local of the
    decorated function across the next pause."""
    with open("notes.txt", "w") as fid:
        fid.write("written")
    reply("I wrote notes.txt. Anything else?")
    reply("Done.")
