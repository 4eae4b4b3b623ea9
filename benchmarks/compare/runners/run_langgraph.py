"""Runner for LangGraph: `--variant memory` (InMemorySaver) or `--variant sqlite` (SqliteSaver on a
file in the work directory). Each session is a thread id; every turn is one
`graph.invoke(Command(resume=user_text), config)`, which loads the latest checkpoint, runs to the
next `interrupt()` and saves — LangGraph's own load → turn → save cycle.

Serialize/deserialize figures are measured apart, after the turn: the checkpointer's serde on the
latest checkpoint of every namespace of the session (the root graph and each subgraph).
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path
from typing import Any

import protocol
from protocol import Built, TurnSample, now

PACKAGES = (
    "langgraph",
    "langgraph-checkpoint",
    "langgraph-checkpoint-sqlite",
    "langchain-core",
    "ormsgpack",
    "pydantic",
)


class LangGraphAdapter:
    """Drives one compiled graph whose checkpointer keeps the sessions."""

    def __init__(self, graph: Any, saver: Any, measure: bool, database: Path | None) -> None:
        from graphs import INITIAL_STATE
        from langgraph.types import Command

        self.graph = graph
        self.saver = saver
        self.measure = measure
        self.database = database
        self.initial_state = INITIAL_STATE
        self.command = Command

    def start(self, session: str) -> TurnSample:
        """Invoke with the initial state up to the first interrupt."""
        began = now()
        output = self.graph.invoke(dict(self.initial_state), self.config(session))
        total = now() - began
        return self.sample(session, output, total)

    def turn(self, session: str, user_text: str) -> TurnSample:
        """Resume the session's pending interrupt with the user's text."""
        began = now()
        output = self.graph.invoke(self.command(resume=user_text), self.config(session))
        total = now() - began
        return self.sample(session, output, total)

    def sample(self, session: str, output: dict[str, Any], total: float) -> TurnSample:
        """The turn's figures; the serde is timed only when `measure` is set."""
        pending = output.get("__interrupt__")
        text = pending[0].value if pending else None
        if not self.measure:
            return TurnSample(text, total, 0.0, 0.0, 0)
        serialize, deserialize, size = self.serde_figures(session)
        return TurnSample(text, total, serialize, deserialize, size)

    def serde_figures(self, session: str) -> tuple[float, float, int]:
        """Time dumps/loads of the latest checkpoint of each namespace; sum the sizes."""
        serialize = deserialize = 0.0
        size = 0
        for namespace in self.namespaces(session):
            config = self.config(session, namespace)
            checkpoint = self.saver.get_tuple(config).checkpoint
            began = now()
            typed = self.saver.serde.dumps_typed(checkpoint)
            dumped = now()
            self.saver.serde.loads_typed(typed)
            serialize += dumped - began
            deserialize += now() - dumped
            size += len(typed[1])
        return serialize, deserialize, size

    def namespaces(self, session: str) -> list[str]:
        """The checkpoint namespaces of `session` (one per graph on its stack)."""
        if self.database is None:
            return list(self.saver.storage[session])
        with self.saver.cursor(transaction=False) as cursor:
            cursor.execute(
                "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?", (session,)
            )
            return [row[0] for row in cursor.fetchall()]

    def extra(self) -> dict[str, object]:
        """Storage kept by the checkpointer: every checkpoint of the history is retained."""
        if self.database is None:
            kept = sum(len(ns) for thread in self.saver.storage.values() for ns in thread.values())
            return {"checkpoints_kept": kept}
        files = [self.database, Path(f"{self.database}-wal")]
        return {"database_bytes": sum(path.stat().st_size for path in files if path.exists())}

    @staticmethod
    def config(session: str, namespace: str | None = None) -> dict[str, Any]:
        """The run config naming the session's thread (and optionally one namespace)."""
        configurable = {"thread_id": session}
        if namespace is not None:
            configurable["checkpoint_ns"] = namespace
        return {"configurable": configurable}


def make_saver(options: argparse.Namespace) -> tuple[Any, Path | None]:
    """The checkpointer of the variant; a sqlite file starts empty on a run's first turn."""
    if options.variant != "sqlite":
        from langgraph.checkpoint.memory import InMemorySaver

        return InMemorySaver(), None
    from langgraph.checkpoint.sqlite import SqliteSaver

    database = options.work_dir / f"{options.bot}.sqlite"
    if options.mode != "cold-turn" or options.turn == 0:
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            path.unlink(missing_ok=True)
    return SqliteSaver(sqlite3.connect(database, check_same_thread=False)), database


def builder_for(options: argparse.Namespace) -> Any:
    """The graph builder of the requested bot."""
    import graphs
    import long_script

    if options.bot == "long":
        return graphs.long_builder(long_script.step_count(options.lines))
    return graphs.recruiter_builder() if options.bot == "recruiter" else graphs.nested_builder()


def build(options: argparse.Namespace) -> Built:
    """Import LangGraph, build and compile the bot's graph with the variant's checkpointer."""
    began = now()
    import langgraph.checkpoint.memory  # noqa: F401 - timed: part of LangGraph's import cost
    import langgraph.graph  # noqa: F401
    import langgraph.types  # noqa: F401

    if options.variant == "sqlite":
        import langgraph.checkpoint.sqlite  # noqa: F401
    imported = now()
    saver, database = make_saver(options)
    graph = builder_for(options).compile(checkpointer=saver)
    ready = now()
    info = protocol.base_info(
        f"LangGraph ({'SqliteSaver' if database else 'InMemorySaver'})",
        protocol.package_versions(("langgraph",)).get("langgraph", "?"),
        protocol.package_versions(PACKAGES),
    )
    adapter = LangGraphAdapter(graph, saver, options.mode != "concurrent", database)
    return Built(adapter, info, imported - began, ready - imported)


if __name__ == "__main__":
    protocol.main(build)
