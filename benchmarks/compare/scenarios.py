"""The frameworks compared ("contenders") and the seven scenarios, with full and --quick sizes.

Scenario 3 runs twice (a 20-line and a 900-line function) so that flatness can be read off.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Contender:
    """One framework configuration, run by one runner script in one environment."""

    #: Key in results ("ours", "autograms", "langgraph", "langgraph-sqlite").
    key: str
    #: Column title in the report.
    label: str
    #: Key of the `Environment` that runs it.
    environment: str
    #: Runner script in runners/.
    runner: str
    #: The runner's --variant.
    variant: str


CONTENDERS: dict[str, Contender] = {
    contender.key: contender
    for contender in (
        Contender("ours", "ours", "ours", "run_autograms_api.py", "ours"),
        Contender("autograms", "AutoGRAMS 0.5.3", "autograms", "run_autograms_api.py", "peer"),
        Contender("langgraph", "LangGraph (InMemorySaver)", "langgraph", "run_langgraph.py",
                  "memory"),
        Contender("langgraph-sqlite", "LangGraph (SqliteSaver)", "langgraph", "run_langgraph.py",
                  "sqlite"),
    )
}  # fmt: skip

#: The peers the ratio columns divide by.
RATIO_PEERS = ("autograms", "langgraph")


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario: what the runners do, at full size and in --quick mode."""

    #: "1", "2", "3a", "3b", "4", "5", "6", "7".
    key: str
    #: Title; {turns} and {sessions} are filled in with the run's sizes.
    title: str
    #: Runner mode: "sequential", "cold" or "concurrent".
    mode: str
    #: Runner bot: "recruiter", "nested", "long" or "closures".
    bot: str
    #: Resumed turns (per session for "concurrent"), full and quick.
    turns: tuple[int, int]
    #: Contender keys, in the order of the first round.
    contenders: tuple[str, ...]
    #: How the scenario maps onto each framework, for the report.
    note: str
    #: Function length for the "long" bot.
    lines: int = 0
    #: Sessions for "concurrent", full and quick.
    sessions: tuple[int, int] = (0, 0)
    #: Threads for "concurrent".
    threads: int = 8

    def heading(self, quick: bool) -> str:
        """The title with this run's sizes filled in."""
        size = 1 if quick else 0
        return self.title.format(turns=f"{self.turns[size]:,}", sessions=f"{self.sessions[size]:,}")

    def runner_args(self, quick: bool) -> list[str]:
        """The runner options of this scenario."""
        size = 1 if quick else 0
        args = ["--mode", self.mode, "--bot", self.bot, "--turns", str(self.turns[size])]
        if self.lines:
            args += ["--lines", str(self.lines)]
        if self.mode == "concurrent":
            args += ["--sessions", str(self.sessions[size]), "--threads", str(self.threads)]
        return args


MAIN = ("ours", "autograms", "langgraph")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "1", "Recruiter, {turns} turns: load → reply → save every turn", "sequential", "recruiter",
        (200, 10), (*MAIN, "langgraph-sqlite"),
        "AutoGRAMS API (AutoGRAMS, ours): every turn is deserialize(blob) → reply(text, "
        "memory_object=…) → serialize(memory), keeping only the blob. LangGraph: every turn is "
        "invoke(Command(resume=text)) on a checkpointer, which loads the latest checkpoint, runs "
        "to the next interrupt() and saves.",
    ),
    Scenario(
        "2", "Recruiter paused 5 frames deep, {turns} turns", "sequential", "nested",
        (200, 10), MAIN,
        "AutoGRAMS API: five decorated functions (root → depth_2 → depth_3 → depth_4 → "
        "recruiter). LangGraph: five nested graphs, each compiled graph the single node of its "
        "parent; the subgraphs inherit the root's checkpointer, so a session has 5 checkpoint "
        "namespaces and the serde/size figures sum over them.",
    ),
    Scenario(
        "3a", "20-line decorated function, {turns} turns", "sequential", "long", (100, 5), MAIN,
        "Generated: linear steps of `count += 1`, a reply, an assignment. LangGraph: one node per "
        "reply step, chained, looping back.",
        lines=20,
    ),
    Scenario(
        "3b", "900-line decorated function, {turns} turns", "sequential", "long", (100, 5), MAIN,
        "Same generator as 3a with 298 steps (LangGraph: a 298-node chain).",
        lines=900,
    ),
    Scenario(
        "4", "Recruiter, {turns} turns (growth)", "sequential", "recruiter", (1000, 20), MAIN,
        "Scenario 1 run five times longer, to show how the turn cost and the session grow.",
    ),
    Scenario(
        "5", "Fresh process per turn (cold), {turns} turns", "cold", "recruiter", (20, 2),
        ("ours", "autograms", "langgraph-sqlite"),
        "Each turn is a new interpreter that imports the framework, builds the bot, loads the "
        "session from disk, replies and saves (AutoGRAMS API: a text file; LangGraph: "
        "SqliteSaver). Wall time is measured by the parent from spawn to exit.",
    ),
    Scenario(
        "6", "{sessions} concurrent sessions on 8 threads, {turns} turns each", "concurrent",
        "recruiter", (5, 2), MAIN,
        "All sessions start, then rounds in which every session takes one turn, served by a "
        "pool of 8 threads in one process (round-robin, so consecutive turns hit different "
        "sessions). Per-turn load → reply → save as in scenario 1; LangGraph uses one compiled "
        "graph with an InMemorySaver.",
        sessions=(1000, 16),
    ),
    Scenario(
        "7", "Closures and comprehensions in the paused frames, {turns} turns", "sequential",
        "closures", (1000, 10), ("ours", "autograms"),
        "AutoGRAMS API only (LangGraph keeps no Python frames): four decorated frames, the third "
        "holding `nums = [tid * k for k in range(4)]` and a nested function over a local; every "
        "turn is deserialize → reply → serialize. Turn cost should stay flat from turn 10 to the "
        "last (python -m benchmarks.closures has the per-Python detail).",
    ),
)  # fmt: skip


def select(keys: str | None) -> tuple[Scenario, ...]:
    """The scenarios named in a comma list like "1,3,5" ("3" selects 3a and 3b); all if None."""
    if not keys:
        return SCENARIOS
    wanted = {key.strip() for key in keys.split(",") if key.strip()}
    chosen = tuple(s for s in SCENARIOS if s.key in wanted or s.key.rstrip("ab") in wanted)
    unknown = wanted - {s.key for s in chosen} - {s.key.rstrip("ab") for s in chosen}
    if unknown:
        raise ValueError(f"unknown scenario {sorted(unknown)}; choose from 1, 2, 3, 3a, 3b, 4-7")
    return chosen
