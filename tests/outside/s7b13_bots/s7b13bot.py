"""The counting bot of the session-7 outside tests: each reply names every message so far.

A message starting with "gate" waits (at most 30 s) for the file $B13_GATE.go after creating
$B13_GATE.in, so a test can kill or pause the worker in the middle of a turn. "boom" raises.
"instr" replies through reply_instruction (a model call, streamed in test mode).
"""

import os
import time

from autograms import autograms_function
from autograms.functional import reply, reply_instruction


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
        if text.startswith("gate"):
            _gate()
        if text.startswith("instr"):
            text = reply_instruction(f"Answer message {len(seen)} about " + "/".join(seen))
        else:
            text = reply(f"{len(seen)}|" + "/".join(seen))
