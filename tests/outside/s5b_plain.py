"""Plain-Python stand-ins for the s5 breaker harness: reply pops the next message."""


class Done(BaseException):
    pass


_out = []
_queue = []


def start(out, queue):
    global _out, _queue
    _out, _queue = out, queue


def reply(text, **kw):
    _out.append(text)
    if not _queue:
        raise Done()
    return _queue.pop(0)


def GOTO(label):
    raise RuntimeError("GOTO is not supported in plain runs")


def autograms_function(*a, **k):
    return lambda f: f
