"""Run one bot file with whichever ``autograms`` is importable and print what happened as JSON.

Usage: python runner.py SPEC.json  (spec: bot, messages, config, test_mode, roundtrip)
Used to run the same bot with AutoGRAMS 0.6.0 and with this library, side by side.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai import FakeServer  # noqa: E402


def plain(value):
    """JSON-able copy of a log value (tuples as lists, anything else as its repr)."""
    try:
        return json.loads(json.dumps(value, default=repr))
    except (TypeError, ValueError):
        return repr(value)


def load_bot(path: str, name: str):
    """Import the bot file as module ``name``."""
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def drive(module, spec: dict, server: FakeServer) -> dict:
    """Run ``spec['messages']`` through ``module.chatbot`` against ``server``; what happened."""
    import autograms
    from autograms import Autogram, AutogramConfig
    from autograms.functional import extract_full_conv_history

    settings = dict(chatbot_type="proxy", chatbot_proxy_port=server.port, chatbot_max_tries=1)
    settings.update(spec.get("config", {}))
    if autograms.__version__ == "0.6.0":  # keys of this library only
        settings.pop("log_model_inputs", None)
    config = AutogramConfig(**settings)
    autogram = Autogram(
        root_function=module.chatbot, autogram_config=config, test_mode=spec.get("test_mode", False)
    )
    memory = None
    replies, errors = [], []
    noise = io.StringIO()
    for message in spec["messages"]:
        try:
            with contextlib.redirect_stdout(noise):
                if spec.get("drive") == "use_memory":  # the docs' way: the root called directly
                    with autogram.use_memory(memory):
                        autogram.add_user_reply(message)
                        result = module.chatbot()
                    text, memory = result.data.get("reply"), result.memory
                else:
                    text, memory = autogram.reply(message, memory_object=memory)
                if spec.get("roundtrip", True):
                    memory = autogram.deserialize(autogram.serialize(memory))
            replies.append(text)
        except Exception as exc:  # a difference to report, not a crash of the runner
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            break
    out = {"version": autograms.__version__, "replies": replies, "errors": errors}
    if memory is not None:
        out["model_turns"] = [
            {k: plain(v) for k, v in entry.items() if k != "timestamp"}
            for entry in memory.memory_dict["model_turns"]
        ]
        with autogram.use_memory(memory):
            out["full_history"] = plain(extract_full_conv_history())
    out["requests"] = server.bodies()
    out["collected"] = plain(getattr(module, "OUT", []))
    return out


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    server = FakeServer()
    module = load_bot(spec["bot"], spec["module"])
    out = drive(module, spec, server)
    server.close()
    sys.stdout.write("\n@@RESULT@@" + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
