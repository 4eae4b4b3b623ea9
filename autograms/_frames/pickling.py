"""Serialization of a paused program's values: the C pickler, taught what plain pickle refuses
or would silently copy.

What a snapshot saves, and where each rule lives:

========================================  ===================================================
module-level objects (``MISSING``, a      a reference to their place (module, name, step):
module list, ``TABLE["row"]``, a          the very same object comes back
function's default, ...)                  (module_objects.py: where exactly)
cells, nested functions, lambdas,         their contents, code (by where it is) and closure,
bound methods, code objects               so closures stay shared (closures.py)
modules                                   by name
dict / set / OrderedDict / deque          with the container they run over, so the loop
iterators, dict views                     sees the program's changes (live_iterators.py)
generators not started or finished        the call that makes them again (generators.py)
``re.Match``, the thread's decimal        how to find them again: the match made again,
context                                   the context by being current (library_values.py)
exceptions                                with cause, context, notes and a rebuilt traceback
                                          (saved_exceptions.py)
weak references, proxies, finalizers,     their object and callback, held weakly again
weak dicts and sets                       (weakrefs.py)
objects whose class has ``__del__``       as usual, made quietly: the copy, not the original,
                                          runs ``__del__`` once (finalizers.py)
objects whose class's ``__new__`` cannot  made by the built-in ``__new__`` it inherits, their
take what pickle gives it                 state restored as usual (own_new.py)
in-memory files (StringIO, BytesIO)       content, position and closed state
                                          (memory_files.py)
open files, sockets, locks, threads,      refused, even module-level ones (resources.py)
running generators, frames
mappingproxy (a live view of a mapping)   refused: a copy would stop following the mapping
dicts and sets keyed by an object hashed   written empty, filled by a last pickle once every
by its state, in a cycle with it          object is built (hashed_keys.py)
closed files                              a closed stand-in with the same name and mode
                                          (closed_files.py)
objects whose class has ``__getattr__``   their class and state, never asking the object
                                          (forwarding_objects.py)
a program's subclass of a library class   the base's reduction, made as the base makes it,
(``Counter``, ``datetime``, ``dict``)     items through the base's methods, then attributes
                                          (library_subclasses.py)
an instance ``__dict__`` held elsewhere   the dictionary itself, put back whole
(Borg objects, ``self.__dict__ = self``)  (instance_dicts.py)
one NaN float held in several places      one float again (plain_containers.py)
sets and frozensets of plain values       laid out again as they were, so they list their
                                          elements in the same order (set_order.py)
functions handed to a module (callbacks   themselves, with their cells, in the process that
in a module-level list) and their cells   paused; elsewhere a copy or, where their place
                                          runs the same code, the module's
                                          (registered_closures.py)
objects such callables hold (a bound      themselves in the process that paused, else a
method's object, a partial's argument,    copy (held_objects.py)
a registered closure's cell contents)
classes defined inside a function         by dill, each once, shared (`_by_dill`)
anything else                             as plain pickle saves it
========================================  ===================================================

Everything is written in one pass of the C pickler, through `reducer_override` (asked about
every object that is not a number, string or built-in container: the types above, module-level
objects, resources refused) and the usual copyreg dispatch; the frames' locals that are
module-level containers are replaced by references first. Pickle writes built-in containers
without asking, so a module-level container held inside another one (``vocab = [YES, NO]``)
is found by a walk of the locals' containers and attributes (bounded), its reference written
as a first pickle, and the container memoized in the reference's stead: the snapshot proper
then refers to it wherever it meets it. Nothing asks about every object (``persistent_id``
would make each save several times slower).

Only when a pass fails is it done again handing the objects that neither pickle nor these rules
can save (a class defined inside a function, a property object, ...) to dill, one object at a
time, each as a small dill pickle inside the C pickle: dill never pickles a whole snapshot,
and the resource guard holds inside it too.
"""

from __future__ import annotations

import copyreg
import functools
import io
import operator
import pickle
import threading
import types
import warnings
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from itertools import chain
from sys import getrefcount
from typing import Any, Final

