"""Stress: instrument every function and method of real pure-Python stdlib modules, then run
those modules' own test suites. Instrumentation must never change what code does when it does
not pause -- a silent miscompile shows up here before a user meets it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "textwrap",
    "shlex",
    "fnmatch",
    "colorsys",
    "difflib",
    "string",
    "json.encoder",
    "json.decoder",
    "json",
]
SUITES = [
    "test.test_textwrap",
    "test.test_shlex",
    "test.test_fnmatch",
    "test.test_colorsys",
    "test.test_difflib",
    "test.test_string",
    "test.test_json",
]

_SCRIPT = textwrap.dedent(
    """
    import importlib, inspect, sys, types, unittest
    from autograms import _frames

    count = 0
    for name in sys.argv[1].split(","):
        module = importlib.import_module(name)
        for owner in [module, *[v for v in vars(module).values()
                                if isinstance(v, type) and v.__module__ == module.__name__]]:
            for value in list(vars(owner).values()):
                function = getattr(value, "__func__", value)
                if (isinstance(function, types.FunctionType)
                        and function.__module__ == module.__name__
                        and "<locals>" not in function.__qualname__
                        and not function.__code__.co_flags & 0x3A0):
                    _frames.instrument(function)
                    count += 1
    print("instrumented", count, file=sys.stderr)
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[2].split(","))
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=0).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
    """
)


def test_stdlib_suites_pass_with_every_function_instrumented() -> None:
    try:
        import test.test_textwrap  # noqa: F401
    except ImportError:
        pytest.skip("this interpreter ships without the stdlib test package")
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ",".join(MODULES), ",".join(SUITES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    instrumented = int(result.stderr.split("instrumented", 1)[1].split()[0])
    assert instrumented > 100
