"""Worker in LangGraph's venv: the same recruiter conversation as a LangGraph graph
(benchmarks/compare/runners/graphs.py) with SqliteSaver or PostgresSaver; every turn is
``graph.invoke(Command(resume=text), config)``, LangGraph's own load, run, save."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workload  # noqa: E402

import graphs  # noqa: E402  (from the comparison's runners, put on sys.path by workload)
from langgraph.types import Command  # noqa: E402


def saver_for(url: str, setup: bool):
    if url.startswith("sqlite"):
        from langgraph.checkpoint.sqlite import SqliteSaver

        connection = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False,
                                     timeout=30)  # fmt: skip
        saver = SqliteSaver(connection)
    else:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        connection = psycopg.connect(url, autocommit=True, prepare_threshold=0,
                                     row_factory=dict_row)  # fmt: skip
        saver = PostgresSaver(connection)
    if setup:  # once per database, before the workers start (concurrent setups deadlock)
        saver.setup()
    return saver


def main(plan: dict) -> None:
    saver = saver_for(plan["url"], plan.get("setup", False))
    if plan.get("setup"):
        return
    graph = graphs.recruiter_builder().compile(checkpointer=saver)

    def turn(session: str, number: int) -> None:
        config = {"configurable": {"thread_id": session}}
        if number == 1:
            graph.invoke(dict(graphs.INITIAL_STATE), config)
        graph.invoke(Command(resume=workload.user_text(number)), config)

    workload.run(plan, turn)


if __name__ == "__main__":
    main(workload.plan_from_argv())
