"""The counting bot of the session-7 outside tests: each reply names every message so far.

A message starting or ending with "gate" waits (at most 30 s) for the file $B13_GATE.go after creating
$B13_GATE.in, so a test can kill or pause the worker in the middle of a turn. "boom" raises.
"instr" replies through reply_instruction (a model call, streamed in test mode); "think"
and "llm" make a private model call (marked XYZZY) first; "suffix" replies with reply_suffix.
"""

import os
import time

from autograms import autograms_function
from autograms.functional import call_llm, reply, reply_instruction, reply_suffix, thought


def _gate() -> None:
    gate = os.environ.get("B13_GATE")
    if not gate:
        return
    with open(gate + ".in", "w") as fid:
        fid.write(str(os.getpid()))
    deadline = time.monotonic() + 30
    while not os.path.exists(gate + ".go") and time.monotonic() < deadline:
        time.sleep(0.01)


@autograms_function()
def chatbot():
    seen = []
    text = reply("hello")
    while True:
        if text == "boom":
            raise RuntimeError("boom")
        seen.append(text)
        if text.startswith("gate") or text.endswith("gate"):
            _gate()
        if text.startswith("think"):
            thought("XYZZY think first")
            text = reply_instruction("Answer now")
        elif text.startswith("llm"):
            call_llm("XYZZY private call")
            text = reply_instruction("Answer now")
        elif text.startswith("suffix"):
            text = reply_suffix("Go on")
        elif text.startswith("instr"):
            text = reply_instruction(f"Answer message {len(seen)} about " + "/".join(seen))
        else:
            text = reply(f"{len(seen)}|" + "/".join(seen))