from . import (
    attachment_values,
    closed_files,
    closures,
    finalizers,
    forwarding_objects,
    generators,
    hashed_keys,
    held_objects,
    instance_dicts,
    jumps,
    kept_copies,
    library_subclasses,
    library_values,
    live_iterators,
    memory_files,
    module_objects,
    own_new,
    plain_containers,
    registered_closures,
    saved_exceptions,
    set_order,
    weakrefs,
)
from .errors import JumpSignal
from .memo import remember
from .resources import ResourceRefused, is_resource

PROTOCOL = 5


def _refuse_mapping_proxy(proxy: types.MappingProxyType) -> Any:
    """A mappingproxy is a live view of a mapping it does not own: a saved copy (what dill
    makes) would silently stop following the mapping, so it is refused."""
    raise pickle.PicklingError(
        "a mappingproxy is a live view of another mapping and cannot be saved; "
        "keep the mapping itself (or dict(proxy)) in the local"
    )


def _reduce_reference(reference: module_objects.ModuleReference) -> tuple:
    """A module-level container saved as its place, with a copy beside some places."""
    where = reference.where
    if not kept_copies.kept(where):
        return (module_objects.resolve, where)
    copy = kept_copies.container_copy(reference.container, reference)
    return kept_copies.reduce_kept(where, copy)


#: Exact type -> reducer returning a reduce tuple (or NotImplemented).
_REDUCERS: dict[type, Callable[[Any], Any]] = {
    types.CellType: closures.reduce_cell,
    types.FunctionType: closures.reduce_function,
    types.MethodType: closures.reduce_method,
    types.BuiltinMethodType: module_objects.reduce_builtin_method,
    super: closures.reduce_super,
    types.CodeType: closures.reduce_code,
    types.ModuleType: module_objects.reduce_module,
    types.TracebackType: saved_exceptions.reduce_traceback,
    weakref.ReferenceType: weakrefs.reduce_ref,
    weakref.finalize: weakrefs.reduce_finalizer,
    **dict.fromkeys(weakrefs.PROXY_TYPES, weakrefs.reduce_proxy),
    **dict.fromkeys(weakrefs.WEAK_CONTAINERS, weakrefs.reduce_weak_container),
    **dict.fromkeys(
        memory_files.TYPES,
        functools.partial(memory_files.reduce_memory_file, protocol=PROTOCOL),
    ),
    module_objects.ModuleReference: _reduce_reference,
    hashed_keys.Fills: hashed_keys.Fills.__reduce__,
    JumpSignal: jumps.reduce_jump,
    live_iterators.SET_ITERATOR: live_iterators.reduce_set_iterator,
    **dict.fromkeys(live_iterators.DICT_ITERATOR_TYPES, live_iterators.reduce_dict_iterator),
    **dict.fromkeys(live_iterators.DICT_VIEWS, live_iterators.reduce_dict_view),
    live_iterators.ODICT_ITERATOR: live_iterators.reduce_odict_iterator,
    **dict.fromkeys(live_iterators.ODICT_VIEWS, live_iterators.reduce_odict_view),
    **dict.fromkeys(
        live_iterators.SEQUENCE_ITERATOR_TYPES, live_iterators.reduce_sequence_iterator
    ),
    **dict.fromkeys(live_iterators.DEQUE_ITERATOR_TYPES, live_iterators.reduce_deque_iterator),
    types.GeneratorType: generators.reduce_generator,
    types.MappingProxyType: _refuse_mapping_proxy,
    **library_values.REDUCERS,
}
#: Types whose instances need no more than `module_objects.reduce_holder` (not resources,
#: exceptions or classes); a cache, bounded.
_plain_types: set[type] = set()
_PLAIN_TYPES_SIZE = 4096


