"""Objects with a finalizer held across pauses: ``__del__`` (of a local, of an item of a local
list, of an attribute of a local object) and a ``weakref.finalize`` run once, when the program
drops the object, not when the paused frames are dropped; a ``tempfile.TemporaryDirectory``
keeps its directory until ``cleanup()``. The module's EVENTS list shows an early run at the
next reply."""

import gc
import os
import tempfile
import weakref

from autograms import autograms_function
from autograms.functional import reply

EVENTS = []


class Resource:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        EVENTS.append(f"del {self.name}")


class Holder:
    def __init__(self, item):
        self.item = item


class Node:
    def __init__(self, name):
        self.name = name


@autograms_function()
def dels():
    single = Resource("single")
    box = [Resource("second in a list")]
    box.insert(0, Resource("in a list"))
    holder = Holder(Resource("held"))
    reply(f"dels {EVENTS}")
    reply(f"dels again {EVENTS} {single.name} {len(box)}")
    del single
    first = list(EVENTS)
    box.pop()
    second = list(EVENTS)
    box.clear()  # (not `del`: the reference run's frames keep what their locals held)
    holder.item = None
    gc.collect()
    return first, second, sorted(EVENTS)


@autograms_function()
def finalizer():
    node = Node("watched")
    watch = weakref.finalize(node, EVENTS.append, "finalized watched")
    reply(f"finalizer {EVENTS} {watch.alive}")
    alive = watch.alive
    del node
    gc.collect()
    return alive, watch.alive, list(EVENTS)


@autograms_function()
def temporary_directory():
    folder = tempfile.TemporaryDirectory()
    path = os.path.join(folder.name, "notes.txt")
    with open(path, "w") as notes:
        notes.write("kept")
    reply(f"temporary directory {os.path.exists(path)}")
    with open(path) as notes:
        kept = notes.read()
    folder.cleanup()
    return kept, os.path.exists(folder.name)


@autograms_function()
def chatbot():
    del EVENTS[:]
    results = [dels()]
    del EVENTS[:]
    results.append(finalizer())
    results.append(temporary_directory())
    reply(f"results: {results!r}")
