"""A function whose global `counter` is routed to per-session storage."""

from autograms import _frames

counter = 100
STORE: dict = {}


def _load(name):
    try:
        return STORE[name]
    except KeyError:
        raise NameError(f"name {name!r} is not defined") from None


def _store(value, name):
    STORE[name] = value


def _delete(name):
    del STORE[name]


ROUTES = _frames.GlobalRoutes(frozenset({"counter", "helper"}), _load, _store, _delete)


def helper(x):
    return x * 2


def bump(step):
    global counter
    counter += step
    before = counter
    counter = helper(counter) if "helper" in STORE else counter
    _frames.pause(("counted", before, counter))
    del counter
    return before


_frames.instrument(bump, routes=ROUTES)
