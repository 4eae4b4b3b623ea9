"""Asa: answers questions about autograms, and writes an autograms bot into a folder you name.

Shows:

* a request loop: each user message is classified (``multiple_choice``) as a question, a
  request to write a bot, or something else, and a decorated function handles it;
* answering from the documentation: the README and docstring sections that share the most
  words with the question (no embedding endpoint needed) go into the system prompt of the
  answering call only;
* a side effect inside a decorated function, done safely: Asa asks for a folder and writes
  only there -- a new file (``chatbot.py``, ``chatbot_2.py`` ...), never overwriting one, never
  following a link, never creating anything above the folder -- and shows the path;
* ``extract_code`` taking the program out of the model's answer, with one retry and a
  ``compile`` check; when the model cannot write a valid bot, Asa writes a small starter bot
  that does what every bot here does, to be edited by hand.

The documentation is read from the installed package (see ``autograms.examples._docs``).

Run it:

    autograms run autograms_seed_agent
"""

from __future__ import annotations

import os
from pathlib import Path

from autograms import DecisionError, autograms_function
from autograms.examples._docs import Section, all_sections, api_summary, keyword_search
from autograms.functional import (
    append_system_prompt,
    extract_code,
    extract_last_user_reply,
    multiple_choice,
    reply,
    reply_instruction,
    set_system_prompt,
    silent_thought,
)

ASA_PROMPT = (
    "You are Asa, an assistant for autograms, a Python library in which a chatbot is "
    "an ordinary Python function decorated with @autograms_function(): it pauses at "
    "reply(...) and continues with the user's next message. Be concise and accurate."
)
GREETING = (
    "Hi, I'm Asa. I can answer questions about autograms, or write an autograms chatbot "
    "for you. What would you like?"
)
QUESTION, WRITE, OTHER = (
    "a question about autograms or Python",
    "a request to write a chatbot",
    "something else",
)
WRITE_WORDS = ("write", "create", "make", "build", "generate")
BOT_WORDS = ("bot", "program", "code")
CANCEL_WORDS = ("cancel", "stop", "never mind", "nevermind")
#: the API functions shown to the model when it writes code
CODE_API = (
    "reply",
    "reply_instruction",
    "yes_or_no",
    "multiple_choice",
    "thought",
    "silent_thought",
    "set_system_prompt",
    "GOTO",
    "RETURNTO",
    "generate_list",
    "extract_last_user_reply",
)
CODE_INSTRUCTION = """Write an autograms chatbot for this request: {request}

The bot is one Python module with a root function `chatbot` decorated with @autograms_function().
reply(text) shows text and returns the user's next message; model decisions such as yes_or_no
and multiple_choice read the conversation. Useful functions (from autograms.functional):
{api}

A complete example bot:
```python
{example}
```
Write the whole new module in a single ```python code block."""
STARTER_BOT = '''r"""A starter autograms bot written by Asa; edit it to do what was asked:

{request_lines}

Run it:  autograms run path/to/this_file.py
"""

from autograms import autograms_function
from autograms.functional import reply, reply_instruction, set_system_prompt, yes_or_no


@autograms_function()
def chatbot():
    set_system_prompt("You are a helpful assistant.")
    reply("Hello! What would you like to talk about?", ADDRESS="greeting")
    while True:
        if yes_or_no("Does the user want to end the conversation?"):
            reply("Goodbye! Say anything to start again.", ADDRESS="goodbye")
        else:
            reply_instruction("Respond to the user.", ADDRESS="respond")
'''
#: characters of a documentation excerpt kept, excerpts per answer, reply tokens
MAX_EXCERPT = 900
EXCERPTS = 3
ANSWER_TOKENS = 400
CODE_TOKENS = 1500
#: folder answers accepted before Asa gives up asking
MAX_FOLDER_TRIES = 3
#: files named chatbot.py, chatbot_2.py ... tried in a folder
MAX_FILES = 100


@autograms_function()
def chatbot() -> None:
    """Handle one request after another."""
    set_system_prompt(ASA_PROMPT)
    reply(GREETING, ADDRESS="welcome")
    while True:
        kind = request_kind(extract_last_user_reply() or "")
        if kind == WRITE:
            write_bot()
        elif kind == QUESTION:
            answer_question()
        else:
            reply_instruction(
                "Reply briefly, then remind the user that you can answer "
                "questions about autograms or write a bot for them.",
                max_tokens=ANSWER_TOKENS,
                ADDRESS="small_talk",
            )


def request_kind(message: str) -> str:
    """QUESTION, WRITE or OTHER. A message asking to write/create... a bot is WRITE without a
    model call, one that mentions no bot or code is never WRITE; otherwise the model decides
    (QUESTION if it cannot)."""
    words = message.lower().split()
    mentions_bot = any(noun in word for word in words for noun in BOT_WORDS)
    if mentions_bot and any(word in WRITE_WORDS for word in words):
        return WRITE
    choices = [QUESTION, WRITE, OTHER] if mentions_bot else [QUESTION, OTHER]
    try:
        return choices[multiple_choice("What is the user's last message?", choices)]
    except DecisionError:
        return QUESTION


def excerpt(section: Section) -> str:
    text = section.as_prompt()
    return text if len(text) <= MAX_EXCERPT else text[:MAX_EXCERPT].rsplit(" ", 1)[0] + " ..."