def _reduce_own(obj: Any) -> Any:
    """A reduce tuple for an object that is not module-level (or a function, whose place is
    one way back among others: closures.py), or NotImplemented for pickle's own."""
    kind = type(obj)
    reducer = _REDUCERS.get(kind)
    if reducer is not None:
        return reducer(obj)
    if kind is type:  # a class of the common metaclass: what the checks below decide, sooner
        return NotImplemented if module_objects.is_named(obj) else _by_dill(obj)
    if kind not in _plain_types:  # file types never enter it: open or closed is per object
        late = library_values.late_reducer(kind)
        if late is not None:
            _REDUCERS[kind] = late
            return late(obj)
        if isinstance(obj, types.ModuleType):  # a module with a class of its own
            return module_objects.reduce_module(obj)
        if memory_files.is_memory_file(obj):
            return memory_files.reduce_memory_file(obj, PROTOCOL)
        if closed_files.is_closed_file(obj):
            return closed_files.reduce_closed_file(obj)
        if is_resource(obj):
            raise ResourceRefused(obj)
        if isinstance(obj, BaseException):
            return saved_exceptions.reduce_exception(obj)
        if isinstance(obj, type):
            return NotImplemented if module_objects.is_named(obj) else _by_dill(obj)
        if forwarding_objects.forwards_attributes(kind):  # not cached: rare, and cheap
            return forwarding_objects.reduce_forwarding(obj)
        if len(_plain_types) >= _PLAIN_TYPES_SIZE:
            _plain_types.clear()
        _plain_types.add(kind)
    return _reduce_copied(obj, kind)


def _reduce_copied(obj: Any, kind: type) -> Any:
    """An object copied as pickle copies it, except that an instance dictionary held
    elsewhere too is saved as itself (Borg objects, ``vars(obj)`` in a local) and module-level
    containers its attributes hold as references."""
    if not kind.__dictoffset__:
        return NotImplemented
    attributes = obj.__dict__  # read once for both questions: asked about every such object
    if getrefcount(attributes) > instance_dicts.ALONE or type(attributes) is not dict:
        reduction = instance_dicts.reduce_sharing(obj, PROTOCOL)  # (is_shared, inline)
        if reduction is not NotImplemented:
            return reduction
    return module_objects.reduce_holder(obj, attributes, PROTOCOL)


#: Type -> its traits below (0 for most), looked up once per object the pickler asks about.
_traits: dict[type, int] = {}
_HASHED_BY_STATE = 1  # instances may hash by their state (hashed_keys.py)
_HAS_DEL = 2  # instances run a __del__ written in Python (finalizers.py)
_OWN_NEW = 4  # their class has a __new__ written in Python (own_new.py)
_LIBRARY_SUBCLASS = 8  # a program's subclass of a library class (library_subclasses.py)
_COPIED_WITH_CARE = _HAS_DEL | _OWN_NEW | _LIBRARY_SUBCLASS


def _traits_of(kind: type) -> int:
    traits = (
        _HASHED_BY_STATE * hashed_keys.by_state(kind)
        | _HAS_DEL * finalizers.has_del(kind)
        | _OWN_NEW * own_new.has_own_new(kind)
        | _LIBRARY_SUBCLASS * _fitted_subclass(kind)
    )
    remember(_traits, kind, traits, _PLAIN_TYPES_SIZE)
    return traits


def _fitted_subclass(kind: type) -> bool:
    """Whether `kind` is a program's subclass of a library class whose reduction
    library_subclasses.py fits to it (kinds with rules of their own here are not)."""
    return (
        kind not in _REDUCERS
        and library_subclasses.library_base(kind) is not None
        and not forwarding_objects.forwards_attributes(kind)
    )


def _reduce_with_care(obj: Any, traits: int) -> Any:
    """The reduction of an object the snapshot copies whose class has its own ``__new__``
    (made so that it loads) or ``__del__`` (made quietly), or extends a library class
    (fitted to it)."""
    reduction = NotImplemented
    if traits & _LIBRARY_SUBCLASS:
        base = library_subclasses.library_base(type(obj))
        reduction = library_subclasses.reduce_subclass(obj, base, PROTOCOL)
    if reduction is NotImplemented:
        reduction = _reduce_own(obj)
    if traits & (_OWN_NEW | _HAS_DEL):
        reduction = _pickles_own_when_none(obj, reduction)
    if traits & _OWN_NEW:
        reduction = own_new.fitted_reduction(obj, reduction)
    if traits & _HAS_DEL:
        reduction = finalizers.quiet_reduction(obj, reduction)
    return reduction


