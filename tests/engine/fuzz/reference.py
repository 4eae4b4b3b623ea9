"""The loop-based reference for GOTO and RETURNTO, which plain Python does not have.

A region -- a labelled call and the statements after it that may jump back to it -- becomes

    while True:
        try:
            <the region's statements>
        except Jump as jump:
            if jump.label != "L":
                raise
            continue
        break

and in the reference program ``GOTO("L")`` and ``RETURNTO("L")`` raise ``Jump("L")`` (see
`oracle`). ``Jump`` is a BaseException, so the program's ``except Exception`` handlers never
see it, and the ``finally`` blocks and ``__exit__`` methods it passes run once, as the engine
runs those of the frames a RETURNTO leaves. The translation is exact because the generator
only writes jumps the engine's rules allow and keeps the rest equivalent:

* a GOTO appears only inside its region, in the same function, never in a ``with`` or
  ``finally`` body (or a ``try`` that has a ``finally``) within the region -- the engine
  refuses to skip their cleanup, and the loop above would run it;
* a RETURNTO appears only in a function called, directly or through other such functions,
  from the same places inside the region, and only there (so the nearest caller owning the
  label is the region's function, as the engine looks it up);
* a region holds no ``break``/``continue`` of a loop outside it, and labels are unique per
  program;
* the labelled call is a statement of its own, so re-running "the call" (the engine) and
  re-running "the statement" (the loop) are the same.
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(r"(,\s*|(?<=\())ADDRESS=(['\"])[^'\"]*\2")


def wrap_region(label: str, body: list[str], indent: str) -> list[str]:
    """The loop standing for a region whose statements are `body` (already indented two
    levels deeper than `indent`)."""
    return [
        f"{indent}while True:",
        f"{indent}    try:",
        *body,
        f"{indent}    except Jump as jump:",
        f"{indent}        if jump.label != {label!r}:",
        f"{indent}            raise",
        f"{indent}        continue",
        f"{indent}    break",
    ]


def strip_address(text: str) -> str:
    """`text` without ``ADDRESS=`` keywords: plain callees would not accept them."""
    return _ADDRESS.sub("", text)
