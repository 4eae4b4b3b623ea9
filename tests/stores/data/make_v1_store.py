"""Writes ``v1-<python>.json``: the rows of a schema-1 store as release 0.6 (commit 3c34560)
wrote them, for the migration tests (`tests/stores/test_schema.py`).

Run with the code of that commit (its store writes schema 1), once per Python:
``python -m tests.stores.data.make_v1_store``. The sessions: two of `bots.chain` (owner
"team", two turns each), one of `bots.chain` not started, one of `bots.thinker` (owner "team",
one turn with a model call); blobs signed with `KEY`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile

from autograms import Autogram, AutogramConfig
from autograms.stores import Sessions, TurnRunner, open_store
from tests.stores import bots

KEY = "v1-fixture-key"
TABLES = ("autograms_sessions", "autograms_turns", "autograms_log")


def main() -> None:
    config = AutogramConfig(session_key=KEY)
    chain = Autogram(root_function=bots.chain, autogram_config=config, test_mode=True)
    thinker = Autogram(root_function=bots.thinker, autogram_config=config, test_mode=True)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "v1.db")
        store = open_store(f"sqlite:///{path}")
        for name in ("chain-1", "chain-2"):
            Sessions(chain, store).create(name, owner="team")
            for number, text in enumerate(("hello", f"{name} says hi")):
                TurnRunner(chain, store).run_turn(name, text, f"k{number}")
        Sessions(chain, store).create("chain-idle")
        Sessions(thinker, store).create("thinker-1", owner="team")
        TurnRunner(thinker, store).run_turn("thinker-1", "hello", "k0")
        store.close()
        with sqlite3.connect(path) as connection:
            dump = {
                "schema": connection.execute("SELECT version FROM autograms_schema").fetchone()[0]
            }
            for table in TABLES:
                cursor = connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")
                columns = [column[0] for column in cursor.description]
                dump[table] = {"columns": columns, "rows": cursor.fetchall()}
    out = os.path.join(
        os.path.dirname(__file__), f"v1-{sys.version_info[0]}.{sys.version_info[1]}.json"
    )
    with open(out, "w") as file:
        json.dump(dump, file, indent=1)
        file.write("\n")


if __name__ == "__main__":
    main()
