"""Write session files with the library installed here, as test data for later releases.

    python -m tests.sessions.make_session_data OUT_FOLDER

Each release that changes the session format keeps a folder of these under
``tests/sessions/data/<version>/`` (``<version>-format<N>`` when the format changed without a
new version; never rewritten afterwards): later releases must load them (migrating if needed)
and continue the conversation. ``manifest.json`` lists every file with the
example it belongs to, the seed, the messages sent so far, the message the test sends next, and
the reply the writing release gave to it (the reading release must give the same).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autograms import Autogram, AutogramConfig, __version__
from autograms import examples as _examples  # noqa: F401 - the examples must be installed

KEY = "session-data-key"
#: example, seed, messages that bring it to a pause, the next message
SCRIPTS = [
    ("recruiter", 3, ["", "yes I'm ready", "I have five years of Python"], "I like teams"),
    ("simple_example", 1, ["", "tell me about AI"], "and about the weather?"),
    ("fibonacci", 2, ["", "5"], "7"),
]


def _autogram(name: str, seed: int, signed: bool) -> Autogram:
    module = __import__(f"autograms.examples.{name}", fromlist=["chatbot"])
    config = AutogramConfig(session_key=KEY) if signed else None
    autogram = Autogram(
        root_function=module.chatbot, autogram_config=config, test_mode=True, seed=seed
    )
    init = getattr(module, "init_chatbot", None)
    if init is not None:
        with autogram.use_config():
            init()
    return autogram


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "library": __version__,
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "key": KEY,
        "sessions": [],
    }
    for name, seed, messages, following in SCRIPTS:
        for signed in (False, True):
            autogram = _autogram(name, seed, signed)
            memory = None
            for message in messages:
                _, memory = autogram.reply(message, memory_object=memory)
            stem = f"{name}-{'signed' if signed else 'plain'}"
            (out / f"{stem}.txt").write_text(autogram.serialize(memory, include_log=False))
            (out / f"{stem}-log.txt").write_text(autogram.serialize(memory, include_log=True))
            autogram.save(out / f"{stem}.session", memory)
            expected, _ = autogram.reply(following, memory_object=memory)
            manifest["sessions"].append(
                {
                    "example": name,
                    "seed": seed,
                    "signed": signed,
                    "messages": messages,
                    "next": following,
                    "expected_reply": expected,
                    "files": {
                        "serialized": f"{stem}.txt",
                        "serialized_with_log": f"{stem}-log.txt",
                        "saved": f"{stem}.session",
                    },
                }
            )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
