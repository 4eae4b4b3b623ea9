"""Plain Python for the s4 engine outside tests: ``reply`` blocks (takes the next message),
the decorators do nothing. A transcript lists each turn's reply, None when the root returned."""


class _Out(BaseException):
    pass


_state = {"queue": [], "out": []}


def autograms_function(*args, **kwargs):
    return lambda f: f


def reply(text, **kwargs):
    if _state.get("done"):
        raise _Out
    _state["out"].append(text)
    if not _state["queue"]:
        _state["done"] = True
        raise _Out
    return _state["queue"].pop(0)


def run(chatbot, messages):
    _state["queue"] = list(messages[1:])
    _state["out"] = out = []
    _state["done"] = False
    while True:
        try:
            chatbot()
        except _Out:
            return out
        except Exception as e:  # noqa: BLE001
            out.append(f"EXC {type(e).__name__}: {e}")
            return out
        out.append(None)
        if not _state["queue"]:
            return out
        _state["queue"].pop(0)


def GOTO(label):  # noqa: N802 - a plain reference is written with loops instead
    raise NotImplementedError("GOTO in a plain reference")


RETURNTO = GOTO
