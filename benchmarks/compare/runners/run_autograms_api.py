"""Runner for the AutoGRAMS API: AutoGRAMS 0.5.3 from PyPI (`--variant peer`, run in its venv)
or this project (`--variant ours`, run with the project's interpreter).

Every turn is what a stateless server does: `deserialize(blob)` → `reply(text, memory_object=…)`
→ `serialize(memory)`; only the blob is kept between turns, never the memory object.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import sys
from pathlib import Path

import protocol
from protocol import Built, TurnSample, now

PEER_PACKAGES = ("autograms", "dill", "openai", "tiktoken", "numpy", "pandas", "pydantic")
OURS_PACKAGES = ("autograms", "bytecode", "dill")


class DictStore:
    """Sessions kept in memory, as text blobs."""

    def __init__(self) -> None:
        self.blobs: dict[str, str] = {}

    def get(self, session: str) -> str:
        """The blob of `session`."""
        return self.blobs[session]

    def put(self, session: str, blob: str) -> None:
        """Keep `blob` as the session's state."""
        self.blobs[session] = blob


class FileStore:
    """Sessions kept as one text file each (the cold scenario)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, session: str) -> str:
        """Read the blob of `session` from its file."""
        return (self.directory / f"{session}.session").read_text()

    def put(self, session: str, blob: str) -> None:
        """Write `blob` to the session's file."""
        (self.directory / f"{session}.session").write_text(blob)


class AutogramsAdapter:
    """Drives one `Autogram`; the store holds each session's serialized blob."""

    def __init__(self, autogram: object, store: DictStore | FileStore) -> None:
        self.autogram = autogram
        self.store = store

    def start(self, session: str) -> TurnSample:
        """`reply()` with no memory (the agent speaks first), then save."""
        began = now()
        text, memory = self.autogram.reply()
        saving = now()
        blob = self.autogram.serialize(memory)
        self.store.put(session, blob)
        done = now()
        return TurnSample(text, done - began, done - saving, 0.0, len(blob))

    def turn(self, session: str, user_text: str) -> TurnSample:
        """Load the blob into a fresh memory, reply, save."""
        began = now()
        memory = self.autogram.deserialize(self.store.get(session))
        loaded = now()
        text, memory = self.autogram.reply(user_text, memory_object=memory)
        saving = now()
        blob = self.autogram.serialize(memory)
        self.store.put(session, blob)
        done = now()
        return TurnSample(text, done - began, done - saving, loaded - began, len(blob))

    def extra(self) -> dict[str, object]:
        """Nothing beyond the common figures."""
        return {}


def check_origin(module: object, variant: str) -> None:
    """Refuse to benchmark the wrong `autograms` (the peer's venv must not see the project, and
    the project's run must not pick up the peer)."""
    location = Path(module.__file__).resolve()
    ours_root = os.environ.get("BENCH_OURS_ROOT")
    in_venv = location.is_relative_to(Path(sys.prefix).resolve())
    if variant == "peer" and not in_venv:
        raise SystemExit(f"peer run imported autograms from {location}, not from {sys.prefix}")
    if variant == "ours" and ours_root and not location.is_relative_to(Path(ours_root).resolve()):
        raise SystemExit(f"ours run imported autograms from {location}, not from {ours_root}")


def root_function(options: argparse.Namespace) -> object:
    """Import the bot module (this decorates its functions) and return the root function."""
    if options.bot == "long":
        import long_script

        name = long_script.write_module(options.lines, options.work_dir / "generated")
        return importlib.import_module(name).long_script
    import api_bots

    roots = {
        "recruiter": api_bots.recruiter,
        "nested": api_bots.nested_recruiter,
        "closures": api_bots.closures_root,
    }
    return roots[options.bot]


def build(options: argparse.Namespace) -> Built:
    """Import the framework, decorate the bot and construct the `Autogram` in test mode."""
    began = now()
    import autograms
    from autograms import Autogram, AutogramConfig

    imported = now()
    check_origin(autograms, options.variant)
    root = root_function(options)
    kwargs: dict[str, object] = {"test_mode": True}
    if options.variant == "peer":
        kwargs["api_keys"] = {"openai": "sk-dummy"}  # AutoGRAMS builds a client even in test mode
        import numpy

        numpy.random.seed(0)
    random.seed(0)
    autogram = Autogram(root_function=root, autogram_config=AutogramConfig(), **kwargs)
    ready = now()
    store = FileStore(options.work_dir) if options.mode == "cold-turn" else DictStore()
    names = PEER_PACKAGES if options.variant == "peer" else OURS_PACKAGES
    info = protocol.base_info(
        "AutoGRAMS" if options.variant == "peer" else "autograms (this project)",
        str(getattr(autograms, "__version__", "?")),
        protocol.package_versions(names),
    )
    info["source"] = str(Path(autograms.__file__).parent)
    return Built(AutogramsAdapter(autogram, store), info, imported - began, ready - imported)


if __name__ == "__main__":
    protocol.main(build)
