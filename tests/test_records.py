"""Every value record of the library (`autograms._record.Record`) lists its fields once in
``__slots__``, annotates each in the class body, takes each as an ``__init__`` parameter of
the same name and assigns each: the three lists are written by hand, so a test holds them
together."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import autograms
from autograms._record import Record, replace

SKIPPED_PACKAGES = ("autograms.serve", "autograms.stores", "autograms.cli", "autograms._visual")


def _all_records() -> list[type[Record]]:
    for module in pkgutil.walk_packages(autograms.__path__, "autograms."):
        if not module.name.startswith(SKIPPED_PACKAGES):
            importlib.import_module(module.name)
    found, todo = [], list(Record.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


RECORDS = _all_records()


def test_the_library_has_records_to_check() -> None:
    assert len(RECORDS) >= 20


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_a_records_slots_annotations_and_init_parameters_name_the_same_fields(cls) -> None:
    slots = list(cls.__slots__)
    annotated = list(cls.__dict__.get("__annotations__", {}))
    parameters = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    assert annotated == slots, "annotations differ from __slots__"
    assert parameters == slots, "__init__ parameters differ from __slots__"


@pytest.mark.parametrize("cls", RECORDS, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_a_record_assigns_every_field_and_replace_copies_it(cls) -> None:
    values = {name: object() for name in cls.__slots__}
    try:
        record = cls(**values)
    except Exception:  # a record that checks or converts its values: see the test above
        pytest.skip(f"{cls.__qualname__} does not take arbitrary values")
    for name in cls.__slots__:
        assert getattr(record, name) is values[name], f"{name} not assigned as given"
    assert replace(record) == record
