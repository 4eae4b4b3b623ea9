"""reply_suffix's reply: the model's answer cut where it starts the required text, which is
then put in exactly -- the way AutoGRAMS post-processes an answer that must end in a suffix.

The model is asked to end its answer with the required text in bold. Its answer is taken as
written up to the longest stretch it shares with the first half of that text; the exact text
follows from there (whatever the model wrote after it is dropped). An answer sharing too little
with the text becomes the text alone. Before that, the answer loses the ``**`` bold marks and a
leading label: everything up to a ':' met in its first 80 characters ("Agent: ...",
"Here is my reply: ..."), as AutoGRAMS does. Matching is case-sensitive, as there.
"""

from __future__ import annotations

import difflib

#: a leading label is looked for this far into the answer
LABEL_REACH = 80
#: the shared stretch must be longer than this many characters (or a third of the text)
MIN_OVERLAP = 40


def splice_suffix(answer: str, suffix: str) -> str:
    """The reply made of ``answer`` (a model's answer) and the required ``suffix``."""
    if suffix:
        answer = answer.replace("**", "")
    answer = _without_label(answer)
    if not suffix:
        return answer
    head = suffix[: len(suffix) // 2]
    # find_longest_match breaks ties as AutoGRAMS' search does: earliest in the answer, then
    # earliest in the suffix (no junk heuristics, so it is a plain longest common substring)
    match = difflib.SequenceMatcher(None, answer, head, autojunk=False).find_longest_match(
        0, len(answer), 0, len(head)
    )
    if match.size <= min(MIN_OVERLAP, len(suffix) // 3):
        return suffix
    shared = answer[match.a : match.a + match.size]
    return answer[: match.a] + suffix[suffix.find(shared) :]


def _without_label(answer: str) -> str:
    """``answer`` after its first ':' (and one space) when that ':' is in its first 80
    characters."""
    colon = answer.find(":", 0, LABEL_REACH)
    if colon < 0:
        return answer
    rest = answer[colon + 1 :]
    return rest[1:] if rest.startswith(" ") else rest
