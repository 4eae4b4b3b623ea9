"""Weak references of every kind and in-memory files across a pause: proxies stay proxies,
finalizers stay alive, weak containers keep their live entries, StringIO and BytesIO keep their
content, position and closed state."""

import gc
import io
import weakref

from autograms import autograms_function
from autograms.functional import reply


class Node:
    def __init__(self, name):
        self.name = name


@autograms_function()
def proxies():
    node = Node("n")
    events = []
    proxy = weakref.proxy(node, lambda _: events.append("proxy callback"))
    gone = weakref.proxy(Node("gone"))
    reply(f"proxy of {proxy.name}")
    alive = f"{type(proxy).__name__} {proxy.name}"
    try:
        alive += gone.name
    except ReferenceError as error:
        alive += f"; dead proxy: {error}"
    del node
    gc.collect()
    try:
        alive += proxy.name
    except ReferenceError:
        alive += "; proxy died with its object"
    return alive, events


@autograms_function()
def finalizers():
    events = []
    node, other = Node("a"), Node("b")
    live = weakref.finalize(node, events.append, "finalized a")
    stopped = weakref.finalize(other, events.append, "finalized b")
    stopped.detach()
    live.atexit = False
    reply(f"finalizers {live.alive} {stopped.alive}")
    state = (live.alive, live.atexit, stopped.alive, live.peek()[0] is node)
    del node
    gc.collect()
    return state, live.alive, events


@autograms_function()
def weak_containers():
    a, b = Node("a"), Node("b")
    values = weakref.WeakValueDictionary({"a": a, "b": b})
    keys = weakref.WeakKeyDictionary({a: 1, b: 2})
    members = weakref.WeakSet([a, b])
    reply(f"weak containers {sorted(values)}")
    found = (values["a"] is a, keys[b], a in members, len(members))
    del b
    gc.collect()
    return found, sorted(values), sorted(node.name for node in keys), len(members)


@autograms_function()
def memory_files():
    text = io.StringIO("line1\nline2\nline3\n")
    text.readline()
    data = io.BytesIO(b"abcdef")
    data.read(2)
    data.write(b"XY")
    done = io.StringIO("gone")
    done.close()
    same = [text, text]
    reply(f"files at {text.tell()} {data.tell()}")
    text.write("tail")
    try:
        done.read()
        closed = "readable"
    except ValueError:
        closed = f"closed {type(done).__name__}"
    return text.getvalue(), data.getvalue(), data.read(), closed, same[0] is text


@autograms_function()
def chatbot():
    results = [proxies(), finalizers(), weak_containers(), memory_files()]
    reply(f"results: {results!r}")
