"""Write sessions of tests/engine/bots/loads_under_a_call.py paused at each of its replies, with
the library found first on the path, and what the next reply gives (test data for
tests/engine/test_earlier_sessions.py).

    PYTHONPATH=OLD_SOURCE python -m tests.engine.make_earlier_sessions OUT_FOLDER

The committed files were written with the source of aff806f (0.6.1, the last commit before
bare globals under a paused call were saved instead of read again on resume).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autograms import Autogram

from tests.engine.bots import loads_under_a_call

MESSAGES = ["", "a", "bb", "ccc"]


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sessions = []
    for paused in range(1, len(MESSAGES)):
        autogram = Autogram(root_function=loads_under_a_call.chatbot, test_mode=True)
        memory = None
        for message in MESSAGES[:paused]:
            _, memory = autogram.reply(message, memory_object=memory)
        name = f"paused-{paused}.txt"
        (out / name).write_text(autogram.serialize(memory, include_log=False))
        replies = []
        for message in MESSAGES[paused:]:
            text, memory = autogram.reply(message, memory_object=memory)
            replies.append(text)
        sessions.append({"file": name, "next": MESSAGES[paused:], "replies": replies})
    manifest = {"python": f"{sys.version_info[0]}.{sys.version_info[1]}", "sessions": sessions}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
