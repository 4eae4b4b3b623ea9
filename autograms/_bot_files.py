"""Importing a bot file by path under the module name Python itself would give it.

A session names the module of every paused function, so a bot file must have one module name
however it is loaded: by ``import mybot`` in the user's code, by `load_autogram("mybot.py")`,
or by ``autograms run mybot.py``. That name is the file's stem (``mybot``); for a file inside
package folders (each with an ``__init__.py``) it is the dotted name ``pkg.mybot``, and the
package is imported as ``import`` would import it (its root folder joins ``sys.path`` when
needed). Only when the stem is not an identifier, or names another module (``json.py`` next to
the standard library's ``json``), does the file get the private name ``autograms_bot_<stem>``
-- then no ``import`` statement could load it either.

Earlier releases always used ``autograms_bot_<stem>``; the module is registered under that
name too, so sessions they saved still continue.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from types import ModuleType

logger = logging.getLogger("autograms")

#: prefix of the private module name of a bot file (the only name earlier releases used)
PRIVATE_PREFIX = "autograms_bot_"


def private_module_name(stem: str) -> str:
    """``autograms_bot_<stem>``, with every character that is not a letter or digit as ``_``."""
    return PRIVATE_PREFIX + "".join(c if c.isalnum() else "_" for c in stem)


def module_name_for(path: str | os.PathLike[str]) -> str:
    """The module name the bot file at `path` is imported under (see the module docstring)."""
    absolute = os.path.realpath(path)
    stem = os.path.splitext(os.path.basename(absolute))[0]
    package = _package_of(absolute)
    if package is not None:
        return package[0]
    if stem.isidentifier() and not _belongs_to_another_file(stem, absolute):
        return stem
    return private_module_name(stem)


def _package_of(absolute: str) -> tuple[str, str] | None:
    """``("pkg.sub.mybot", root)`` for a file inside package folders, `root` being the folder
    that holds the top package; None when the file is not in a package (or a folder's name
    could not be imported)."""
    parts = [os.path.splitext(os.path.basename(absolute))[0]]
    folder = os.path.dirname(absolute)
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    if len(parts) == 1 or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), folder


def import_bot_file(path: str | os.PathLike[str]) -> ModuleType:
    """The module of the bot file at `path`, imported once per process (a module of that
    name already imported from the same file is returned as it is)."""
    absolute = os.path.realpath(path)
    if not os.path.isfile(absolute):
        raise FileNotFoundError(f"no bot file at {os.fspath(path)}")
    name = module_name_for(absolute)
    package = _package_of(absolute)
    module = sys.modules.get(name)
    if module is None and package is not None:
        module = _import_from_package(name, package[1])
    if module is None:
        module = _execute(name, absolute)
    elif not _is_file_of(module, absolute):
        raise ImportError(
            f"cannot load {os.fspath(path)}: a bot file with the same name is already loaded "
            f"from {module.__file__}; give one of them another name"
        )
    stem = os.path.splitext(os.path.basename(absolute))[0]
    sys.modules.setdefault(private_module_name(stem), module)
    return module


def _import_from_package(name: str, root: str) -> ModuleType:
    """Module `name` (dotted) imported as ``import`` does, with `root` on ``sys.path`` when the
    top package is not importable yet (as for ``autograms run pkg/mybot.py``)."""
    top = name.split(".")[0]
    if top not in sys.modules and root not in (os.path.realpath(p or ".") for p in sys.path):
        sys.path.append(root)
    return importlib.import_module(name)


def _execute(name: str, absolute: str) -> ModuleType:
    if name.startswith(PRIVATE_PREFIX):
        logger.info(
            "bot file %s is imported as module %s: its name is taken by another module",
            absolute,
            name,
        )
    spec = importlib.util.spec_from_file_location(name, absolute)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {absolute}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _belongs_to_another_file(name: str, absolute: str) -> bool:
    """Whether module `name` is (or would be, by ``import``) another file than `absolute`."""
    module = sys.modules.get(name)
    if module is not None:
        return not _is_file_of(module, absolute)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    return spec.origin is None or os.path.realpath(spec.origin) != absolute


def _is_file_of(module: ModuleType, absolute: str) -> bool:
    filename = getattr(module, "__file__", None)
    return filename is not None and os.path.realpath(filename) == absolute
