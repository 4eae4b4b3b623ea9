"""A worker process of the store tests: runs the turns of a plan, appending each one acknowledged.

python s7b13worker.py URL PLAN.json OUT.jsonl [POLICY] [SESSION_KEY]
PLAN is a list of [session_id, text, key]; OUT gets one JSON line per turn the store
acknowledged ([session_id, key, text, reply, replayed]) or refused ([session_id, key, text,
null, error class name]). Each line is flushed before the next turn starts.
"""

import json
import os
import sys
import time

# a machine whose clock is off by B13_CLOCK_SKEW seconds (wall clock only)
_skew = float(os.environ.get("B13_CLOCK_SKEW", "0"))
if _skew:
    _real_time = time.time
    time.time = lambda: _real_time() + _skew
    _real_time_ns = time.time_ns
    time.time_ns = lambda: _real_time_ns() + int(_skew * 1e9)

from autograms import Autogram, AutogramConfig  # noqa: E402 - after the clock is set
from autograms.stores import (  # noqa: E402
    StoreUnavailableError,
    TurnInProgressError,
    TurnRunner,
    open_store,
)

import s7b13bot  # noqa: E402


def main() -> None:
    url, plan_path, out_path = sys.argv[1:4]
    policy = sys.argv[4] if len(sys.argv) > 4 else "enqueue"
    key = sys.argv[5] if len(sys.argv) > 5 else None
    config = AutogramConfig(session_key=key) if key else AutogramConfig()
    autogram = Autogram(root_function=s7b13bot.chatbot, autogram_config=config, test_mode=True)
    store = open_store(url)
    runner = TurnRunner(autogram, store, policy=policy, lease_seconds=2.0, wait_seconds=60.0)
    with open(plan_path) as fid:
        plan = json.load(fid)
    with open(out_path, "a") as out:
        for session_id, text, idem in plan:
            for _attempt in range(100):
                try:
                    result = runner.run_turn(session_id, text, idem)
                except StoreUnavailableError:
                    time.sleep(0.2)
                    continue
                except TurnInProgressError:
                    time.sleep(0.2)
                    continue
                except Exception as exc:  # noqa: BLE001 - reported to the test, which judges it
                    line = [session_id, idem, text, None, type(exc).__name__]
                else:
                    line = [session_id, idem, text, result.reply, result.replayed]
                out.write(json.dumps(line) + "\n")
                out.flush()
                os.fsync(out.fileno())
                break


if __name__ == "__main__":
    main()