def _pickles_own_when_none(obj: Any, reduction: Any) -> Any:
    """`reduction`, or pickle's own for `obj` when it is NotImplemented (both rules above
    reshape a reduce tuple); NotImplemented when pickle's own fails, so that pickle's own
    attempt says what fails."""
    if reduction is not NotImplemented:
        return reduction
    try:
        reducer = copyreg.dispatch_table.get(type(obj))
        return reducer(obj) if reducer is not None else obj.__reduce_ex__(PROTOCOL)
    except Exception:  # noqa: BLE001 - reported by pickle's own attempt
        return NotImplemented


class _SnapshotPickler(pickle.Pickler):
    #: The objects hashed by their own state it saved (hashed_keys.py: the containers they
    #: key may have to be written empty and filled last); set by `_take` and `_reset` (an
    #: __init__ of its own would cost a Python call).
    hashed: list[Any]
    #: where it writes
    buffer: io.BytesIO
    #: whether each object is asked about being held (held_objects.py): set when the scan of
    #: the snapshot being written found callables handed to a module holding objects
    held_all = False

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        traits = _traits.get(kind)
        if traits is None:
            traits = _traits_of(kind)
        if traits and traits & _HASHED_BY_STATE:
            self.hashed.append(obj)
        where = module_objects.reference(obj)
        # a function's place is one way back among others (closures.py)
        if where is not None and kind is not types.FunctionType:
            return _by_place(obj, where, traits)
        if self.held_all:
            token = registered_closures.held_token(obj)
            if token is not None:
                return _held(obj, token, traits)
        if traits and traits & _COPIED_WITH_CARE:
            return _reduce_with_care(obj, traits)
        return _reduce_own(obj)


def _by_place(obj: Any, where: tuple, traits: int) -> Any:
    """A module-level object saved as its place, with a copy beside the places the running
    program changes (kept_copies.py). (Should the copy's arguments hold the object, pickle
    asks again while writing them and memoizes the inner answer, as for its own reductions.)"""
    bound = type(obj) in registered_closures.BOUND_CALLABLES and not any(where[2:])
    if not kept_copies.kept(where) and not bound:
        return (module_objects.resolve, where)
    own = _reduce_with_care(obj, traits) if traits & _COPIED_WITH_CARE else _reduce_own(obj)
    own = _pickles_own_when_none(obj, own)
    if type(own) is not tuple:  # a name: the object is found by it anyway
        return (module_objects.resolve, where)
    if bound:  # a partial or bound method bound to a global, maybe at run time
        return registered_closures.reduce_bound(obj, where, own)
    return kept_copies.reduce_kept(where, own)


def _held(obj: Any, token: tuple, traits: int) -> Any:
    """An object a callable handed to a module holds, saved as held with a copy beside it
    (held_objects.py)."""
    own = _reduce_with_care(obj, traits) if traits & _COPIED_WITH_CARE else _reduce_own(obj)
    own = _pickles_own_when_none(obj, own)
    if type(own) is not tuple:  # a name, or pickle's own attempt says what fails
        return own
    return held_objects.reduce_held(token, own)


class _DillFallbackPickler(_SnapshotPickler):
    """Also hands the objects whose own reduction fails to dill, one object each."""

    def reducer_override(self, obj: Any) -> Any:
        reduction = super().reducer_override(obj)
        if reduction is not NotImplemented or type(obj) in copyreg.dispatch_table:
            return reduction
        if isinstance(obj, type) or _is_named_function(obj):
            return NotImplemented  # saved by name (dill.loads, which names each dill pickle)
        try:
            return obj.__reduce_ex__(PROTOCOL)
        except Exception:  # noqa: BLE001 - pickle cannot save it: dill may
            return _by_dill(obj)


