"""The s9 outside tester's bot: replies that show exactly what it was sent.

- "bye"        : the program returns (the conversation ends; the next message starts it again)
- "raise ..."  : the program raises (a bot bug)
- "instr ..."  : reply_instruction (the model writes the reply, streamed)
- "suffix ..." : reply_suffix("Have a nice day!") (the model's reply, the suffix spliced in)
- "echo:TEXT"  : replies TEXT exactly (unicode, whitespace, anything)
- "two ..."    : a thought() then reply_instruction: two model calls in one turn
- "gate ..."   : waits for the file $S9_GATE.go (after touching $S9_GATE.<n>.in)
- anything else: "<turn number>|<message>"
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from autograms import autograms_function
from autograms.functional import reply, reply_instruction, reply_suffix, thought


def _gate(n: int) -> None:
    gate = os.environ.get("S9_GATE")
    if not gate:
        return
    base = Path(gate)
    (base.parent / f"{base.name}.{os.getpid()}.{n}.in").touch()
    deadline = time.monotonic() + 60
    while not (base.parent / f"{base.name}.go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


@autograms_function()
def chatbot() -> None:
    text = reply("hello")
    n = 0
    while True:
        n += 1
        if text == "bye":
            return
        if text.startswith("raise"):
            raise RuntimeError("the bot failed on purpose")
        if text.startswith("gate"):
            _gate(n)
        if text.startswith("instr"):
            text = reply_instruction("Answer the user: " + text)
        elif text.startswith("two"):
            thought("Think about: " + text)
            text = reply_instruction("Now answer: " + text)
        elif text.startswith("suffix"):
            text = reply_suffix("Have a nice day!")
        elif text.startswith("echo:"):
            text = reply(text[5:])
        else:
            text = reply(f"{n}|{text}")
