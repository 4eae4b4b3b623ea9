"""Decision accuracy on the local model: the labelled recruiter and tutor decisions of
`benchmarks.decisions.cases`, asked through the library's own helpers (`yes_or_no`,
`multiple_choice`) in every decision form of `autograms.models.choices`, on every installed
local server backend. Writes benchmarks/results/decisions.{md,json}.

    python -m benchmarks.decisions                      # every backend, every form
    python -m benchmarks.decisions --backends llama-server --gguf ~/models/other.gguf
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from autograms import _decisions
from autograms._prompts import Conversation
from autograms.config import AutogramConfig
from autograms.models.choices import DECISION_FORMS
from autograms.models.errors import DecisionError, ModelError
from autograms.models.local_server import (
    LocalModelServer,
    LocalModelUnavailableError,
    find_backend,
)
from autograms.models.openai_compat import OpenAICompatModel
from benchmarks.decisions.cases import CASES, Case

RESULTS = Path(__file__).resolve().parents[1] / "results"
BACKENDS = ("llama-server", "llama-cpp-python")
#: what each form is called in the table
FORM_NAMES = {
    "output": "structured output: JSON answer, enum of the labels (the local model's default)",
    "gbnf": "GBNF grammar: the bare label",
    "scored": "label scores, calibrated",
    "constant": "(reference) a constant answer",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.decisions", description=__doc__)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    parser.add_argument("--forms", default=",".join(DECISION_FORMS), help="comma-separated")
    parser.add_argument("--gguf", help="GGUF model file (default: the packaged SmolLM2-135M)")
    parser.add_argument("--out", type=Path, default=RESULTS / "decisions")
    return parser.parse_args(argv)


def decide(model: OpenAICompatModel, config: AutogramConfig, case: Case) -> str:
    """The library's answer to `case`: "Yes"/"No", or the chosen option."""
    conversation = Conversation(
        case.system_prompt,
        [{"role": "agent", "content": case.agent}, {"role": "user", "content": case.user}],
    )
    if case.choices:
        index = _decisions.multiple_choice(model, config, conversation, case.question, case.choices)
        return case.choices[index.value]
    answer = _decisions.yes_or_no(model, config, conversation, case.question)
    return "Yes" if answer.value else "No"


def run_form(server: LocalModelServer, form: str) -> dict[str, Any]:
    """Every case in one form on one running server."""
    config = server.chat_config(request_timeout=600)
    model = server.chat_model(config, decision_form=form)
    rows = []
    for case in CASES:
        started = time.perf_counter()
        try:
            answer = decide(model, config, case)
        except DecisionError:
            answer = "(no decision)"
        except ModelError as exc:
            answer = f"(error: {type(exc).__name__})"
        rows.append(
            {
                "bot": case.bot,
                "kind": case.kind,
                "user": case.user,
                "question": case.question.splitlines()[-1],
                "expected": case.expected,
                "answer": answer,
                "correct": answer == case.expected,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        print(f"  {form:<7} {'ok ' if rows[-1]['correct'] else 'BAD'} {case.user!r}", flush=True)
    model.close()
    return {"form": form, "rows": rows}


def median(values: list[float | None]) -> float | None:
    known = sorted(value for value in values if value is not None)
    return known[len(known) // 2] if known else None


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = Counter((row["bot"], row["kind"]) for row in rows)
    right = Counter((row["bot"], row["kind"]) for row in rows if row["correct"])
    return {
        "correct": sum(row["correct"] for row in rows),
        "total": len(rows),
        "by_group": {f"{bot} {kind}": [right[(bot, kind)], n] for (bot, kind), n in total.items()},
        "median_seconds": median([row["seconds"] for row in rows]),
    }


def constant_answer() -> dict[str, Any]:
    """The reference row: Yes to every yes/no question, the first option of every choice."""
    rows = [
        {
            "bot": case.bot,
            "kind": case.kind,
            "correct": case.expected == (case.choices[0] if case.choices else "Yes"),
            "seconds": None,
        }
        for case in CASES
    ]
    return {"backend": "-", "form": "constant", "summary": summary(rows)}


def write_report(results: list[dict[str, Any]], out: Path, meta: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    groups = sorted({group for r in results for group in r["summary"]["by_group"]})
    lines = [
        "# Decision accuracy on the local model",
        "",
        f"{len(CASES)} labelled decisions of the recruiter and the fraction tutor "
        "(`benchmarks/decisions/cases.py`), asked through `yes_or_no` and `multiple_choice` "
        f"in each decision form (`autograms/models/choices.py`). Model: {meta['model']}; "
        f"{meta['machine']}. Regenerate: `make bench-decisions`.",
        "",
        "| backend | decision form | correct | " + " | ".join(groups) + " | median s/decision |",
        "|---|---|---|" + "---|" * len(groups) + "---|",
    ]
    for result in [*results, constant_answer()]:
        s = result["summary"]
        cells = [
            "{}/{}".format(*s["by_group"][group]) if group in s["by_group"] else "-"
            for group in groups
        ]
        seconds = f"{s['median_seconds']:.2f}" if s["median_seconds"] is not None else "-"
        lines.append(
            f"| {result['backend']} | {FORM_NAMES[result['form']]} | "
            f"**{s['correct']}/{s['total']}** ({100 * s['correct'] // s['total']}%) | "
            + " | ".join(cells)
            + f" | {seconds} |"
        )
    lines += [
        "",
        "The last row is the score of a model that does not read the user at all: it answers",
        "Yes to every question and picks the first option of every choice. What each form",
        "answered, case by case, is in `decisions.json`.",
        "",
    ]
    out.with_suffix(".md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    results = []
    model_name = "?"
    for kind in options.backends.split(","):
        try:
            find_backend(kind)  # type: ignore[arg-type]
        except LocalModelUnavailableError as exc:
            print(f"{kind}: skipped ({exc})", file=sys.stderr)
            continue
        server = LocalModelServer(
            options.gguf,
            backend=kind,
            warmup_timeout=600,
            progress=print,  # type: ignore[arg-type]
        )
        with server:
            model_name = server.model_path.name if server.model_path else "?"
            for form in options.forms.split(","):
                result = run_form(server, form)
                result.update(backend=kind, summary=summary(result["rows"]))
                print(f"{kind} {form}: {result['summary']['correct']}/{len(CASES)}", flush=True)
                results.append(result)
    meta = {
        "model": model_name,
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end",
        "date": time.strftime("%Y-%m-%d"),
    }
    write_report(results, options.out, meta)
    print(f"wrote {options.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
