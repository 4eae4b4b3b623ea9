"""A worker process of the store tests: runs the turns of a plan, appending each one acknowledged.

python s7b13worker.py URL PLAN.json OUT.jsonl [POLICY] [SESSION_KEY]
PLAN is a list of [session_id, text, key]; OUT gets one JSON line per turn the store
acknowledged ([session_id, key, text, reply, replayed]) or refused ([session_id, key, text,
null, error class name]). Each line is flushed before the next turn starts.
"""

import json
import os
import sys

from autograms import Autogram, AutogramConfig
import time

from autograms.stores import StoreUnavailableError, TurnInProgressError, TurnRunner, open_store

import s7b13bot


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