def _is_named_function(obj: Any) -> bool:
    """Whether `obj` is a function pickle saves by its module and name."""
    return isinstance(obj, _FUNCTION_TYPES) and module_objects.is_named(obj)


_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType)


#: The types of frame values that can hold nothing `dump_snapshot` writes apart (neither a
#: container nor a NaN: floats are not among them).
_ATOMIC: Final = frozenset({int, str, bytes, bool, type(None), complex})


def dump_snapshot(frames: tuple[tuple[Any, ...], ...], state: Any) -> bytes:
    """Serialize the frames' values (one tuple per frame) and the state saved alongside them;
    objects they share stay shared. Raises ResourceRefused, or the pickler's error."""
    module_objects.refresh()
    values = list(chain.from_iterable(frames))
    held = attachment_values.held_by(state)  # the program's values in the state: looked into
    if not held and _ATOMIC.issuperset(map(type, values)):  # the usual pause, decided in C
        return dumps((frames, state))
    exact = plain_containers.find(values)
    if exact.markers:
        frames = tuple(map(exact.marked, frames))
    if module_objects.holds_container(values):
        frames = module_objects.referenced_frames(frames)
    places = module_objects.nested_containers(values + held)
    return dumps((frames, state), places, exact, scan_held=True)


def load_snapshot(blob: bytes | memoryview) -> tuple[tuple[Any, ...], Any]:
    """The frames' values and the state `dump_snapshot` saved. Untrusted input must be
    authenticated first. (Snapshots written with dill load too: a dill stream names the dill
    functions it needs, so dill, slow to import, is only loaded for those.)"""
    value = pickle.loads(blob)  # the usual snapshot: a single pickle
    if type(value) is list:  # the stand-ins written first: then the snapshot, whose memo holds
        stream = io.BytesIO(blob)  # them (read again), then the fills, if any
        unpickler = pickle.Unpickler(stream)
        unpickler.load()
        value = unpickler.load()
        if stream.tell() < memoryview(blob).nbytes:
            unpickler.load()  # hashed_keys.fill: the containers written empty
    return value


#: Whether a snapshot is being written in this thread or task (see `writing`).
#: (Holding the `_DillWork` of the snapshot being written, once it needs one.)
_writing: ContextVar[list | None] = ContextVar("autograms_frames_writing", default=None)


def writing() -> bool:
    """Whether a snapshot (a pause's frames, or saved state) is being pickled right now in
    this thread or task: an object's ``__reduce__`` may then save itself as a reference to
    what the program runs in rather than as a copy."""
    return _writing.get() is not None


def dumps(
    value: Any,
    places: list[tuple[Any, tuple]] | None = None,
    exact: plain_containers.Found | None = None,
    scan_held: bool = False,
) -> bytes:
    """Serialize `value` (see the module docstring); raises ResourceRefused,
    KeyedCycleRefused, or the pickler's error if it cannot. `places` (module-level containers
    and where they are) are written first, as a list of references, and `value` refers to
    them wherever it holds them; so are the stand-ins of `exact` (a container or cell, and
    what to write in its stead: plain_containers.py), and its containers to fill last, written
    empty (with its NaN markers when filled). `scan_held`: look for the objects callables
    handed to a module hold before writing (held_objects.py), not only once a cell or a
    function that needs the scan is met."""
    exact = exact or plain_containers.Found()
    first = exact.stand_ins + [
        (container, module_objects.ModuleReference(where, container))
        for container, where in places or ()
    ]  # the stand-ins first: a module's own container wins
    token = _writing.set([])  # the snapshot's `_DillWork`, made when first needed
    scope = registered_closures.writing()
    if scan_held:
        registered_closures.scan_now()
    try:
        return _dump_either(value, first, exact)
    except Exception:
        if kept_copies.places_alone():
            raise
        # a copy kept beside a module-level object's place may be what failed (an object
        # holding a lock): such objects are saved as their place alone, as before copies
        with kept_copies.writing_places_alone():
            return _dump_either(value, first, exact)
    finally:
        registered_closures.done(scope)
        _writing.reset(token)


