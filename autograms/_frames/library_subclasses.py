"""A program's subclasses of built-in and standard-library classes.

Such a class usually leaves pickling to the class it extends, whose reduction was written
for that class, not for its subclasses:

* it may call the class again with the base's arguments (``Counter``, ``defaultdict``,
  ``deque``, ``OrderedDict``, ``set``, ``tzinfo`` ...): a subclass with an ``__init__`` or
  ``__new__`` of its own is then called with arguments it does not take (every load fails)
  or takes as something else (``owner`` gets the items);
* it may leave the instance's ``__dict__`` out (``Counter``, ``defaultdict``, ``datetime``,
  ``Decimal``, ``Fraction``, ``IPv4Address``, ``PurePath`` ...): attributes the program set
  are lost;
* it puts the items of a list or dict subclass back through the subclass's own ``extend``
  or ``__setitem__``, before the attributes those methods may read exist (a change
  counter): the load fails, or the method counts the items twice.

So the base's own reduction is kept and fitted: the object is made as the base makes it
(``base.__new__`` and ``base.__init__`` with the base's arguments, never the subclass's own),
its items are put back through the base's methods, and its attributes (instance dictionary
and the slots the program's classes declare) are set after, as saved (`restore`). A class
that takes part in pickling itself (``__reduce__``, ``__getstate__``, ``__setstate__``,
``__getnewargs__`` ...) is left to its own protocol, as are enum members and the kinds
pickling.py saves by rules of their own.

`made_as` and `restore` are part of the snapshot format: keep their module and names.
"""

from __future__ import annotations

import copyreg
import enum
import io
import sys
import types
from typing import Any

from . import instance_dicts, module_objects, set_order
from .memo import remember
from .resources import is_resource_type

_LIBRARY_MODULES = frozenset(sys.stdlib_module_names) | {"builtins"}
#: kinds saved by rules of their own elsewhere (pickling.py), never fitted here
_SAVED_OTHERWISE = (BaseException, type, types.ModuleType, io.IOBase, enum.Enum)

#: the methods through which a class takes part in pickling
_PROTOCOL_NAMES = (
    "__reduce__",
    "__reduce_ex__",
    "__getstate__",
    "__setstate__",
    "__getnewargs__",
    "__getnewargs_ex__",
    "__getinitargs__",
)

_bases: dict[type, type | None] = {}
_BASES_SIZE = 4096


def library_base(kind: type) -> type | None:
    """The built-in or standard-library class whose pickling `kind`, a program's subclass
    of it, relies on; None when `kind` pickles itself, or is no such subclass."""
    try:
        return _bases[kind]
    except KeyError:
        base = _find_base(kind)
        remember(_bases, kind, base, _BASES_SIZE)
        return base


def _find_base(kind: type) -> type | None:
    """The first library class in `kind`'s MRO that pickles its instances in a way of its
    own or holds items (a mixin such as ``typing.Generic`` is passed over)."""
    if kind in copyreg.dispatch_table or issubclass(kind, _SAVED_OTHERWISE):
        return None
    if is_resource_type(kind) or _is_library(kind):
        return None
    base = next((cls for cls in kind.__mro__ if _is_library(cls) and _matters(cls)), object)
    if base is object:
        return None  # object's own reduction, which keeps the instance dictionary
    own = kind.__mro__[: kind.__mro__.index(base)]
    if _defines(own, *_PROTOCOL_NAMES):
        return None
    return base


def _matters(cls: type) -> bool:
    """Whether pickle saves instances of `cls` otherwise than `object` saves a plain one."""
    reduces = _defines(cls.__mro__[:-1], "__reduce__", "__reduce_ex__")
    return reduces or issubclass(cls, (list, dict))


def _is_library(cls: type) -> bool:
    module = getattr(cls, "__module__", None)
    return isinstance(module, str) and module.partition(".")[0] in _LIBRARY_MODULES


def reduce_subclass(obj: Any, base: type, protocol: int) -> Any:
    """`obj`'s reduction (its base's) fitted to its class; NotImplemented when pickle's own
    is right for it."""
    kind = type(obj)
    # first, while nothing here holds the instance dictionary (its references are counted)
    shared = bool(kind.__dictoffset__) and instance_dicts.is_shared(obj)
    own = kind.__mro__[: kind.__mro__.index(base)]
    if base in set_order.SET_TYPES and not shared:
        laid_out = set_order.layout_of(obj)
        if laid_out is not None:  # made from its elements, it would list them otherwise
            return _reduce_laid_out(obj, base, own, *laid_out)
    reduction = obj.__reduce_ex__(protocol)
    if not isinstance(reduction, tuple) or len(reduction) < 2:
        return NotImplemented
    make, args, state, list_items, dict_items = (*reduction, None, None, None)[:5]
    fitted = make is kind
    if make is kind and isinstance(obj, dict) and _written_in_python(base.__init__):
        # Counter: its __init__ fills it through methods the subclass may override
        make, args, dict_items = made_as, (kind, dict), dict.items(obj)
    elif make is kind and _defines(own, "__init__", "__new__"):
        make, args = made_as, (kind, base, *args)
    else:
        fitted = False
    how, slots = "build", None
    if state is None:
        state, how = _attributes(obj, own), "attributes"
        fitted = fitted or state is not None
    elif not instance_dicts.is_plain(state):
        slots = _slot_values(obj, own)  # the base's own state leaves the program's slots out
        fitted = fitted or slots is not None
    if shared and instance_dicts.is_plain(state):
        state, how, fitted = instance_dicts.shared_state(obj, state), "shared", True
    adds = "extend" if hasattr(base, "extend") else "append"
    if list_items is not None and _defines(own, adds):
        fitted = True  # pickle would add the items through the program's own method
    if dict_items is not None and _defines(own, "__setitem__"):
        fitted = True
    if not fitted:
        return NotImplemented
    if how != "shared":
        state = _referenced(state)
    items = (list(list_items or ()), list(dict_items or ()))
    return (make, args, (base, *items, state, how, slots), None, None, restore)


