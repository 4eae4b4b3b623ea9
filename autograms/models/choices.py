"""How a decision's answer is held to its options, by server (the "decision form").

A decision request (``kind="decision"``) offers labels (``Yes``/``No``, ``A``/``B``...). Every
form answers with one of them:

* ``output`` (the default): the structured output the server accepts, a JSON object whose
  ``answer`` is an enum of the labels (``json_schema``, llama-cpp-python's ``json_object`` +
  schema, TGI's grammar). Right for capable models.
* ``gbnf``: a GBNF grammar whose only sentences are the labels, in the request body
  (``grammar``, as both llama.cpp servers accept); the answer is the bare label.
* ``scored``: no sampling at all. One token is asked for with its ``top_logprobs``; each
  label scores its log-probability there, minus its log-probability when the user's words
  are left out (the request's ``baseline_messages``: "contextual calibration", Zhao et al.
  2021). A small model answers most questions "Yes" (or "A") whatever was said; the baseline
  measures that leaning, so what is left is what the user's words changed. The baseline of a
  question is asked once and kept (it does not depend on the user's message). Measured on
  SmolLM2-135M: `benchmarks/results/decisions.md`.

`OpenAICompatModel` uses the form a caller names for a server (``decision_forms=``);
`LocalModelServer.decision_form` is ``output`` too: it is the request AutoGRAMS sends any
server but OpenAI's (json mode), and with AutoGRAMS' wording it decides best on the
bundled model (``LocalModelServer.chat_model(config, decision_form="scored")`` asks by
label scores instead).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence

#: the forms, in the order of the module docstring
DECISION_FORMS = ("output", "gbnf", "scored")
#: alternatives asked for with the one token of a ``scored`` decision
TOP_LOGPROBS = 20
#: log-probability of a label the server did not list among the top ones
UNLISTED = -30.0


def label_grammar(labels: Sequence[str]) -> str:
    """A GBNF grammar matching exactly one of `labels`."""
    alternatives = " | ".join(json.dumps(label, ensure_ascii=False) for label in labels)
    return f"root ::= {alternatives}"


def label_logprobs(
    top: Iterable[tuple[str, float]], labels: Sequence[str]
) -> dict[str, float] | None:
    """Each label's log-probability among the `top` alternatives of the first token (matched
    ignoring case and surrounding spaces), `UNLISTED` for a label not among them; None when
    no label is among them at all."""
    scores = dict.fromkeys(labels, UNLISTED)
    wanted = {label.strip().lower(): label for label in labels}
    found = False
    for token, logprob in top:
        label = wanted.get(token.strip().lower())
        if label is not None and logprob > scores[label]:
            scores[label] = logprob
            found = True
    return scores if found else None


def calibrated_choice(scores: Mapping[str, float], baseline: Mapping[str, float] | None) -> str:
    """The label whose score rose most over its `baseline` score (the highest score when
    there is no baseline); the earlier label on a tie."""

    def gain(label: str) -> float:
        prior = baseline.get(label, UNLISTED) if baseline is not None else 0.0
        value = scores[label] - prior
        return value if math.isfinite(value) else -math.inf

    return max(scores, key=gain)
