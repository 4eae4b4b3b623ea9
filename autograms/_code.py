"""Code in model answers: extracting fenced blocks, and running code in a sandbox command.

Pure functions of AutoGRAMS' ``functional`` module (no model calls, no conversation state).
"""

from __future__ import annotations

import os
import re

#: the sandbox AutoGRAMS ran code in (firejail, read-only /home and /usr)
DEFAULT_COMMAND = "firejail --noprofile --quiet --read-only=/home --read-only=/usr python3"

_FENCE_LINE = re.compile(r"^\s*```\s*([^\s`]*)\s*$")


def extract_code(
    input_string: str, code_type: str = "python", merge_blocks: bool = True
) -> str | list[str]:
    """Code of the top-level ```code_type fenced blocks (joined by newlines, or a list).

    Fences inside a block that name a language open a nested block, and a bare fence closes
    the innermost one, so markdown examples inside the code survive. A block left open at the
    end (a cut-off answer) is dropped.
    """
    blocks: list[str] = []
    lines: list[str] = []
    depth = 0
    for line in input_string.splitlines(keepends=True):
        fence = _FENCE_LINE.match(line)
        if depth == 0:
            if fence and fence.group(1) == code_type:
                depth, lines = 1, []
            continue
        if fence:
            depth += 1 if fence.group(1) else -1
            if depth == 0:
                blocks.append("".join(lines))
                continue
        lines.append(line)
    return "\n".join(blocks) if merge_blocks else blocks


def extract_code_legacy(
    input_string: str, code_type: str = "python", merge_blocks: bool = True
) -> str | list[str]:
    """Code of every "```code_type" block closed by the next fence, found by a regular
    expression (no nesting: `extract_code` handles fences inside a block)."""
    blocks = re.findall(rf"```{re.escape(code_type)}\n(.*?)```", input_string, re.DOTALL)
    return "\n".join(blocks) if merge_blocks else blocks


def execute_code(
    code: str,
    command: str = DEFAULT_COMMAND,
    timeout: float | None = 60,
    code_suffix: str = ".py",
) -> tuple[str, bool]:
    """Run `code`, written to a temporary file, as ``<command> <file>``: ``(stdout, True)``
    if it exits with status 0, else ``(stderr or the reason, False)``.

    `command` is split like a shell would split it but no shell runs it. `timeout` (seconds;
    None or 0 for none) kills the run. The default command needs firejail; without it the
    result says so (pass e.g. ``command="python3"`` to run unsandboxed).
    """
    # Imported here: a program's turns never run code, and a fresh worker's first turn should
    # not pay for these modules (issue 11, cold path).
    import shlex
    import subprocess
    import tempfile

    arguments = shlex.split(command)
    with tempfile.NamedTemporaryFile("w", suffix=code_suffix, delete=False) as handle:
        handle.write(code)
        path = handle.name
    try:
        done = subprocess.run(
            [*arguments, path],
            capture_output=True,
            text=True,
            timeout=timeout or None,
            check=False,
        )
    except FileNotFoundError:
        return f"cannot run {arguments[0]!r}: no such program; install it or pass command=", False
    except subprocess.TimeoutExpired:
        return f"execution timed out after {timeout} seconds and was stopped", False
    finally:
        os.remove(path)
    return (done.stdout, True) if done.returncode == 0 else (done.stderr, False)
