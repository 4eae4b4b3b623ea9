"""The base of the library's value records: plain classes with ``__slots__``.

A record lists its fields in ``__slots__`` (documented by annotations in the class body) and
assigns every one of them in its own ``__init__``, whose parameters carry the fields' names.
`Record` then gives it what a frozen dataclass would: equality and a hash over the fields, a
repr, and `replace`. Records are not dataclasses because creating a dataclass execs generated
code, about 0.6 ms a class, and a fresh process that answers one turn creates dozens of them
at import (issue 11); a record's class costs microseconds. Their fields are not frozen: code
that needs a changed record calls `replace`.
"""

from __future__ import annotations

from typing import Any, TypeVar

R = TypeVar("R", bound="Record")


class Record:
    """A value record: equal to a record of the same class with equal fields."""

    __slots__ = ()

    def _values(self) -> tuple:
        return tuple([getattr(self, name) for name in self.__slots__])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({fields})"


def replace(record: R, **changes: Any) -> R:
    """A copy of `record` with the fields named in `changes` set to their values."""
    values = {name: getattr(record, name) for name in record.__slots__}
    unknown = changes.keys() - values.keys()
    if unknown:
        raise TypeError(f"{record.__class__.__qualname__} has no field {sorted(unknown)[0]!r}")
    values.update(changes)
    return record.__class__(**values)