@autograms_function()
def answer_question() -> str:
    """Answer from the best-matching documentation sections; returns the user's next message."""
    sections = keyword_search(extract_last_user_reply() or "", all_sections(), EXCERPTS)
    if sections:
        append_system_prompt("Documentation excerpts:\n\n" + "\n\n".join(map(excerpt, sections)))
    return reply_instruction(
        "Answer the user's question using the documentation excerpts; "
        "add a short code example if it helps.",
        max_tokens=ANSWER_TOKENS,
        ADDRESS="answer",
    )


@autograms_function()
def write_bot() -> str | None:
    """Ask for a folder, write the bot there, show the path; returns the file's path."""
    request = extract_last_user_reply() or "a friendly chatbot"
    folder, problem = ask_folder()
    if folder is None:
        reply(
            f"{problem} All right, I won't write anything. What else can I do for you?".strip(),
            ADDRESS="write_cancelled",
        )
        return None
    code, by_model = generate_code(request)
    path, problem = try_write(Path(folder), code)
    if path is None:
        reply(
            f"I could not write into {folder}: {problem}. Ask me again with another folder.",
            ADDRESS="write_failed",
        )
        return None
    note = (
        ""
        if by_model
        else " The model could not write a valid bot this time, so this is "
        "a starter bot for you to edit."
    )
    reply(
        f"I wrote your bot to {path}.{note} Run it with:\n\n    autograms run {path}\n\n"
        "What else can I do for you?",
        ADDRESS="bot_written",
    )
    return str(path)


@autograms_function()
def ask_folder() -> tuple[str | None, str]:
    """The absolute path of the folder the user names, or None and why not ("" when the
    user cancelled)."""
    message = reply(
        "Which folder should I write the bot into? Send its path, such as ./my_bots "
        "(I create the folder if its parent exists), or say 'cancel'.",
        ADDRESS="ask_folder",
    )
    problem = ""
    for tries in range(1, MAX_FOLDER_TRIES + 1):
        if any(word in message.lower() for word in CANCEL_WORDS):
            return None, ""
        folder, problem = folder_from(message)
        if folder is not None:
            return str(folder), ""
        if tries < MAX_FOLDER_TRIES:
            message = reply(
                f"{problem} Please send a folder path, or 'cancel'.", ADDRESS="ask_folder_again"
            )
    return None, problem


def folder_from(message: str) -> tuple[Path | None, str]:
    """The folder a message names -- the first word that looks like a path ("./bots",
    "bots/", "~/bots", "/tmp/bots") -- resolved to an absolute path, or None and why not."""
    words = [_path_word(word) for word in message.split()]
    paths = [word for word in words if "/" in word or word.startswith("~") or word in (".", "..")]
    if not paths:
        return None, (
            "I could not find a folder path in your message (for example ./my_bots "
            "or /home/me/bots)."
        )
    folder = Path(paths[0]).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        return None, f"{folder} exists and is not a folder."
    if not folder.parent.is_dir():
        return None, f"The parent folder {folder.parent} does not exist."
    return folder, ""


def _path_word(word: str) -> str:
    """`word` without quotes around it and sentence punctuation after it."""
    word = word.strip("`'\"").rstrip(",;:!?")
    if word.endswith(".") and not word.endswith(("/.", "..")) and word != ".":
        word = word[:-1]
    return word


def generate_code(request: str) -> tuple[str, bool]:
    """The bot's code and whether the model wrote it (else it is the starter bot)."""
    example = (Path(__file__).with_name("simple_example.py")).read_text(encoding="utf-8")
    instruction = CODE_INSTRUCTION.format(
        request=request, api=api_summary(names=CODE_API), example=example
    )
    for attempt in range(2):
        if attempt:
            instruction += "\nAnswer with exactly one ```python code block and nothing else."
        code = extract_code(silent_thought(instruction, max_tokens=CODE_TOKENS))
        if is_bot(code):
            return code, True
    return starter_bot(request), False


def is_bot(code: str) -> bool:
    """Whether `code` compiles and defines a decorated root function `chatbot`."""
    try:
        compile(code, "chatbot.py", "exec")
    except (SyntaxError, ValueError):
        return False
    return "def chatbot(" in code and "autograms_function" in code


def starter_bot(request: str) -> str:
    request_lines = "\n".join(f"    {line}" for line in request.replace('"""', "'''").splitlines())
    return STARTER_BOT.format(request_lines=request_lines)


def try_write(folder: Path, code: str) -> tuple[Path | None, str]:
    """`write_new_file`, or None and the reason it failed."""
    try:
        return write_new_file(folder, code), ""
    except OSError as exc:
        return None, exc.strerror or str(exc)


def write_new_file(folder: Path, code: str) -> Path:
    """Write `code` to a new file chatbot.py (chatbot_2.py ... if taken) directly inside
    `folder`, creating `folder` itself but nothing above it. An existing file or link is
    never opened (O_EXCL)."""
    folder.mkdir(exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for number in range(1, MAX_FILES + 1):
        path = folder / ("chatbot.py" if number == 1 else f"chatbot_{number}.py")
        try:
            descriptor = os.open(path, flags, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(code)
        return path
    raise FileExistsError(f"{folder} already holds {MAX_FILES} chatbot files")
