"""Importing a bot file by path under the module name Python itself would give it.

A session names the module of every paused function, so a bot file must have one module name
however it is loaded: by ``import mybot`` in the user's code, by `load_autogram("mybot.py")`,
or by ``autograms run mybot.py``. That name is the file's stem (``mybot``). Only when the
stem is not an identifier, or names another module (``json.py`` next to the standard
library's ``json``), does the file get the private name ``autograms_bot_<stem>`` -- then no
``import`` statement could load it either.

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
    if stem.isidentifier() and not _belongs_to_another_file(stem, absolute):
        return stem
    return private_module_name(stem)


def import_bot_file(path: str | os.PathLike[str]) -> ModuleType:
    """The module of the bot file at `path`, imported once per process (a module of that
    name already imported from the same file is returned as it is)."""
    absolute = os.path.realpath(path)
    if not os.path.isfile(absolute):
        raise FileNotFoundError(f"no bot file at {os.fspath(path)}")
    name = module_name_for(absolute)
    module = sys.modules.get(name)
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