def _dump_either(value: Any, first: list[tuple[Any, Any]], exact: plain_containers.Found) -> bytes:
    try:
        return _dump(_SnapshotPickler, value, first, exact)
    except (ResourceRefused, hashed_keys.KeyedCycleRefused):
        raise
    except Exception:  # noqa: BLE001 - something only dill can save: hand it just that
        return _dump(_DillFallbackPickler, value, first, exact)


def _dump(
    pickler_class: type[_SnapshotPickler],
    value: Any,
    first: list[tuple[Any, Any]],
    exact: plain_containers.Found,
) -> bytes:
    pickler = _take(pickler_class)
    try:
        return _dump_passes(pickler, value, first, exact)
    finally:
        _give_back(pickler)


def _dump_passes(
    pickler: _SnapshotPickler,
    value: Any,
    first: list[tuple[Any, Any]],
    exact: plain_containers.Found,
) -> bytes:
    filled_last = exact.filled_last
    found = registered_closures.scanned()
    asks = found is not None and bool(found.held)
    pickler.held_all = asks
    blob = _dump_with(pickler, value, first, filled_last, exact.replaced)
    held = _held_stand_ins(pickler, first)
    if held is not None:  # held containers, or objects met before the scan: written again
        _reset(pickler)
        pickler.held_all = asks = True
        blob = _dump_with(pickler, value, first + held, filled_last, exact.replaced)
    # objects hashed by their state were saved: is one in a cycle with a dict it keys?
    deferred = hashed_keys.deferred(pickler.hashed) if pickler.hashed else []
    written = {id(container) for container, _ in first + (held or [])}.union(map(id, filled_last))
    containers = [container for container in deferred if id(container) not in written]
    ordered = []
    if set_order.may_hold_sets(blob):  # (copying the memo costs ~2k instructions an entry)
        skipped = written.union(map(id, deferred))
        ordered = set_order.stand_ins(pickler.memo.copy().values(), skipped)
    if containers or ordered:
        _reset(pickler)
        pickler.held_all = asks
        blob = _dump_with(
            pickler, value, first + (held or []) + ordered, filled_last + containers, exact.replaced
        )
    return blob


def _held_stand_ins(pickler: _SnapshotPickler, first: list) -> list | None:
    """The held containers to write first (held_objects.py) when the snapshot `pickler` just
    wrote must be written again, else None; costs nothing unless a scan found held objects."""
    found = registered_closures.scanned()
    if found is None or not found.held:
        return None
    return held_objects.stand_ins(pickler.memo.copy(), {id(container) for container, _ in first})


class _Idle(threading.local):
    """The snapshot pickler this thread keeps between dumps (None while one is in use): making
    one costs a pause ~10k instructions (the C ``Pickler.__init__`` of a subclass looks up
    ``persistent_id`` and ``dispatch_table`` on it, each raising and clearing an
    AttributeError)."""

    pickler: _SnapshotPickler | None = None


_idle = _Idle()


def _take(pickler_class: type[_SnapshotPickler]) -> _SnapshotPickler:
    """A pickler of `pickler_class` writing to an empty buffer of its own, with an empty memo:
    the thread's kept one if idle (a dump inside a dump, from some ``__reduce__``, makes its
    own)."""
    if pickler_class is _SnapshotPickler:
        pickler = _idle.pickler
        if pickler is not None:
            _idle.pickler = None
            return pickler
    buffer = io.BytesIO()
    pickler = pickler_class(buffer, PROTOCOL)
    pickler.buffer = buffer
    pickler.hashed = []
    return pickler


def _give_back(pickler: _SnapshotPickler) -> None:
    """Done with `pickler`: emptied (so that it keeps no saved object alive, nor the bytes
    written), and kept for the thread's next dump if it is a plain snapshot pickler."""
    _reset(pickler)
    if type(pickler) is _SnapshotPickler:
        _idle.pickler = pickler


