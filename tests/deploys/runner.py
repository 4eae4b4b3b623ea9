"""The new code's process of a deploy test: an edited copy of an example stands in for the
example (under its module name, as the sessions name it), then one of

    python -m tests.deploys.runner EDIT NAME cli ARGS...    the autograms command
    python -m tests.deploys.runner EDIT NAME api JSON       check_sessions / upgrade_sessions
    python -m tests.deploys.runner EDIT NAME turn JSON      continue one stored session

EDIT is the edited file ("-" for the example as installed), NAME the example's name. ``api``
and ``turn`` print one JSON object.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

from autograms import Autogram, AutogramConfig


def stand_in(path: str, name: str) -> ModuleType:
    """Import the file at `path` as ``autograms.examples.<name>``."""
    import autograms.examples as package

    spec = importlib.util.spec_from_file_location(f"{package.__name__}.{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    setattr(package, name, module)
    return module


def api(module: ModuleType, request: dict[str, Any]) -> dict[str, Any]:
    from autograms.cli.deploy import to_json
    from autograms.deploys import check_sessions, upgrade_sessions
    from autograms.stores import open_store

    act = check_sessions if request["action"] == "check" else upgrade_sessions
    options = {"labels": request.get("labels") or {}, "restart": request.get("restart", False)}
    autogram = Autogram(module.chatbot, AutogramConfig(), test_mode=True)
    if request.get("folder"):
        return to_json(act(autogram, folder=request["folder"], **options))
    store = open_store(request["store"], create=False)
    try:
        return to_json(act(autogram, store=store, **options))
    finally:
        store.close()


def turn(module: ModuleType, request: dict[str, Any]) -> dict[str, Any]:
    """Continue a session with a message; its reply and the user's messages in its history (as
    a store shows it: without the empty message that started the program)."""
    from autograms.stores import Sessions, TurnRunner, open_store
    from autograms.stores.history import shown

    autogram = Autogram(module.chatbot, AutogramConfig(), test_mode=True, seed=1)
    if request.get("folder"):
        path = f"{request['folder']}/{request['session']}"
        memory = autogram.load(path)
        text, memory = autogram.reply(request["message"], memory_object=memory)
        autogram.save(path, memory)
        history = shown(memory.extract_full_conv_history())
    else:
        store = open_store(request["store"], create=False)
        try:
            text = (
                TurnRunner(autogram, store).run_turn(request["session"], request["message"]).reply
            )
            history = Sessions(autogram, store).get(request["session"]).history
        finally:
            store.close()
    users = [item["content"] for item in history if item["role"] == "user"]
    return {"reply": text, "users": users}


def main(argv: list[str]) -> int:
    edit, name, mode, *rest = argv
    if edit == "-":
        module = importlib.import_module(f"autograms.examples.{name}")
    else:
        module = stand_in(edit, name)
    if mode == "cli":
        from autograms.cli.__main__ import main as autograms

        return autograms(rest)
    request = json.loads(rest[0])
    print(json.dumps(api(module, request) if mode == "api" else turn(module, request)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
