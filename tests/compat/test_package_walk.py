"""AutoGRAMS's own seed agent reads the library's source by walking the ``autograms`` package
through module attributes, recursing into every submodule it finds, with no record of where it
has been. On this package that walk must end: no module may lead back to one it came from."""

from __future__ import annotations

import subprocess
import sys
import textwrap

WALK_EVERY_MODULE = textwrap.dedent(
    """
    import importlib, inspect, json, pkgutil, sys
    import autograms
    import autograms.examples  # installed from examples/, outside autograms.__path__

    for package in (autograms, autograms.examples):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            try:
                importlib.import_module(info.name)
            except ImportError:
                pass  # an optional extra that is not installed

    cycles = []

    def walk(module, path):
        if module.__name__ in path:
            cycles.append(path + [module.__name__])
            return
        for name in dir(module):
            value = getattr(module, name, None)
            if inspect.ismodule(value) and value.__name__.startswith("autograms"):
                walk(value, path + [module.__name__])

    walk(autograms, [])
    print(json.dumps(cycles[:5]))
    """
)


def test_walking_the_package_by_module_attributes_ends_without_a_cycle() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WALK_EVERY_MODULE],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.strip() == "[]", f"module cycles: {done.stdout}"