def _reduce_laid_out(
    obj: Any, base: type, own: tuple[type, ...], elements: tuple, layout: tuple
) -> tuple:
    """A set or frozenset subclass's instance saved as its layout (set_order.py: it lists its
    elements in the same order after a load), made as its base makes one, then its
    attributes."""
    state = _referenced(_attributes(obj, own))
    saved = (base, [], [], state, "attributes", None)
    return (set_order.set_in_order, (type(obj), elements, *layout), saved, None, None, restore)


def _written_in_python(method: Any) -> bool:
    return isinstance(method, types.FunctionType)


def _defines(classes: tuple[type, ...], *names: str) -> bool:
    return any(name in cls.__dict__ for cls in classes for name in names)


def _attributes(obj: Any, own: tuple[type, ...]) -> tuple[dict | None, dict | None] | None:
    """The instance dictionary of `obj` and the values of the slots its program's classes
    (`own`) declare; None when it has neither."""
    attributes = None
    if type(obj).__dictoffset__:
        attributes = object.__getattribute__(obj, "__dict__")
    slots = _slot_values(obj, own)
    if not attributes and not slots:
        return None
    return (attributes or None, slots)


def _slot_values(obj: Any, own: tuple[type, ...]) -> dict | None:
    """The values of the slots the program's classes (`own`) declare that are set."""
    slots = {}
    for cls in own:
        for name in _slot_names(cls):
            try:
                slots[name] = cls.__dict__[name].__get__(obj, cls)
            except (AttributeError, KeyError):
                continue  # a slot never set stays unset
    return slots or None


def _slot_names(cls: type) -> list[str]:
    names = cls.__dict__.get("__slots__", ())
    names = (names,) if isinstance(names, str) else names
    mangled = []
    for name in names:
        if name in ("__dict__", "__weakref__"):
            continue
        if name.startswith("__") and not name.endswith("__"):
            name = f"_{cls.__name__.lstrip('_')}{name}"
        mangled.append(name)
    return mangled


def _referenced(state: Any) -> Any:
    """`state` with the module-level containers its dictionary holds saved as references."""
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
        return (_referenced(state[0]), state[1])
    if isinstance(state, dict) and module_objects.holds_container(state.values()):
        return module_objects.referenced_values(state)
    return state


def made_as(kind: type, base: type, *args: Any) -> Any:
    """A new `kind` made as `base` makes its instances from `args`: its ``__new__`` and
    ``__init__``, not those `kind` defines."""
    new = base.__new__
    obj = new(kind) if new is object.__new__ else new(kind, *args)
    if base.__init__ is not object.__init__:
        base.__init__(obj, *args)
    return obj


def restore(obj: Any, saved: tuple) -> None:
    """Put back what `reduce_subclass` saved after making `obj`: its items through its base's
    methods, then its state (pickle's own, its attributes, or its shared dictionary)."""
    base, list_items, dict_items, state, how, slots = saved
    if list_items:
        if hasattr(base, "extend"):
            base.extend(obj, list_items)
        else:
            for item in list_items:
                base.append(obj, item)
    for key, value in dict_items:
        base.__setitem__(obj, key, value)
    if how == "shared":
        instance_dicts.restore_shared(obj, state)
    elif state is not None:
        _build(obj, state, how)
    for name, value in (slots or {}).items():
        setattr(obj, name, value)


def _build(obj: Any, state: Any, how: str) -> None:
    """What pickle's ``BUILD`` does with `state` (attributes saved here bypass a base's
    ``__setstate__``, written for the base's own state)."""
    setstate = getattr(obj, "__setstate__", None) if how == "build" else None
    if setstate is not None:
        setstate(state)
        return
    attributes, slots = state if isinstance(state, tuple) and len(state) == 2 else (state, None)
    if attributes:
        object.__getattribute__(obj, "__dict__").update(attributes)
    for name, value in (slots or {}).items():
        setattr(obj, name, value)