def _reset(pickler: _SnapshotPickler) -> None:
    """Empty `pickler`'s memo, buffer and `hashed`, as a new pickler's are."""
    pickler.clear_memo()
    pickler.hashed = []
    pickler.held_all = False
    buffer = pickler.buffer
    buffer.seek(0)
    buffer.truncate()


def _dump_with(
    pickler: _SnapshotPickler,
    value: Any,
    first: list[tuple[Any, Any]],
    containers: list[Any],
    replaced: Callable[[Any], Any],
) -> bytes:
    """`value` pickled by `pickler` (new or reset), `containers` written empty and filled by
    a last pickle (each item through `replaced`); `pickler` keeps the objects hashed by their
    state it saved and its memo until reset."""
    if first or containers:
        _refer_to(pickler, first, containers)
    pickler.dump(value)
    fills: list[Any] = [hashed_keys.Fills(containers, replaced)] if containers else []
    held = [pair for pair in first if type(pair[1]) is held_objects.EmptyUnlessHeld]
    if held:
        fills.append(held_objects.Fills(held, replaced))
    if fills:  # one last pickle, read once every object is built
        pickler.dump(fills[0] if len(fills) == 1 else fills)
    return pickler.buffer.getvalue()


def _refer_to(pickler: pickle.Pickler, first: list[tuple[Any, Any]], containers: list[Any]) -> None:
    """Write the stand-ins of `first` (a container, what stands for it: a reference to a
    module-level container, or a copy plain_containers.py made) and an empty container for
    each of `containers` as a first pickle, then memoize each container in its stand-in's
    stead: wherever the next pickle meets the container, even inside a list that pickle writes
    without asking, it writes "the object memoized there", which loads as the module's own
    container, the copy, or the empty one that the last pickle fills (the unpickler keeps its
    memo from one load to the next; the memo keeps its size, since both count their entries
    to number the next)."""
    stand_ins = first + [(container, hashed_keys.empty(container)) for container in containers]
    # places alone here: a copy kept beside a place (kept_copies.py), written before the
    # other stand-ins are memoized in their containers' stead, would memoize what it holds
    # (a list holding a module-level list) as copies that the snapshot proper then refers to
    with kept_copies.writing_places_alone():
        pickler.dump([stand_in for _, stand_in in stand_ins])
    memo = pickler.memo.copy()
    for container, stand_in in stand_ins:
        index = memo[id(stand_in)][0]
        if id(container) not in memo:
            del memo[id(stand_in)]
        # else the container was written inside another stand-in (a copy kept beside a
        # module-level object's place holds it): its stand-in wins, and the entry of the
        # stand-in stays, so that the memo keeps its size
        memo[id(container)] = (index, container)
    pickler.memo = memo


class _DillWork:
    """What the dill pickles of one snapshot share: each class defined at run time (inside a
    function, or by ``type()``) is pickled by dill once, leaving the other such classes it
    refers to to the C pickle; classes that refer to each other are pickled together."""

    def __init__(self) -> None:
        #: id(class) -> its dill pickle and the classes left to the C pickle, in their order
        self.pickled: dict[int, tuple[bytes, tuple[type, ...]]] = {}
        #: id(class) -> the group pickled with it and its index there
        self.groups: dict[int, tuple[_ClassGroup, int]] = {}


class _ClassGroup:
    """Classes that refer to each other, saved as one dill pickle of the tuple of them."""

    __slots__ = ("classes",)

    def __init__(self, classes: tuple[type, ...]) -> None:
        self.classes = classes

    def __reduce__(self) -> tuple:
        blob, shared = _dill_dump(self.classes, set(map(id, self.classes)))
        return (load_dill, (blob, shared))


