"""Record AutoGRAMS 0.6.0's runs of generated bots (needs its tree and a venv with its deps).

Usage: python -m tests.outside.dropin_s13.record SEED[:drive] ...  -> writes autograms_0_6_0.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .generator import generate_bot, generate_config
from .side import digest, run

RECORDED = Path(__file__).parent / "autograms_0_6_0.json"


def main(args: list[str]) -> None:
    cases = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    for arg in args:
        seed, _, drive = arg.partition(":")
        source, messages = generate_bot(int(seed))
        config = generate_config(int(seed))
        result = run(source, messages, original=True, config=config, drive=drive or "reply")
        assert result["version"] == "0.6.0", result["version"]
        cases[arg] = dict(messages=messages, config=config, **digest(result))
    RECORDED.write_text(json.dumps(cases, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
