"""A counter program that pauses at every question and resumes in a *new process* each turn.

Run:  python examples/engine_demo.py
The parent process plays the user; each turn runs in a fresh interpreter that loads the
previous turn's snapshot from a file, resumes the program, and saves the next snapshot.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from autograms import _frames  # noqa: E402


def ask(question: str) -> str:
    return _frames.pause(question)


def count_items(limit: int) -> list[str]:
    """Ask for `limit` items, allowing 'undo' to drop the last one."""
    items: list[str] = []
    while len(items) < limit:
        answer = ask(f"item {len(items) + 1} of {limit}?")
        try:
            if answer != "undo":
                items.append(answer)
            elif items:
                print(f"  (dropped {items.pop()!r})")
            else:
                raise LookupError("nothing to undo")
        except LookupError as exc:
            print(f"  ({exc})")
    return items


def main() -> str:
    name = ask("what is your name?")
    items = count_items(3)
    return f"{name} listed {', '.join(items)}"


_frames.instrument(count_items)
_frames.instrument(main)


def one_turn(path: str, reply: str | None) -> None:
    if reply is None:
        outcome = _frames.run(main)
    else:
        with open(path, "rb") as handle:
            outcome = _frames.resume(handle.read(), reply)
    if isinstance(outcome, _frames.Paused):
        with open(path, "wb") as handle:
            handle.write(outcome.snapshot)
        size = len(outcome.snapshot)
        print(f"program asks: {outcome.payload}   [snapshot {size} bytes, pid {os.getpid()}]")
    else:
        print(f"program finished: {outcome.value!r}")
        os.remove(path)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        one_turn(sys.argv[1], None if sys.argv[2] == "-" else sys.argv[2])
        sys.exit(0)
    replies = ["-", "Ada", "undo", "tea", "undo", "cake", "jam", "bread"]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "session.bin")
        for reply in replies:
            if reply != "-":
                print(f"user says:    {reply}")
            subprocess.run([sys.executable, __file__, path, reply], check=True)
            if not os.path.exists(path):
                break