def _by_dill(obj: Any) -> tuple:
    """`obj` as a dill pickle inside the C pickle (resources refused inside it too).

    Dill saves a class defined at run time by value, so a class two objects refer to (a local
    class's base, a class a method makes) would come back as two classes. Such classes are
    left by each dill pickle to the C pickle, which saves each once and shares it; classes
    that refer to each other, which the C pickle cannot make one before the other, are saved
    together as one dill pickle."""
    holder = _writing.get()
    if holder is None:  # not writing a snapshot: one object, one pickle
        return _loading(*_dill_dump(obj, set()))
    if not holder:
        holder.append(_DillWork())
    work = holder[0]
    group = work.groups.get(id(obj))
    if group is None and _is_unnamed_class(obj):
        members = _classes_in_a_cycle_with(obj, work)
        if len(members) > 1:
            together = _ClassGroup(members)
            for index, member in enumerate(members):
                work.groups[id(member)] = (together, index)
            group = work.groups[id(obj)]
    if group is not None:
        return (operator.getitem, group)
    if id(obj) in work.pickled:
        return _loading(*work.pickled[id(obj)])
    return _loading(*_dill_dump(obj, {id(obj)}))


def _loading(blob: bytes, shared: tuple[type, ...]) -> tuple:
    import dill

    return (load_dill, (blob, shared)) if shared else (dill.loads, (blob,))


def _classes_in_a_cycle_with(cls: type, work: _DillWork) -> tuple[type, ...]:
    """`cls` and the classes it refers to through their dill pickles that refer back to it
    (each such class is pickled once, remembered in `work`)."""
    reached: dict[int, type] = {id(cls): cls}
    edges: dict[int, tuple[type, ...]] = {}
    frontier = [cls]
    while frontier:
        current = frontier.pop()
        if id(current) not in work.pickled:
            work.pickled[id(current)] = _dill_dump(current, {id(current)})
        edges[id(current)] = work.pickled[id(current)][1]
        for other in edges[id(current)]:
            if id(other) not in reached:
                reached[id(other)] = other
                frontier.append(other)
    back = {id(cls)}  # the reached classes from which `cls` is reached again
    changed = True
    while changed:
        changed = False
        for key, targets in edges.items():
            if key not in back and any(id(target) in back for target in targets):
                back.add(key)
                changed = True
    return tuple(reached[key] for key in reached if key in back)


def _dill_dump(obj: Any, own: set[int]) -> tuple[bytes, tuple[type, ...]]:
    """`obj` pickled by dill, and the classes defined at run time it refers to, left out of it
    (its persistent ids) unless their ids are in `own`."""
    import dill  # slow to import (tens of ms); only objects pickle cannot save need it

    shared: list[type] = []
    share = _writing.get() is not None

    class GuardedPickler(dill.Pickler):
        def persistent_id(self, inner: Any) -> int | None:
            if is_resource(inner):
                raise ResourceRefused(inner)
            if share and id(inner) not in own and _is_unnamed_class(inner):
                shared.append(inner)
                return len(shared) - 1
            return None

    buffer = io.BytesIO()
    with warnings.catch_warnings():  # dill warns before it fails: the refusal says it all
        warnings.simplefilter("ignore", dill.PicklingWarning)
        try:
            GuardedPickler(buffer, protocol=PROTOCOL, recurse=True).dump(obj)
        except RecursionError as exc:  # dill's, not the snapshot's: this object is at fault
            kind = type(obj)
            raise pickle.PicklingError(
                f"cannot save {kind.__module__}.{getattr(obj, '__qualname__', kind.__qualname__)}:"
                " it refers to itself in a way dill cannot follow"
            ) from exc
    return buffer.getvalue(), tuple(shared)


def _is_unnamed_class(obj: Any) -> bool:
    """Whether `obj` is a class pickle cannot save by name (defined inside a function, made
    by ``type()`` at run time); decided without asking the object for its ``__class__``."""
    return issubclass(type(obj), type) and not module_objects.is_named(obj)


def load_dill(blob: bytes, shared: tuple[type, ...]) -> Any:
    """The object `_by_dill` saved, with the classes it left to the C pickle (part of the
    snapshot format: keep its module and name)."""
    import dill

    unpickler = dill.Unpickler(io.BytesIO(blob))
    unpickler.persistent_load = shared.__getitem__
    return unpickler.load()
