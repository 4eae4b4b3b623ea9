"""Helpers of the outside tests of issue 15 (deploys): a bot module rewritten between versions."""

import importlib
import itertools
import shutil
import sys
import textwrap
import uuid

from autograms import Autogram, AutogramConfig

HEAD = """
from autograms import autograms_function
from autograms.functional import reply
"""

_counter = itertools.count()


class BotFile:
    """One bot module in a folder; load(src) (re)writes it and returns an Autogram on chatbot."""

    def __init__(self, folder):
        self.folder = folder
        self.name = f"outside_deploy_{uuid.uuid4().hex[:8]}_{next(_counter)}"
        self.path = folder / f"{self.name}.py"

    def write(self, src):
        self.path.write_text(textwrap.dedent(src))
        shutil.rmtree(self.folder / "__pycache__", ignore_errors=True)
        sys.modules.pop(self.name, None)
        importlib.invalidate_caches()
        return importlib.import_module(self.name)

    def __call__(self, src, key=None):
        module = self.write(src)
        config = AutogramConfig(session_key=key) if key else None
        return Autogram(root_function=module.chatbot, autogram_config=config, test_mode=True)


def make_bot(tmp_path, monkeypatch):
    """For a fixture: yields bot(src, key=None), which (re)writes and imports one module and
    returns an Autogram on its chatbot."""
    monkeypatch.delenv("AUTOGRAMS_SESSION_KEY", raising=False)
    folder = tmp_path / "code"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    bot_file = BotFile(folder)
    yield bot_file
    sys.modules.pop(bot_file.name, None)


def play(autogram, messages):
    """The serialized session after the first turn and after each message."""
    text, memory = autogram.reply()
    out = [autogram.serialize(memory)]
    for message in messages:
        text, memory = autogram.reply(message, memory_object=memory)
        out.append(autogram.serialize(memory))
    return out


def save_all(autogram, folder, messages, stem="t"):
    """Save the session after the first turn and after each message as folder/<stem>N.session."""
    folder.mkdir(exist_ok=True)
    text, memory = autogram.reply()
    paths = [folder / f"{stem}0.session"]
    autogram.save(str(paths[0]), memory)
    for n, message in enumerate(messages, 1):
        text, memory = autogram.reply(message, memory_object=memory)
        paths.append(folder / f"{stem}{n}.session")
        autogram.save(str(paths[-1]), memory)
    return paths


def run_to_end(autogram, blob, messages=("x", "y", "z")):
    memory = autogram.deserialize(blob)
    replies = []
    for message in messages:
        text, memory = autogram.reply(message, memory_object=memory)
        replies.append(text)
        if text is None:
            break
    return replies
