"""Objects whose class answers unknown attributes itself (delegating proxies, records over a
dict, slotted wrappers) held across a pause: saved without pickle asking them anything."""

from autograms import autograms_function
from autograms.functional import reply


class Proxy:
    def __init__(self, target):
        self.target = target

    def __getattr__(self, name):
        return getattr(self.target, name)


class Record:
    __slots__ = ("fields", "log")

    def __init__(self, **fields):
        self.fields = fields
        self.log = []

    def __getattr__(self, name):
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


class Counted(Proxy):
    def __getstate__(self):
        return {"items": tuple(self.target)}

    def __setstate__(self, state):
        self.target = list(state["items"])


class Loud:
    def __init__(self):
        self.seen = []

    def __getattribute__(self, name):
        if name.startswith("__"):
            return object.__getattribute__(self, name)
        object.__getattribute__(self, "seen").append(name)
        return object.__getattribute__(self, name)


@autograms_function()
def chatbot():
    shared = {"k": 1}
    around_dict, around_tuple = Proxy(shared), Proxy(("a", "b"))
    record = Record(name="r", size=2)
    counted = Counted([1, 2])
    loud = Loud()
    reply(f"holding {list(around_dict.keys())} {around_tuple.count('a')} {record.name}")
    shared["k2"] = 2
    record.log.append(reply("second"))
    loud.seen.clear()
    reply(
        f"{sorted(around_dict.keys())} {around_dict.target is shared} {around_tuple.index('b')} "
        f"{record.size} {record.log} {counted.count(2)} {counted.__dict__} {loud.seen}"
    )
