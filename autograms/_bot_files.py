"""Importing a bot file by path under the module name Python itself would give it.

A session names the module of every paused function, so a bot file must have one module name
however it is loaded: by ``import mybot`` in the user's code, by `load_autogram("mybot.py")`,
or by ``autograms run mybot.py``. That name is the file's stem (``mybot``); for a file inside
package folders (each with an ``__init__.py``) it is the dotted name ``pkg.mybot``, and the
package is imported as ``import pkg.mybot`` would import it (the folder holding ``pkg`` joins
the end of ``sys.path`` when ``pkg`` is not importable yet). A package name that ``import``
would resolve to another folder (a ``tests`` or ``examples`` package elsewhere on the path) is
not used: the file then gets its stem, as if it were in no package. Only when the stem is not
an identifier, or names another module (``json.py`` next to the standard library's ``json``),
does the file get the private name ``autograms_bot_<stem>`` -- then no ``import`` statement
could load it either.

Earlier releases used ``autograms_bot_<stem>`` for every file, and the stem for a file in a
package; the module is registered under those names too, so sessions they saved still continue.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

from ._record import Record

#: prefix of the private module name of a bot file (the only name earlier releases used)
PRIVATE_PREFIX = "autograms_bot_"


def private_module_name(stem: str) -> str:
    """``autograms_bot_<stem>``, with every character that is not a letter or digit as ``_``."""
    return PRIVATE_PREFIX + "".join(c if c.isalnum() else "_" for c in stem)


def module_name_for(path: str | os.PathLike[str]) -> str:
    """The module name the bot file at `path` is imported under (see the module docstring)."""
    absolute = os.path.realpath(path)
    package = _package_of(absolute)
    if package is not None:
        return package.module_name
    return _plain_name(absolute)


#: the module attribute holding the (modification time, size) of the file it was run from
_STAMP = "__autograms_source_stamp__"


def import_bot_file(path: str | os.PathLike[str]) -> ModuleType:
    """The module of the bot file at `path`: imported once per process, and run again when
    the file has changed since (AutoGRAMS' ``load_autogram`` ran the file on every call, so
    an edited bot was picked up without restarting). A module of that name already imported
    from the same file is returned as it is until the file changes."""
    absolute = os.path.realpath(path)
    if not os.path.isfile(absolute):
        raise FileNotFoundError(f"no bot file at {os.fspath(path)}")
    package = _package_of(absolute)
    name = package.module_name if package is not None else _plain_name(absolute)
    module = earlier = sys.modules.get(name)
    stamp = _stamp_of(absolute)
    if module is None:
        module = _import(package) if package is not None else _execute(name, absolute)
    elif _is_file_of(module, absolute) and getattr(module, _STAMP, stamp) != stamp:
        # edited since it ran: run the new version
        module = importlib.reload(module) if package is not None else _execute(name, absolute)
    if not _is_file_of(module, absolute):
        raise ImportError(
            f"cannot load {os.fspath(path)}: a bot file with the same name is already loaded "
            f"from {module.__file__}; give one of them another name"
        )
    setattr(module, _STAMP, stamp)
    for alias in _earlier_names(absolute, package):
        if sys.modules.get(alias, earlier) is earlier:
            sys.modules[alias] = module
    return module


class _Package(Record):
    """Where a bot file sits in package folders: ``pkg.sub.mybot``, and the folder holding
    ``pkg``."""

    __slots__ = ("module_name", "root")

    module_name: str
    root: str

    def __init__(self, module_name: str, root: str) -> None:
        self.module_name = module_name
        self.root = root


def _package_of(absolute: str) -> _Package | None:
    """The package the file belongs to, as ``import`` would find it; None when it is in no
    package folder, a folder's name is not an identifier, or ``import`` would find the top
    package in another folder."""
    parts = [os.path.splitext(os.path.basename(absolute))[0]]
    folder = os.path.dirname(absolute)
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    if len(parts) == 1 or parts[-1] == "__init__" or not all(p.isidentifier() for p in parts):
        return None
    if not _top_package_found_in(parts[0], folder):
        return None
    return _Package(".".join(parts), folder)


def _top_package_found_in(top: str, root: str) -> bool:
    """Whether package `top` is (or, with `root` appended to ``sys.path``, would be) the
    folder ``root/top``."""
    here = os.path.join(root, top)
    module = sys.modules.get(top)
    if module is not None:
        locations = getattr(module, "__path__", None) or []
    else:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return False
        if spec is None:
            return True
        locations = spec.submodule_search_locations or []
    return any(os.path.realpath(location) == here for location in locations)


def _import(package: _Package) -> ModuleType:
    """The bot module imported as ``import`` does, `package.root` joining the end of
    ``sys.path`` when the top package is not importable yet."""
    top = package.module_name.split(".")[0]
    if top not in sys.modules and importlib.util.find_spec(top) is None:
        sys.path.append(package.root)
    return importlib.import_module(package.module_name)


def _plain_name(absolute: str) -> str:
    """The stem, or the private name when the stem cannot be imported as this file."""
    stem = os.path.splitext(os.path.basename(absolute))[0]
    if stem.isidentifier() and not _belongs_to_another_file(stem, absolute):
        return stem
    return private_module_name(stem)


def _earlier_names(absolute: str, package: _Package | None) -> list[str]:
    """Names earlier releases gave this file, free to alias it: the private name, and for a
    file in a package the plain name."""
    stem = os.path.splitext(os.path.basename(absolute))[0]
    names = [private_module_name(stem)]
    if package is not None:
        names.append(_plain_name(absolute))
    return names


def _execute(name: str, absolute: str) -> ModuleType:
    if name.startswith(PRIVATE_PREFIX):
        import logging  # with traceback, string and textwrap: most processes never log here

        logging.getLogger("autograms").info(
            "bot file %s is imported as module %s: its name is taken by another module",
            absolute,
            name,
        )
    spec = importlib.util.spec_from_file_location(name, absolute)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {absolute}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:  # the file's previous version, if any, stays loaded
        if previous is None:
            del sys.modules[name]
        else:
            sys.modules[name] = previous
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


def _stamp_of(absolute: str) -> tuple[int, int]:
    status = os.stat(absolute)
    return status.st_mtime_ns, status.st_size


def _is_file_of(module: ModuleType, absolute: str) -> bool:
    filename = getattr(module, "__file__", None)
    return filename is not None and os.path.realpath(filename) == absolute
